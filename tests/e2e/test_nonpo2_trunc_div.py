"""Non-power-of-two QONNX ``Trunc`` (Brevitas QuantAvgPool) and ``Div`` by a constant
that is not a power of two (Brevitas TensorNorm), three ways: an exact rational
reference (``fractions.Fraction``), trigc's emulator and the g++ C-sim of the
generated firmware, all equal bit for bit.

Every float32 scale is a dyadic rational p / 2**q; "non-power-of-two" means an odd
p > 1 (0.3 as float32 has a 24-bit p), so x / scale is a rational that no binary
grid holds. trigc divides exactly and rounds once, where the model rounds."""

from __future__ import annotations

import logging
from fractions import Fraction

import numpy as np
import pytest

import trigc
from trigc.emulator import fast
from trigc.ir.graph import InexactReport, OverflowReport
from trigc.ir.ops import Op
from helpers.qonnx_models import QONNX_DOMAIN, Builder
from e2e_util import _round_fraction, assert_csim_matches, exact_quant, int_range, quant_inputs

IN_SCALE, IN_BITS = 2.0**-4, 8
N = 400  # events: tie-heavy inputs (e2e_util.quant_inputs)


def f32(v) -> Fraction:
    return Fraction(float(np.float32(v)))


def emulate_both(graph, x, csim=True):
    """The emulator (fast path when it takes the graph, and the interpreter) and the
    C-sim; returns the emulator's output."""
    got = trigc.emulate(graph, x, engine="interpreter")
    if fast.unsupported_reason(graph) is None:
        np.testing.assert_array_equal(trigc.emulate(graph, x), got)
    if csim:
        assert_csim_matches(graph, x)
    return got


def x_codes(x: np.ndarray) -> np.ndarray:
    """The input Quant (IN_SCALE, IN_BITS, ROUND) in exact rationals."""
    q = exact_quant(x.astype(np.float64), IN_SCALE, 0.0, IN_BITS)
    return np.vectorize(Fraction, otypes=[object])(q)


# ---- Trunc ---------------------------------------------------------------------

def trunc_reference(v, version, scale, zp, in_bits, out_bits, out_scale, mode, signed=True,
                    narrow=False):
    """QONNX Trunc v1 / v2 (qonnx.custom_op.general.trunc) on one exact rational."""
    y = round(v / scale + zp)  # np.round: half to even, as Fraction's round
    if version == 1:
        return (_round_fraction(Fraction(y, 2**(in_bits - out_bits)), mode) - zp) * scale
    drop = round(np.log2(float(out_scale / scale)))
    lo, hi = int_range(signed, narrow, out_bits)
    y = min(max(Fraction(y) / 2**drop, lo), hi)
    return (_round_fraction(y, mode) - Fraction(zp) / 2**drop) * out_scale


def trunc_model(version, scale, zp, in_bits, out_bits, mode, pool, drop=2):
    """x -> Quant(2**-4, 8) [-> AveragePool 2x2 * 4, the window sum] -> Trunc."""
    b = Builder("trunc")
    h = b.quant("x", IN_SCALE, IN_BITS)
    if pool:
        h = b.node("AveragePool", [h], name="pool/AveragePool", kernel_shape=[2, 2],
                   strides=[2, 2])
        h = b.node("Mul", [h, b.const(4.0)], name="pool/Mul")
    params = [b.const(np.float32(scale)), b.const(float(zp)), b.const(float(in_bits))]
    if version == 2:
        params.append(b.const(np.float32(scale) * np.float32(2.0**drop)))
    params.append(b.const(float(out_bits)))
    t = b.node("Trunc", [h, *params], domain=QONNX_DOMAIN, name="pool/Trunc",
               rounding_mode=mode)
    shape = (1, 2, 2, 2) if pool else (1, 2, 4, 4)
    return b.model({"x": (1, 2, 4, 4)}, t, shape)


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("mode", ["FLOOR", "ROUND", "HALF_UP"])
@pytest.mark.parametrize("scale, zp, pool", [
    (0.3, 0, True),          # Brevitas QuantAvgPool: the window sum of a 0.3-grid
    (3 * 2.0**-6, 0, False),  # a short odd mantissa, straight on the input
    (0.0731, 3, False),       # a zero point (an integer, as Brevitas exports it)
], ids=["pool_0.3", "3x2^-6", "zp3"])
def test_trunc_nonpo2_scale_is_exact(version, mode, scale, zp, pool):
    """Fraction reference == emulator on all 18 cases; the C-sim on 3 of them (every
    mode, case and version C-simulated once; the g++ builds dominate the run time)."""
    in_bits, out_bits = 10, 7
    model = trunc_model(version, scale, zp, in_bits, out_bits, mode, pool)
    x = quant_inputs((2, 4, 4), IN_SCALE, IN_BITS, n=N, seed=version)
    graph = trigc.load(model)
    assert not graph.find(Op.TRUNC)
    case = [0.3, 3 * 2.0**-6, 0.0731].index(scale)
    got = emulate_both(graph, x, csim=["FLOOR", "ROUND", "HALF_UP"].index(mode) == case
                       and version == 1 + case % 2)

    s = f32(scale)
    out_scale = s * 4  # float32 * 4 is exact
    v = x_codes(x)
    if pool:
        v = v.reshape(N, 2, 2, 2, 2, 2).sum(axis=(3, 5))
    want = np.vectorize(lambda e: float(trunc_reference(
        e, version, s, zp, in_bits, out_bits, out_scale, mode)), otypes=[float])(v)
    np.testing.assert_array_equal(got.reshape(want.shape), want)
    assert len(np.unique(want)) >= 16  # not vacuous


# ---- Div by a constant that is not a power of two ------------------------------

def quant_reference(v: Fraction, scale: Fraction, bits: int, mode: str, signed=True):
    lo, hi = int_range(signed, False, bits)
    return min(max(_round_fraction(v / scale, mode), lo), hi) * scale


def div_model(divisor, after: str, scale=None, bits=8, mode="ROUND"):
    """x -> Quant(2**-4, 8) -> Div(divisor) [-> Quant(scale, bits) | -> Mul 1.5]."""
    b = Builder("div")
    h = b.quant("x", IN_SCALE, IN_BITS)
    y = b.node("Div", [h, b.const(np.asarray(divisor, np.float32))], name="norm/Div")
    if after == "quant":
        y = b.quant(y, np.float32(scale), bits, rounding=mode, name="act/Quant")
    elif after == "mul":
        y = b.node("Mul", [y, b.const(1.5)], name="norm/Mul")
    return b.model({"x": (1, 8)}, y, (1, 8))


PER_CHANNEL = [0.3, 3.0, -1.7, 5.0, 0.71, 1.1, -0.45, 7.0]


@pytest.mark.parametrize("divisor, scale, mode", [
    (3.0, 2.0**-3, "ROUND"),          # Div fused with a power-of-two Quant's cast
    (0.3, 0.37, "ROUND"),             # (x / 0.3) / 0.37: one Div by the exact product
    (-1.7, 2.0**-2, "FLOOR"),
    (PER_CHANNEL, 0.1875, "HALF_UP"),  # per-channel divisors, a 3 * 2**-4 scale
], ids=["3_po2q", "0.3_nonpo2q", "neg_floor", "per_channel"])
def test_div_then_quant_is_exact(divisor, scale, mode, caplog):
    """The Quant after the Div says what the model wants: the exact quotient rounded
    once, no extra bits chosen by trigc and nothing reported. (C-sim on the fused
    non-power-of-two and the per-channel cases.)"""
    model = div_model(divisor, "quant", scale, 8, mode)
    x = quant_inputs((8,), IN_SCALE, IN_BITS, n=N, seed=3)
    with caplog.at_level(logging.WARNING, logger="trigc"):
        graph = trigc.load(model)
    assert graph.precision_report == [] and "inexact" not in caplog.text
    assert len(graph.find(Op.DIV)) == 1  # one rounding division, nothing approximated
    got = emulate_both(graph, x, csim=scale != 2.0**-3 and divisor != -1.7)
    c = np.broadcast_to(np.vectorize(f32, otypes=[object])(np.float32(divisor)), (8,))
    s = f32(scale)
    want = np.array([[float(quant_reference(v / d, s, 8, mode)) for v, d in zip(row, c)]
                     for row in x_codes(x)])
    np.testing.assert_array_equal(got, want)
    assert len(np.unique(want)) >= 16


@pytest.mark.parametrize("after", ["output", "mul"])
def test_div_not_rounded_is_a_reported_choice(after, caplog, tmp_path):
    """Nothing rounds the quotient (the graph output, or a TensorNorm-style Mul): trigc
    keeps DIVISION_EXTRA_BITS more fractional bits than the divisor needs, rounds half
    to even, says so as a WARNING naming the layer, the bits and the max error, and
    records it in graph.precision_report and trigc.json."""
    model = div_model(0.3, after)
    x = quant_inputs((8,), IN_SCALE, IN_BITS, n=N, seed=4)
    with caplog.at_level(logging.WARNING, logger="trigc"):
        graph = trigc.load(model)
    [report] = graph.precision_report
    assert isinstance(report, InexactReport)
    assert report.layer == "norm" and report.op == "Div" and report.divisor == "0.300000012"
    frac = report.frac_bits
    t = graph.find(Op.DIV)[0].output.type
    assert t.frac_bits == frac and report.max_error == 2.0**-(frac + 1)
    warning = [r for r in caplog.records if r.levelno == logging.WARNING
               and "inexact" in r.getMessage()]
    assert len(warning) == 1
    assert (f"layer 'norm' (Div): division of " in warning[0].getMessage()
            and f"by 0.300000012 is inexact; kept to {frac} fractional bits" in
            warning[0].getMessage() and f"(max error 2^{-frac - 1})" in warning[0].getMessage())

    got = emulate_both(graph, x)
    c, lsb = f32(0.3), Fraction(1, 2**frac)
    factor = Fraction(3, 2) if after == "mul" else 1
    quotient = x_codes(x) / c
    rounded = np.vectorize(lambda q: float(round(q / lsb) * lsb * factor), otypes=[float])
    np.testing.assert_array_equal(got, rounded(quotient))  # what trigc chose, exactly
    err = np.vectorize(lambda g, q: abs(Fraction(g) - q * factor), otypes=[object])(
        got, quotient)
    assert err.max() <= report.max_error * factor  # the reported bound holds
    assert err.max() > 0  # and the choice is real: not exact

    # trigc.json keeps the report, and reads it back
    project = trigc.compile(graph, tmp_path / "prj")
    [text] = project.meta["precision_report"]
    assert text == str(report) and OverflowReport.parse(text) == report


# ---- a real Brevitas export ------------------------------------------------------

@pytest.mark.slow
def test_brevitas_trunc_avgpool_float_scale(bmodels, tmp_path):
    """Brevitas TruncAvgPool2d after a QuantReLU with a float (non-power-of-two)
    scale, exported with export_qonnx: QONNX Trunc v2 whose scale is the ReLU's
    scale / 4. Three-way exact against the rational reference; Brevitas' own float32
    forward pass equals it after float32 rounding of the last multiply."""
    import torch
    import brevitas.nn as qnn
    from brevitas.quant import Int8ActPerTensorFixedPoint, Uint8ActPerTensorFloat
    from onnx import load, numpy_helper

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint, bit_width=8,
                                         return_quant_tensor=True)
            self.relu = qnn.QuantReLU(act_quant=Uint8ActPerTensorFloat, bit_width=6,
                                      return_quant_tensor=True)
            self.pool = qnn.TruncAvgPool2d(kernel_size=2, stride=2, bit_width=6,
                                           return_quant_tensor=False)

        def forward(self, x):
            return self.pool(self.relu(self.inp(x)))

    module = bmodels.calibrated(Net(), (2, 8, 8), seed=5)
    path = bmodels.export(module, (2, 8, 8), tmp_path / "trunc_float.onnx")
    model = load(path)
    [trunc] = [n for n in model.graph.node if n.op_type == "Trunc"]
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    s_in, s_relu = (f32(inits[trunc.input[i]]) for i in (1, 4))
    assert s_relu == 4 * s_in and s_in.denominator & (s_in.denominator - 1) == 0 \
        and s_in.numerator > 1 and s_in.numerator % 2  # not a power of two
    in_bits, out_bits = (int(inits[trunc.input[i]]) for i in (3, 5))

    x = quant_inputs((2, 8, 8), 0.125, 8, n=N, seed=5)
    graph = trigc.load(path)
    got = emulate_both(graph, x)
    codes = np.vectorize(Fraction, otypes=[object])(exact_quant(
        x.astype(np.float64), 0.125, 0.0, 8))
    relu = np.vectorize(lambda v: quant_reference(max(v, 0), s_relu, 6, "ROUND", False),
                        otypes=[object])(codes)
    pooled = relu.reshape(N, 2, 4, 2, 4, 2).sum(axis=(3, 5)) / 4
    want = np.vectorize(lambda v: float(trunc_reference(
        v, 2, s_in, 0, in_bits, out_bits, s_relu, "ROUND", signed=False)),
        otypes=[float])(pooled)
    np.testing.assert_array_equal(got, want)
    assert len(np.unique(want)) >= 32
    np.testing.assert_array_equal(got.astype(np.float32),
                                  bmodels.forward(module, x).astype(np.float32))

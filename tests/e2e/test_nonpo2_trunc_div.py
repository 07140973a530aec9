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


def emulate_both(graph, x):
    """The emulator (fast path when it takes the graph, and the interpreter) and the
    C-sim; returns the emulator's output."""
    got = trigc.emulate(graph, x, engine="interpreter")
    if fast.unsupported_reason(graph) is None:
        np.testing.assert_array_equal(trigc.emulate(graph, x), got)
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
    in_bits, out_bits = 10, 7
    model = trunc_model(version, scale, zp, in_bits, out_bits, mode, pool)
    x = quant_inputs((2, 4, 4), IN_SCALE, IN_BITS, n=N, seed=version)
    graph = trigc.load(model)
    assert not graph.find(Op.TRUNC)
    got = emulate_both(graph, x)

    s = f32(scale)
    out_scale = s * 4  # float32 * 4 is exact
    v = x_codes(x)
    if pool:
        v = v.reshape(N, 2, 2, 2, 2, 2).sum(axis=(3, 5))
    want = np.vectorize(lambda e: float(trunc_reference(
        e, version, s, zp, in_bits, out_bits, out_scale, mode)), otypes=[float])(v)
    np.testing.assert_array_equal(got.reshape(want.shape), want)
    assert len(np.unique(want)) >= 16  # not vacuous

"""absorb_quant: activation Quant / BipolarQuant / Trunc become fixed-point ops.

Structure is checked directly; bit-exactness against the QONNX definition (in
exact rationals, tests/unit/reference.py) by emulating the lowered graph."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from tests.unit.graphs import Onnx, const, graph, inp, node, ops_of, outputs
from tests.unit.reference import qonnx_quant, qonnx_round
from trigc import UnsupportedOpError
from trigc.fixed import FixedType, Overflow, Rounding
from trigc.ir import Op, verify
from trigc.ir.ops import CastAttrs, QuantAttrs, TruncAttrs
from trigc.passes import (
    absorb_quant, eliminate_dead, fold_constants, fuse_cast, infer_precision, lower_div,
)

RNG = np.random.default_rng(4)
X_TYPE = FixedType(True, 16, 6)  # the run-time input of the hand-built graphs
MODES = {"ROUND": Rounding.RND_CONV, "HALF_EVEN": Rounding.RND_CONV, "FLOOR": Rounding.TRN,
         "DOWN": Rounding.TRN_ZERO, "HALF_UP": Rounding.RND_INF, "HALF_DOWN": Rounding.RND_ZERO}


def quant_graph(scale, bits, signed=True, narrow=False, rounding="ROUND", zp=0.0,
                pre_op=True):
    """x:fixed<16,6> -> Add(x, 2**-10) -> Quant -> y. The Add keeps the Quant off the input."""
    g = graph()
    x = inp(g, "x", (4,), X_TYPE)
    h = node(g, Op.ADD, [x, const(g, 2.0**-10, "eps")], out="h") if pre_op else x
    ins = [h, const(g, scale, "scale"), const(g, zp, "zp"), const(g, float(bits), "bits")]
    y = node(g, Op.QUANT, ins, QuantAttrs(signed, narrow, rounding), name="q", out="y",
             source="act")
    return outputs(g, y)


def finish(g):
    """The passes after absorb_quant that give every tensor a type."""
    lower_div(g)
    fuse_cast(g)
    eliminate_dead(g)
    infer_precision(g)
    verify(g, final=True)
    return g


def grid_inputs(n=400):
    """Inputs on X_TYPE's grid, including exact ties for the coarser quantizers."""
    raw = np.concatenate([RNG.integers(-(2**15), 2**15, n), np.arange(-64, 64) * 256 + 128])
    return (raw.astype(np.float64) * 2.0**-10)


def exact_reference(xs, pre, scale, bits, signed, narrow, rounding, zp=0.0):
    out = np.empty(xs.shape)
    for idx in np.ndindex(xs.shape):
        v = Fraction(float(xs[idx])) + pre
        out[idx] = float(qonnx_quant(v, Fraction(float(scale)), Fraction(float(zp)), bits,
                                     signed, narrow, rounding))
    return out


@pytest.mark.parametrize("rounding", sorted(MODES))
@pytest.mark.parametrize("signed, narrow", [(True, False), (True, True), (False, False)])
def test_po2_quant_becomes_cast_with_exact_type(rounding, signed, narrow):
    scale, bits = 2.0**-2, 5
    g = quant_graph(scale, bits, signed, narrow, rounding)
    assert absorb_quant(g) is True
    verify(g)
    assert ops_of(g) == [Op.ADD, Op.CAST]
    cast = g.nodes[1]
    overflow = Overflow.SAT_SYM if (signed and narrow) else Overflow.SAT
    assert cast.output.type == FixedType(signed, bits, bits - 2, MODES[rounding], overflow)
    assert cast.output.name == "y" and g.outputs == [cast.output]
    assert cast.source == "act"
    assert not any(t.name in ("scale", "zp", "bits") for t in g.tensors.values())
    assert absorb_quant(g) is False
    finish(g)
    xs = grid_inputs().reshape(-1, 4)
    want = exact_reference(xs, Fraction(1, 1024), scale, bits, signed, narrow, rounding)
    np.testing.assert_array_equal(g(xs), want)


def test_narrow_unsigned_adds_clip():
    g = quant_graph(0.5, 3, signed=False, narrow=True)
    absorb_quant(g)
    verify(g)
    assert ops_of(g) == [Op.ADD, Op.CAST, Op.CLIP]
    cast, clip = g.nodes[1:]
    assert cast.output.type == FixedType(False, 3, 2, Rounding.RND_CONV, Overflow.SAT)
    assert (clip.attrs.low, clip.attrs.high) == (None, 6 * 0.5)
    assert clip.output.name == "y"
    finish(g)
    xs = grid_inputs().reshape(-1, 4)
    np.testing.assert_array_equal(
        g(xs), exact_reference(xs, Fraction(1, 1024), 0.5, 3, False, True, "ROUND"))


@pytest.mark.parametrize("rounding", ["ROUND", "FLOOR", "HALF_UP"])
@pytest.mark.parametrize("signed, narrow", [(True, False), (True, True), (False, True)])
def test_input_quant_becomes_input_type(rounding, signed, narrow):
    """Quant straight on the model input (via the ONNX importer): the input gets the
    type, and the emulator's float -> fixed conversion is the Quant itself."""
    b = Onnx()
    q = b.quant("x", 2.0**-3, 6, signed=signed, narrow=narrow, rounding=rounding,
                name="inp/Quant")
    y = b.node("Relu", [q], name="act/Relu")
    g = b.build({"x": (1, 5)}, y, (1, 5))
    fold_constants(g)
    assert absorb_quant(g) is True
    verify(g)
    x = g.inputs[0]
    overflow = Overflow.SAT_SYM if (signed and narrow) else Overflow.SAT
    assert x.type == FixedType(signed, 6, 3, MODES[rounding], overflow)
    expected_ops = [Op.CLIP, Op.RELU] if (narrow and not signed) else [Op.RELU]
    assert ops_of(g) == expected_ops
    assert g.nodes[0].inputs[0] is x
    assert absorb_quant(g) is False
    finish(g)
    xs = np.concatenate([RNG.normal(0, 4, 200), np.arange(-40, 40) / 16 + 1 / 32, [100, -100]])
    xs = xs[: len(xs) // 5 * 5].reshape(-1, 5)
    want = np.maximum(exact_reference(xs, 0, 2.0**-3, 6, signed, narrow, rounding), 0)
    np.testing.assert_array_equal(g(xs), want)


@pytest.mark.parametrize("signed, narrow", [(True, False), (False, True), (True, True)])
@pytest.mark.parametrize("rounding", ["ROUND", "FLOOR", "HALF_DOWN"])
def test_non_po2_scale_becomes_exact_div_then_mul(signed, narrow, rounding):
    scale = float(np.float32(0.3))
    g = quant_graph(scale, 4, signed, narrow, rounding)
    absorb_quant(g)
    verify(g)
    want_ops = [Op.ADD, Op.DIV] + ([Op.CLIP] if (narrow and not signed) else []) + [Op.MUL]
    assert ops_of(g) == want_ops
    div, mul = g.nodes[1], g.nodes[-1]
    overflow = Overflow.SAT_SYM if (signed and narrow) else Overflow.SAT
    assert div.output.type == FixedType(signed, 4, 4, MODES[rounding], overflow)
    assert div.inputs[1].value == scale and mul.inputs[1].value == scale
    assert mul.output.name == "y" and mul.output.type is None
    assert absorb_quant(g) is False
    finish(g)
    assert ops_of(g) == want_ops  # 0.3 is not a power of two: the Div stays a Div
    xs = grid_inputs().reshape(-1, 4)
    np.testing.assert_array_equal(
        g(xs), exact_reference(xs, Fraction(1, 1024), scale, 4, signed, narrow, rounding))


@pytest.mark.parametrize("signed, narrow", [(False, False), (False, True), (True, False)])
def test_zero_point_becomes_add_div_sub_mul(signed, narrow):
    scale, zp = 0.25, 3.0
    g = quant_graph(scale, 4, signed, narrow, "ROUND", zp=zp)
    absorb_quant(g)
    verify(g)
    mid = [Op.CLIP] if (narrow and not signed) else []
    assert ops_of(g) == [Op.ADD, Op.ADD, Op.DIV, *mid, Op.SUB, Op.MUL]
    add_zp = g.nodes[1]
    assert add_zp.inputs[1].value == zp * scale
    assert g.nodes[-2].inputs[1].value == zp
    finish(g)
    xs = grid_inputs().reshape(-1, 4)
    np.testing.assert_array_equal(
        g(xs), exact_reference(xs, Fraction(1, 1024), scale, 4, signed, narrow, "ROUND", zp))


def test_one_bit_signed_quant_and_bipolar_quant_become_sign_mul():
    g = quant_graph(0.5, 1, signed=True)
    absorb_quant(g)
    verify(g)
    assert ops_of(g) == [Op.ADD, Op.SIGN, Op.MUL]
    assert g.nodes[-1].inputs[1].value == 0.5 and g.nodes[-1].output.name == "y"
    finish(g)
    xs = np.array([[-1.0, 0.0, -2.0**-10, 3.0]])  # x + 2**-10 >= 0 decides the sign
    np.testing.assert_array_equal(g(xs), [[-0.5, 0.5, 0.5, 0.5]])

    g = graph()
    x = inp(g, "x", (3,), X_TYPE)
    h = node(g, Op.RELU, [x], out="h")
    outputs(g, node(g, Op.BIPOLAR_QUANT, [h, const(g, 0.25, "s")], name="bq", out="y"))
    absorb_quant(g)
    verify(g)
    assert ops_of(g) == [Op.RELU, Op.SIGN, Op.MUL]
    finish(g)
    np.testing.assert_array_equal(g(np.array([[-1.0, 0.0, 2.0]])), [[0.25, 0.25, 0.25]])


@pytest.mark.parametrize("rounding", ["FLOOR", "ROUND", "DOWN"])
def test_trunc_becomes_cast_mul_cast(rounding):
    g = graph()
    x = inp(g, "x", (4,), X_TYPE)
    h = node(g, Op.ADD, [x, const(g, 2.0**-10, "eps")], out="h")
    ins = [h, const(g, 2.0**-3, "s"), const(g, 0.0, "zp"), const(g, 8.0, "ib"),
           const(g, 5.0, "ob")]
    outputs(g, node(g, Op.TRUNC, ins, TruncAttrs(rounding), name="tr", out="y"))
    absorb_quant(g)
    verify(g)
    assert ops_of(g) == [Op.ADD, Op.CAST, Op.MUL, Op.CAST]
    c1, mul, c2 = g.nodes[1:]
    assert c1.attrs == CastAttrs(3, Rounding.RND_CONV)
    assert mul.inputs[1].value == 2.0**-3
    assert c2.attrs == CastAttrs(3, MODES[rounding]) and c2.output.name == "y"
    finish(g)
    xs = grid_inputs().reshape(-1, 4)
    want = np.empty(xs.shape)
    for idx in np.ndindex(xs.shape):  # QONNX Trunc v1 in exact rationals
        y = round((Fraction(float(xs[idx])) + Fraction(1, 1024)) / Fraction(1, 8))
        want[idx] = float(qonnx_round(Fraction(y, 8), rounding) * Fraction(1, 8))
    np.testing.assert_array_equal(g(xs), want)


@pytest.mark.parametrize("scale, out_scale", [
    (1.0, 4.0), (2.0, 8.0), (2.0**-3, 2.0**-1), (2.0**-4, 2.0**-4),
])
@pytest.mark.parametrize("rounding, signed, narrow", [("FLOOR", True, False),
                                                      ("ROUND", True, True),
                                                      ("FLOOR", False, False)])
def test_trunc_v2_matches_qonnx(scale, out_scale, rounding, signed, narrow):
    """QONNX Trunc v2 (6 inputs): round onto the input grid, move to the output scale's
    grid, clip to out_bits, round, rescale (qonnx.custom_op.general.trunc.trunc_v2).
    (A draft of the lowering scaled by 2**-drop instead of 1 / out_scale: wrong for
    any input scale other than 1.)"""
    from qonnx.custom_op.general.trunc import trunc_v2

    g = graph()
    x = inp(g, "x", (4,), FixedType(True, 16, 12))
    h = node(g, Op.ADD, [x, const(g, 2.0**-4, "eps")], out="h")
    ins = [h, const(g, scale, "s"), const(g, 0.0, "zp"), const(g, 8.0, "ib"),
           const(g, out_scale, "os"), const(g, 4.0, "ob")]
    attrs = TruncAttrs(rounding, version=2, signed=signed, narrow=narrow)
    outputs(g, node(g, Op.TRUNC, ins, attrs, name="tr", out="y"))
    absorb_quant(g)
    verify(g)
    assert Op.TRUNC not in ops_of(g)
    finish(g)
    raw = np.concatenate([RNG.integers(-(2**15), 2**15, 200), np.arange(-128, 128) * 8])
    xs = (raw * 2.0**-4)[: len(raw) // 4 * 4].reshape(-1, 4)
    want = trunc_v2(xs + 2.0**-4, scale, 0.0, 8.0, narrow, signed, out_scale, np.float64(4.0),
                    rounding)
    np.testing.assert_array_equal(g(xs), want)


@pytest.mark.parametrize("kwargs, message", [
    (dict(scale=0.5, bits=4, rounding="CEIL"), "rounding mode 'CEIL' has no ap_fixed"),
    (dict(scale=0.5, bits=4, rounding="UP"), "rounding mode 'UP'"),
    (dict(scale=-0.5, bits=4), "scales must be positive"),
    (dict(scale=0.5, bits=4.5), "bit width 4.5 is not an integer"),
    (dict(scale=0.5, bits=0), "bit width 0 is out of range"),
    (dict(scale=0.5, bits=1, zp=1.0), "1-bit Quant with a zero point"),
])
def test_unsupported_quant_is_a_clear_error(kwargs, message):
    g = quant_graph(**kwargs)
    with pytest.raises(UnsupportedOpError, match=message):
        absorb_quant(g)


def test_trunc_with_fractional_zero_point_is_a_clear_error():
    """A non-power-of-two scale is kept exact (tests/e2e/test_nonpo2_trunc_div.py); a
    zero point that is not an integer is refused by name."""
    g = graph()
    x = inp(g, "x", (2,), X_TYPE)
    ins = [x, const(g, 0.3), const(g, 0.5), const(g, 8.0), const(g, 4.0)]
    outputs(g, node(g, Op.TRUNC, ins, TruncAttrs("FLOOR"), name="tr"))
    with pytest.raises(UnsupportedOpError, match="Trunc zero point .* is not an integer"):
        absorb_quant(g)


def test_input_with_two_readers_keeps_its_cast():
    g = graph()
    x = inp(g, "x", (2,))
    ins = [x, const(g, 0.25), const(g, 0.0), const(g, 6.0)]
    q = node(g, Op.QUANT, ins, QuantAttrs(True, False, "ROUND"), name="q", out="q")
    r = node(g, Op.RELU, [x], out="r")
    outputs(g, q, r)
    absorb_quant(g)
    verify(g)
    assert g.inputs[0].type is None and ops_of(g) == [Op.CAST, Op.RELU]


def test_nothing_to_absorb():
    g = graph()
    x = inp(g, "x", (2,), X_TYPE)
    outputs(g, node(g, Op.RELU, [x]))
    assert absorb_quant(g) is False

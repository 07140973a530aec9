"""fold_constants: Quant (and other ops) on initializers become constants."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from qonnx.custom_op.general.intquant import int_quant

from tests.unit.graphs import Onnx, const, graph, inp, node, ops_of, outputs
from tests.unit.reference import qonnx_quant
from trigc import UnsupportedOpError
from trigc.fixed import FixedType
from trigc.ir import Op, verify
from trigc.ir.ops import ClipAttrs, ConcatAttrs, LutAttrs, QuantAttrs, ReshapeAttrs, TransposeAttrs
from trigc.passes import fold_constants

RNG = np.random.default_rng(1)


@pytest.mark.parametrize("signed, narrow, rounding, bits, scale", [
    (True, False, "ROUND", 4, 2.0**-3),
    (True, True, "ROUND", 6, 2.0**-4),
    (False, False, "FLOOR", 5, 2.0**-2),
    (False, True, "HALF_UP", 3, 0.5),
    (True, False, "DOWN", 8, 0.37),                 # non-power-of-two scale
    (True, True, "HALF_DOWN", 4, "per_channel"),
    (True, False, "CEIL", 3, 2.0**-1),
    (True, False, "ROUND", 1, 0.25),                # 1-bit signed: bipolar
])
def test_quant_on_initializer_becomes_qonnx_quantized_constant(signed, narrow, rounding, bits,
                                                              scale):
    w = RNG.normal(0, 1, (4, 3)).astype(np.float32)
    w[0, 0] = 0.0
    w[1, 1] = 2.0**-4 * 2.5  # a tie on the finest grid
    if scale == "per_channel":
        scale = np.array([2.0**-2, 2.0**-3, 0.3], dtype=np.float32)
    b = Onnx()
    wq = b.quant(b.const(w, "w"), scale, bits, signed=signed, narrow=narrow,
                 rounding=rounding)
    y = b.node("MatMul", ["x", wq], name="fc/MatMul")
    g = b.build({"x": (1, 4)}, y, (1, 3))
    assert ops_of(g) == [Op.QUANT, Op.MATMUL]
    assert fold_constants(g) is True
    verify(g)
    assert ops_of(g) == [Op.MATMUL]
    folded = g.nodes[0].inputs[1]
    assert folded.is_constant and folded.producer is None and folded.shape == (4, 3)
    assert g.tensors[folded.name] is folded
    scale64 = np.asarray(scale, dtype=np.float32).astype(np.float64)
    want = int_quant(w.astype(np.float64), scale64, np.float64(0.0), np.float64(bits), signed,
                     narrow, rounding)
    np.testing.assert_array_equal(folded.value, want)
    # and the exact QONNX definition, element by element
    sc = np.broadcast_to(scale64, w.shape)
    exact = [[float(qonnx_quant(Fraction(float(w[i, j])), Fraction(float(sc[i, j])), Fraction(0),
                                bits, signed, narrow, rounding)) for j in range(3)]
             for i in range(4)]
    if np.all(np.frexp(scale64)[0] == 0.5):  # power-of-two scales divide exactly in float
        np.testing.assert_array_equal(folded.value, exact)
    else:
        np.testing.assert_allclose(folded.value, exact, rtol=1e-12)
    # the scale / zero point / bit-width initializers are gone
    assert all(not t.is_constant or t.users for t in g.tensors.values())
    assert fold_constants(g) is False


def test_quant_with_zero_point():
    b = Onnx()
    w = np.array([[-1.0, 0.1], [0.26, 3.0]], dtype=np.float32)
    wq = b.quant(b.const(w, "w"), 0.25, 4, signed=False, zero_point=3.0)
    y = b.node("MatMul", ["x", wq])
    g = b.build({"x": (1, 2)}, y, (1, 2))
    fold_constants(g)
    verify(g)
    want = int_quant(w.astype(np.float64), 0.25, 3.0, np.float64(4), False, False, "ROUND")
    np.testing.assert_array_equal(g.nodes[0].inputs[1].value, want)


def test_chain_of_constant_ops_folds_in_one_run():
    """Gemm(transB=1) imports as Transpose(Quant(W)); both fold at once."""
    w = RNG.normal(0, 1, (3, 5)).astype(np.float32)
    b = Onnx()
    wq = b.quant(b.const(w, "w"), 2.0**-3, 6)
    y = b.node("Gemm", ["x", wq, b.const(np.zeros(3), "bias")], transB=1, name="fc/Gemm")
    g = b.build({"x": (1, 5)}, y, (1, 3))
    assert Op.TRANSPOSE in ops_of(g) and Op.QUANT in ops_of(g)
    assert fold_constants(g) is True
    verify(g)
    assert ops_of(g) == [Op.MATMUL, Op.ADD]
    wt = g.nodes[0].inputs[1]
    want = int_quant(w.astype(np.float64), 2.0**-3, 0.0, np.float64(6), True, False,
                     "ROUND").T
    np.testing.assert_array_equal(wt.value, want)
    assert wt.shape == (5, 3)
    assert fold_constants(g) is False


def test_hand_built_folds_and_keeps_runtime_nodes():
    g = graph()
    x = inp(g, "x", (2, 3))
    a = const(g, [[1.0, 2.0, 3.0]], "a")
    b = const(g, [[4.0, 5.0, 6.0]], "b")
    cat = node(g, Op.CONCAT, [a, b], ConcatAttrs(0), shape=(2, 3), out="cat")
    t = node(g, Op.TRANSPOSE, [cat], TransposeAttrs((1, 0)), shape=(3, 2), out="t")
    r = node(g, Op.RESHAPE, [t], ReshapeAttrs((2, 3)), shape=(2, 3), out="r")
    s = node(g, Op.SUB, [r, const(g, 1.0, "one")], out="s")
    d = node(g, Op.DIV, [s, const(g, 2.0, "two")], out="d")
    m = node(g, Op.MUL, [d, const(g, -1.0, "neg")], out="m")
    c = node(g, Op.CLIP, [m], ClipAttrs(-2.0, None), out="c")
    rl = node(g, Op.RELU, [c], out="rl")
    y = node(g, Op.ADD, [x, rl], out="y")
    outputs(g, y)
    assert fold_constants(g) is True
    verify(g)
    assert ops_of(g) == [Op.ADD]
    folded = g.nodes[0].inputs[1]
    want = np.maximum(np.clip(-(np.array([[1, 4, 2], [5, 3, 6]]) - 1) / 2, -2, None), 0)
    np.testing.assert_array_equal(folded.value, want)
    assert set(g.tensors) == {"x", "y", folded.name}
    assert fold_constants(g) is False


def test_bipolar_quant_on_constant():
    g = graph()
    x = inp(g, "x", (3,))
    w = const(g, [-0.5, 0.0, 2.0], "w")
    bq = node(g, Op.BIPOLAR_QUANT, [w, const(g, 0.25, "s")], out="bq")
    y = node(g, Op.MUL, [x, bq], out="y")
    outputs(g, y)
    fold_constants(g)
    verify(g)
    np.testing.assert_array_equal(g.nodes[0].inputs[1].value, [-0.25, 0.25, 0.25])


def test_unfoldable_op_is_a_clear_error():
    g = graph()
    x = inp(g, "x", (2,))
    s = node(g, Op.SIGMOID, [const(g, [0.0, 1.0])], LutAttrs("sigmoid"), name="act", out="s")
    y = node(g, Op.ADD, [x, s], out="y")
    outputs(g, y)
    with pytest.raises(UnsupportedOpError, match="cannot fold Sigmoid on constants"):
        fold_constants(g)


def test_unknown_quant_rounding_mode_is_a_clear_error():
    g = graph()
    x = inp(g, "x", (2,))
    ins = [const(g, [0.3, 0.6]), const(g, 0.5), const(g, 0.0), const(g, 4.0)]
    q = node(g, Op.QUANT, ins, QuantAttrs(True, False, "STOCHASTIC"), name="wq", out="q")
    outputs(g, node(g, Op.ADD, [x, q]))
    with pytest.raises(UnsupportedOpError, match="rounding mode 'STOCHASTIC'"):
        fold_constants(g)


def test_nothing_to_fold():
    g = graph()
    x = inp(g, "x", (2,), FixedType(True, 8, 4))
    outputs(g, node(g, Op.RELU, [x]))
    assert fold_constants(g) is False
    verify(g)

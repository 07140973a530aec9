"""lower_matmul: MatMul by a constant (+ a constant bias Add) becomes Dense."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.graphs import Onnx, const, float_run, graph, inp, node, ops_of, outputs
from trigc import UnsupportedOpError
from trigc.fixed import FixedType
from trigc.ir import Op, verify
from trigc.passes import fold_constants, infer_precision, lower_matmul

RNG = np.random.default_rng(2)
W = np.arange(12, dtype=np.float64).reshape(4, 3) / 8 - 0.75
B = np.array([0.5, -0.25, 1.0])


def mm_graph(bias="right", out_is_output=False, x_type=None):
    g = graph()
    x = inp(g, "x", (4,), x_type)
    w = const(g, W, "w")
    mm = node(g, Op.MATMUL, [x, w], shape=(3,), name="fc", out="mm", source="fc_layer")
    if bias is None:
        outputs(g, mm)
        return g
    b = const(g, B, "b")
    ins = [mm, b] if bias == "right" else [b, mm]
    y = node(g, Op.ADD, ins, name="fc_bias", out="y")
    outputs(g, *([y, mm] if out_is_output else [y]))
    return g


@pytest.mark.parametrize("order", ["right", "left"])
def test_matmul_plus_bias_becomes_dense_with_bias(order):
    g = mm_graph(order)
    x = g.inputs[0]
    xs = RNG.normal(size=(5, 4))
    before = float_run(g, xs)[0]
    assert lower_matmul(g) is True
    verify(g)
    assert ops_of(g) == [Op.DENSE]
    d = g.nodes[0]
    assert d.inputs[0] is x and d.inputs[1].value is not None
    np.testing.assert_array_equal(d.inputs[1].value, W)
    np.testing.assert_array_equal(d.inputs[2].value, B)
    assert d.inputs[2].shape == (3,)
    assert (d.attrs.n_in, d.attrs.n_out, d.attrs.accum_type) == (4, 3, None)
    assert d.output.name == "y" and g.outputs == [d.output]
    assert d.name == "fc" and d.source == "fc_layer"
    assert "mm" not in g.tensors and "b" not in g.tensors  # the old bias is pruned
    np.testing.assert_allclose(float_run(g, xs)[0], before, rtol=0, atol=1e-12)
    assert lower_matmul(g) is False


def test_matmul_without_bias():
    g = mm_graph(None)
    assert lower_matmul(g) is True
    verify(g)
    assert ops_of(g) == [Op.DENSE] and len(g.nodes[0].inputs) == 2
    assert g.outputs[0].name == "mm"


def test_bias_not_fused_when_matmul_output_is_also_a_graph_output():
    g = mm_graph("right", out_is_output=True)
    lower_matmul(g)
    verify(g)
    assert ops_of(g) == [Op.DENSE, Op.ADD]
    assert len(g.nodes[0].inputs) == 2


def test_residual_add_is_not_a_bias():
    g = graph()
    x = inp(g, "x", (3,))
    mm = node(g, Op.MATMUL, [x, const(g, np.eye(3), "w")], out="mm")
    y = node(g, Op.ADD, [mm, x], out="y")
    outputs(g, y)
    lower_matmul(g)
    verify(g)
    assert ops_of(g) == [Op.DENSE, Op.ADD]


def test_bias_of_wrong_size_is_not_fused():
    g = graph()
    x = inp(g, "x", (4,))
    mm = node(g, Op.MATMUL, [x, const(g, W, "w")], shape=(3,), out="mm")
    y = node(g, Op.ADD, [mm, const(g, 1.0, "one")], out="y")
    outputs(g, y)
    lower_matmul(g)
    verify(g)
    assert ops_of(g) == [Op.DENSE, Op.ADD]


def test_runtime_weight_is_rejected():
    g = graph()
    x = inp(g, "x", (3,))
    w = inp(g, "w", (3, 3))
    outputs(g, node(g, Op.MATMUL, [x, w], name="bad"))
    with pytest.raises(UnsupportedOpError, match="constant 2-D weight.*two run-time tensors"):
        lower_matmul(g)


def test_shape_mismatch_is_rejected():
    g = graph()
    x = inp(g, "x", (5,))
    outputs(g, node(g, Op.MATMUL, [x, const(g, W, "w")], shape=(3,), name="bad"))
    with pytest.raises(UnsupportedOpError, match=r"input shape \(5,\) does not match weight"):
        lower_matmul(g)


def test_dense_is_placed_after_its_input_producer():
    g = graph()
    x = inp(g, "x", (4,))
    r = node(g, Op.RELU, [x], out="r")
    mm = node(g, Op.MATMUL, [r, const(g, W, "w")], shape=(3,), out="mm")
    y = node(g, Op.ADD, [mm, const(g, B, "b")], out="y")
    z = node(g, Op.SIGN, [y], out="z")
    outputs(g, z)
    lower_matmul(g)
    verify(g)
    assert ops_of(g) == [Op.RELU, Op.DENSE, Op.SIGN]


def test_gemm_import_lowers_to_exact_dense():
    """Gemm(transB=1) + bias from ONNX: after folding and lowering, one Dense whose
    emulated output equals x @ W.T + b exactly (dyadic data)."""
    w = RNG.integers(-8, 8, (3, 4)) / 8.0
    bias = RNG.integers(-8, 8, 3) / 4.0
    b = Onnx()
    y = b.node("Gemm", ["x", b.const(w, "w"), b.const(bias, "b")], transB=1, name="fc/Gemm")
    g = b.build({"x": (1, 4)}, y, (1, 3))
    fold_constants(g)
    assert lower_matmul(g) is True
    verify(g)
    assert ops_of(g) == [Op.DENSE]
    np.testing.assert_array_equal(g.nodes[0].inputs[1].value, w.T)
    g.inputs[0].type = FixedType(True, 8, 4)
    infer_precision(g)
    verify(g, final=True)
    xs = RNG.integers(-128, 128, (6, 4)) / 16.0
    np.testing.assert_array_equal(g(xs), xs @ w.T + bias)

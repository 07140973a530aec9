"""fold_batchnorm: into Conv / MatMul(+bias) weights, else a per-channel Mul + Add.
The float result must not change (beyond float32 rounding of the folded factors)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.graphs import const, float_run, graph, inp, node, ops_of, outputs
from trigc.ir import Op, verify
from trigc.ir.ops import BatchNormAttrs, ConvAttrs
from trigc.passes import fold_batchnorm

RNG = np.random.default_rng(3)
EPS = 1e-3


def bn_params(g, c):
    gamma = const(g, RNG.uniform(0.5, 1.5, c), "gamma")
    beta = const(g, RNG.normal(0, 0.3, c), "beta")
    mean = const(g, RNG.normal(0, 0.3, c), "mean")
    var = const(g, RNG.uniform(0.5, 2.0, c), "var")
    return [gamma, beta, mean, var]


def add_bn(g, x, c, name="bn", out="y"):
    return node(g, Op.BATCHNORM, [x, *bn_params(g, c)], BatchNormAttrs(EPS), name=name, out=out,
                source="bn_layer")


def conv_bn(bias: bool, groups: int = 1):
    g = graph()
    c_in, c_out = 2, 4
    x = inp(g, "x", (c_in, 5, 5))
    w = const(g, RNG.normal(0, 0.5, (c_out, c_in // groups, 3, 3)), "w")
    ins = [x, w] + ([const(g, RNG.normal(0, 0.2, c_out), "b")] if bias else [])
    h = node(g, Op.CONV, ins, ConvAttrs((3, 3), (1, 1), (1, 1, 1, 1), groups), shape=(c_out, 5, 5),
             name="conv", out="h")
    y = add_bn(g, h, c_out)
    outputs(g, y)
    return g


def build_twice(build):
    """Two independent copies of the same random graph (a reference and one to fold)."""
    state = RNG.bit_generator.state
    ref = build()
    RNG.bit_generator.state = state
    return ref, build()


def assert_same_float(g_before, g_after, shape):
    xs = RNG.normal(size=(3, *shape))
    want = float_run(g_before, xs)[0]
    got = float_run(g_after, xs)[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("groups", [1, 2])
def test_bn_after_conv_folds_into_weights(bias, groups):
    ref, g = build_twice(lambda: conv_bn(bias, groups))
    assert fold_batchnorm(g) is True
    verify(g)
    assert ops_of(g) == [Op.CONV]
    conv = g.nodes[0]
    assert len(conv.inputs) == 3
    assert conv.output is g.outputs[0] and conv.output.name == "y"  # carries the BN values
    assert conv.inputs[1].shape == conv.inputs[1].value.shape
    assert_same_float(ref, g, (2, 5, 5))
    assert fold_batchnorm(g) is False


def test_bn_after_matmul_with_bias_updates_bias():
    def build():
        g = graph()
        x = inp(g, "x", (4,))
        mm = node(g, Op.MATMUL, [x, const(g, RNG.normal(size=(4, 3)), "w")], shape=(3,),
                  out="mm")
        h = node(g, Op.ADD, [mm, const(g, RNG.normal(size=3), "b")], out="h")
        outputs(g, add_bn(g, h, 3))
        return g
    ref, g = build_twice(build)
    assert fold_batchnorm(g) is True
    verify(g)
    assert ops_of(g) == [Op.MATMUL, Op.ADD]
    assert g.outputs[0].name == "y"  # carries the BN values
    assert_same_float(ref, g, (4,))
    assert fold_batchnorm(g) is False


def test_bn_not_folded_into_matmul_whose_output_is_also_a_graph_output():
    # scaling the weights would change the MatMul output the graph also returns
    def build():
        g = graph()
        x = inp(g, "x", (4,))
        mm = node(g, Op.MATMUL, [x, const(g, RNG.normal(size=(4, 3)), "w")], shape=(3,),
                  out="mm")
        h = node(g, Op.ADD, [mm, const(g, RNG.normal(size=3), "b")], out="h")
        outputs(g, add_bn(g, h, 3), mm)
        return g
    ref, g = build_twice(build)
    assert fold_batchnorm(g) is True
    verify(g)
    assert ops_of(g) == [Op.MATMUL, Op.ADD, Op.MUL, Op.ADD]
    xs = RNG.normal(size=(3, 4))
    for want, got in zip(float_run(ref, xs), float_run(g, xs)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_bn_after_bare_matmul_becomes_add_of_shift():
    def build():
        g = graph()
        x = inp(g, "x", (4,))
        mm = node(g, Op.MATMUL, [x, const(g, RNG.normal(size=(4, 3)), "w")], shape=(3,),
                  out="mm")
        outputs(g, add_bn(g, mm, 3))
        return g
    ref, g = build_twice(build)
    assert fold_batchnorm(g) is True
    verify(g)
    assert ops_of(g) == [Op.MATMUL, Op.ADD]
    add = g.nodes[1]
    assert add.inputs[0].producer is g.nodes[0] and add.inputs[1].is_constant
    assert add.inputs[1].shape == (3,)
    assert_same_float(ref, g, (4,))
    assert fold_batchnorm(g) is False


@pytest.mark.parametrize("shape", [(3, 4, 4), (3, 5), (3,)])
def test_bn_with_nothing_to_fold_becomes_mul_add(shape):
    def build():
        g = graph()
        x = inp(g, "x", shape)
        r = node(g, Op.RELU, [x], out="r")
        outputs(g, add_bn(g, r, 3))
        return g
    ref, g = build_twice(build)
    assert fold_batchnorm(g) is True
    verify(g)
    assert ops_of(g) == [Op.RELU, Op.MUL, Op.ADD]
    mul, add = g.nodes[1:]
    bshape = (3,) + (1,) * (len(shape) - 1)
    assert mul.inputs[1].shape == bshape and add.inputs[1].shape == bshape
    assert add.inputs[0] is mul.output and add.output is g.outputs[0]
    assert add.source == "bn_layer" and mul.source == "bn_layer"
    assert not any(t.name in ("gamma", "beta", "mean", "var") for t in g.tensors.values())
    assert_same_float(ref, g, shape)
    assert fold_batchnorm(g) is False


def test_bn_on_graph_input():
    def build():
        g = graph()
        x = inp(g, "x", (2, 3, 3))
        outputs(g, add_bn(g, x, 2))
        return g
    ref, g = build_twice(build)
    fold_batchnorm(g)
    verify(g)
    assert ops_of(g) == [Op.MUL, Op.ADD]
    assert g.nodes[0].inputs[0] is g.inputs[0]
    assert_same_float(ref, g, (2, 3, 3))


def test_bn_not_folded_into_conv_with_a_second_reader():
    g = graph()
    x = inp(g, "x", (1, 4, 4))
    w = const(g, RNG.normal(size=(2, 1, 3, 3)), "w")
    h = node(g, Op.CONV, [x, w], ConvAttrs((3, 3), (1, 1), (0, 0, 0, 0)), shape=(2, 2, 2),
             out="h")
    w_before = w.value.copy()
    outputs(g, add_bn(g, h, 2), node(g, Op.RELU, [h], out="z"))
    fold_batchnorm(g)
    verify(g)
    assert sorted(o.value for o in ops_of(g)) == ["Add", "Conv", "Mul", "Relu"]
    np.testing.assert_array_equal(w.value, w_before)
    assert len(g.node_by_name("conv").inputs) == 2


def _shared_input_graph():
    """x feeds both a BatchNorm and a Relu (a skip connection, as in a ResNet)."""
    g = graph()
    x = inp(g, "x", (2,))
    params = [const(g, [2.0, 2.0], "gamma"), const(g, [0.0, 0.0], "beta"),
              const(g, [0.0, 0.0], "mean"), const(g, [1.0, 1.0], "var")]
    y = node(g, Op.BATCHNORM, [x, *params], BatchNormAttrs(0.0), name="bn", out="y")
    z = node(g, Op.RELU, [x], name="skip", out="z")
    return outputs(g, y, z)


def test_bn_lowered_to_mul_add_leaves_other_readers_alone():
    ref, g = _shared_input_graph(), _shared_input_graph()
    fold_batchnorm(g)
    verify(g)
    assert g.node_by_name("skip").inputs[0] is g.inputs[0]
    xs = np.array([[1.0, -3.0]])
    for a, b in zip(float_run(ref, xs), float_run(g, xs)):
        np.testing.assert_allclose(b, a)


def _matmul_rank2_graph():
    """A MatMul on a (3, 4) per-sample activation: ONNX BatchNormalization normalises
    axis 1 of (N, 3, 3), i.e. the *rows* of the MatMul output, not its columns."""
    g = graph()
    x = inp(g, "x", (3, 4))
    h = node(g, Op.MATMUL, [x, const(g, np.arange(12.0).reshape(4, 3), "w")], shape=(3, 3),
             out="h")
    params = [const(g, [1.0, 2.0, 3.0], "gamma"), const(g, [0.0] * 3, "beta"),
              const(g, [0.0] * 3, "mean"), const(g, [1.0] * 3, "var")]
    return outputs(g, node(g, Op.BATCHNORM, [h, *params], BatchNormAttrs(0.0), out="y"))


def test_bn_after_matmul_on_rank2_activation_keeps_the_maths():
    ref, g = _matmul_rank2_graph(), _matmul_rank2_graph()
    fold_batchnorm(g)
    verify(g)
    xs = np.ones((1, 3, 4))
    np.testing.assert_allclose(float_run(g, xs)[0], float_run(ref, xs)[0])


def _shared_weight_bn_graph():
    """conv1 -> BN and conv2 read the same weight initializer."""
    g = graph()
    x = inp(g, "x", (1, 3, 3))
    w = const(g, np.ones((2, 1, 3, 3)), "w")
    attrs = ConvAttrs((3, 3), (1, 1), (1, 1, 1, 1))
    h = node(g, Op.CONV, [x, w], attrs, shape=(2, 3, 3), name="c1", out="h")
    params = [const(g, [2.0, 3.0], "gamma"), const(g, [0.0, 0.0], "beta"),
              const(g, [0.0, 0.0], "mean"), const(g, [1.0, 1.0], "var")]
    y = node(g, Op.BATCHNORM, [h, *params], BatchNormAttrs(0.0), out="y")
    z = node(g, Op.CONV, [x, w], attrs, shape=(2, 3, 3), name="c2", out="z")
    return outputs(g, y, z)


def test_bn_fold_leaves_shared_weight_of_other_conv_alone():
    ref, g = _shared_weight_bn_graph(), _shared_weight_bn_graph()
    fold_batchnorm(g)
    verify(g)
    xs = RNG.normal(size=(2, 1, 3, 3))
    for a, b in zip(float_run(ref, xs), float_run(g, xs)):
        np.testing.assert_allclose(b, a, rtol=1e-6)

"""to_channels_last + cancel_transposes: spatial ops run channels-last and only the
model's own layout boundaries keep a Transpose."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.graphs import (
    const, conv_out_shape, float_run, graph, inp, node, ops_of, outputs,
)
from trigc.fixed import FixedType
from trigc.ir import Op, verify
from trigc.ir.ops import (
    ConvAttrs, GlobalPoolAttrs, PoolAttrs, ReshapeAttrs, TransposeAttrs,
)
from trigc.passes import cancel_transposes, infer_precision, to_channels_last

RNG = np.random.default_rng(5)
X = FixedType(True, 8, 3)


def dyadic(shape, scale=8):
    return RNG.integers(-scale, scale + 1, shape) / scale


def conv(g, x, c_out, k=3, stride=1, pad=1, groups=1, bias=True, name="conv"):
    c_in, *spatial = x.shape
    nd = len(spatial)
    kernel, strides, pads = (k,) * nd, (stride,) * nd, (pad,) * (2 * nd)
    w = const(g, dyadic((c_out, c_in // groups, *kernel)), f"{name}_w")
    ins = [x, w] + ([const(g, dyadic(c_out), f"{name}_b")] if bias else [])
    shape = (c_out, *conv_out_shape(spatial, kernel, strides, pads))
    return node(g, Op.CONV, ins, ConvAttrs(kernel, strides, pads, groups), shape=shape, name=name,
                out=f"{name}_out")


def conv_relu_conv(nd=2, with_add=False):
    g = graph()
    x = inp(g, "x", (2, *(5,) * nd), X)
    h = conv(g, x, 4, name="c1")
    h = node(g, Op.RELU, [h], out="r")
    if with_add:
        h = node(g, Op.ADD, [h, const(g, dyadic((4,) + (1,) * nd), "shift")], out="a")
    y = conv(g, h, 3, stride=2, groups=1, name="c2")
    return outputs(g, y)


def adjacent_transposes(g):
    return [n.name for n in g.nodes
            if n.op is Op.TRANSPOSE and any(u.op is Op.TRANSPOSE for u in n.output.users)]


def check_same_maths(before, after, shape, exact=True):
    xs = RNG.normal(0, 2, (3, *shape))
    for a, b in zip(float_run(before, xs), float_run(after, xs)):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
    if exact:
        infer_precision(after)
        verify(after, final=True)
        xs = RNG.integers(-128, 128, (3, *shape)) / 32.0
        np.testing.assert_array_equal(after(xs), float_run(before, xs)[0])


@pytest.mark.parametrize("nd", [1, 2])
@pytest.mark.parametrize("with_add", [False, True])
def test_conv_relu_conv_keeps_only_boundary_transposes(nd, with_add):
    state = RNG.bit_generator.state
    before = conv_relu_conv(nd, with_add)
    RNG.bit_generator.state = state
    g = conv_relu_conv(nd, with_add)  # the same constants
    assert to_channels_last(g) is True
    verify(g)
    middle = [Op.RELU, Op.ADD] if with_add else [Op.RELU]
    assert ops_of(g) == [Op.TRANSPOSE, Op.CONV, *middle, Op.CONV, Op.TRANSPOSE]
    assert adjacent_transposes(g) == []
    c1, c2 = g.find(Op.CONV)
    assert c1.attrs.channels_last and c2.attrs.channels_last
    assert c1.inputs[1].shape == (*(3,) * nd, 2, 4)  # (*k, C_in/g, C_out)
    assert c1.output.shape == (*(5,) * nd, 4)
    assert c2.output.shape == (*(3,) * nd, 3)
    assert g.outputs[0].shape == (3, *(3,) * nd)
    if with_add:
        add = g.find(Op.ADD)[0]
        assert add.inputs[1].shape == (*(1,) * nd, 4)
    first = g.nodes[0]
    assert first.inputs[0] is g.inputs[0] and first.attrs.perm == (*range(1, nd + 1), 0)
    assert to_channels_last(g) is False
    assert cancel_transposes(g) is False
    check_same_maths(before, g, (2, *(5,) * nd))


def test_depthwise_conv_and_pools():
    def build():
        g = graph()
        x = inp(g, "x", (4, 6, 6), X)
        h = conv(g, x, 4, groups=4, name="dw")
        h = node(g, Op.MAXPOOL, [h], PoolAttrs((2, 2), (2, 2), (0, 0, 0, 0)), shape=(4, 3, 3),
                 out="mp")
        h = node(g, Op.AVGPOOL, [h], PoolAttrs((2, 2), (1, 1), (0, 0, 0, 0)), shape=(4, 2, 2),
                 out="ap")
        return outputs(g, node(g, Op.RELU, [h], out="y"))
    state = RNG.bit_generator.state
    before = build()
    RNG.bit_generator.state = state
    g = build()
    to_channels_last(g)
    verify(g)
    assert ops_of(g) == [Op.TRANSPOSE, Op.CONV, Op.MAXPOOL, Op.AVGPOOL, Op.RELU, Op.TRANSPOSE]
    assert all(n.attrs.channels_last for n in g.nodes if n.op in (Op.MAXPOOL, Op.AVGPOOL))
    assert g.find(Op.CONV)[0].inputs[1].shape == (3, 3, 1, 4)
    check_same_maths(before, g, (4, 6, 6))


def test_flatten_after_conv_keeps_channels_first_order():
    def build():
        g = graph()
        x = inp(g, "x", (2, 3, 3), X)
        h = conv(g, x, 2, name="c")
        return outputs(g, node(g, Op.RESHAPE, [h], ReshapeAttrs((18,)), shape=(18,), out="y"))
    state = RNG.bit_generator.state
    before = build()
    RNG.bit_generator.state = state
    g = build()
    to_channels_last(g)
    verify(g)
    assert ops_of(g) == [Op.TRANSPOSE, Op.CONV, Op.TRANSPOSE, Op.RESHAPE]
    check_same_maths(before, g, (2, 3, 3))


def test_cancel_transposes_composes_and_removes_identity():
    g = graph()
    x = inp(g, "x", (2, 3, 4), X)
    a = node(g, Op.TRANSPOSE, [x], TransposeAttrs((1, 2, 0)), shape=(3, 4, 2), out="a")
    b = node(g, Op.TRANSPOSE, [a], TransposeAttrs((1, 0, 2)), shape=(4, 3, 2), out="b")
    c = node(g, Op.TRANSPOSE, [b], TransposeAttrs((0, 2, 1)), shape=(4, 2, 3), out="c")
    outputs(g, c)
    before = graph()
    bx = inp(before, "x", (2, 3, 4), X)
    outputs(before, node(before, Op.TRANSPOSE, [bx], TransposeAttrs((2, 0, 1)), shape=(4, 2, 3)))
    assert cancel_transposes(g) is True
    verify(g)
    assert ops_of(g) == [Op.TRANSPOSE] and g.nodes[0].attrs.perm == (2, 0, 1)
    assert g.nodes[0].inputs[0] is x and g.outputs[0] is c
    check_same_maths(before, g, (2, 3, 4))

    g = graph()
    x = inp(g, "x", (2, 3), X)
    a = node(g, Op.TRANSPOSE, [x], TransposeAttrs((1, 0)), shape=(3, 2), out="a")
    b = node(g, Op.TRANSPOSE, [a], TransposeAttrs((1, 0)), shape=(2, 3), out="b")
    outputs(g, node(g, Op.RELU, [b], out="y"))
    assert cancel_transposes(g) is True
    verify(g)
    assert ops_of(g) == [Op.RELU] and g.nodes[0].inputs[0] is x
    assert cancel_transposes(g) is False


def test_cancel_transposes_respects_fanout_and_outputs():
    g = graph()
    x = inp(g, "x", (2, 3), X)
    a = node(g, Op.TRANSPOSE, [x], TransposeAttrs((1, 0)), shape=(3, 2), out="a")
    b = node(g, Op.TRANSPOSE, [a], TransposeAttrs((1, 0)), shape=(2, 3), out="b")
    r = node(g, Op.RELU, [a], out="r")  # second reader of a
    outputs(g, b, r)
    assert cancel_transposes(g) is False
    assert len(g.nodes) == 3


def test_sinking_through_unary_and_constant_binary_ops():
    def build():
        g = graph()
        x = inp(g, "x", (2, 3), X)
        a = node(g, Op.TRANSPOSE, [x], TransposeAttrs((1, 0)), shape=(3, 2), out="a")
        b = node(g, Op.RELU, [a], out="b")
        c = node(g, Op.MUL, [b, const(g, [[1.0, -2.0]], "k")], out="c")
        d = node(g, Op.SUB, [c, const(g, [[0.5], [0.25], [1.0]], "m")], out="d")
        return outputs(g, node(g, Op.TRANSPOSE, [d], TransposeAttrs((1, 0)), shape=(2, 3),
                               out="y"))
    before, g = build(), build()
    assert cancel_transposes(g) is True
    verify(g)
    assert ops_of(g) == [Op.RELU, Op.MUL, Op.SUB]
    assert g.find(Op.MUL)[0].inputs[1].shape == (2, 1)
    assert g.find(Op.SUB)[0].inputs[1].shape == (1, 3)
    check_same_maths(before, g, (2, 3))


def test_transpose_into_runtime_binary_op_is_not_sunk():
    g = graph()
    x = inp(g, "x", (2, 3), X)
    z = inp(g, "z", (3, 2), X)
    a = node(g, Op.TRANSPOSE, [x], TransposeAttrs((1, 0)), shape=(3, 2), out="a")
    outputs(g, node(g, Op.ADD, [a, z], out="y"))
    assert cancel_transposes(g) is False


def _global_pool_graph(op):
    g = graph()
    x = inp(g, "x", (2, 4, 4), X)
    p = node(g, op, [x], GlobalPoolAttrs(), shape=(2, 1, 1), out="p")  # ONNX keeps the dims
    return outputs(g, node(g, Op.RESHAPE, [p], ReshapeAttrs((2,)), shape=(2,), out="y"))


@pytest.mark.parametrize("op", [Op.GLOBAL_MAXPOOL, Op.GLOBAL_AVGPOOL])
def test_global_pool_then_flatten(op):
    """Regression: the global-pool kernels dropped the spatial axes, so the Transpose
    to_channels_last puts after them failed with "axes don't match array"."""
    g = _global_pool_graph(op)
    to_channels_last(g)
    verify(g)
    # the Transpose after the pool moves only size-1 axes: it becomes part of the Reshape
    assert ops_of(g) == [Op.TRANSPOSE, op, Op.RESHAPE]
    infer_precision(g)
    xs = RNG.integers(-128, 128, (2, 2, 4, 4)) / 32.0
    fn = np.max if op is Op.GLOBAL_MAXPOOL else np.mean
    np.testing.assert_array_equal(g(xs), fn(xs, axis=(2, 3)))


def _shared_weight_graph():
    """One weight initializer read by two convolutions (a layer applied twice)."""
    g = graph()
    x = inp(g, "x", (2, 4, 4), X)
    w = const(g, np.arange(36.0).reshape(2, 2, 3, 3) / 8, "w")
    attrs = ConvAttrs((3, 3), (1, 1), (1, 1, 1, 1))
    a = node(g, Op.CONV, [x, w], attrs, shape=(2, 4, 4), name="c1", out="a")
    return outputs(g, node(g, Op.CONV, [a, w], attrs, shape=(2, 4, 4), name="c2", out="b"))


def test_shared_conv_weight_is_transposed_once():
    before, g = _shared_weight_graph(), _shared_weight_graph()
    to_channels_last(g)
    verify(g)
    for conv_node in g.find(Op.CONV):
        assert conv_node.inputs[1].shape == (3, 3, 2, 2)
    xs = RNG.normal(size=(2, 2, 4, 4))
    np.testing.assert_allclose(float_run(g, xs)[0], float_run(before, xs)[0], rtol=1e-12)

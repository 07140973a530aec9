"""simplify: lower_div, fuse_cast, eliminate_dead."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.graphs import const, graph, inp, node, ops_of, outputs
from trigc.fixed import FixedType, Overflow, Rounding
from trigc.ir import Op, verify
from trigc.ir.ops import CastAttrs, ConcatAttrs, LutAttrs, ReshapeAttrs, TransposeAttrs
from trigc.passes import eliminate_dead, fuse_cast, infer_precision, lower_div

X = FixedType(True, 8, 4)
T = FixedType(False, 6, 3, Rounding.RND_CONV, Overflow.SAT)


# ---- lower_div ---------------------------------------------------------------------------

def div_graph(divisor):
    g = graph()
    x = inp(g, "x", (3,), X)
    c = const(g, divisor, "d")
    return outputs(g, node(g, Op.DIV, [x, c], name="div", out="y")), c


@pytest.mark.parametrize("divisor, recip", [
    (4.0, 0.25), (0.5, 2.0), (1.0, 1.0), ([8.0, 8.0, 8.0], [0.125] * 3), (2.0**-20, 2.0**20),
])
def test_div_by_power_of_two_becomes_mul(divisor, recip):
    g, c = div_graph(divisor)
    assert lower_div(g) is True
    verify(g)
    assert ops_of(g) == [Op.MUL]
    mul = g.nodes[0]
    np.testing.assert_array_equal(mul.inputs[1].value, recip)
    assert mul.inputs[1].users == [mul] and mul.output.name == "y"
    assert c.name not in g.tensors  # the old divisor is pruned
    assert lower_div(g) is False
    infer_precision(g)
    verify(g, final=True)
    xs = np.array([[-8.0, 1.0 / 16, 7.9375]])
    np.testing.assert_array_equal(g(xs), xs * np.asarray(recip))


@pytest.mark.parametrize("divisor", [3.0, -4.0, [2.0, 4.0, 8.0], 0.3])
def test_other_divisors_stay_div(divisor):
    g, c = div_graph(divisor)
    assert lower_div(g) is False
    verify(g)
    assert ops_of(g) == [Op.DIV] and g.nodes[0].inputs[1] is c


# ---- fuse_cast -------------------------------------------------------------------------

def cast_graph(prod_op=Op.RELU, attrs=None, mid_type=None, extra_user=False, mid_output=False,
               cast_type=T, shape=(4,)):
    g = graph()
    x = inp(g, "x", shape, X)
    mid = node(g, prod_op, [x], attrs, shape=shape if prod_op is not Op.RESHAPE else (4,),
               type=mid_type, name="prod", out="mid")
    y = node(g, Op.CAST, [mid], CastAttrs(), type=cast_type, name="cast", out="y")
    outs = [y]
    if extra_user:
        outs.append(node(g, Op.SIGN, [mid], name="other", out="z"))
    if mid_output:
        outs.append(mid)
    return outputs(g, *outs)


def test_fuse_cast_into_producer():
    g = cast_graph()
    assert fuse_cast(g) is True
    verify(g)
    assert ops_of(g) == [Op.RELU]
    prod = g.nodes[0]
    assert prod.output.name == "y" and prod.output.type == T and prod.output.producer is prod
    assert "mid" not in g.tensors and g.outputs == [prod.output]
    assert fuse_cast(g) is False
    infer_precision(g)
    verify(g, final=True)
    np.testing.assert_array_equal(g(np.array([[-1.0, 0.0625, 3.4375, 7.9375]])),
                                  [[0.0, 0.0, 3.5, 7.875]])  # RND_CONV to 1/8, then SAT


def test_fuse_cast_into_lut_gives_table_the_cast_type():
    g = cast_graph(Op.SIGMOID, LutAttrs("sigmoid"))
    fuse_cast(g)
    infer_precision(g)
    verify(g, final=True)
    sig = g.nodes[0]
    assert sig.attrs.table_type == T and sig.output.type == T


@pytest.mark.parametrize("kwargs", [
    dict(extra_user=True),
    dict(mid_output=True),
    dict(mid_type=FixedType(True, 10, 5)),
    dict(cast_type=None),
    dict(prod_op=Op.TRANSPOSE, attrs=TransposeAttrs((1, 0)), shape=(2, 2)),
    dict(prod_op=Op.RESHAPE, attrs=ReshapeAttrs((4,)), shape=(2, 2)),
    dict(prod_op=Op.CAST, attrs=CastAttrs()),
])
def test_fuse_cast_leaves_unsafe_patterns(kwargs):
    g = cast_graph(**kwargs)
    n_before = len(g.nodes)
    assert fuse_cast(g) is False
    verify(g)
    assert len(g.nodes) == n_before


def test_fuse_cast_skips_concat_and_graph_input():
    g = graph()
    x = inp(g, "x", (2,), X)
    y = node(g, Op.CAST, [x], type=T, out="y")
    outputs(g, y)
    assert fuse_cast(g) is False
    g = graph()
    a, b = inp(g, "a", (2,), X), inp(g, "b", (2,), X)
    cat = node(g, Op.CONCAT, [a, b], ConcatAttrs(0), shape=(4,), out="cat")
    outputs(g, node(g, Op.CAST, [cat], type=T, out="y"))
    assert fuse_cast(g) is False


def test_fuse_cast_chain_of_two():
    g = graph()
    x = inp(g, "x", (2,), X)
    a = node(g, Op.RELU, [x], out="a")
    b = node(g, Op.CAST, [a], type=T, out="b")
    c = node(g, Op.SIGN, [b], out="c")
    d = node(g, Op.CAST, [c], type=X, out="d")
    outputs(g, d)
    assert fuse_cast(g) is True
    verify(g)
    assert ops_of(g) == [Op.RELU, Op.SIGN]
    assert g.nodes[0].output.type == T and g.nodes[1].output.type == X


# ---- eliminate_dead ------------------------------------------------------------------------

def test_eliminate_dead_drops_unreachable_nodes_and_constants():
    g = graph()
    x = inp(g, "x", (2,), X)
    live = node(g, Op.RELU, [x], out="live")
    dead1 = node(g, Op.MUL, [x, const(g, 3.0, "k_dead")], out="dead1")
    node(g, Op.SIGN, [dead1], out="dead2")
    y = node(g, Op.ADD, [live, const(g, 1.0, "k_live")], out="y")
    outputs(g, y)
    assert eliminate_dead(g) is True
    verify(g)
    assert ops_of(g) == [Op.RELU, Op.ADD]
    assert set(g.tensors) == {"x", "live", "k_live", "y"}
    assert x.users == [g.nodes[0]]
    assert eliminate_dead(g) is False


def test_eliminate_dead_keeps_everything_live():
    g = graph()
    x = inp(g, "x", (2,), X)
    a = node(g, Op.RELU, [x], out="a")
    b = node(g, Op.SIGN, [x], out="b")
    outputs(g, a, b)
    assert eliminate_dead(g) is False
    assert len(g.nodes) == 2

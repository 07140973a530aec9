"""relu_into_cast: a Relu assigned to an unsigned saturating type becomes a Cast."""

import numpy as np
import pytest

from trigc.fixed import FixedType, Overflow, Rounding
from trigc.ir import Graph, Op, verify
from trigc.passes.simplify import relu_into_cast


def _graph(out_type):
    g = Graph("r")
    x = g.add_tensor("x", (6,), FixedType(True, 8, 4))
    y = g.add_tensor("y", (6,), out_type)
    g.add_node(Op.RELU, [x], [y], name="act")
    g.inputs, g.outputs = [x], [y]
    return g


@pytest.mark.parametrize("overflow", [Overflow.SAT, Overflow.SAT_SYM, Overflow.SAT_ZERO])
@pytest.mark.parametrize("rounding", [Rounding.TRN, Rounding.RND_CONV, Rounding.RND_INF])
def test_relu_to_unsigned_saturating_type_becomes_cast(overflow, rounding):
    t = FixedType(False, 4, 2, rounding, overflow)
    g = _graph(t)
    x = np.linspace(-8, 7.9375, 256)[:, None].repeat(6, axis=1)
    before = g(x)
    assert relu_into_cast(g)
    verify(g, final=True)
    assert [n.op for n in g.nodes] == [Op.CAST]
    np.testing.assert_array_equal(g(x), before)
    assert not relu_into_cast(g)


@pytest.mark.parametrize("t", [FixedType(False, 4, 2), FixedType(True, 4, 2, overflow=Overflow.SAT)])
def test_relu_kept_when_cast_would_differ(t):
    g = _graph(t)
    assert not relu_into_cast(g)
    assert [n.op for n in g.nodes] == [Op.RELU]

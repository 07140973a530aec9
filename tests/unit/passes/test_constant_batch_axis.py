"""drop_constant_batch_axis: an element-wise op's constant written with the batch axis
((1, 8) against per-sample (8,)) is reshaped; one varying along the batch is refused."""

import numpy as np
import pytest

from trigc.errors import UnsupportedOpError
from trigc.ir import Graph, Op, verify
from trigc.passes.constant_batch_axis import drop_constant_batch_axis


def _graph(const_shape, constant_first=False, shared=False):
    g = Graph("b")
    x = g.add_tensor("x", (8,))
    c = g.add_constant("c", np.arange(np.prod(const_shape), dtype=float).reshape(const_shape))
    y = g.add_tensor("y", (8,))
    g.add_node(Op.SUB, [c, x] if constant_first else [x, c], [y], name="sub")
    outputs = [y]
    if shared:
        z = g.add_tensor("z", (8,))
        g.add_node(Op.ADD, [y, c], [z], name="add")
        outputs = [z]
    g.inputs, g.outputs = [x], outputs
    return g


@pytest.mark.parametrize("constant_first", [False, True])
def test_leading_unit_axes_are_dropped_in_place(constant_first):
    g = _graph((1, 1, 8), constant_first)
    assert drop_constant_batch_axis(g)
    verify(g)
    c = g.tensors["c"]
    assert c.shape == (8,) and c.value.shape == (8,)
    np.testing.assert_array_equal(c.value, np.arange(8))
    assert not drop_constant_batch_axis(g)


def test_a_shared_constant_gets_a_per_sample_copy_for_each_use():
    g = _graph((1, 8), shared=True)
    assert drop_constant_batch_axis(g)
    verify(g)
    assert all(t.shape == (8,) for n in g.nodes for t in n.inputs if t.is_constant)


def test_per_sample_constants_are_left_alone():
    for shape in [(8,), (1,), ()]:
        assert not drop_constant_batch_axis(_graph(shape))


def test_a_constant_varying_along_the_batch_is_refused():
    with pytest.raises(UnsupportedOpError, match="varies along the batch axis"):
        drop_constant_batch_axis(_graph((2, 8)))

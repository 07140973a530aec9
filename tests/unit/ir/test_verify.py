"""trigc.ir.verify: every invariant it promises to catch, each broken on purpose."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.graphs import const, graph, inp, node, outputs
from trigc import IRError
from trigc.fixed import FixedType
from trigc.ir import Op, verify
from trigc.ir.ops import NoAttrs, QuantAttrs

T8 = FixedType(True, 8, 4)


def good(typed: bool = True):
    g = graph()
    x = inp(g, "x", (3,), T8 if typed else None)
    c = const(g, [0.5, 1.0, -2.0], "c", FixedType(True, 4, 2) if typed else None)
    a = node(g, Op.MUL, [x, c], name="mul", out="a",
             type=FixedType(True, 12, 6) if typed else None)
    y = node(g, Op.RELU, [a], name="relu", out="y", type=FixedType(False, 11, 5) if typed
             else None)
    outputs(g, y)
    return g


def test_good_graph_passes_both_modes():
    verify(good())
    verify(good(), final=True)
    verify(good(typed=False))


def test_use_before_def():
    g = good()
    g.nodes.reverse()
    with pytest.raises(IRError, match="input 'a' is used before it is produced"):
        verify(g)


def test_input_missing_from_user_list():
    g = good()
    a = g.tensors["a"]
    a.users.clear()
    with pytest.raises(IRError, match="'a' does not list it as a user"):
        verify(g)


def test_dangling_user_entry():
    g = good()
    g.tensors["a"].users.append(g.node_by_name("mul"))  # mul does not read 'a'
    with pytest.raises(IRError, match="lists user 'mul' wrongly"):
        verify(g)


def test_unregistered_input():
    g = good()
    del g.tensors["c"]
    with pytest.raises(IRError, match="'c' is not registered"):
        verify(g)


def test_wrong_producer_and_double_production():
    g = good()
    g.tensors["a"].producer = None
    with pytest.raises(IRError, match="output 'a' has producer None"):
        verify(g)
    g = good()
    relu = g.node_by_name("relu")
    relu.outputs = [g.tensors["a"]]
    g.tensors["a"].producer = relu
    with pytest.raises(IRError, match="produced twice|has producer"):
        verify(g)


def test_duplicate_node_name_and_bad_attrs():
    g = good()
    g.nodes[1].name = "mul"
    with pytest.raises(IRError, match="duplicate node name"):
        verify(g)
    g = good()
    g.nodes[1].attrs = QuantAttrs(True, False, "ROUND")
    with pytest.raises(IRError, match="attrs are QuantAttrs"):
        verify(g)


def test_output_never_produced():
    g = good()
    outputs(g, g.add_tensor("ghost", (3,)))
    with pytest.raises(IRError, match="Graph output 'ghost' is never produced"):
        verify(g)


def test_import_op_only_rejected_in_final_mode():
    g = graph()
    x = inp(g, "x", (2,), T8)
    ins = [x, const(g, 0.5, "s", FixedType(False, 1, 0)),
           const(g, 0.0, "z", FixedType(False, 1, 1)), const(g, 4.0, "b", FixedType(False, 3, 3))]
    y = node(g, Op.QUANT, ins, QuantAttrs(True, False, "ROUND"), name="q", out="y", type=T8)
    outputs(g, y)
    verify(g)
    with pytest.raises(IRError, match="import op Quant survived the pipeline"):
        verify(g, final=True)


def test_untyped_tensor_in_final_mode():
    g = good()
    g.tensors["a"].type = None
    verify(g)
    with pytest.raises(IRError, match="Tensor 'a' .* has no fixed-point type"):
        verify(g, final=True)
    g = good()
    g.tensors["c"].type = None
    with pytest.raises(IRError, match="'c'.*no fixed-point type"):
        verify(g, final=True)


def test_unrepresentable_constant_in_final_mode():
    g = good()
    g.tensors["c"].value = np.array([0.5, 1.0, 0.3])  # 0.3 is not on a 2-fraction-bit grid
    verify(g)
    with pytest.raises(IRError, match="Constant 'c' is not exactly representable in fixed<4,2>"):
        verify(g, final=True)
    g = good()
    g.tensors["c"].value = np.array([0.5, 1.0, 4.0])  # out of range of fixed<4,2>: [-2, 1.75]
    with pytest.raises(IRError, match="not exactly representable"):
        verify(g, final=True)


def test_node_attrs_are_no_attrs_by_default():
    g = good()
    assert isinstance(g.node_by_name("relu").attrs, NoAttrs)

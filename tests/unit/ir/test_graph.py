"""trigc.ir.graph: building graphs and the rewiring helpers every pass relies on."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.graphs import const, graph, inp, node, ops_of, outputs
from trigc import IRError
from trigc.fixed import FixedType
from trigc.ir import Graph, Op, verify
from trigc.ir.graph import OverflowReport, constant_to_float
from trigc.ir.ops import (ATTRS_FOR, DenseAttrs, LeakyReluAttrs, NoAttrs, ReshapeAttrs,
                          TransposeAttrs)

T8 = FixedType(True, 8, 4)


def diamond() -> tuple[Graph, dict]:
    """x -> relu -> a ; a -> add(a, c) -> y ; a -> mul(a, a) -> z ; outputs (y, z)."""
    g = graph("diamond")
    x = inp(g, "x", (4,), T8)
    a = node(g, Op.RELU, [x], name="relu", out="a")
    c = const(g, [1.0, 2.0, 3.0, 4.0], "c")
    y = node(g, Op.ADD, [a, c], name="add", out="y")
    z = node(g, Op.MUL, [a, a], name="mul", out="z")
    outputs(g, y, z)
    return g, dict(x=x, a=a, c=c, y=y, z=z)


def test_building_wires_producers_and_users():
    g, t = diamond()
    verify(g)
    relu, add, mul = g.nodes
    assert ops_of(g) == [Op.RELU, Op.ADD, Op.MUL]
    assert t["a"].producer is relu and t["x"].producer is None
    assert t["a"].users == [add, mul, mul]  # mul reads it twice
    assert add.inputs == [t["a"], t["c"]] and add.output is t["y"]
    assert t["c"].is_constant and t["c"].shape == (4,) and t["c"].value.dtype == np.float64
    assert not t["a"].is_constant
    assert isinstance(relu.attrs, NoAttrs)
    assert g.find(Op.ADD) == [add] and g.node_by_name("mul") is mul
    with pytest.raises(KeyError):
        g.node_by_name("nope")
    np.testing.assert_array_equal(g.constant_value(t["c"]), [1, 2, 3, 4])
    with pytest.raises(IRError, match="not constant"):
        g.constant_value(t["a"])


def test_names_are_unique():
    g = graph()
    c1 = g.add_constant("w", 1.0)
    c2 = g.add_constant("w", 2.0)
    assert c1.name == "w" and c2.name != "w" and c2.name in g.tensors
    with pytest.raises(IRError, match="already used"):
        g.add_tensor("w", (1,))
    x = inp(g, "x", (2,))
    a = node(g, Op.RELU, [x])
    b = node(g, Op.RELU, [a])
    assert len({n.name for n in g.nodes}) == 2
    assert g.unique_name(g.nodes[0].name) != g.nodes[0].name
    assert a.name != b.name


def test_add_node_checks_attrs_and_single_producer():
    g = graph()
    x = inp(g, "x", (2,))
    y = g.add_tensor("y", (2,))
    with pytest.raises(IRError, match="Dense needs DenseAttrs, got NoAttrs"):
        g.add_node(Op.DENSE, [x], [y], NoAttrs())
    g.add_node(Op.RELU, [x], [y])
    with pytest.raises(IRError, match="already has producer"):
        g.add_node(Op.RELU, [x], [y])
    # every op has a default-constructible or explicit attribute class
    assert set(ATTRS_FOR) == set(Op)


def test_add_node_index_places_node():
    g = graph()
    x = inp(g, "x", (2,))
    a = node(g, Op.RELU, [x], name="late")
    b = g.add_tensor("b", (2,))
    g.add_node(Op.SIGN, [x], [b], name="early", index=0)
    assert [n.name for n in g.nodes] == ["early", "late"]
    outputs(g, a, b)
    verify(g)


def test_replace_all_uses_with_rewires_users_and_outputs():
    g, t = diamond()
    x, a = t["x"], t["a"]
    relu, add, mul = g.nodes
    a.replace_all_uses_with(x, g)
    assert a.users == []
    assert add.inputs[0] is x and mul.inputs == [x, x]
    assert x.users.count(mul) == 2 and add in x.users and relu in x.users  # once per use
    g.remove_node(relu)
    verify(g)
    assert "a" not in g.tensors  # no users, not an output: forgotten
    # outputs are rewired too
    g2, t2 = diamond()
    outputs(g2, t2["a"])
    t2["a"].replace_all_uses_with(t2["x"], g2)
    assert g2.outputs == [t2["x"]]


def test_insert_after_intermediate_tensor():
    g, t = diamond()
    a = t["a"]
    relu, add, mul = g.nodes
    n = g.insert_after(a, Op.LEAKY_RELU, LeakyReluAttrs(0.25), name="leak")
    verify(g)
    assert g.nodes.index(n) == g.nodes.index(relu) + 1
    assert a.users == [n]
    out = n.output
    assert out.shape == a.shape and out.producer is n
    assert add.inputs[0] is out and mul.inputs == [out, out]
    assert add in out.users and mul in out.users


def test_insert_after_graph_input_and_output():
    g, t = diamond()
    x = t["x"]
    n = g.insert_after(x, Op.CAST, out_type=T8)
    verify(g)
    assert g.nodes[0] is n and x in g.inputs and x.users == [n]
    assert n.output.type == T8
    y = t["y"]
    m = g.insert_after(y, Op.RELU, name="post")
    verify(g)
    assert g.outputs[0] is m.output and y.users == [m]
    assert g.nodes.index(m) == g.nodes.index(y.producer) + 1


def test_insert_after_with_extra_constant_input():
    g, t = diamond()
    c = g.add_constant("k", 0.5)
    n = g.insert_after(t["a"], Op.MUL, extra_inputs=[c])
    verify(g)
    assert n.inputs == [t["a"], c] and n in c.users


def test_bypass_rewires_and_propagates_type():
    g = graph()
    x = inp(g, "x", (3,))
    a = node(g, Op.RELU, [x], out="a")
    b = node(g, Op.CAST, [a], type=T8, out="b")
    y = node(g, Op.SIGN, [b], out="y")
    outputs(g, y, b)
    cast = b.producer
    g.bypass(cast)
    verify(g)
    assert cast not in g.nodes
    assert y.producer.inputs == [a] and g.outputs == [y, a]
    assert a.type == T8  # the untyped kept tensor inherits the removed output's type
    assert "b" not in g.tensors


def test_bypass_keeps_existing_type_and_explicit_keep():
    g = graph()
    x = inp(g, "x", (3,), T8)
    c = const(g, 1.0)
    a = node(g, Op.ADD, [c, x], out="a", type=FixedType(True, 9, 5))
    y = node(g, Op.RELU, [a], out="y")
    outputs(g, y)
    g.bypass(a.producer, keep=x)
    verify(g)
    assert y.producer.inputs == [x] and x.type == T8


def test_remove_node_and_prune():
    g, t = diamond()
    mul = g.node_by_name("mul")
    outputs(g, t["y"])
    g.remove_node(mul)
    verify(g)
    assert "z" not in g.tensors
    assert t["a"].users == [g.node_by_name("add")]
    extra = g.add_constant("unused", 3.0)
    g.prune_tensors()
    assert extra.name not in g.tensors
    assert set(g.tensors) == {"x", "a", "c", "y"}


def test_prune_tensors_drops_stale_aliases():
    g, t = diamond()
    g.tensors["alias"] = t["a"]  # the importer aliases Identity outputs this way
    g.prune_tensors()
    assert "alias" not in g.tensors and "a" in g.tensors


def chain() -> tuple[Graph, dict]:
    """x -> reshape -> m -> relu -> y ; output y."""
    g = graph("chain")
    x = inp(g, "x", (2, 3), T8)
    m = node(g, Op.RESHAPE, [x], ReshapeAttrs((6,)), shape=(6,), name="reshape", out="m")
    y = node(g, Op.RELU, [m], name="relu", out="y", type=T8)
    outputs(g, y)
    return g, dict(x=x, m=m, y=y)


def test_tensor_size():
    g, t = chain()
    assert t["x"].size == 6 and t["m"].size == 6
    assert const(g, 2.0, "s").size == 1  # a scalar has one element
    assert g.add_tensor("empty", (3, 0)).size == 0


def test_set_input_moves_one_use():
    g, t = diamond()
    x, a = t["x"], t["a"]
    mul = g.node_by_name("mul")
    g.set_input(mul, 1, x)
    verify(g)
    assert mul.inputs == [a, x] and a.users.count(mul) == 1 and x.users.count(mul) == 1
    g.set_input(mul, 1, x)  # already there: nothing changes
    assert x.users.count(mul) == 1
    verify(g)


def test_add_input_and_set_inputs_keep_other_users_in_order():
    g, t = diamond()
    x, a, c = t["x"], t["a"], t["c"]
    add, mul = g.node_by_name("add"), g.node_by_name("mul")
    k = g.add_constant("k", 3.0)
    g.add_input(add, k)
    assert add.inputs == [a, c, k] and k.users == [add]
    before = list(a.users)
    g.set_inputs(add, [a, x])  # a stays: its users keep their order
    verify(g)
    assert a.users == before and c.users == [] and k.users == [] and add in x.users
    g.set_inputs(mul, [a])
    verify(g)
    assert a.users.count(mul) == 1


def test_set_output_moves_a_result_to_another_producer():
    g, t = chain()
    m, y = t["m"], t["y"]
    reshape, relu = g.nodes
    g.remove_node(relu)
    g.set_output(reshape, y)
    verify(g)
    assert reshape.outputs == [y] and y.producer is reshape
    assert m.producer is None and "m" not in g.tensors  # nothing reads it: forgotten
    with pytest.raises(IRError, match="already has producer"):
        g.set_output(reshape, y)


def test_rename_tensor():
    g, t = chain()
    g.rename_tensor(t["m"], "flat")
    assert t["m"].name == "flat" and g.tensors["flat"] is t["m"] and "m" not in g.tensors
    with pytest.raises(IRError, match="already used"):
        g.rename_tensor(t["m"], "x")
    verify(g)


def test_sole_user():
    g, t = diamond()
    assert g.sole_user(t["x"]) is g.node_by_name("relu")
    assert g.sole_user(t["a"]) is None  # three uses
    assert g.sole_user(t["y"]) is None  # no use
    g2, t2 = chain()
    outputs(g2, t2["y"], t2["m"])
    assert g2.sole_user(t2["m"]) is None  # read once, but a graph output


def test_insert_before_rewires_one_input_only():
    g, t = diamond()
    x, a = t["x"], t["a"]
    add, mul = g.node_by_name("add"), g.node_by_name("mul")
    n = g.insert_before(add, 0, Op.CAST, out_name="a_cast", name="pre", source="L")
    verify(g)
    assert g.nodes.index(n) == g.nodes.index(add) - 1
    assert n.inputs == [a] and n.output.name == "a_cast" and n.output.shape == a.shape
    assert add.inputs[0] is n.output and mul.inputs == [a, a]
    assert n.source == "L" and n.output.users == [add]
    m = g.insert_before(n, 0, Op.TRANSPOSE, TransposeAttrs((0,)), shape=(4,))
    verify(g)
    assert m.output.name == "a_transpose" and n.inputs == [m.output] and x.users


def test_swap_with_user():
    g, t = chain()
    x, m, y = t["x"], t["m"], t["y"]
    reshape, relu = g.nodes
    g.swap_with_user(reshape, relu)
    verify(g)
    assert g.nodes == [relu, reshape]
    assert relu.inputs == [x] and relu.outputs == [m] and m.producer is relu
    assert reshape.inputs == [m] and reshape.outputs == [y] and y.producer is reshape
    assert m.shape == x.shape and m.type == T8 and m.users == [reshape]
    assert x.users == [relu] and g.outputs == [y]
    with pytest.raises(IRError, match="not the only reader"):
        g.swap_with_user(reshape, relu)


def test_fold_to_constant():
    g = graph()
    c = const(g, [1.0, -2.0], "c")
    r = node(g, Op.RELU, [c], out="r")
    x = inp(g, "x", (2,), T8)
    y = node(g, Op.ADD, [x, r], out="y")
    outputs(g, y)
    out = g.fold_to_constant(r.producer, np.array([1.0, 0.0], dtype=np.float32))
    verify(g)
    assert out is r and r.producer is None and g.tensors["r"] is r
    assert r.value.dtype == np.float64 and r.shape == (2,) and c.users == []
    assert [n.op for n in g.nodes] == [Op.ADD]


def test_verify_counts_one_user_entry_per_use():
    g, t = diamond()
    t["a"].users.remove(g.node_by_name("mul"))
    with pytest.raises(IRError, match="lists it as a user 1 times, not once per use"):
        verify(g)


def test_tensor_raw_and_constant_to_float():
    g = graph()
    c = const(g, [0.5, -1.25], type=FixedType(True, 6, 3))
    np.testing.assert_array_equal(c.raw, [4, -10])
    np.testing.assert_array_equal(constant_to_float(c), [0.5, -1.25])
    u = const(g, [0.3])
    np.testing.assert_array_equal(constant_to_float(u), [0.3])
    with pytest.raises(IRError, match="not a typed constant"):
        u.raw
    x = inp(g, "x", (1,), T8)
    with pytest.raises(IRError, match="not a typed constant"):
        x.raw


def test_node_where_names_layer_and_node():
    g = graph()
    x = inp(g, "x", (2, 2))
    node(g, Op.TRANSPOSE, [x], TransposeAttrs((1, 0)), name="t", source="layer1")
    node(g, Op.RELU, [x], name="r")
    t_node, r_node = g.nodes
    assert t_node.where() == "layer 'layer1' (node 't', Transpose)"
    assert r_node.where() == "layer 'r' (Relu)"
    assert "Relu" in repr(r_node) and "x" in repr(x)
    c = const(g, 1.0, "k")
    assert repr(c).startswith("<const Tensor")


def test_graph_call_runs_emulator():
    g = graph()
    x = inp(g, "x", (2,), T8)
    w = const(g, [[1.0], [0.5]], "w", FixedType(True, 4, 2))
    y = node(g, Op.DENSE, [x, w], DenseAttrs(2, 1), shape=(1,), type=FixedType(True, 16, 8))
    outputs(g, y)
    verify(g, final=True)
    np.testing.assert_array_equal(g(np.array([[1.0, 2.0]])), [[2.0]])
    np.testing.assert_array_equal(g(np.array([[1.0, 2.0]]), raw=True), [[2 * 2**8]])
    assert "Dense" in str(g)


def test_precision_fields_are_declared():
    g = Graph("m")
    assert g.precision_overrides == {} and g.precision_report == []
    assert Graph("n").precision_overrides is not g.precision_overrides


@pytest.mark.parametrize("layer, tensor", [("dense_1", "dense_1_out"),
                                           ("it's", 'say "hi" (x): override'),
                                           ("/fc1/Gemm", "")])
def test_overflow_report_text_round_trip(layer, tensor):
    report = OverflowReport(layer, "Dense", tensor, FixedType(True, 6, 2), 3)
    text = str(report)
    assert text.endswith("can overflow; it needs 3 more integer bit(s)")
    assert OverflowReport.parse(text) == report
    with pytest.raises(IRError, match="Not a precision report"):
        OverflowReport.parse("layer x (Dense): fine")

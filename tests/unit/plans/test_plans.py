"""trigc.plans: one frozen plan per kernel instance, which the Vitis backend renders
and the estimator costs (issue 12). Each plan kind on a tiny hand-built graph, the
one reuse-legality error, frozen-ness, and the estimate and the C++ config reading
the same plan."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest

import trigc
from trigc.backends.vitis.config import CONFIG_FOR, config_for, tensor_names
from trigc.errors import UnsupportedOpError
from trigc.estimate import estimate
from trigc.estimate.resources import datapath_for
from trigc.fixed import FixedType
from trigc.ir import Graph, Node, Op
from trigc.ir import ops as O
from trigc.plans import (
    REUSE_OPS,
    BinaryPlan,
    ConcatPlan,
    ConvPlan,
    DensePlan,
    DivPlan,
    GatherPlan,
    GlobalPoolPlan,
    PoolPlan,
    ReuseError,
    UnaryPlan,
    plan,
    planner,
)

X_T = FixedType(True, 16, 6)
W_T = FixedType(True, 8, 2)
B_T = FixedType(True, 8, 3)
ACC_T = FixedType(True, 30, 12)
Y_T = FixedType(True, 18, 8)


def _dense_graph(w: np.ndarray, bias: bool = True) -> Graph:
    g = Graph("dense")
    x = g.add_tensor("x", (w.shape[0],), X_T)
    g.inputs.append(x)
    ins = [x, g.add_constant("w", w, W_T)]
    if bias:
        ins.append(g.add_constant("b", np.linspace(-1, 1, w.shape[1]), B_T))
    y = g.add_tensor("y", (w.shape[1],), Y_T)
    g.add_node(Op.DENSE, ins, [y], O.DenseAttrs(*w.shape, accum_type=ACC_T), name="fc",
               source="fc")
    g.outputs = [y]
    return g


def _conv_graph(spatial, c_in, c_out, kernel, strides, pads, groups, seed=0) -> Graph:
    rng = np.random.default_rng(seed)
    nd = len(kernel)
    out = tuple((spatial[i] + pads[i] + pads[i + nd] - kernel[i]) // strides[i] + 1
                for i in range(nd))
    g = Graph("conv")
    x = g.add_tensor("x", (*spatial, c_in), X_T)
    g.inputs.append(x)
    w = np.round(rng.normal(0, 0.5, (*kernel, c_in // groups, c_out)) * 16) / 16
    w.flat[0] = 0.0  # one pruned weight
    y = g.add_tensor("y", (*out, c_out), Y_T)
    g.add_node(Op.CONV, [x, g.add_constant("w", w, W_T)], [y],
               O.ConvAttrs(tuple(kernel), tuple(strides), tuple(pads), groups, ACC_T, True),
               name="conv", source="conv")
    g.outputs = [y]
    return g


PRUNED = np.array([[0.5, 0.0, -0.25], [0.0, 0.0, 0.0], [1.0, 0.75, 0.0], [0.0, -1.5, 0.125]])


def test_dense_plan_holds_the_nonzero_weights_and_schedule():
    node = _dense_graph(PRUNED).nodes[0]
    p = plan(node, 2)
    assert isinstance(p, DensePlan)
    w = p.weights
    assert (w.n_in, w.n_out, w.nnz, w.n_products) == (4, 3, 6, 6)
    assert w.rows.tolist() == [0, 0, 2, 2, 3, 3] and w.cols.tolist() == [0, 2, 0, 1, 1, 2]
    assert w.values.raw.tolist() == [32, -16, 64, 48, -96, 8] and w.type == W_T
    assert (p.schedule.reuse, p.schedule.n_mult, p.schedule.ii) == (2, 3, 2)
    assert (p.reuse, p.ii, p.accum_type, p.input_type, p.output_type) == (2, 2, ACC_T, X_T, Y_T)
    assert p.bias.type == B_T and p.bias.raw.tolist() == [-32, 0, 32]


def test_all_pruned_dense_keeps_one_zero_product():
    p = plan(_dense_graph(np.zeros((3, 2)), bias=False).nodes[0])
    assert (p.weights.nnz, p.weights.n_products, p.schedule.n_mult) == (0, 1, 1)
    assert [a.tolist() for a in p.weights.stored()] == [[0], [0], [0]]
    assert p.bias is None and p.bias_raw().tolist() == [0, 0]
    with pytest.raises(ReuseError, match="reuse factor 2 is invalid for a layer with 0 "
                                         "nonzero multiplications; .* between 1 and 1"):
        plan(_dense_graph(np.zeros((3, 2))).nodes[0], 2)


@pytest.mark.parametrize("reuse", [0, 7, -1])
def test_illegal_reuse_is_one_typed_error(reuse):
    g = _dense_graph(PRUNED)
    node = g.nodes[0]
    message = rf"layer 'fc' .*reuse factor {reuse} is invalid .* between 1 and 6"
    with pytest.raises(ReuseError, match=message):
        plan(node, reuse)
    with pytest.raises(ReuseError, match=message):  # the estimator asks the same plan
        datapath_for(node, reuse)
    assert issubclass(ReuseError, UnsupportedOpError)


def test_reuse_legality_and_lowering_live_only_in_plans():
    root = Path(trigc.__file__).parent
    for path in [*root.glob("estimate/*.py"), *root.glob("backends/**/*.py")]:
        text = path.read_text()
        assert "is invalid for a layer" not in text, path
        assert "groups" not in text, f"{path} re-derives grouped conv weights"
        assert "np.nonzero" not in text, f"{path} re-derives the nonzero weights"


def test_plans_import_only_the_layers_below():
    allowed = ("trigc.ir", "trigc.ops", "trigc.fixed", "trigc.errors", "trigc.plans")
    for path in (Path(trigc.__file__).parent / "plans").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                    and node.module.startswith("trigc"):
                assert node.module.startswith(allowed), f"{path.name}: {node.module}"


def test_reuse_comes_from_the_settings_for_dense_and_conv_only():
    class Options:
        def __init__(self):
            self.asked: list[str] = []

        def reuse_for(self, node):
            self.asked.append(node.name)
            return 3

    g = _dense_graph(PRUNED)
    y = g.add_tensor("r", (3,), FixedType(False, 17, 7))
    g.add_node(Op.RELU, [g.outputs[0]], [y], O.NoAttrs(), name="relu")
    options = Options()
    plans = [plan(n, options) for n in g.nodes]
    assert options.asked == ["fc"] and plans[0].reuse == 3
    assert isinstance(plans[1], UnaryPlan) and (plans[1].reuse, plans[1].ii) == (1, 1)


def test_conv1d_plan_geometry_stride_padding():
    node = _conv_graph((7,), 2, 3, (3,), (2,), (1, 1), 1).nodes[0]
    p = plan(node)
    assert isinstance(p, ConvPlan)
    g = p.geometry
    assert (g.rank, g.in_h, g.in_w, g.n_chan, g.out_h, g.out_w) == (1, 1, 7, 2, 1, 4)
    assert (g.kernel_h, g.kernel_w, g.stride_h, g.stride_w) == (1, 3, 1, 2)
    assert (g.pad_top, g.pad_left, g.pad_bottom, g.pad_right) == (0, 1, 0, 1)
    assert (g.dilation_h, g.dilation_w, g.channels_last, g.positions) == (1, 1, True, 4)
    assert (p.weights.n_in, p.weights.n_out, p.groups) == (6, 3, 1)
    # position 0 reads taps 1, 2 (tap 0 is padding), position 3 taps 0, 1 (input 7 is
    # padding), positions 1 and 2 the whole window; each tap is 2 channels
    assert g.row_masks() == {(False, False, True, True, True, True): 1, (True,) * 6: 2,
                             (True, True, True, True, False, False): 1}


@pytest.mark.parametrize("c_in, c_out, groups", [(4, 6, 2), (4, 4, 4)],
                         ids=["grouped", "depthwise"])
def test_conv2d_plan_has_block_diagonal_weights(c_in, c_out, groups):
    node = _conv_graph((5, 4), c_in, c_out, (3, 2), (2, 1), (1, 0, 1, 1), groups).nodes[0]
    p = plan(node, 2)
    g = p.geometry
    assert (g.in_h, g.in_w, g.out_h, g.out_w, g.kernel_h, g.kernel_w) == (5, 4, 3, 4, 3, 2)
    assert (g.stride_h, g.stride_w, g.pad_top, g.pad_left, p.groups) == (2, 1, 1, 0, groups)
    full = np.zeros((p.weights.n_in, p.weights.n_out), dtype=np.int64)
    full[p.weights.rows, p.weights.cols] = p.weights.values.raw
    cg, og = c_in // groups, c_out // groups
    w_raw = node.inputs[1].raw.reshape(6, cg, c_out)
    for tap in range(6):
        block = full[tap * c_in:(tap + 1) * c_in]
        for grp in range(groups):
            rows, cols = slice(grp * cg, (grp + 1) * cg), slice(grp * og, (grp + 1) * og)
            assert np.array_equal(block[rows, cols], w_raw[tap][:, cols])
            block[rows, cols] = 0
        assert not block.any(), "weights outside the diagonal blocks"
    assert p.weights.nnz == np.count_nonzero(w_raw)
    assert p.schedule.n_mult == -(-p.weights.nnz // 2)


def test_plans_are_frozen():
    p = plan(_conv_graph((7,), 2, 3, (3,), (2,), (1, 1), 1).nodes[0], 2)
    for obj, field in ((p, "accum_type"), (p.weights, "rows"), (p.schedule, "n_mult"),
                       (p.geometry, "in_w")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, field, None)
    for arr in (p.weights.rows, p.weights.cols, p.weights.values.raw):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 1


def _pool_graph(kind: Op, count_include_pad: bool) -> Graph:
    g = Graph("pool")
    x = g.add_tensor("x", (5, 4, 3), X_T)
    g.inputs.append(x)
    y = g.add_tensor("y", (3, 3, 3), Y_T)
    g.add_node(kind, [x], [y], O.PoolAttrs((2, 3), (2, 1), (1, 1, 0, 1), count_include_pad,
                                           ACC_T, True), name="pool")
    z = g.add_tensor("z", (3,), Y_T)
    global_kind = Op.GLOBAL_AVGPOOL if kind is Op.AVGPOOL else Op.GLOBAL_MAXPOOL
    g.add_node(global_kind, [y], [z], O.GlobalPoolAttrs(ACC_T, True), name="gpool")
    g.outputs = [z]
    return g


@pytest.mark.parametrize("count_include_pad", [False, True])
def test_pool_plans_count_each_window(count_include_pad):
    pool, gpool = (plan(n) for n in _pool_graph(Op.AVGPOOL, count_include_pad).nodes)
    assert isinstance(pool, PoolPlan) and isinstance(gpool, GlobalPoolPlan)
    # rows -1..0, 1..2, 3..4 (2 valid each but the first: 1); columns -1..1, 0..2, 1..3
    valid = np.outer([1, 2, 2], [2, 3, 3]).ravel()
    assert pool.valid.tolist() == valid.tolist()
    assert pool.divisor.tolist() == ([6] * 9 if count_include_pad else valid.tolist())
    assert pool.windows()[:3] == [(2, pool.divisor[0])] * 3  # per channel
    assert pool.accum_type == ACC_T and gpool.accum_type == ACC_T
    assert (gpool.n_spatial, gpool.n_chan, gpool.windows()) == (9, 3, [(9, 9)] * 3)
    maxpool = plan(_pool_graph(Op.MAXPOOL, False).nodes[0])
    assert maxpool.accum_type is None


def test_elementwise_and_layout_plans():
    g = Graph("small")
    x = g.add_tensor("x", (2, 3), X_T)
    g.inputs.append(x)
    c = g.add_constant("c", np.array([0.5, -1.0, 2.0]), FixedType(True, 4, 3))
    m = g.add_tensor("m", (2, 3), Y_T)
    g.add_node(Op.MUL, [c, x], [m], O.NoAttrs(), name="mul")
    d = g.add_tensor("d", (2, 3), Y_T)
    g.add_node(Op.DIV, [m, c], [d], O.NoAttrs(), name="div")
    t = g.add_tensor("t", (3, 2), Y_T)
    g.add_node(Op.TRANSPOSE, [d], [t], O.TransposeAttrs((1, 0)), name="tr")
    j = g.add_tensor("j", (3, 4), Y_T)
    g.add_node(Op.CONCAT, [t, t], [j], O.ConcatAttrs(1), name="cat")
    mul, div, tr, cat = (plan(n) for n in g.nodes)
    assert isinstance(mul, BinaryPlan) and mul.const_first and mul.variable_type == X_T
    assert mul.constant.raw.tolist() == [1, -2, 4, 1, -2, 4] and mul.n_out == 6
    assert isinstance(div, DivPlan) and div.divisor.size == 6
    assert isinstance(tr, GatherPlan) and tr.index.tolist() == [0, 3, 1, 4, 2, 5]
    assert isinstance(cat, ConcatPlan) and cat.from_b.tolist() == [False, False, True, True] * 3
    assert cat.index.tolist() == [0, 1, 0, 1, 2, 3, 2, 3, 4, 5, 4, 5]
    with pytest.raises(UnsupportedOpError, match="Div of a constant"):
        plan(Node(Op.DIV, [c, m], [d], O.NoAttrs(), "bad"))


@pytest.mark.parametrize("op", sorted(CONFIG_FOR, key=lambda o: o.name), ids=lambda o: o.name)
def test_every_op_the_backend_renders_has_a_plan(op):
    assert op in REUSE_OPS or planner(op) is not None


@pytest.mark.parametrize("reuse", [1, 3])
def test_estimate_and_cpp_read_the_same_plan(reuse):
    g = _conv_graph((6, 5), 4, 6, (3, 3), (2, 1), (1, 1, 1, 0), 2, seed=1)
    node = g.nodes[0]
    p = plan(node, reuse)
    cfg = config_for(node, tensor_names(g), p)
    mult = dict(cfg["struct"]["children"][0]["consts"])
    dp = datapath_for(node, p)
    positions = p.geometry.positions
    assert mult["n_nonzero"] == p.weights.n_products
    assert mult["n_mult"] == p.schedule.n_mult and mult["reuse"] == reuse
    assert dp.detail["nnz_per_position"] == p.weights.nnz and dp.ii == p.ii == reuse
    if reuse > 1:
        assert dp.detail["n_mult"] == positions * p.schedule.n_mult
    else:  # every product of every position, less those reading the padding
        inside = sum(count * sum(mask) for mask, count in p.geometry.row_masks().items())
        assert dp.detail["nnz"] <= positions * p.weights.nnz and inside > 0
    layer = estimate(g, {"default_reuse": reuse}).layers[0]
    assert layer.detail == dp.detail and layer.reuse == p.reuse


def test_dense_estimate_counts_the_plans_multipliers():
    g = _dense_graph(PRUNED)
    node = g.nodes[0]
    p = plan(node, 4)
    cfg = config_for(node, tensor_names(g), p)
    consts = dict(cfg["struct"]["consts"])
    dp = datapath_for(node, p)
    assert dp.detail["n_mult"] == p.schedule.n_mult == consts["n_mult"] == 2
    assert dp.detail["nnz"] == p.weights.nnz == consts["n_nonzero"] == 6
    assert dp.resources.dsp == p.schedule.n_mult * dp.detail["dsp_per_mult"]


def test_backend_renders_a_constant_first_operand():
    """Sub(c, x): the C++ operands are the run-time tensor only (a constant first
    input once made config_for look up an array name constants do not have)."""
    g = Graph("csub")
    x = g.add_tensor("x", (3,), X_T)
    g.inputs.append(x)
    c = g.add_constant("c", np.array([0.5, -1.0, 2.0]), FixedType(True, 4, 3))
    y = g.add_tensor("y", (3,), Y_T)
    g.add_node(Op.SUB, [c, x], [y], O.NoAttrs(), name="sub")
    g.outputs = [y]
    node = g.nodes[0]
    names = tensor_names(g)
    cfg = config_for(node, names, plan(node))
    assert cfg["kernel"] == "binary_const" and cfg["operands"] == [names.array["x"]]
    assert dict(cfg["struct"]["consts"])["const_first"] == 1

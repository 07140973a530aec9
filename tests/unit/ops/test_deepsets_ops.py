"""Deep Sets ops on tiny graphs: a Dense applied per object (MatMul on a rank-3
tensor, lowered to a pointwise Conv) and ReduceMean / ReduceMax / ReduceSum over the
objects axis (global pools, the sum as a pool without division).

Each graph runs four ways that must agree bit for bit: a numpy reference written
here (float64 on power-of-two grids, exact), trigc's emulator (interpreter and fast
path), the g++ C-sim of the generated Vitis project, and the Verilog backend's
netlist (``trigc.netlist.evaluate``). Refusals are typed and name the fix."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import trigc
from trigc.emulator import emulate, fast
from trigc.errors import UnsupportedOpError
from trigc.ir.ops import Op
from trigc.netlist import evaluate
from trigc.netlist.lower import lower

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from helpers.qonnx_models import Builder  # noqa: E402

IN_SCALE, IN_BITS = 2.0**-3, 8
H_SCALE, H_BITS = 2.0**-3, 6
N_FEAT, N_HID = 3, 4
RNG = np.random.default_rng(5)
W = np.round(RNG.normal(0, 0.5, (N_FEAT, N_HID)) * 16) / 16  # on the 2^-4 grid, 6 bits
B = np.round(RNG.normal(0, 0.3, N_HID) * 64) / 64
OUT = {"ReduceMean": (2.0**-6, 12), "ReduceMax": (2.0**-3, 8), "ReduceSum": (2.0**-3, 12)}


def _axes(b: Builder, axes) -> str:
    """An int64 axes initializer (Builder.const writes float32)."""
    from onnx import numpy_helper

    name = b._fresh("axes")
    b.initializers.append(numpy_helper.from_array(np.asarray(axes, dtype=np.int64), name))
    return name


def _q(x, scale, bits, signed):
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    return np.clip(np.round(x / scale), lo, hi) * scale  # numpy rounds half to even


def deepsets_graph(reduce: str, n_obj: int, keepdims: int = 0, opset: int = 13,
                   bias: bool = True):
    """x (objects, features) -> per-object Dense (+ bias) -> Relu -> Quant -> Reduce
    over the objects -> Quant."""
    b = Builder(f"ds_{reduce.lower()}")
    x = b.quant("x", IN_SCALE, IN_BITS)
    w = b.quant(b.const(W.astype(np.float32), "w"), 2.0**-4, 6, narrow=True)
    h = b.node("MatMul", [x, w], name="phi/MatMul")
    if bias:
        h = b.node("Add", [h, b.const(B.astype(np.float32), "b")], name="phi/BiasAdd")
    h = b.quant(b.node("Relu", [h], name="phi/Relu"), H_SCALE, H_BITS, signed=False,
                name="phi/Quant")
    use_input = opset >= 18 or reduce == "ReduceSum"
    axes = [_axes(b, [1])] if use_input else []
    kw = {} if use_input else {"axes": [1]}
    p = b.node(reduce, [h, *axes], keepdims=keepdims, name="pool/" + reduce, **kw)
    scale, bits = OUT[reduce]
    y = b.quant(p, scale, bits, signed=False, name="pool/Quant")
    out_shape = (1, 1, N_HID) if keepdims else (1, N_HID)
    return b.model({"x": (1, n_obj, N_FEAT)}, y, out_shape, opset=opset)


def reference(reduce: str, x: np.ndarray, bias: bool = True) -> np.ndarray:
    h = _q(x.astype(np.float64), IN_SCALE, IN_BITS, True) @ W + (B if bias else 0)
    h = _q(np.maximum(h, 0), H_SCALE, H_BITS, False)
    pooled = {"ReduceMean": h.mean(axis=1), "ReduceMax": h.max(axis=1),
              "ReduceSum": h.sum(axis=1)}[reduce]
    return _q(pooled, *OUT[reduce], False)


def events(n: int, n_obj: int, seed: int = 0) -> np.ndarray:
    """Constituent-like inputs: random objects, some rows zero-padded, and values on
    the input grid and on its rounding ties."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 3, (n, n_obj, N_FEAT))
    ties = rng.random(x.shape) < 0.3
    x = np.where(ties, (np.round(x / IN_SCALE) + 0.5) * IN_SCALE, x)
    n_real = rng.integers(1, n_obj + 1, n)
    x[np.arange(n_obj)[None, :] >= n_real[:, None]] = 0.0
    return x.astype(np.float32)


def _netlist(graph, x) -> np.ndarray:
    t = graph.inputs[0]
    raw = np.asarray(emulate(graph, x, raw=True, engine="interpreter"))
    x_raw = np.clip(np.round(x.astype(np.float64) * 2.0**t.type.frac_bits),
                    t.type.min_raw, t.type.max_raw).astype(np.int64)
    got = evaluate(lower(graph), x_raw.reshape(len(x), -1))
    return got.reshape(raw.shape), raw


def _csim(graph, x, tmp_path) -> None:
    if shutil.which("g++") is None:
        pytest.skip("no g++")
    project = trigc.compile(graph, tmp_path / "prj")
    result = project.compare(x)
    assert result.ok, str(result)
    report = project.estimate()
    assert report is not None


@pytest.mark.parametrize("reduce,n_obj", [("ReduceMean", 6), ("ReduceMean", 8),
                                          ("ReduceMax", 5), ("ReduceSum", 7)])
def test_reduce_over_objects_is_exact_four_ways(reduce, n_obj, tmp_path):
    graph = trigc.load(deepsets_graph(reduce, n_obj))
    ops = [n.op for n in graph.nodes]
    assert Op.CONV in ops and Op.DENSE not in ops  # the per-object Dense is pointwise
    x = events(600, n_obj)
    want = reference(reduce, x)
    assert len(np.unique(want)) > 20  # the comparison discriminates
    got = trigc.emulate(graph, x, engine="interpreter")
    np.testing.assert_array_equal(got, want)
    if fast.compiler() is not None:
        assert fast.unsupported_reason(graph) is None
        np.testing.assert_array_equal(trigc.emulate(graph, x, engine="fast"), want)
    net, raw = _netlist(graph, x)
    np.testing.assert_array_equal(net, raw)
    _csim(graph, x[:200], tmp_path)


@pytest.mark.parametrize("reduce", ["ReduceMean", "ReduceMax", "ReduceSum"])
def test_permuting_objects_changes_nothing(reduce):
    graph = trigc.load(deepsets_graph(reduce, 8))
    x = events(300, 8, seed=1)
    perm = np.random.default_rng(2).permutation(8)
    np.testing.assert_array_equal(trigc.emulate(graph, x[:, perm]), trigc.emulate(graph, x))


def test_padded_objects_add_nothing_to_sum_pooling():
    """Without a bias, phi(0) = 0 exactly, so zero-padded objects add nothing to a sum:
    the same event in 4 or in 8 object slots gives the same bits."""
    small = trigc.load(deepsets_graph("ReduceSum", 4, bias=False))
    large = trigc.load(deepsets_graph("ReduceSum", 8, bias=False))
    x = events(300, 4, seed=3)
    padded = np.concatenate([x, np.zeros_like(x)], axis=1)
    np.testing.assert_array_equal(trigc.emulate(large, padded), trigc.emulate(small, x))
    np.testing.assert_array_equal(trigc.emulate(small, x), reference("ReduceSum", x, False))


@pytest.mark.parametrize("opset,keepdims", [(18, 0), (13, 1)])
def test_axes_as_input_and_keepdims(opset, keepdims):
    graph = trigc.load(deepsets_graph("ReduceMean", 4, keepdims=keepdims, opset=opset))
    x = events(200, 4, seed=4)
    got = trigc.emulate(graph, x)
    want = reference("ReduceMean", x)
    np.testing.assert_array_equal(got.reshape(want.shape), want)
    assert got.shape == ((200, 1, N_HID) if keepdims else (200, N_HID))


def test_sum_pool_has_no_divider():
    """ReduceSum is a global pool that divides by 1: no divider in the plan, so the
    estimator costs only the adder tree."""
    from trigc.estimate.resources import avgpool
    from trigc.plans import plan

    graph = trigc.load(deepsets_graph("ReduceSum", 7))
    pool = next(n for n in graph.nodes if n.op is Op.GLOBAL_AVGPOOL)
    assert pool.attrs.divide is False
    p = plan(pool)
    assert p.divisor == 1 and p.windows() == [(7, 1)] * N_HID
    cost = avgpool(pool, p)
    assert cost.resources.dsp == 0
    assert not any("divide" in op.label for op in cost.ops)


def _reduce_model(axes, shape, op="ReduceMean"):
    b = Builder("bad")
    x = b.quant("x", IN_SCALE, IN_BITS)
    p = b.node(op, [x], axes=axes, keepdims=1, name="pool/" + op)
    out = tuple(1 if i in [a % len(shape) for a in axes] else d for i, d in enumerate(shape))
    return b.model({"x": shape}, b.quant(p, 2.0**-6, 12), out)


def test_reduce_over_the_batch_is_refused():
    with pytest.raises(UnsupportedOpError, match=r"pool/ReduceMean.*batch axis 0.*objects axis"):
        trigc.load(_reduce_model([0, 1], (1, 4, 3)))


def test_reduce_over_a_middle_axis_is_refused():
    with pytest.raises(UnsupportedOpError, match=r"ReduceMax.*axes \[2\].*not supported; reduce"):
        trigc.load(_reduce_model([2], (1, 2, 4, 3), op="ReduceMax"))


def masked_graph(n_obj: int):
    """phi (with bias: phi(0) != 0) -> times a run-time 0/1 mask (objects, 1) ->
    ReduceSum over the objects -> Quant: the masked sum of real Deep Sets exports."""
    b = Builder("ds_masked")
    x = b.quant("x", IN_SCALE, IN_BITS)
    m = b.quant("mask", 1.0, 1, signed=False)
    w = b.quant(b.const(W.astype(np.float32), "w"), 2.0**-4, 6, narrow=True)
    h = b.node("MatMul", [x, w], name="phi/MatMul")
    h = b.node("Add", [h, b.const(B.astype(np.float32), "b")], name="phi/BiasAdd")
    h = b.quant(b.node("Relu", [h], name="phi/Relu"), H_SCALE, H_BITS, signed=False,
                name="phi/Quant")
    h = b.node("Mul", [h, m], name="mask/Mul")
    p = b.node("ReduceSum", [h, _axes(b, [1])], keepdims=0, name="pool/ReduceSum")
    y = b.quant(p, *OUT["ReduceSum"], signed=False, name="pool/Quant")
    return b.model({"x": (1, n_obj, N_FEAT), "mask": (1, n_obj, 1)}, y, (1, N_HID))


def test_explicit_mask_is_exact_and_hides_padded_objects(tmp_path):
    """The mask is broadcast over the features by Concats (wires); numpy == emulator
    (interpreter and fast path) == netlist == C-sim, and whatever the masked-out
    rows hold, the result is that of the real objects alone."""
    n_obj, n = 6, 400
    graph = trigc.load(masked_graph(n_obj))
    x = events(n, n_obj, seed=6)
    rng = np.random.default_rng(7)
    n_real = rng.integers(1, n_obj + 1, n)
    mask = (np.arange(n_obj)[None, :] < n_real[:, None]).astype(np.float32)[..., None]
    garbage = np.where(mask > 0, x, rng.normal(0, 4, x.shape)).astype(np.float32)
    h = _q(np.maximum(_q(x.astype(np.float64), IN_SCALE, IN_BITS, True) @ W + B, 0),
           H_SCALE, H_BITS, False)
    want = _q((h * mask).sum(axis=1), *OUT["ReduceSum"], False)
    assert len(np.unique(want)) > 20
    for inputs in ((x, mask), (garbage, mask)):
        np.testing.assert_array_equal(trigc.emulate(graph, *inputs, engine="interpreter"),
                                      want)
        if fast.compiler() is not None:
            np.testing.assert_array_equal(trigc.emulate(graph, *inputs, engine="fast"), want)
    raw = np.asarray(emulate(graph, garbage, mask, raw=True, engine="interpreter"))
    x_raw = np.clip(np.round(garbage.astype(np.float64) / IN_SCALE), -128, 127)
    packed = np.concatenate([x_raw.reshape(n, -1), mask.reshape(n, -1)], 1).astype(np.int64)
    np.testing.assert_array_equal(evaluate(lower(graph), packed).reshape(raw.shape), raw)
    if shutil.which("g++") is None:
        pytest.skip("no g++")
    result = trigc.compile(graph, tmp_path / "prj").compare(garbage[:200], mask[:200])
    assert result.ok, str(result)


def test_masked_mean_division_by_the_count_is_refused():
    """sum(h * mask) / sum(mask): the divisor is a run-time count of real objects."""
    b = Builder("masked")
    x = b.quant("x", IN_SCALE, IN_BITS)
    m = b.quant("mask", 1.0, 2, signed=False)
    s = b.node("ReduceSum", [b.node("Mul", [x, m], name="mask/Mul"),
                             _axes(b, [1])], keepdims=0)
    n = b.node("ReduceSum", [m, _axes(b, [1])], keepdims=0)
    y = b.node("Div", [s, n], name="pool/Div")
    model = b.model({"x": (1, 4, 3), "mask": (1, 4, 1)}, b.quant(y, 2.0**-6, 12), (1, 3))
    with pytest.raises(UnsupportedOpError, match=r"pool/Div.*run time.*Use sum pooling"):
        trigc.load(model)


def test_dense_over_three_object_axes_is_refused():
    b = Builder("deep")
    x = b.quant("x", IN_SCALE, IN_BITS)
    w = b.quant(b.const(W.astype(np.float32), "w"), 2.0**-4, 6, narrow=True)
    h = b.node("MatMul", [x, w], name="phi/MatMul")
    model = b.model({"x": (1, 2, 2, 2, N_FEAT)}, b.quant(h, 2.0**-6, 12), (1, 2, 2, 2, N_HID))
    with pytest.raises(UnsupportedOpError, match=r"phi.*more than two object axes.*reshape"):
        trigc.load(model)

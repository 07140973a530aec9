"""ONNX ``Selu`` as a lookup table indexed by the input's raw value (like Sigmoid and
Tanh), on tiny graphs built with onnx.helper and on a torch export of ``nn.SELU``.

With one table entry per input value (shift 0) the table is the correctly rounded
function, so the result equals a numpy reference ``Quant(selu(x))`` exactly; the
emulator (interpreter and fast path), the g++ C-sim and the Verilog netlist agree
bit for bit, and onnxruntime's float Selu is within half an output LSB. With more
input values than table entries (shift > 0) the implementations still agree and the
error is bounded by the sampling step."""

from __future__ import annotations

import io
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest

import trigc
from trigc.emulator import emulate, fast
from trigc.errors import UnsupportedOpError
from trigc.ir.ops import Op
from trigc.netlist import evaluate
from trigc.netlist.lower import lower
from trigc.ops.lut import SELU_ALPHA, SELU_GAMMA, selu

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from helpers.qonnx_models import Builder  # noqa: E402


def selu_graph(in_scale=2.0**-4, in_bits=8, out=None, **attrs):
    """x -> Quant -> Selu (-> Quant ``out=(scale, bits)``)."""
    b = Builder("selu")
    x = b.quant("x", in_scale, in_bits)
    y = b.node("Selu", [x], name="act/Selu", **attrs)
    if out is not None:
        y = b.quant(y, out[0], out[1], name="act/Quant")
    return b.model({"x": (1, 6)}, y, (1, 6))


def _q(x, scale, bits):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return np.clip(np.round(x / scale), lo, hi) * scale


def events(n, scale, bits, seed=0):
    """Every input value of the grid at least once, then random ones."""
    rng = np.random.default_rng(seed)
    grid = np.arange(-(1 << (bits - 1)), 1 << (bits - 1)) * scale
    x = np.concatenate([np.resize(grid, n * 6), rng.normal(0, 3, n * 6)])
    return rng.permutation(x).reshape(-1, 6).astype(np.float32)


def _ort(model, x):
    import onnxruntime as ort
    from onnx import helper

    float_model = helper.make_model(
        helper.make_graph([helper.make_node("Selu", ["x"], ["y"], **_selu_attrs(model))],
                          "f", [helper.make_tensor_value_info("x", 1, [None, 6])],
                          [helper.make_tensor_value_info("y", 1, [None, 6])]),
        opset_imports=[helper.make_opsetid("", 13)])
    sess = ort.InferenceSession(float_model.SerializeToString(),
                                providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x.astype(np.float32)})[0].astype(np.float64)


def _selu_attrs(model):
    node = next(n for n in model.graph.node if n.op_type == "Selu")
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _netlist(graph, x):
    t = graph.inputs[0]
    raw = np.asarray(emulate(graph, x, raw=True, engine="interpreter"))
    x_raw = np.clip(np.round(x.astype(np.float64) * 2.0**t.type.frac_bits),
                    t.type.min_raw, t.type.max_raw).astype(np.int64)
    got = evaluate(lower(graph), x_raw.reshape(len(x), -1))
    return got.reshape(raw.shape), raw


def _all_agree(graph, x, want, tmp_path):
    """Interpreter == fast path == netlist == C-sim (== ``want`` when given)."""
    got = trigc.emulate(graph, x, engine="interpreter")
    if want is not None:
        np.testing.assert_array_equal(got, want)
    if fast.compiler() is not None:
        assert fast.unsupported_reason(graph) is None
        np.testing.assert_array_equal(trigc.emulate(graph, x, engine="fast"), got)
    net, raw = _netlist(graph, x)
    np.testing.assert_array_equal(net, raw)
    if shutil.which("g++") is not None:
        project = trigc.compile(graph, tmp_path / "prj")
        result = project.compare(x[:300])
        assert result.ok, str(result)
        assert project.estimate() is not None
    return got


def _selu_node(graph):
    (node,) = [n for n in graph.nodes if n.op == Op.SELU]
    return node


def test_default_type_table_is_exact_four_ways_and_near_onnxruntime(tmp_path):
    model = selu_graph()
    graph = trigc.load(model)
    a = _selu_node(graph).attrs
    out = graph.outputs[0].type
    assert a.shift == 0 and a.exact and a.params == (SELU_ALPHA, SELU_GAMMA)
    assert out.frac_bits == 10 and out.signed
    x = events(300, 2.0**-4, 8)
    xq = _q(x.astype(np.float64), 2.0**-4, 8)
    want = np.round(selu(xq) * 2.0**10) / 2.0**10
    assert len(np.unique(want)) > 200
    got = _all_agree(graph, x, want, tmp_path)
    # the table is the correctly rounded function: within half an LSB of onnxruntime
    err = np.abs(got - _ort(model, xq))
    assert err.max() <= 0.5 * out.lsb + 4e-7 * np.abs(got).max()
    assert got.max() == pytest.approx(SELU_GAMMA * 127 / 16, abs=out.lsb)  # range follows x


def test_attributes_and_following_quant_are_exact(tmp_path):
    alpha, gamma = 1.25, 0.75
    graph = trigc.load(selu_graph(2.0**-3, 6, out=(2.0**-6, 8), alpha=alpha, gamma=gamma))
    assert _selu_node(graph).attrs.params == (alpha, gamma)
    x = events(200, 2.0**-3, 6, seed=1)
    xq = _q(x.astype(np.float64), 2.0**-3, 6)
    want = _q(selu(xq, alpha, gamma), 2.0**-6, 8)  # saturates above 127/64
    assert want.max() == 127 / 64 and len(np.unique(want)) > 40
    _all_agree(graph, x, want, tmp_path)


def test_wide_input_samples_the_table_with_a_shift(tmp_path):
    """12-bit input: 4096 values, more than the 1024 entries, so the table samples the
    midpoints of runs of 2^shift inputs; every implementation still agrees and the
    error stays within half an LSB plus the slope times half a run."""
    fx = 8
    graph = trigc.load(selu_graph(2.0**-fx, 12))
    a = _selu_node(graph).attrs
    assert a.shift > 0 and not a.exact and len(a.table) <= 1024
    x = events(400, 2.0**-fx, 12, seed=2)
    got = _all_agree(graph, x, None, tmp_path)
    xq = _q(x.astype(np.float64), 2.0**-fx, 12)
    slope = SELU_GAMMA * max(1.0, SELU_ALPHA)
    bound = 0.5 * a.table_type.lsb + slope * ((1 << a.shift) - 1) / 2 * 2.0**-fx
    assert np.abs(got - selu(xq)).max() <= bound + 1e-12


def test_torch_selu_export(tmp_path):
    torch = pytest.importorskip("torch")
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(torch.nn.SELU(), torch.zeros(1, 6), buf, opset_version=13,
                          dynamo=False, input_names=["x"], dynamic_axes={"x": {0: "N"}})
    model = onnx.load_from_string(buf.getvalue())
    assert [n.op_type for n in model.graph.node] == ["Selu"]
    graph = trigc.load(model, precision={"input": "fixed<8,4,RND_CONV,SAT>"})
    x = events(200, 2.0**-4, 8, seed=3)
    xq = _q(x.astype(np.float64), 2.0**-4, 8)
    want = np.round(selu(xq) * 2.0**10) / 2.0**10
    _all_agree(graph, x, want, tmp_path)
    with torch.no_grad():
        ref = torch.nn.SELU()(torch.from_numpy(xq)).numpy()
    assert np.abs(trigc.emulate(graph, x) - ref).max() <= 2.0**-11 + 1e-12


def test_decreasing_selu_is_refused_by_name():
    with pytest.raises(UnsupportedOpError, match=r"act/Selu.*alpha=-1.*non-decreasing"):
        trigc.load(selu_graph(alpha=-1.0))

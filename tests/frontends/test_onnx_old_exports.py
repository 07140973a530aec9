"""Old and unusual ONNX exports (trigc.frontends.onnx_upgrade): each model compiles
and is exact against its framework (torch, onnxruntime, or qonnx's executor for
QONNX and channels-last ops) and against the g++ C-sim on the same events, or is
refused at once with a typed one-line error naming the node, the op and the fix.

Float exactness: weights, batch-norm parameters and inputs lie on power-of-two grids
and every sum stays far below 2**24 units of its grid, so float32 evaluates these
models exactly; batch-norm variances are 1 with epsilon 0, so 1/sqrt(var + eps) is
exact too. trigc infers exact types for unquantized layers from the value bounds,
so the emulator must equal the framework bit for bit.
"""

from __future__ import annotations

import io
import logging
import shutil
import time
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import trigc
from trigc.frontends import onnx_import
from trigc.frontends.qonnx_builder import QONNX_DOMAIN, QonnxBuilder
from helpers.qonnx_models import qonnx_execute

IN_TYPE = {"input": "fixed<12,6>"}  # holds every input below exactly
N = 400


def grid(rng, shape, step=2.0**-4, lim=8):
    return (rng.integers(-lim, lim + 1, shape) * step).astype(np.float32)


def inputs(shape, seed=0) -> np.ndarray:
    return grid(np.random.default_rng(seed), (N, *shape), 2.0**-4, 24)


def ort_run(model: onnx.ModelProto, x: np.ndarray, per_event: bool = False) -> np.ndarray:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    if per_event:
        return np.stack([sess.run(None, {name: e})[0] for e in x])
    return sess.run(None, {name: x})[0]


def csim_equals_emulator(graph, x, tmp_path) -> None:
    if shutil.which("g++") is None:
        return
    result = trigc.compile(graph, tmp_path / "prj").compare(x[:200])
    assert result.ok, str(result)


def exact(graph, x, ref, tmp_path) -> None:
    got = trigc.emulate(graph, x)
    np.testing.assert_array_equal(got.reshape(ref.shape), ref.astype(np.float64))
    assert len(np.unique(ref)) >= 20, "too few distinct outputs to discriminate"
    csim_equals_emulator(graph, x, tmp_path)


def make(nodes, inputs_, outputs, inits, opset, domains=()):
    g = helper.make_graph(nodes, "old", inputs_, outputs, initializer=inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset),
                                               *(helper.make_opsetid(d, 1) for d in domains)])


def f32(name, value):
    return numpy_helper.from_array(np.asarray(value, dtype=np.float32), name)


def i64(name, value):
    return numpy_helper.from_array(np.asarray(value, dtype=np.int64), name)


def bn_params(rng, prefix, c):
    return [f32(f"{prefix}_g", grid(rng, c, 2.0**-2, 6)), f32(f"{prefix}_b", grid(rng, c)),
            f32(f"{prefix}_m", grid(rng, c)), f32(f"{prefix}_v", np.ones(c))]


def bn(prefix, x, y):
    return helper.make_node("BatchNormalization", [x] + [f"{prefix}_{k}" for k in "gbmv"],
                            [y], name=f"{prefix}/BatchNormalization", epsilon=0.0)


# ---- torch exports (opset 7 and 9) ----------------------------------------------

@pytest.fixture(scope="module")
def torch_net():
    torch = pytest.importorskip("torch")

    class Net(torch.nn.Module):
        """Conv2d, ReLU, x.view(x.size(0), -1) (a Shape/Gather/Concat subgraph in the
        export), Linear, BatchNorm1d, ReLU, Linear."""

        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(2, 3, 3, padding=1)
            self.fc = torch.nn.Linear(48, 8)
            self.bn = torch.nn.BatchNorm1d(8, eps=0.0)
            self.out = torch.nn.Linear(8, 3)

        def forward(self, x):
            h = torch.relu(self.conv(x))
            h = h.view(h.size(0), -1)
            return self.out(torch.relu(self.bn(self.fc(h))))

    rng = np.random.default_rng(0)
    net = Net().eval()
    with torch.no_grad():
        for p in (*net.conv.parameters(), *net.fc.parameters(), *net.out.parameters()):
            p.copy_(torch.from_numpy(grid(rng, tuple(p.shape))))
        net.bn.weight.copy_(torch.from_numpy(grid(rng, 8, 2.0**-2, 6)))
        net.bn.bias.copy_(torch.from_numpy(grid(rng, 8)))
        net.bn.running_mean.copy_(torch.from_numpy(grid(rng, 8)))
        net.bn.running_var.fill_(1.0)
    return torch, net


@pytest.mark.parametrize("opset", [7, 9])
def test_torch_old_opset_is_upgraded_and_shape_subgraph_folded(torch_net, opset, tmp_path,
                                                               caplog):
    torch, net = torch_net
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, torch.zeros(1, 2, 4, 4), buf, opset_version=opset,
                          dynamo=False, input_names=["x"], dynamic_axes={"x": {0: "N"}})
    model = onnx.load_from_string(buf.getvalue())
    assert model.opset_import[0].version == opset
    assert {"Shape", "Gather", "Concat"} <= {n.op_type for n in model.graph.node}
    with caplog.at_level(logging.INFO, logger="trigc.frontends.onnx_upgrade"):
        graph = trigc.load(model, precision=IN_TYPE)
    upgrades = [r.getMessage() for r in caplog.records if "upgraded" in r.getMessage()]
    assert upgrades == [f"ONNX opset {opset} upgraded to 13 with onnx.version_converter "
                        "(re-export with opset_version=13 to skip this)"]
    assert any("folded" in r.getMessage() and "Shape" in r.getMessage()
               for r in caplog.records)
    x = inputs((2, 4, 4), seed=opset)
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    np.testing.assert_array_equal(ref, ort_run(model, x))
    exact(graph, x, ref, tmp_path)


# ---- hand-written keras2onnx / old-torch patterns (onnx.helper) --------------------

def old_patterns_model():
    """Opset 9, input [N, 3, 4]: BatchNorm over the last axis written as Transpose, BN,
    Transpose; a Reshape whose target is computed by Shape -> Gather -> Unsqueeze ->
    Concat (-> Cast); BatchNorm1d written as Unsqueeze, BN, Squeeze; MatMul."""
    rng = np.random.default_rng(1)
    inits = bn_params(rng, "bn_t", 4) + bn_params(rng, "bn_u", 12) + [
        i64("zero", 0), i64("minus1", [-1]), f32("w", grid(rng, (12, 5)))]
    nodes = [
        helper.make_node("Transpose", ["x"], ["t1"], name="bn_t/Transpose", perm=[0, 2, 1]),
        bn("bn_t", "t1", "t2"),
        helper.make_node("Transpose", ["t2"], ["t3"], name="bn_t/Transpose_1", perm=[0, 2, 1]),
        helper.make_node("Shape", ["t3"], ["s"], name="flat/Shape"),
        helper.make_node("Gather", ["s", "zero"], ["n"], name="flat/Gather", axis=0),
        helper.make_node("Unsqueeze", ["n"], ["n1"], name="flat/Unsqueeze", axes=[0]),
        helper.make_node("Concat", ["n1", "minus1"], ["target"], name="flat/Concat", axis=0),
        helper.make_node("Cast", ["target"], ["target64"], name="flat/Cast",
                         to=TensorProto.INT64),
        helper.make_node("Reshape", ["t3", "target64"], ["flat"], name="flat/Reshape"),
        helper.make_node("Unsqueeze", ["flat"], ["u1"], name="bn_u/Unsqueeze", axes=[2]),
        bn("bn_u", "u1", "u2"),
        helper.make_node("Squeeze", ["u2"], ["u3"], name="bn_u/Squeeze", axes=[2]),
        helper.make_node("MatMul", ["u3", "w"], ["y"], name="fc/MatMul"),
    ]
    return make(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 4])],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])], inits, 9)


def test_old_export_patterns(tmp_path):
    model = old_patterns_model()
    graph = trigc.load(model, precision=IN_TYPE)
    x = inputs((3, 4), seed=3)
    exact(graph, x, ort_run(model, x), tmp_path)


def test_flatten_axis0_on_batch_one(tmp_path):
    """Flatten(axis=0) of a [1, 2, 4] tensor equals Flatten(axis=1)."""
    rng = np.random.default_rng(2)
    nodes = [helper.make_node("Flatten", ["x"], ["f"], name="flat/Flatten", axis=0),
             helper.make_node("MatMul", ["f", "w"], ["y"], name="fc/MatMul")]
    model = make(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6])],
                 [f32("w", grid(rng, (8, 6)))], 11)
    graph = trigc.load(model, precision=IN_TYPE)
    x = inputs((2, 4), seed=4)
    exact(graph, x, ort_run(model, x[:, None], per_event=True)[:, 0], tmp_path)


def test_batchless_input(tmp_path):
    """An input of shape [16] (no batch axis): MatMul, bias Add, Relu, MatMul,
    Softmax-free; trigc adds the batch axis. onnxruntime runs one event at a time."""
    rng = np.random.default_rng(5)
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1/MatMul"),
             helper.make_node("Add", ["h", "b1"], ["hb"], name="fc1/Add"),
             helper.make_node("Relu", ["hb"], ["r"], name="act/Relu"),
             helper.make_node("MatMul", ["r", "w2"], ["y"], name="fc2/MatMul")]
    model = make(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [16])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
                 [f32("w1", grid(rng, (16, 8))), f32("b1", grid(rng, 8)),
                  f32("w2", grid(rng, (8, 4)))], 13)
    graph = trigc.load(model, precision=IN_TYPE)
    assert graph.inputs[0].shape == (16,)
    x = inputs((16,), seed=6)
    exact(graph, x, ort_run(model, x, per_event=True), tmp_path)


def channels_last_model():
    """QONNX, NHWC input [1, 4, 4, 2]: input Quant, channels-last Conv (weight
    [out, kh, kw, in]), Relu, channels-last MaxPool 2x2, Quant, Flatten, MatMul."""
    rng = np.random.default_rng(7)
    b = QonnxBuilder("nhwc")
    cl = "qonnx.custom_op.channels_last"
    x = b.quant("x", 2.0**-4, 8, name="inp/Quant")
    w = b.quant(b.const(grid(rng, (3, 3, 3, 2)), "w"), 2.0**-4, 6, narrow=True)
    conv = h = b.node("Conv", [x, w, b.const(grid(rng, 3), "bias")], domain=cl,
                      name="conv/Conv",
               kernel_shape=[3, 3], strides=[1, 1], dilations=[1, 1], pads=[1, 1, 1, 1],
               group=1)
    relu = h = b.node("Relu", [h], name="act/Relu")
    h = b.node("MaxPool", [h], domain=cl, name="pool/MaxPool", kernel_shape=[2, 2],
               strides=[2, 2], pads=[0, 0, 0, 0])
    h = b.quant(h, 2.0**-6, 12, signed=False, name="act/Quant")
    h = b.node("Flatten", [h], name="flat/Flatten", axis=1)
    y = b.node("MatMul", [h, b.quant(b.const(grid(rng, (12, 4)), "w2"), 2.0**-4, 6,
                                     narrow=True)], name="fc/MatMul")
    model = b.model({"x": (1, 4, 4, 2)}, y, (1, 4))
    model.opset_import.append(helper.make_opsetid(cl, 1))
    # qonnx's own shape inference of channels-last ops needs their inputs' shapes
    model.graph.value_info.extend(
        helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)
        for name, shape in ((x, [1, 4, 4, 2]), (w, [3, 3, 3, 2]), (conv, [1, 4, 4, 3]),
                            (relu, [1, 4, 4, 3])))
    return model


def test_channels_last_domain_ops(tmp_path):
    model = channels_last_model()
    graph = trigc.load(model)
    x = inputs((4, 4, 2), seed=8)[:100]
    ref = np.concatenate([qonnx_execute(model, x[i:i + 1]) for i in range(len(x))])
    exact(graph, x, ref, tmp_path)


# ---- refusals: typed, one line, naming the node, the op and the fix ----------------

def one_line(exc) -> str:
    msg = str(exc.value)
    assert "\n" not in msg, msg
    return msg


def test_unsupported_op_is_refused_before_any_work(monkeypatch):
    """An Erf is refused by the op scan, before shape inference even starts."""
    b = QonnxBuilder("erf")
    x = b.quant("x", 2.0**-4, 8)
    y = b.node("Erf", [x], name="act/Erf")
    model = b.model({"x": (1, 2, 4, 4)}, y, (1, 2, 4, 4))

    def no_work(*_):
        raise AssertionError("shape inference ran before the op scan")

    monkeypatch.setattr(onnx_import, "_infer_shapes", no_work)
    start = time.perf_counter()
    with pytest.raises(trigc.UnsupportedOpError) as exc:
        trigc.load(model)
    assert time.perf_counter() - start < 5.0  # measured: ~0.01 s
    msg = one_line(exc)
    assert "Node 'act/Erf' (Erf)" in msg and "Replace the layer" in msg


def test_version_converter_failure_names_the_op():
    """opset 7 BatchNormalization with spatial=0 has no upgrade to opset 9+."""
    rng = np.random.default_rng(9)
    node = helper.make_node("BatchNormalization", ["x", "bn_g", "bn_b", "bn_m", "bn_v"],
                            ["y"], name="bn/BatchNormalization", spatial=0)
    model = make([node], [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
                 bn_params(rng, "bn", 4), 7)
    with pytest.raises(trigc.UnsupportedOpError) as exc:
        trigc.load(model)
    msg = one_line(exc)
    assert "opset 7" in msg and "'BatchNormalization'" in msg and "opset_version=13" in msg


@pytest.mark.parametrize("domain,op,expect", [
    ("qonnx.custom_op.channels_last", "AveragePool", "channels-last op 'AveragePool'"),
    ("com.example.custom", "Gelu", "custom domain 'com.example.custom'"),
])
def test_unknown_domain_ops_are_refused_by_name(domain, op, expect):
    b = QonnxBuilder("dom")
    y = b.node(op, [b.quant("x", 2.0**-4, 8)], domain=domain, name=f"l/{op}",
               kernel_shape=[2, 2])
    model = b.model({"x": (1, 4, 4, 2)}, y, (1, 2, 2, 2))
    with pytest.raises(trigc.UnsupportedOpError) as exc:
        trigc.load(model)
    msg = one_line(exc)
    assert f"Node 'l/{op}' ({op})" in msg and expect in msg


def test_flatten_axis0_with_a_batch_is_refused():
    nodes = [helper.make_node("Flatten", ["x"], ["y"], name="flat/Flatten", axis=0)]
    model = make(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [], 13)
    with pytest.raises(trigc.UnsupportedOpError) as exc:
        trigc.load(model, precision=IN_TYPE)
    msg = one_line(exc)
    assert "Node 'flat/Flatten' (Flatten)" in msg and "axis=1" in msg


def test_scalar_input_is_refused():
    nodes = [helper.make_node("Mul", ["x", "c"], ["y"], name="scale/Mul")]
    model = make(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
                 [f32("c", np.ones(4))], 13)
    with pytest.raises(trigc.ModelError) as exc:
        trigc.load(model, precision=IN_TYPE)
    assert "'x' is a scalar" in one_line(exc) and "[N, 1]" in str(exc.value)


def test_reshape_target_computed_from_the_batch_is_refused():
    """Reshape(x, [batch * 2, -1]) moves samples across the batch: refused by name."""
    nodes = [helper.make_node("Shape", ["x"], ["s"], name="r/Shape"),
             helper.make_node("Gather", ["s", "zero"], ["n"], name="r/Gather", axis=0),
             helper.make_node("Mul", ["n", "two"], ["n2"], name="r/Mul"),
             helper.make_node("Unsqueeze", ["n2"], ["n3"], name="r/Unsqueeze", axes=[0]),
             helper.make_node("Concat", ["n3", "minus1"], ["t"], name="r/Concat", axis=0),
             helper.make_node("Reshape", ["x", "t"], ["y"], name="r/Reshape")]
    model = make(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                 [i64("zero", 0), i64("two", 2), i64("minus1", [-1])], 11)
    with pytest.raises(trigc.UnsupportedOpError) as exc:
        trigc.load(model, precision=IN_TYPE)
    msg = one_line(exc)
    assert "Node 'r/Reshape' (Reshape)" in msg and "batch size" in msg

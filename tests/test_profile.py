"""trigc.profile: float forward pass statistics and suggested types for post-training
quantization (onnxruntime for float models, qonnx's executor for QONNX models)."""

import json
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import trigc
from trigc.fixed import FixedType, Overflow, Rounding, quantize, to_float
from trigc.frontends.qonnx_builder import QonnxBuilder, quantized_mlp
from trigc.profile import holds, profile, suggest_type

QONNX_DOMAIN = "qonnx.custom_op.general"


# ---- models and an independent numpy forward pass ---------------------------------

def float_mlp(seed=0):
    """16 -> 24 -> 12 -> 5, exporter-style names: MatMul+Add+Relu, then a Gemm (transB)."""
    rng = np.random.default_rng(seed)
    inits, nodes = [], []
    x = "x"
    for i, (n_in, n_out) in enumerate([(16, 24), (24, 12)], start=1):
        w = rng.normal(0, 1.5 / np.sqrt(n_in), (n_in, n_out)).astype(np.float32)
        b = rng.normal(0, 0.3, n_out).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"fc{i}.weight"),
                  numpy_helper.from_array(b, f"fc{i}.bias")]
        nodes += [
            helper.make_node("MatMul", [x, f"fc{i}.weight"], [f"/fc{i}/MatMul_output_0"],
                             name=f"/fc{i}/MatMul"),
            helper.make_node("Add", [f"/fc{i}/MatMul_output_0", f"fc{i}.bias"],
                             [f"/fc{i}/Add_output_0"], name=f"/fc{i}/Add"),
            helper.make_node("Relu", [f"/fc{i}/Add_output_0"], [f"/act{i}/Relu_output_0"],
                             name=f"/act{i}/Relu"),
        ]
        x = f"/act{i}/Relu_output_0"
    w = rng.normal(0, 1 / np.sqrt(12), (5, 12)).astype(np.float32)
    b = rng.normal(0, 0.3, 5).astype(np.float32)
    inits += [numpy_helper.from_array(w, "out.weight"), numpy_helper.from_array(b, "out.bias")]
    nodes.append(helper.make_node("Gemm", [x, "out.weight", "out.bias"], ["logits"],
                                  name="/out/Gemm", transB=1))
    g = helper.make_graph(nodes, "float_mlp",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 5])],
                          initializer=inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def _quant(x, scale, zp, bits, signed, narrow, rounding):
    assert rounding == "ROUND"
    bits = int(bits)
    lo = -(2 ** (bits - 1)) + int(narrow) if signed else 0
    hi = 2 ** (bits - 1) - 1 if signed else 2**bits - 1 - int(narrow)
    q = np.clip(np.round(x / scale + zp), lo, hi)
    return (q - zp) * scale


def numpy_forward(model: onnx.ModelProto, x: np.ndarray) -> dict:
    """Every tensor of a MatMul/Add/Relu/Gemm/Quant model, computed in float64."""
    env = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in model.graph.initializer}
    env[model.graph.input[0].name] = np.asarray(x, dtype=np.float64)
    for node in model.graph.node:
        ins = [env[n] for n in node.input]
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "MatMul":
            out = ins[0] @ ins[1]
        elif node.op_type == "Add":
            out = ins[0] + ins[1]
        elif node.op_type == "Relu":
            out = np.maximum(ins[0], 0)
        elif node.op_type == "Gemm":
            w = ins[1].T if attrs.get("transB", 0) else ins[1]
            out = ins[0] @ w + ins[2]
        elif node.op_type == "Quant":
            mode = attrs.get("rounding_mode", b"ROUND")
            out = _quant(*ins, bool(attrs.get("signed", 1)), bool(attrs.get("narrow", 0)),
                         mode.decode() if isinstance(mode, bytes) else mode)
        else:
            raise AssertionError(node.op_type)
        env[node.output[0]] = out
    return env


def partly_quantized_mlp(seed=2):
    """Quantized input and first layer (QONNX Quant), then a float layer."""
    rng = np.random.default_rng(seed)
    b = QonnxBuilder("mixed")
    x = b.quant("x", 2.0**-4, 8, name="input/Quant")
    w = b.quant(b.const(rng.normal(0, 0.25, (16, 12)), "w"), 2.0**-4, 6, narrow=True)
    bias = b.quant(b.const(rng.normal(0, 0.1, 12), "b"), 2.0**-6, 8)
    h = b.node("Add", [b.node("MatMul", [x, w], name="dense_0/MatMul"), bias],
               name="dense_0/BiasAdd")
    h = b.quant(b.node("Relu", [h], name="relu_0/Relu"), 2.0**-3, 6, signed=False,
                name="relu_0/Quant")
    w2 = b.const(rng.normal(0, 0.4, (12, 4)), "wf")       # float weights: not quantized
    b2 = b.const(rng.normal(0, 0.1, 4), "bf")
    y = b.node("Add", [b.node("MatMul", [h, w2], name="dense_1/MatMul"), b2],
               name="dense_1/BiasAdd")
    return b.model({"x": (1, 16)}, y, (1, 4))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    return rng.normal(0, 1.5, (600, 16)).astype(np.float32)


@pytest.fixture(scope="module")
def float_model():
    return float_mlp()


@pytest.fixture(scope="module")
def float_profile(float_model, data):
    return profile(float_model, data)


# ---- float model (onnxruntime) ----------------------------------------------------

def test_float_ranges_match_numpy(float_model, float_profile, data):
    assert float_profile.executor == "onnxruntime"
    ref = numpy_forward(float_model, data)
    acts = {t.name for t in float_profile.activations}
    expected = {"x", "logits"} | {f"/fc{i}/{op}_output_0" for i in (1, 2)
                                  for op in ("MatMul", "Add")} | {
        f"/act{i}/Relu_output_0" for i in (1, 2)}
    assert expected <= acts
    for name in expected:
        t = float_profile[name]
        v = ref[name]
        np.testing.assert_allclose([t.min, t.max, t.max_abs], [v.min(), v.max(),
                                                              np.abs(v).max()],
                                   rtol=1e-5, atol=1e-6)
        assert t.count == v.size and t.shape == v.shape[1:]
        np.testing.assert_allclose(t.percentiles[50.0], np.percentile(v, 50), rtol=1e-4,
                                   atol=1e-5)
        np.testing.assert_allclose(t.mean, v.mean(), rtol=1e-4, atol=1e-5)
    for name in ("fc1.weight", "fc1.bias", "fc2.weight", "out.weight", "out.bias"):
        t = float_profile[name]
        value = numpy_helper.to_array(
            next(i for i in float_model.graph.initializer if i.name == name))
        assert t.kind == ("bias" if name.endswith("bias") else "weight")
        assert (t.min, t.max) == (float(value.min()), float(value.max()))


def test_layer_names_follow_trigc(float_profile):
    assert float_profile["/fc1/Add_output_0"].layer == "fc1"
    assert float_profile["/act2/Relu_output_0"].layer == "act2"
    assert float_profile["logits"].layer == "out"
    assert float_profile["fc2.weight"].layer == "fc2"
    assert float_profile["out.bias"].layer == "out"
    assert float_profile["x"].layer == "input"


def test_suggested_types_hold_every_observed_value(float_profile):
    for t in float_profile.tensors:
        s = t.suggested
        assert s.width == 16 and s.signed == (t.min < 0)
        assert holds(s, t.min, t.max), (t.name, s, t.min, t.max)
        # and no integer bit is unused: one fewer would not hold the range
        fewer = FixedType(s.signed, s.width, s.integer_bits - 1, s.rounding, s.overflow)
        assert not holds(fewer, t.min, t.max), (t.name, s)
        raw = quantize(np.array([t.min, t.max]), s.with_modes(overflow=Overflow.SAT))
        assert np.abs(to_float(raw, s) - [t.min, t.max]).max() <= s.lsb
        assert t.outside == 0
    relu = float_profile["/act1/Relu_output_0"]
    assert str(relu.suggested).startswith("ufixed<16,")


def test_precision_config_loads_and_emulates_close_to_float(float_model, float_profile, data):
    config = float_profile.precision_config()
    assert set(config) == {"input", "/fc1/Add_output_0", "/act1/Relu_output_0",
                           "/fc2/Add_output_0", "/act2/Relu_output_0", "logits"}
    assert all(isinstance(v, str) and FixedType.parse(v).width == 16 for v in config.values())
    assert config["input"] == str(float_profile["x"].suggested)
    assert float_profile["/fc1/MatMul_output_0"].note == "fused"   # inside the Dense
    graph = trigc.load(float_model, precision=config)
    by_name = {n.output.name: n.output.type for n in graph.nodes}
    assert str(by_name["/fc2/Add_output_0"]) == config["/fc2/Add_output_0"]
    ref = numpy_forward(float_model, data)["logits"]
    got = trigc.emulate(graph, data)
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() < 0.02 * np.abs(ref).max()
    # with the weights rounded into one 16-bit type too
    config_w = float_profile.precision_config(weights=True)
    assert config_w["weights"] == str(float_profile.weights_type())
    got_w = trigc.emulate(trigc.load(float_model, precision=config_w), data)
    assert np.abs(got_w - ref).max() < 0.02 * np.abs(ref).max()


def test_percentile_mode_ignores_outliers(float_model, data):
    x = data.copy()
    x[3, 5] = 300.0
    full = profile(float_model, x)
    clipped = profile(float_model, x, percentile=99.0)
    assert full["x"].suggested.integer_bits == 10           # 300 < 2^9, plus the sign
    assert clipped["x"].suggested.integer_bits < 5
    assert clipped["x"].suggested.overflow is Overflow.SAT
    assert clipped["x"].outside >= 1 and "outside" in clipped.table()
    assert clipped.percentile == 99.0 and 99.0 in clipped["x"].percentiles
    for t in clipped.activations:
        assert t.bound <= t.max_abs
        assert holds(t.suggested, max(t.min, -t.bound), min(t.max, t.bound))


def test_width_margin_and_modes(float_model, data):
    p = profile(float_model, data, width=10, margin=1, rounding="RND_CONV", overflow="SAT")
    base = profile(float_model, data, width=10, rounding="RND_CONV", overflow="SAT")
    for t in p.activations:
        s = t.suggested
        assert s.width == 10 and s.rounding is Rounding.RND_CONV and s.overflow is Overflow.SAT
        assert s.integer_bits == base[t.name].suggested.integer_bits + 1


def test_table_json_and_plot(float_profile, tmp_path):
    table = float_profile.table()
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["layer", "tensor", "kind"] and "suggested" in lines[0]
    for t in float_profile.tensors:
        assert any(t.name in line and str(t.suggested) in line for line in lines)
    header = lines[0]
    col = header.index("suggested")
    rows = [line for line in lines[2:] if line and not line.startswith(float_profile.model)]
    assert all(line[col - 2:col] == "  " for line in rows)            # aligned column
    data = json.loads(float_profile.to_json())
    assert data["precision"] == float_profile.precision_config()
    assert data["n_samples"] == 600 and data["width"] == 16
    assert {t["name"] for t in data["tensors"]} == {t.name for t in float_profile.tensors}
    had_pyplot = "matplotlib.pyplot" in sys.modules
    png = float_profile.plot(tmp_path / "profile.png")
    assert had_pyplot or "matplotlib.pyplot" not in sys.modules     # Agg canvas, no pyplot
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    paths = float_profile.write(tmp_path / "out")
    assert [p.name for p in paths] == ["precision.json", "profile.json", "profile.png"]
    written = json.loads(paths[0].read_text())
    assert written == {"precision": float_profile.precision_config()}


def test_model_path_and_cli_style_config(float_model, data, tmp_path):
    path = tmp_path / "float_mlp.onnx"
    onnx.save(float_model, str(path))
    p = profile(str(path), data[:50], batch_size=16)            # several chunks
    assert p.model == "float_mlp" and p.n_samples == 50
    ref = numpy_forward(float_model, data[:50])
    np.testing.assert_allclose(p["logits"].max, ref["logits"].max(), rtol=1e-5)
    cfg = tmp_path / "precision.json"
    cfg.write_text(json.dumps({"precision": p.precision_config()}))
    from trigc.cli import main
    assert main(["inspect", str(path), "--config", str(cfg)]) == 0


def conv_model(seed=0):
    """Conv1D (channels-first) -> Relu -> Reshape to a hard-coded batch of 1 -> Gemm."""
    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array(rng.normal(0, 0.3, (4, 2, 3)).astype(np.float32), "cw"),
             numpy_helper.from_array(rng.normal(0, 0.1, 4).astype(np.float32), "cb"),
             numpy_helper.from_array(rng.normal(0, 0.3, (5, 32)).astype(np.float32), "fw"),
             numpy_helper.from_array(np.array([1, -1], np.int64), "shape")]
    nodes = [helper.make_node("Conv", ["x", "cw", "cb"], ["c"], name="/conv/Conv", pads=[1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="/act/Relu"),
             helper.make_node("Reshape", ["r", "shape"], ["f"], name="/flat/Reshape"),
             helper.make_node("Gemm", ["f", "fw"], ["y"], name="/fc/Gemm", transB=1)]
    g = helper.make_graph(nodes, "convnet",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])],
                          initializer=inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def test_conv_model_channels_last_and_batch_one_reshape(caplog):
    model = conv_model()
    x = np.random.default_rng(3).normal(0, 1, (30, 2, 8)).astype(np.float32)
    p = profile(model, x)
    assert "one sample at a time" in caplog.text          # Reshape to [1, -1]
    w = numpy_helper.to_array(model.graph.initializer[0]).astype(np.float64)
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1)))
    conv = np.stack([np.einsum("nci,oci->no", xp[:, :, i:i + 3], w) for i in range(8)], -1)
    conv += numpy_helper.to_array(model.graph.initializer[1])[None, :, None]
    np.testing.assert_allclose([p["c"].min, p["c"].max], [conv.min(), conv.max()], rtol=1e-5)
    assert p["c"].shape == (4, 8) and p["cw"].kind == "weight" and p["cb"].kind == "bias"
    config = p.precision_config()
    # channels-last renames the Relu's output; its node name is the key
    assert config == {"input": str(p["x"].suggested), "c": str(p["c"].suggested),
                      "act_Relu": str(p["r"].suggested), "y": str(p["y"].suggested)}
    assert p["f"].note == "layout"
    graph = trigc.load(model, precision=config)
    relu = next(n for n in graph.nodes if n.name == "act_Relu")
    assert str(relu.output.type) == config["act_Relu"]
    ref = np.maximum(conv, 0).reshape(30, 32) @ numpy_helper.to_array(
        model.graph.initializer[2]).T
    assert np.abs(trigc.emulate(graph, x) - ref).max() < 1e-2


# ---- QONNX models (qonnx executor) -------------------------------------------------

def test_qonnx_ranges_match_numpy_and_emulator(data):
    model = quantized_mlp(sizes=(16, 24, 12, 5), seed=4)
    p = profile(model, data)
    assert p.executor == "qonnx"
    ref = numpy_forward(model, data)
    for t in p.activations:
        v = ref[t.name]
        np.testing.assert_allclose([t.min, t.max], [v.min(), v.max()], rtol=1e-6, atol=1e-6)
        assert holds(t.suggested, t.min, t.max)
    weights = [t for t in p.weights if t.kind == "weight"]
    assert len(weights) == 3 and all(t.op == "MatMul" for t in weights)
    for t in p.weights:                      # the Quant'd weights the MatMul reads
        np.testing.assert_allclose([t.min, t.max], [ref[t.name].min(), ref[t.name].max()])
    assert p[weights[0].name].layer == "dense_0"
    out = model.graph.output[0].name
    graph = trigc.load(model, precision=p.precision_config())
    y = trigc.emulate(graph, data)
    np.testing.assert_array_equal(y, ref[out])          # trained types are kept
    assert (p[out].min, p[out].max) == (y.min(), y.max())


def test_qonnx_config_leaves_trained_types_alone(data):
    p = profile(quantized_mlp(sizes=(16, 24, 12, 5), seed=4), data)
    assert p.precision_config() == {}
    notes = {t.name: t.note for t in p.activations}
    assert notes["x"] == "typed by Quant"
    assert {n for n, note in notes.items() if note == "trained Quant"}
    assert all(note != "config" for note in notes.values())


def test_partly_quantized_model(data):
    model = partly_quantized_mlp()
    p = profile(model, data)
    ref = numpy_forward(model, data)
    out = model.graph.output[0].name
    config = p.precision_config()
    assert list(config) == [out]                       # only the float layer's output
    assert p[out].layer == "dense_1" and p[out].note == "config"
    np.testing.assert_allclose([p[out].min, p[out].max], [ref[out].min(), ref[out].max()],
                               rtol=1e-5)
    y = trigc.emulate(trigc.load(model, precision=config), data)
    assert np.abs(y - ref[out]).max() < 0.01 * np.abs(ref[out]).max()


# ---- suggest_type and input validation ---------------------------------------------

@pytest.mark.parametrize("lo,hi,expected", [
    (-1.0, 0.99, "fixed<16,1>"), (-1.0, 1.0, "fixed<16,2>"), (0.0, 1.0, "ufixed<16,1>"),
    (0.0, 0.999, "ufixed<16,0>"), (-0.3, 0.2, "fixed<16,0>"), (0.0, 0.0, "ufixed<16,0>"),
    (-300.0, 5.0, "fixed<16,10>"), (-256.0, 1.0, "fixed<16,9>"), (0.0, 1e-3, "ufixed<16,-9>"),
])
def test_suggest_type(lo, hi, expected):
    t = suggest_type(lo, hi, 16)
    assert holds(t, lo, hi)
    assert str(t) == expected


def test_suggest_type_with_rounding_counts_round_up():
    t = suggest_type(0.0, 0.99999, 8, rounding="RND")        # rounds up to 1.0
    assert str(t) == "ufixed<8,1,RND,WRAP>" and holds(t, 0.0, 0.99999)


@pytest.mark.parametrize("bad,fragment", [
    (np.zeros((10, 7), np.float32), "(N, 16)"),
    (np.zeros((10, 16, 1), np.float32), "(N, 16)"),
    (np.zeros(16, np.float32), "without the batch axis"),
    (np.zeros((0, 16), np.float32), "empty"),
    (np.array([["a"] * 16]), "dtype"),
])
def test_bad_data_shape_names_input_and_shape(float_model, bad, fragment):
    with pytest.raises(trigc.ConfigError) as exc:
        profile(float_model, bad)
    assert "'x'" in str(exc.value) and fragment in str(exc.value)


def test_nan_and_bad_options(float_model, data):
    x = data[:20].copy()
    x[1, 2] = np.nan
    with pytest.raises(trigc.ConfigError, match=r"'x'.*\(N, 16\).*1 NaN"):
        profile(float_model, x)
    with pytest.raises(trigc.ConfigError, match="keyed"):
        profile(float_model, {"y": data})
    with pytest.raises(trigc.ConfigError, match="percentile"):
        profile(float_model, data, percentile=0)
    with pytest.raises(trigc.ConfigError, match="width"):
        profile(float_model, data, width=0)
    with pytest.raises(trigc.ConfigError, match="rounding"):
        profile(float_model, data, rounding="NEAREST")
    with pytest.raises(trigc.ModelError):
        profile("/nonexistent/model.onnx", data)

"""Calibrated post-training quantization of float models (issue 14): ranges attributed
to the tensor that carries them after BatchNorm folding, every type set from
calibration data, argmax agreement with the float model, and the CLI flag end to end
(emulator == C-sim)."""

import re

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import trigc
from trigc.cli.app import main
from trigc.errors import ConfigError
from trigc.ir import Op
from trigc.profile import profile
from trigc.ptq.calibrate import agreement, calibrate, check_agreement

RNG_SEED = 5


# ---- tiny float models with BatchNorm, weights fixed, BN statistics set explicitly ----

def _bn_nodes(name, x, stats, eps=1e-3):
    """A BatchNormalization whose output is ``(x - mean) * 8 / std`` per channel:
    its range is about eight times the range of its input."""
    mean, std = stats
    c = mean.size
    inits = [numpy_helper.from_array(np.full(c, 8.0, np.float32), f"{name}.gamma"),
             numpy_helper.from_array(np.zeros(c, np.float32), f"{name}.beta"),
             numpy_helper.from_array(mean.astype(np.float32), f"{name}.mean"),
             numpy_helper.from_array((std**2 - eps).clip(1e-6).astype(np.float32),
                                     f"{name}.var")]
    node = helper.make_node("BatchNormalization", [x, *(i.name for i in inits)],
                            [f"/{name}/BatchNormalization_output_0"],
                            name=f"/{name}/BatchNormalization", epsilon=eps)
    return inits, node


def bn_mlp(x_cal, seed=RNG_SEED):
    """x (16) -> MatMul+Add -> BatchNorm -> Relu -> MatMul+Add (5); BN statistics from
    the calibration data, scale 8 (the post-BN range is ~8x the Dense's own)."""
    rng = np.random.default_rng(seed)
    w1 = rng.normal(0, 0.5, (16, 24)).astype(np.float32)
    b1 = rng.normal(0, 0.1, 24).astype(np.float32)
    w2 = rng.normal(0, 0.3, (24, 5)).astype(np.float32)
    b2 = rng.normal(0, 0.1, 5).astype(np.float32)
    pre = x_cal.astype(np.float64) @ w1 + b1
    bn_inits, bn = _bn_nodes("bn1", "/fc1/Add_output_0", (pre.mean(0), pre.std(0)))
    inits = [numpy_helper.from_array(a, n) for a, n in
             ((w1, "fc1.weight"), (b1, "fc1.bias"), (w2, "fc2.weight"), (b2, "fc2.bias"))]
    nodes = [
        helper.make_node("MatMul", ["x", "fc1.weight"], ["/fc1/MatMul_output_0"],
                         name="/fc1/MatMul"),
        helper.make_node("Add", ["/fc1/MatMul_output_0", "fc1.bias"], ["/fc1/Add_output_0"],
                         name="/fc1/Add"),
        bn,
        helper.make_node("Relu", [bn.output[0]], ["/act1/Relu_output_0"], name="/act1/Relu"),
        helper.make_node("MatMul", ["/act1/Relu_output_0", "fc2.weight"],
                         ["/fc2/MatMul_output_0"], name="/fc2/MatMul"),
        helper.make_node("Add", ["/fc2/MatMul_output_0", "fc2.bias"], ["logits"],
                         name="/fc2/Add"),
    ]
    g = helper.make_graph(nodes, "bn_mlp",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 5])],
                          initializer=inits + bn_inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def bn_cnn(seed=RNG_SEED):
    """x (1, 8, 8) -> Conv 3x3 (4) -> BatchNorm -> Relu -> MaxPool 2 -> Flatten -> Gemm (3)."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 0.4, (4, 1, 3, 3)).astype(np.float32)
    b = rng.normal(0, 0.1, 4).astype(np.float32)
    wd = rng.normal(0, 0.3, (3, 4 * 4 * 4)).astype(np.float32)
    bd = rng.normal(0, 0.1, 3).astype(np.float32)
    bn_inits, bn = _bn_nodes("bn", "/conv/Conv_output_0",
                             (np.full(4, 0.1), np.full(4, 0.5)))
    inits = [numpy_helper.from_array(a, n) for a, n in
             ((w, "conv.weight"), (b, "conv.bias"), (wd, "fc.weight"), (bd, "fc.bias"))]
    nodes = [
        helper.make_node("Conv", ["x", "conv.weight", "conv.bias"], ["/conv/Conv_output_0"],
                         name="/conv/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        bn,
        helper.make_node("Relu", [bn.output[0]], ["/act/Relu_output_0"], name="/act/Relu"),
        helper.make_node("MaxPool", ["/act/Relu_output_0"], ["/pool/MaxPool_output_0"],
                         name="/pool/MaxPool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["/pool/MaxPool_output_0"], ["/flat/Flatten_output_0"],
                         name="/flat/Flatten", axis=1),
        helper.make_node("Gemm", ["/flat/Flatten_output_0", "fc.weight", "fc.bias"],
                         ["logits"], name="/fc/Gemm", transB=1),
    ]
    g = helper.make_graph(nodes, "bn_cnn",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                         ["N", 1, 8, 8])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 3])],
                          initializer=inits + bn_inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


@pytest.fixture(scope="module")
def jets():
    from trigc.datasets import jet_features

    x, _ = jet_features(3000, seed=11)
    return x[:1500], x[1500:]


@pytest.fixture(scope="module")
def images():
    from trigc.datasets import calo_images

    x, _ = calo_images(1200, seed=12)
    return x[:600], x[600:]


# ---- BatchNorm: ranges belong to the tensor that carries them after folding ----------

@pytest.mark.parametrize("build", ["mlp", "cnn"])
def test_profile_gives_the_folded_layer_its_post_batchnorm_range(build, jets, images):
    x = jets[0] if build == "mlp" else images[0]
    model = bn_mlp(x) if build == "mlp" else bn_cnn()
    pre, post = (("/fc1/Add_output_0", "/bn1/BatchNormalization_output_0") if build == "mlp"
                 else ("/conv/Conv_output_0", "/bn/BatchNormalization_output_0"))
    prof = profile(model, x)
    assert prof[post].max_abs > 2 * prof[pre].max_abs  # the BN widens the range
    # the Dense/Conv computes the post-BN values in the firmware: that row is the config's
    assert prof[post].in_config and prof[pre].note == "fused"
    config = prof.precision_config(weights=True)
    assert config[post] == str(prof[post].suggested) and pre not in config
    graph = trigc.load(model, precision=config)
    folded = [n for n in graph.nodes if n.op.value in ("Dense", "Conv")][0]
    assert folded.output.name == post
    # the weights row holds the folded weights (x8 / std), so 'weights' does not clip them
    w = prof["fc1.weight" if build == "mlp" else "conv.weight"]
    assert w.max_abs > 4 * float(np.abs(numpy_helper.to_array(
        next(i for i in model.graph.initializer if i.name == w.name))).max())


def test_profile_config_of_a_batchnorm_mlp_agrees_with_the_float_model(jets):
    cal, held = jets
    model = bn_mlp(cal)
    config = profile(model, cal).precision_config(weights=True)
    graph = trigc.load(model, precision=config)
    ref = _float_logits(model, held)
    assert agreement(ref, trigc.emulate(graph, held)) >= 0.99


def _float_logits(model, x):
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x.astype(np.float32)})[0]


# ---- calibrated PTQ: every type from calibration data --------------------------------

@pytest.mark.parametrize("build", ["mlp", "cnn"])
def test_calibrated_onnx_models_agree_on_held_out_data(build, jets, images):
    cal, held = jets if build == "mlp" else images
    model = bn_mlp(cal) if build == "mlp" else bn_cnn()
    graph = trigc.load(model, calibration=cal)
    result = graph.calibration
    assert result.bits == 16 and result.agreement >= 0.99
    assert agreement(_float_logits(model, held), trigc.emulate(graph, held)) >= 0.99
    # every type of the firmware is set: input, layer outputs, folded weights (an input
    # of unequal features has a few more fractional bits)
    assert 16 <= graph.inputs[0].type.width <= 16 + 8
    assert result.types["input"] == str(graph.inputs[0].type)
    for node in graph.nodes:
        if node.op.value in ("Dense", "Conv"):
            assert node.output.type.width == 16
            assert node.inputs[1].type.width <= 16
            assert node.attrs.accum_type is not None
    summary = result.summary()
    assert "16-bit types" in summary and "agreement" in summary


def test_fewer_bits_agree_less_and_target_picks_the_narrowest_width(jets):
    cal, held = jets
    model = bn_mlp(cal)
    narrow = calibrate(model, cal, bits=5)
    wide = calibrate(model, cal, bits=16)
    assert narrow.agreement < 0.95 <= 0.99 <= wide.agreement
    chosen = calibrate(model, cal, target=0.99)
    assert chosen.agreement >= 0.99 and 5 < chosen.bits < 16
    assert [b for b, _ in chosen.tried] == list(range(4, chosen.bits + 1))
    assert all(a < 0.99 for _, a in chosen.tried[:-1])
    assert check_agreement(chosen, model, held) >= 0.98


def test_user_precision_overrides_a_calibrated_type(jets):
    cal, _ = jets
    model = bn_mlp(cal)
    graph = trigc.load(model, calibration=cal, precision={"logits": "fixed<20,8>"})
    assert str(graph.outputs[0].type) == "fixed<20,8>"
    with pytest.raises(ConfigError, match="not tensors, nodes or layers"):
        trigc.load(model, calibration=cal, precision={"nope": "fixed<8,4>"})


@pytest.mark.parametrize("bad, match", [
    (np.zeros((10, 15), np.float32), r"Calibration data for input 'x' has shape \(10, 15\); "
                                     r"the model expects \(N, 16\)"),
    (np.full((4, 16), np.nan, np.float32), "Calibration data .* holds 64 NaN"),
    (np.zeros((0, 16), np.float32), "Calibration data .* is empty"),
])
def test_bad_calibration_data_is_a_typed_error(bad, match, jets):
    with pytest.raises(ConfigError, match=match):
        trigc.load(bn_mlp(jets[0]), calibration=bad)


@pytest.mark.parametrize("bits, target, match", [
    (0, None, "calibration_bits must be an integer"),
    (None, 1.5, r"calibration_target must be an agreement in \(0, 1\]"),
])
def test_bad_knobs(bits, target, match, jets):
    with pytest.raises(ConfigError, match=match):
        trigc.load(bn_mlp(jets[0]), calibration=jets[0], calibration_bits=bits,
                   calibration_target=target)


def input_bn_mlp(x_cal, seed=RNG_SEED):
    """Unstandardized features -> BatchNorm (nothing to fold into: a per-feature Mul
    and Add) -> MatMul+Add -> Relu -> MatMul+Add."""
    rng = np.random.default_rng(seed)
    w1 = rng.normal(0, 0.5, (16, 24)).astype(np.float32)
    w2 = rng.normal(0, 0.3, (24, 5)).astype(np.float32)
    bn_inits, bn = _bn_nodes("bn0", "x", (x_cal.mean(0), x_cal.std(0) * 8))  # scale 1/std
    inits = [numpy_helper.from_array(w1, "fc1.weight"), numpy_helper.from_array(w2, "fc2.weight"),
             numpy_helper.from_array(np.zeros(24, np.float32), "fc1.bias"),
             numpy_helper.from_array(np.zeros(5, np.float32), "fc2.bias")]
    nodes = [bn,
             helper.make_node("MatMul", [bn.output[0], "fc1.weight"], ["h0"], name="/fc1/MatMul"),
             helper.make_node("Add", ["h0", "fc1.bias"], ["h1"], name="/fc1/Add"),
             helper.make_node("Relu", ["h1"], ["h2"], name="/act1/Relu"),
             helper.make_node("MatMul", ["h2", "fc2.weight"], ["h3"], name="/fc2/MatMul"),
             helper.make_node("Add", ["h3", "fc2.bias"], ["logits"], name="/fc2/Add")]
    g = helper.make_graph(nodes, "input_bn_mlp",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 5])],
                          initializer=inits + bn_inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def test_unstandardized_features_with_an_input_batchnorm(jets):
    """Features from hundreds (a pT in GeV) to hundredths: the input keeps precision
    for its narrowest feature, and the BN's per-feature scale (a Mul) keeps its
    significant bits per feature; a flat fixed<16,6> wraps the large features."""
    spread = np.logspace(np.log10(300), np.log10(0.02), 16).astype(np.float32)
    cal, held = jets[0] * spread, jets[1] * spread
    model = input_bn_mlp(cal)
    ref = _float_logits(model, held)
    graph = trigc.load(model, calibration=cal)
    assert agreement(ref, trigc.emulate(graph, held)) >= 0.99
    assert graph.inputs[0].type.width > 16
    flat = trigc.load(model, precision={"default": "fixed<16,6>"})
    assert agreement(ref, trigc.emulate(flat, held)) < 0.9


# ---- a torch CNN and a Keras MLP, both with BatchNorm ----------------------------------

def test_torch_cnn_with_conv_batchnorm_pool(images):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    cal, held = images
    m = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(64, 3))
    with torch.no_grad():  # BN statistics set explicitly: a scale far from 1
        bn = m[1]
        bn.running_mean.copy_(torch.tensor([0.1, -0.2, 0.0, 0.3]))
        bn.running_var.copy_(torch.tensor([0.01, 0.04, 0.02, 0.09]))
        bn.weight.copy_(torch.tensor([1.5, 0.5, 1.0, 2.0]))
    m.eval()
    graph = trigc.load(m, example_input=torch.zeros(1, 1, 8, 8), calibration=cal)
    with torch.no_grad():
        ref = m(torch.tensor(held)).numpy()
    assert graph.calibration.agreement >= 0.99
    assert agreement(ref, trigc.emulate(graph, held)) >= 0.99


def test_keras_mlp_with_batchnorm(jets):
    tf = pytest.importorskip("tensorflow")
    pytest.importorskip("qkeras")  # trigc's Keras exporter; before Keras 3 could load
    cal, held = jets
    layers = tf.keras.layers
    m = tf.keras.Sequential([layers.Input((16,)), layers.Dense(16), layers.BatchNormalization(),
                          layers.Activation("relu"), layers.Dense(5)])
    bn = m.layers[1]
    pre = m.layers[0](cal).numpy()
    bn.set_weights([np.full(16, 2.0, np.float32), np.zeros(16, np.float32),
                    pre.mean(0), (pre.std(0) / 4) ** 2])
    graph = trigc.load(m, calibration=cal)
    assert graph.calibration.agreement >= 0.99
    assert agreement(m.predict(held, verbose=0), trigc.emulate(graph, held)) >= 0.99


# ---- the CLI, end to end --------------------------------------------------------------

@pytest.mark.csim
def test_cli_compile_with_calibration_matches_csim(jets, tmp_path, capsys):
    cal, held = jets
    model_path = tmp_path / "bn_mlp.onnx"
    onnx.save(bn_mlp(cal), model_path)
    np.save(tmp_path / "cal.npy", cal)
    out = tmp_path / "prj"
    assert main(["compile", str(model_path), "-o", str(out), "--calibration",
                 str(tmp_path / "cal.npy"), "--calibration-target", "0.99"]) == 0
    text = capsys.readouterr().out
    assert "calibrated PTQ:" in text and "argmax agreement with the float model" in text
    project = trigc.Project(out)
    bits = int(text.split("calibrated PTQ: ")[1].split("-bit")[0])
    assert bits <= project.graph.inputs[0].type.width <= bits + 8
    assert project.graph.outputs[0].type.width == bits
    cmp = project.compare(held[:300])
    assert cmp.ok, str(cmp)
    assert agreement(_float_logits(bn_mlp(cal), held), project.emulate(held)) >= 0.98


def test_cli_refuses_bad_calibration_files(jets, tmp_path, capsys):
    cal, _ = jets
    model_path = tmp_path / "bn_mlp.onnx"
    onnx.save(bn_mlp(cal), model_path)
    cases = {"empty.npy": np.zeros((0, 16)), "shape.npy": np.zeros((8, 3)),
             "nan.npy": np.full((8, 16), np.nan)}
    expect = {"empty.npy": "--calibration: array 'arr_0' .* needs at least one event",
              "shape.npy": r"Calibration data for input 'x' has shape \(8, 3\)",
              "nan.npy": "Calibration data .* NaN"}
    for name, arr in cases.items():
        np.save(tmp_path / name, arr)
        assert main(["compile", str(model_path), "-o", str(tmp_path / "p"),
                     "--calibration", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1
        assert re.search(expect[name], err), err
    assert main(["compile", str(model_path), "-o", str(tmp_path / "p"),
                 "--calibration-bits", "8"]) == 2
    assert "add --calibration" in capsys.readouterr().err


@pytest.mark.parametrize("mode", ["lut", "exact"])
def test_softmax_output_and_mode(mode, jets):
    cal, held = jets
    model = bn_mlp(cal)
    model.graph.node[-1].output[0] = "logits_pre"
    model.graph.node.append(helper.make_node("Softmax", ["logits_pre"], ["logits"],
                                             name="/softmax/Softmax", axis=-1))
    graph = trigc.load(model, calibration=cal, softmax=mode)
    softmax = graph.find(Op.SOFTMAX)[0]
    assert softmax.attrs.mode == mode
    assert agreement(_float_logits(model, held), trigc.emulate(graph, held)) >= 0.99

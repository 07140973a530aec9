"""Keras 3 and HGQ2 models -> trigc.

* Detection: a Keras 3 object or .keras file goes to the Keras 3 frontend, a QKeras
  one to the tf_keras frontend; HGQ v1 .h5 files, Lambda layers and foreign modules in
  a .keras config are refused in one line naming the layer and the fix, before any
  Keras code runs.
* Plain Keras 3 models (from memory and from .keras) compile like any float model
  (post-training types) and agree with Keras' float forward pass.
* HGQ2 models: trigc's emulator == HGQ2's own ``model(x, training=False)`` bit for bit,
  with learned per-element bits (set explicitly here: varied k/i/f, pruned weights and
  pruned activations), every round/overflow mode the frontend maps, and the C-sim ==
  emulator (Project.compare()).

Why HGQ2's float32 forward pass is exact here: every quantizer output lies on a
2^-f grid with few bits, weights have <= 8 bits, so every product and every sum of a
layer stays below 2^24 units of its grid; float32 computes them without rounding.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

keras = pytest.importorskip("keras")
hgq = pytest.importorskip("hgq")
if not keras.__version__.startswith("3"):
    pytest.skip("needs Keras 3", allow_module_level=True)

from hgq.config import QuantizerConfig  # noqa: E402
from hgq.layers import QAdd, QConv2D, QDense, QMaxPooling2D, Quantizer  # noqa: E402

import trigc  # noqa: E402
from trigc.api import _is_keras3_model  # noqa: E402
from trigc.errors import UnsupportedOpError  # noqa: E402

N = 3000


def one_line(exc) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def events(shape, seed, scale=2.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(0, scale, (N, *shape)) * 64).round().astype(np.float32) / 64


def set_bits(q, seed, k=None, i=(-1, 3), f=(0, 5), prune=0.0):
    """Give an HGQ2 quantizer explicit per-element bits (KIF: k, i, f; KBI: k, b, i)."""
    rng = np.random.default_rng(seed)
    internal = q.quantizer
    shape = tuple(internal._i.shape)
    i_values = rng.integers(i[0], i[1] + 1, shape)
    f_values = rng.integers(f[0], f[1] + 1, shape)
    alive = rng.random(shape) >= prune
    if k is not None:
        internal._k.assign(np.broadcast_to(k, shape).astype(np.uint8))
    internal._i.assign(i_values.astype(np.float32))
    if hasattr(internal, "_f"):
        internal._f.assign(np.where(alive, f_values, -i_values - 1).astype(np.float32))
    else:
        internal._b.assign(np.where(alive, i_values + f_values, 0).clip(0).astype(np.float32))


def hgq_reference(model, x) -> np.ndarray:
    return np.asarray(model(x, training=False), dtype=np.float64)


# ---- detection and refusals -------------------------------------------------------

def write_keras_zip(path, config, version="3.15.1"):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("metadata.json", json.dumps({"keras_version": version}))
    return path


def dense_config(extra_layer):
    return {"class_name": "Functional", "module": "keras", "config": {"name": "m", "layers": [
        {"class_name": "InputLayer", "module": "keras.layers", "name": "x",
         "config": {"name": "x", "batch_shape": [None, 4]}}, extra_layer]}}


def test_keras3_files_and_objects_are_recognised(tmp_path):
    """Keras 3 is told from tf_keras/QKeras by the class's package and the file's
    metadata, without importing either Keras."""
    k3 = write_keras_zip(tmp_path / "a.keras", dense_config({}))
    k2 = write_keras_zip(tmp_path / "b.keras", dense_config({}), version="2.15.0")
    assert _is_keras3_model(k3) and _is_keras3_model(str(k3))
    assert not _is_keras3_model(k2)
    assert _is_keras3_model(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]))
    assert _is_keras3_model(QDense(2))


@pytest.mark.parametrize("layer, match", [
    ({"class_name": "Lambda", "module": "keras.layers", "name": "f",
      "config": {"name": "f", "function": "x"}},
     r"layer 'f'.*Lambda layers carry Python code.*none of its code ran"),
    ({"class_name": "Evil", "module": "evil.payload", "name": "e", "config": {"name": "e"}},
     r"layer 'e'.*'evil.payload'.*not part of Keras"),
    ({"class_name": "QSoftmax", "module": "hgq.layers", "name": "s", "config": {"name": "s"}},
     r"layer 's'.*QSoftmax is not a Keras/QKeras layer that trigc supports"),
])
def test_keras3_file_vetted_before_keras_runs(tmp_path, layer, match):
    path = write_keras_zip(tmp_path / "m.keras", dense_config(layer))
    with pytest.raises(UnsupportedOpError, match=match) as exc:
        trigc.load(path)
    one_line(exc)


def test_hgq_v1_h5_refused_with_the_fix(tmp_path):
    """An HGQ v1 .h5 (tf_keras-era HGQ) cannot be read here: one line says so and how
    to go on."""
    h5py = pytest.importorskip("h5py")
    config = {"class_name": "Functional", "config": {"layers": [
        {"class_name": "HQuantize", "config": {"name": "inp_q"}},
        {"class_name": "HDense", "config": {"name": "dense"}}]}}
    path = tmp_path / "hgq1.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
    with pytest.raises(UnsupportedOpError, match=r"HGQ v1 model \(layer class 'HQuantize'\)"
                       r".*to_proxy_model.*re-train the model with HGQ2") as exc:
        trigc.load(path)
    one_line(exc)


def test_keras3_legacy_h5_refused_with_the_fix(tmp_path):
    path = tmp_path / "k3.h5"
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).save(path)
    with pytest.raises(UnsupportedOpError, match=r"legacy .h5 written by Keras 3.*"
                       r"model.save\('model.keras'\)") as exc:
        trigc.load(path)
    one_line(exc)


def test_unsupported_hgq2_layer_named_with_the_supported_list():
    from hgq.layers import QSoftmax

    inp = keras.Input((4,))
    model = keras.Model(inp, QSoftmax()(QDense(4)(inp)))
    with pytest.raises(UnsupportedOpError, match=r"HGQ2 layer 'q_softmax.*QSoftmax is not "
                       r"supported.*Supported layers:.*QDense") as exc:
        trigc.load(model)
    one_line(exc)


# ---- plain Keras 3 ------------------------------------------------------------------

def plain_model():
    L = keras.layers
    inp = keras.Input((6, 6, 2), name="image")
    c = L.Conv2D(4, 3, padding="same", activation="relu")(inp)
    c = L.BatchNormalization()(c)
    p = L.MaxPooling2D(2)(c)
    flat = L.Flatten()(p)
    a = L.Dense(8, activation="relu")(flat)
    b = L.ReLU()(L.Dense(8)(flat))
    merged = L.Concatenate()([L.Add()([a, b]), a])
    model = keras.Model(inp, L.Dense(3)(merged))
    rng = np.random.default_rng(1)
    bn = model.layers[2]
    bn.moving_mean.assign(rng.normal(0, 0.2, 4).astype(np.float32))
    bn.moving_variance.assign(rng.uniform(0.5, 2, 4).astype(np.float32))
    return model


PTQ = {"input": "fixed<12,4>", "default": "fixed<32,14>"}
# Inputs on the 2^-6 grid fit fixed<12,4> exactly; every layer output is rounded to
# 2^-18 (half an LSB, ~2e-6), and the error grows at most by the weights' gain per
# layer: 1e-4 is 50x that bound and 100x below the outputs' spread.
PTQ_TOLERANCE = 1e-4


def test_plain_keras3_from_memory_and_file(tmp_path):
    model = plain_model()
    x = events((6, 6, 2), seed=2, scale=1.0)[:500]
    ref = np.asarray(model(x, training=False), np.float64)
    from_memory = trigc.emulate(trigc.load(model, precision=PTQ), x)
    np.testing.assert_allclose(from_memory, ref, atol=PTQ_TOLERANCE)
    path = tmp_path / "plain.keras"
    model.save(path)
    from_file = trigc.emulate(trigc.load(path, precision=PTQ), x)
    np.testing.assert_array_equal(from_file, from_memory)
    calibrated = trigc.load(model, calibration=x, calibration_bits=16).calibration
    assert calibrated.agreement >= 0.99, calibrated  # calibrated PTQ: argmax vs Keras


# ---- HGQ2 -------------------------------------------------------------------------

def hgq_mlp(seed=0, iq_conf=None):
    inp = keras.Input((8,), name="features")
    h = QDense(12, activation="relu", iq_conf=iq_conf, name="dense1")(inp)
    out = QDense(4, iq_conf=iq_conf, name="dense2")(h)
    model = keras.Model(inp, out)
    for n, layer in enumerate(model.layers[1:]):
        set_bits(layer.iq, seed + n, prune=0.1)
        set_bits(layer.kq, seed + 10 + n, i=(-2, 0), f=(2, 5), prune=0.2)
        set_bits(layer.bq, seed + 20 + n, i=(-1, 1), f=(2, 6))
    return model


def test_hgq2_mlp_per_element_bits_bit_exact(tmp_path):
    """Default HGQ2 quantizers (RND, WRAP; per-element k/i/f), with pruned weights and
    pruned input elements: emulator == HGQ2, also after a .keras round trip."""
    model = hgq_mlp()
    kernel = np.asarray(model.layers[1].qkernel)
    assert (kernel == 0).mean() > 0.15  # pruned weights are zero-bit weights
    x = events((8,), seed=3)
    ref = hgq_reference(model, x)
    got = trigc.emulate(trigc.load(model), x)
    np.testing.assert_array_equal(got, ref)
    assert len(np.unique(ref)) > 100
    path = tmp_path / "hgq_mlp.keras"
    model.save(path)
    np.testing.assert_array_equal(trigc.emulate(trigc.load(path), x), ref)


@pytest.mark.parametrize("round_mode, overflow, heterogeneous", [
    ("RND", "SAT", True), ("TRN", "SAT_SYM", True), ("RND_CONV", "WRAP", False),
    ("TRN", "WRAP", True), ("RND", "SAT_SYM", False),
])
def test_hgq2_round_and_overflow_modes_bit_exact(round_mode, overflow, heterogeneous):
    conf = QuantizerConfig("kif", "datalane", round_mode=round_mode, overflow_mode=overflow,
                           homogeneous_axis=(0,) if heterogeneous else None,
                           heterogeneous_axis=None if heterogeneous else ())
    model = hgq_mlp(seed=5, iq_conf=conf)
    if round_mode == "RND_CONV" and heterogeneous:
        pytest.skip("per-element RND_CONV on a float input is refused (tested below)")
    x = events((8,), seed=6, scale=4.0)  # many values saturate or wrap
    np.testing.assert_array_equal(trigc.emulate(trigc.load(model), x), hgq_reference(model, x))


def test_hgq2_unsigned_and_mixed_sign_elements():
    model = hgq_mlp(seed=7)
    for n, layer in enumerate(model.layers[1:]):
        shape = tuple(layer.iq.quantizer._k.shape)
        k = np.random.default_rng(n).integers(0, 2, shape)
        set_bits(layer.iq, 30 + n, k=k, i=(0, 3), f=(1, 4))
    x = events((8,), seed=8)
    np.testing.assert_array_equal(trigc.emulate(trigc.load(model), x), hgq_reference(model, x))


def test_hgq2_trained_bits_branches_and_standalone_quantizer():
    """Bits learned by a few steps of HGQ2 training (WRAP integer bits traced, f
    trained), a standalone Quantizer layer, two branches joined by QAdd (one input
    quantizer per branch): emulator == HGQ2."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((8,), name="features")
    q = Quantizer(QuantizerConfig("kif", "datalane", overflow_mode="SAT"), name="q_in")(inp)
    a = QDense(6, activation="relu", name="a")(q)
    b = QDense(6, name="b")(q)
    out = QDense(3, name="head")(QAdd(name="join")([a, b]))
    model = keras.Model(inp, out)
    x_train = events((8,), seed=12)[:512]
    y_train = np.stack([x_train[:, :3].sum(1), x_train[:, 3:6].max(1), x_train[:, 6]], 1)
    model.compile(keras.optimizers.Adam(0.01), "mse")
    model.fit(x_train, y_train, epochs=3, batch_size=64, verbose=0)
    quantizer = model.get_layer("head").iq.quantizer
    integer_bits = np.asarray(quantizer.i)
    assert len(np.unique(integer_bits)) > 1, integer_bits  # per-element after training
    x = events((8,), seed=13)
    np.testing.assert_array_equal(trigc.emulate(trigc.load(model), x), hgq_reference(model, x))


def test_input_feeding_two_quantizers_refused():
    inp = keras.Input((8,), name="features")
    model = keras.Model(inp, QAdd()([QDense(4, name="left")(inp), QDense(4, name="right")(inp)]))
    with pytest.raises(UnsupportedOpError, match=r"HGQ2 layer 'right'.*input 'features' feeds "
                       r"more than one HGQ2 quantizer.*Put one Quantizer layer") as exc:
        trigc.load(model)
    one_line(exc)


def test_per_element_input_rounding_that_a_float_input_cannot_hold_is_refused():
    conf = QuantizerConfig("kif", "datalane", round_mode="RND_CONV", overflow_mode="SAT")
    with pytest.raises(UnsupportedOpError, match=r"HGQ2 layer 'dense1'.*input quantizer.*"
                       r"round_mode 'RND_CONV'.*use one of") as exc:
        trigc.load(hgq_mlp(seed=9, iq_conf=conf))
    one_line(exc)


def hgq_cnn():
    inp = keras.Input((6, 6, 2), name="image")
    c = QConv2D(3, 3, activation="relu", name="conv")(inp)
    p = QMaxPooling2D(2, name="pool")(c)
    out = QDense(3, name="head")(keras.layers.Flatten()(p))
    model = keras.Model(inp, out)
    for n, layer in enumerate(l for l in model.layers if hasattr(l, "kq")):
        set_bits(layer.kq, 40 + n, i=(-2, 0), f=(2, 5), prune=0.2)
        set_bits(layer.bq, 50 + n, i=(-1, 1), f=(2, 6))
    for n, layer in enumerate(l for l in model.layers if getattr(l, "enable_iq", False)):
        set_bits(layer.iq, 60 + n, prune=0.05)
    return model


@pytest.mark.csim
def test_hgq2_cnn_bit_exact_and_csim(tmp_path):
    """QConv2D + QMaxPooling2D + QDense, per-element bits: emulator == HGQ2 and the
    generated C++ (g++, ap_fixed.h) == emulator on every event."""
    model = hgq_cnn()
    x = events((6, 6, 2), seed=11)
    ref = hgq_reference(model, x)
    graph = trigc.load(model)
    np.testing.assert_array_equal(trigc.emulate(graph, x), ref)
    project = trigc.compile(graph, tmp_path / "hgq_cnn")
    comparison = project.compare(x[:300])
    assert comparison.ok, str(comparison)
    assert comparison.events == 300


COEXIST = r"""
import numpy as np
import trigc
from trigc.frontends.qkeras_import import import_qkeras
import_qkeras()
import tensorflow as tf
from qkeras import QDense as KDense, quantized_bits
inp = tf.keras.Input((4,))
qk = tf.keras.Model(inp, KDense(2, kernel_quantizer=quantized_bits(6, 0, alpha=1),
                                bias_quantizer=quantized_bits(6, 0, alpha=1))(inp))
import keras
from hgq.layers import QDense
inp3 = keras.Input((4,))
k3 = keras.Model(inp3, QDense(2)(inp3))
x = (np.random.default_rng(0).normal(0, 1, (64, 4)) * 16).round().astype(np.float32) / 16
g2 = trigc.load(qk, precision={"input": "fixed<10,4>"})
g3 = trigc.load(k3)
assert np.array_equal(trigc.emulate(g3, x), np.asarray(k3(x, training=False), np.float64))
assert type(qk).__module__.startswith("tf_keras"), type(qk).__module__
print("OK", trigc.emulate(g2, x).shape)
"""


def test_qkeras_and_keras3_in_one_process():
    """QKeras on tf_keras and HGQ2 on Keras 3, compiled in one fresh process."""
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", COEXIST], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "OK (64, 2)" in result.stdout

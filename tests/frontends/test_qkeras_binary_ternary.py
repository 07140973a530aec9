"""QKeras binary / ternary quantizers and power-of-two weights -> trigc, three ways:
QKeras' own forward pass (``model.predict``) == trigc's emulator == the g++ C-sim of
the generated project, bit for bit.

Why float32 QKeras is exact here (see test_qkeras.py): every tensor lies on a
power-of-two grid and every sum stays far below 2**24 units of it. Binary and ternary
weights are 0 or +-2**k (per channel for alpha='auto_po2'), quantized_po2 weights
+-2**e; binary / ternary / binary_tanh activations output +-alpha, 0 or 1, and QKeras'
straight-through sum ``x + stop_gradient(q - x)`` returns q exactly for the moderate
|x| used here. The activations are discontinuous, so the inputs put many values exactly
on their thresholds (0 for binary and binary_tanh, +-t for ternary), and right next to
ternary's default float32 threshold 0.33.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

tf = pytest.importorskip("tensorflow")
qkeras = pytest.importorskip("qkeras")

from qkeras import (  # noqa: E402
    QActivation, QConv2D, QDense, binary, quantized_bits, quantized_po2, quantized_relu,
    stochastic_ternary, ternary,
)

import trigc  # noqa: E402
from trigc.frontends.qkeras import to_qonnx  # noqa: E402

L = tf.keras.layers
LSB = 2.0**-4  # the input quantizer quantized_bits(8, 3): 2**-4 steps in [-8, 8)
N = 4000


def grid_inputs(shape, seed, n=N) -> np.ndarray:
    """Inputs on the input quantizer's grid: half anywhere in [-8, 8), half within
    +-0.75, so that 0, +-0.25, +-0.5 and the neighbours of 0.33 each occur ~n/50 times
    per feature; plus 10 % off-grid values, which the input Quant rounds half to
    even onto the same grid."""
    rng = np.random.default_rng(seed)
    size = (n, *shape)
    x = np.where(rng.random(size) < 0.5, rng.integers(-128, 128, size),
                 rng.integers(-12, 13, size)) * LSB
    off = rng.random(size) < 0.1
    x = np.where(off, x + rng.choice([0.5, 0.25, -0.5], size) * LSB, x)
    return x.astype(np.float32)


def predict(model, x) -> list[np.ndarray]:
    out = model.predict(x, batch_size=2000, verbose=0)
    return [np.asarray(o, np.float64) for o in (out if isinstance(out, list) else [out])]


def as_list(out) -> list[np.ndarray]:
    return out if isinstance(out, list) else [out]


def set_biases(model, seed, std=0.5):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if getattr(layer, "use_bias", False):
            layer.bias.assign(rng.normal(0, std, layer.bias.shape).astype(np.float32))


# ---- the models --------------------------------------------------------------------------

ZOO = {  # name: (QActivation argument, numpy reference on exact values)
    "binary": (binary(), lambda x: np.where(x >= 0, 1.0, -1.0)),
    "binary_01": (binary(use_01=True), lambda x: np.where(x >= 0, 1.0, 0.0)),
    "binary_alpha4": (binary(alpha=4), lambda x: np.where(x >= 0, 4.0, -4.0)),
    "binary_01_alpha_half": (binary(use_01=True, alpha=0.5),
                             lambda x: np.where(x >= 0, 0.5, 0.0)),
    "binary_tanh": ("binary_tanh", lambda x: np.where(x > 0, 1.0, -1.0)),
    "binary_sigmoid": ("binary_sigmoid", lambda x: np.where(x > 0, 1.0, 0.0)),
    "ternary": (ternary(), lambda x: np.sign(x) * (np.abs(x) >= np.float32(0.33))),
    "ternary_t05": (ternary(threshold=0.5), lambda x: np.sign(x) * (np.abs(x) >= 0.5)),
    "ternary_alpha1_t05": (ternary(alpha=1, threshold=0.5),
                           lambda x: np.sign(x) * (np.abs(x) >= 0.5)),
    "ternary_t0": (ternary(alpha=1, threshold=0.0), np.sign),
    "ternary_alpha2_t025": (ternary(alpha=2, threshold=0.25),
                            lambda x: 2 * np.sign(x) * (np.abs(x) >= 0.25)),
    "ternary_negative_t": (ternary(alpha=1, threshold=-1.0), np.sign),
}
WIDTH = 8  # features per zoo entry


def ste_noise(name: str) -> bool:
    """With alpha=None QKeras returns ``tanh(x) + stop_gradient(q - tanh(x))``. Whether
    float32 gives q exactly depends on how TensorFlow's graph optimizer orders that
    sum: in the zoo model it reorders it, and QKeras outputs +-(1 - 2**-24) for some
    inputs. The intended value, and trigc's, is q (as in hls4ml)."""
    quantizer = ZOO[name][0]
    return not isinstance(quantizer, str) and quantizer.alpha is None


def assert_zoo_equal(got: np.ndarray, qkeras_zoo: np.ndarray) -> None:
    """trigc's zoo output == QKeras': exactly, or within QKeras' straight-through
    float32 noise (one float32 rounding) where ``ste_noise`` says so."""
    for i, name in enumerate(ZOO):
        g, r = (a[:, i * WIDTH:(i + 1) * WIDTH] for a in (got, qkeras_zoo))
        if ste_noise(name):
            np.testing.assert_allclose(r, g, rtol=2.0**-24, atol=0, err_msg=name)
        else:
            np.testing.assert_array_equal(g, r, err_msg=name)


def activation_zoo_and_mlp():
    """One model, two outputs. ``zoo``: every binary/ternary activation applied straight
    to the quantized input (so ties sit exactly on the thresholds), concatenated.
    ``logits``: an MLP with ternary(auto_po2) and binary(auto_po2) kernels, po2 and
    quantized_bits biases, ternary / binary_tanh / binary activations between."""
    tf.keras.utils.set_random_seed(3)
    x = tf.keras.Input((8,), name="x")
    xq = QActivation(quantized_bits(8, 3, alpha=1), name="input_q")(x)
    zoo = L.Concatenate(name="zoo")([QActivation(q, name=name)(xq)
                                     for name, (q, _) in ZOO.items()])
    h = QDense(16, kernel_quantizer=ternary(alpha="auto_po2"),
               bias_quantizer=quantized_po2(4), name="fc1")(xq)
    h = QActivation(ternary(alpha=1, threshold=0.5), name="act1")(h)
    h = QDense(16, kernel_quantizer=binary(alpha="auto_po2"),
               bias_quantizer=quantized_bits(6, 2, alpha=1), name="fc2",
               activation="binary_tanh")(h)
    h = QDense(12, kernel_quantizer=quantized_po2(5, max_value=1),
               bias_quantizer=quantized_bits(8, 3, alpha=1), name="fc3")(h)
    h = QActivation(quantized_relu(6, 2), name="act3")(h)
    logits = QDense(5, kernel_quantizer=ternary(), bias_quantizer=quantized_po2(6),
                    name="out")(h)
    model = tf.keras.Model(x, [zoo, logits], name="bt_mlp")
    set_biases(model, seed=4)
    return model


def conv_net():
    """QConv2D with binary (alpha=1, +-1) and ternary (alpha=None, threshold 0.33)
    kernels, binary(use_01) and binary_tanh activations, a quantized_po2 Dense."""
    tf.keras.utils.set_random_seed(5)
    x = tf.keras.Input((6, 6, 2), name="img")
    h = QActivation(quantized_bits(8, 3, alpha=1), name="input_q")(x)
    h = QConv2D(4, 3, kernel_quantizer=binary(alpha=1),
                bias_quantizer=quantized_bits(6, 2, alpha=1), name="conv1")(h)
    h = QActivation(binary(use_01=True, alpha=1), name="act1")(h)
    h = QConv2D(6, 3, padding="same", kernel_quantizer=ternary(),
                bias_quantizer=quantized_po2(4), name="conv2")(h)
    h = QActivation("binary_tanh", name="act2")(h)
    h = L.Flatten(name="flat")(h)
    out = QDense(4, kernel_quantizer=quantized_po2(6, max_value=0.5),
                 bias_quantizer=quantized_bits(8, 3, alpha=1), name="out")(h)
    model = tf.keras.Model(x, out, name="bt_conv")
    set_biases(model, seed=6)
    return model


def assert_equals_qkeras(got: list, ref: list) -> None:
    """Every output bit for bit (the zoo output via ``assert_zoo_equal``)."""
    assert len(got) == len(ref)
    for i, (g, r) in enumerate(zip(got, ref)):
        if g.shape[1:] == (len(ZOO) * WIDTH,):
            assert_zoo_equal(g, r)
        else:
            np.testing.assert_array_equal(g, r, err_msg=f"output {i}")


@pytest.fixture(scope="module")
def mlp_case():
    model = activation_zoo_and_mlp()
    x = grid_inputs((8,), seed=7)
    return model, x, predict(model, x), trigc.load(to_qonnx(model))


@pytest.fixture(scope="module")
def conv_case():
    model = conv_net()
    x = grid_inputs((6, 6, 2), seed=8)
    return model, x, predict(model, x), trigc.load(to_qonnx(model))


# ---- exactness ------------------------------------------------------------------------

def test_activations_are_exact_threshold_functions(mlp_case):
    """trigc's binary/ternary activations equal their exact threshold semantics
    (binary(0) = +1, binary_tanh(0) = -1, ternary(+-t) = +-alpha, t = float32(0.33)),
    and so do QKeras' own outputs (up to its straight-through noise, see
    ``ste_noise``); the inputs really hit the thresholds, so ties are tested."""
    _, x, (qkeras_zoo, _), graph = mlp_case
    xq = np.clip(np.round(x.astype(np.float64) / LSB), -128, 127) * LSB
    for t in (0.0, 0.25, 0.5, 0.3125, 0.375):  # the last two bracket 0.33
        assert np.sum(np.abs(xq) == t) > 300, t
    reference = np.concatenate([ref(xq) for _, ref in ZOO.values()], axis=1)
    np.testing.assert_array_equal(trigc.emulate(graph, x)[0], reference)
    assert_zoo_equal(reference, qkeras_zoo)


@pytest.mark.parametrize("case", ["mlp_case", "conv_case"])
def test_emulator_equals_qkeras(case, request):
    """trigc's emulator == QKeras bit for bit on every output, and the outputs vary
    (the binary/ternary nets do not collapse to constants)."""
    model, x, ref, graph = request.getfixturevalue(case)
    assert_equals_qkeras(as_list(trigc.emulate(graph, x)), ref)
    assert len(np.unique(ref[-1])) >= 16, np.unique(ref[-1])


@pytest.mark.csim
@pytest.mark.parametrize("case", ["mlp_case", "conv_case"])
def test_csim_equals_emulator_and_qkeras(case, request, tmp_path):
    """The generated C++ (g++ against ap_fixed.h) == the emulator on every output bit,
    and its values == QKeras' own predictions."""
    model, x, ref, graph = request.getfixturevalue(case)
    project = trigc.compile(graph, tmp_path / model.name)
    comparison = project.compare(x)
    assert comparison.ok, str(comparison)
    assert comparison.events == len(x)
    assert_equals_qkeras(as_list(project.csim(x)), ref)


def test_h5_round_trip(mlp_case, tmp_path):
    """Saved to .h5 (binary_tanh as a string, binary/ternary as quantizer configs),
    vetted by trigc's allow-list, reloaded: the same bits as QKeras in memory."""
    model, x, ref, _ = mlp_case
    path = tmp_path / "bt_mlp.h5"
    model.save(path)
    assert_equals_qkeras(as_list(trigc.emulate(trigc.load(path), x)), ref)


def test_weights_are_qkeras_values_on_narrow_grids(mlp_case):
    """The exported kernels are QKeras' own quantized values, 0 or +-powers of two,
    behind a Quant whose grid spans only the exponents present."""
    model, _, _, _ = mlp_case
    proto = to_qonnx(model)
    inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    for layer in ("fc1", "fc2", "fc3", "out"):
        (node,) = [n for n in proto.graph.node if n.name == f"{layer}/KernelQuant"]
        w, scale, _, bits = (inits[i].astype(np.float64) for i in node.input)
        keras_layer = model.get_layer(layer)
        expected = keras_layer.kernel_quantizer_internal(keras_layer.kernel).numpy()
        np.testing.assert_array_equal(w, expected)
        nonzero = np.abs(w[w != 0])
        assert np.all(np.frexp(nonzero)[0] == 0.5), layer
        assert float(scale) == nonzero.min()
        assert 2.0 ** (int(bits) - 2) == nonzero.max() / nonzero.min(), layer
    onnx.checker.check_model(proto)


# ---- refusals ---------------------------------------------------------------------------

def _dense(**kw):
    x = tf.keras.Input((4,), name="x")
    h = QActivation(quantized_bits(8, 2), name="input_q")(x)
    return tf.keras.Model(x, QDense(3, name="fc", **kw)(h))


def _act(quantizer):
    x = tf.keras.Input((4,), name="x")
    return tf.keras.Model(x, QActivation(quantizer, name="act")(x))


REFUSED = {
    "binary_kernel_auto": (lambda: _dense(kernel_quantizer=binary(alpha="auto")),
                           r"'fc' \(QDense\): kernel quantizer binary\(alpha='auto'\).*"
                           r"Retrain: use alpha='auto_po2' or alpha=1"),
    "ternary_kernel_auto": (lambda: _dense(kernel_quantizer=ternary(alpha="auto")),
                            r"'fc'.*ternary.*alpha='auto'.*alpha='auto_po2' or alpha=1"),
    "binary_kernel_non_po2": (lambda: _dense(kernel_quantizer=binary(alpha=0.3)),
                              r"'fc'.*alpha=0.3 is not a power of two.*alpha=1 or "
                              r"alpha='auto_po2'"),
    "binary_activation_auto_po2": (lambda: _act(binary(alpha="auto_po2")),
                                   r"'act'.*activation quantizer binary.*each batch.*"
                                   r"alpha=1"),
    "ternary_activation_non_po2": (lambda: _act(ternary(alpha=0.7)),
                                   r"'act'.*alpha=0.7 is not a single power of two"),
    "ternary_threshold_vector": (lambda: _act(ternary(threshold=np.full(4, 0.25))),
                                 r"'act'.*threshold=.*not one finite number"),
    "stochastic_ternary": (lambda: _act(stochastic_ternary()),
                           r"'act'.*stochastic_ternary.*Supported: .*binary, ternary"),
    "po2_activation": (lambda: _act(quantized_po2(4)),
                       r"'act'.*quantized_po2\(4\) cannot be mapped"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refusals_name_layer_quantizer_and_fix(case):
    build, match = REFUSED[case]
    with pytest.raises(trigc.UnsupportedOpError, match=match):
        to_qonnx(build())


def test_binarynet_layer_refused_with_qkeras_equivalent():
    """A BinaryNet-port ``BinaryDense`` (a custom class, not QKeras) is refused with
    the QKeras layers that express it."""
    class BinaryDense(L.Dense):
        pass

    x = tf.keras.Input((4,), name="x")
    model = tf.keras.Model(x, BinaryDense(3, name="bd")(x))
    with pytest.raises(trigc.UnsupportedOpError,
                       match=r"'bd': BinaryDense is not a QKeras layer.*QDense\(units, "
                             r"kernel_quantizer=binary\(alpha=1\)\)"):
        to_qonnx(model)


def test_po2_weights_spanning_too_many_bits_refused():
    """A tiny quantized_po2 weight next to 0.5 would need a grid of over 32 bits."""
    model = _dense(kernel_quantizer=quantized_po2(8))
    w = np.full((4, 3), 0.5, np.float32)
    w[0, 0] = 2.0**-40
    model.get_layer("fc").kernel.assign(w)
    with pytest.raises(trigc.UnsupportedOpError,
                       match=r"'fc'.*quantized_po2.*2\*\*-\d+ to 2\*\*-1, a \d+-bit.*"
                             r"trigc allows 32.*max_value"):
        to_qonnx(model)


def test_ternary_tanh_file_refused_with_qkeras_spelling(tmp_path):
    """A saved model naming the activation 'ternary_tanh' (hls4ml's and BinaryNet's
    name; QKeras 0.9.0 cannot load it) is refused before Keras runs, with QKeras'
    spelling of it."""
    model = _act("binary_tanh")
    path = tmp_path / "tt.h5"
    model.save(path)
    import h5py

    with h5py.File(path, "r+") as f:
        f.attrs["model_config"] = f.attrs["model_config"].replace("binary_tanh",
                                                                  "ternary_tanh")
    with pytest.raises(trigc.UnsupportedOpError,
                       match=r"layer 'act'.*'ternary_tanh' is not a QKeras 0.9.0 quantizer.*"
                             r"use QActivation\(ternary\(\)\)"):
        to_qonnx(path)

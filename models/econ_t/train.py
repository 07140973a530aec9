"""Train the ECON-T-like encoder (48 trigger cells -> 16 latent values) and export it.

    python models/econ_t/train.py [--epochs N] [--float-epochs N] [--out DIR] [--seed S]

An autoencoder after the CMS HGCAL ECON-T ASIC's (arXiv:2105.01683), on the toy
modules of ``trigc.datasets.hgcal_modules``: the 48 trigger-cell charges of a
silicon module, normalised to sum 1, as a 4x4x3 image (three rhombi of 4x4 cells).
Only the encoder becomes firmware (on the detector the latent code is sent off
and decoded off-detector); the decoder, a float Keras model, is used for training
and for the reconstruction figures::

    input_q  QActivation(quantized_bits(8, 0, keep_negative=False))   ufixed<8,0>
    conv     QConv2D(8, 3x3, stride 2, same; quantized_bits(6, 1) kernel and bias)
             + QActivation(quantized_relu(8, 1))                       2x2x8
    flatten
    latent   QDense(16; quantized_bits(6, 1) kernel and bias)
             + QActivation(quantized_relu(8, 2))                       16 outputs

    decoder  Dense(32) + ReLU, Reshape(2, 2, 8), Conv2DTranspose(8, 3x3, stride 2)
             + ReLU, Conv2D(3, 3x3), softmax over the 48 cells         float

Steps (seeded, deterministic TensorFlow ops, one thread; helpers shared with
``../jet_tagger_qkeras/train.py``): a float autoencoder, QAT of the quantized
encoder with the decoder, both initialised from the float one, export of the
encoder with trigc's QKeras -> QONNX exporter to ``econ_t.onnx``, all weights
(encoder and decoder) to ``econ_t.h5``, the reconstruction quality (float /
QKeras / trigc-emulated encoder, each decoded by its decoder) and trigc's estimate.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # QKeras needs Keras 2 (tf_keras)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu
from trigc import datasets

NAME = "econ_t"
HERE = Path(__file__).resolve().parent
SEED = 2026
LATENT = 16
FILTERS = 8
INPUT_Q = dict(bits=8, integer=0, keep_negative=False, alpha=1)  # ufixed<8,0>
CONV_W = (6, 1)        # quantized_bits(6, 1): fixed<6,2>, weights in [-2, 2)
CONV_ACT = (8, 1)      # quantized_relu(8, 1): ufixed<8,1>
DENSE_W = (6, 1)       # quantized_bits(6, 1): fixed<6,2>
LATENT_ACT = (8, 2)    # quantized_relu(8, 2): ufixed<8,2>
N_TRAIN, N_TEST = 200_000, 50_000
FLOAT_EPOCHS, QAT_EPOCHS, BATCH = 10, 10, 512


def _base():
    """``../jet_tagger_qkeras/train.py``, whose seeding, forward pass and export this
    model reuses."""
    path = HERE.parent / "jet_tagger_qkeras" / "train.py"
    name = "trigc_reference_jet_tagger_qkeras_train"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def build_encoder(quantized: bool = True, name: str = NAME) -> tf.keras.Model:
    """The encoder; layer names become the firmware's layer names."""
    layers = tf.keras.layers
    x = tf.keras.Input(datasets.HGCAL_SHAPE, name="inputs")
    if quantized:
        h = QActivation(quantized_bits(**INPUT_Q), name="input_q")(x)
        h = QConv2D(FILTERS, 3, strides=2, padding="same", name="conv",
                    kernel_quantizer=quantized_bits(*CONV_W, alpha=1),
                    bias_quantizer=quantized_bits(*CONV_W, alpha=1))(h)
        h = QActivation(quantized_relu(*CONV_ACT), name="conv_relu")(h)
        h = layers.Flatten(name="flatten")(h)
        h = QDense(LATENT, name="latent", kernel_quantizer=quantized_bits(*DENSE_W, alpha=1),
                   bias_quantizer=quantized_bits(*DENSE_W, alpha=1))(h)
        h = QActivation(quantized_relu(*LATENT_ACT), name="latent_relu")(h)
    else:
        h = layers.Conv2D(FILTERS, 3, strides=2, padding="same", name="conv")(x)
        h = layers.Activation("relu", name="conv_relu")(h)
        h = layers.Flatten(name="flatten")(h)
        h = layers.Dense(LATENT, name="latent")(h)
        h = layers.Activation("relu", name="latent_relu")(h)
    return tf.keras.Model(x, h, name=name if quantized else f"{name}_float")


def build_decoder() -> tf.keras.Model:
    """The float decoder (training and evaluation only): latent -> normalised charges."""
    layers = tf.keras.layers
    z = tf.keras.Input((LATENT,), name="latent_in")
    h = layers.Dense(2 * 2 * FILTERS, activation="relu", name="dec_dense")(z)
    h = layers.Reshape((2, 2, FILTERS), name="dec_reshape")(h)
    h = layers.Conv2DTranspose(FILTERS, 3, strides=2, padding="same", activation="relu",
                               name="dec_deconv")(h)
    h = layers.Conv2D(datasets.HGCAL_SHAPE[-1], 3, padding="same", name="dec_conv")(h)
    h = layers.Flatten(name="dec_flatten")(h)
    h = layers.Softmax(name="dec_softmax")(h)  # the decoded module sums to 1, as the input
    h = layers.Reshape(datasets.HGCAL_SHAPE, name="dec_out")(h)
    return tf.keras.Model(z, h, name=f"{NAME}_decoder")


def build_autoencoder(encoder, decoder) -> tf.keras.Model:
    x = tf.keras.Input(datasets.HGCAL_SHAPE, name="ae_inputs")
    return tf.keras.Model(x, decoder(encoder(x)), name=f"{encoder.name}_ae")


def load_data(n_train=N_TRAIN, n_test=N_TEST, seed=SEED):
    x, _ = datasets.hgcal_modules(n_train, datasets.split_seed(seed, "train"))
    xt, _ = datasets.hgcal_modules(n_test, datasets.split_seed(seed, "test"))
    return x, xt


def fit(model, x, epochs: int, lr: float, seed: int, batch: int = BATCH, max_steps=None,
        log=print):
    """Adam + mean squared error of the normalised charges, cosine decay, seeded."""
    steps = epochs * ((len(x) + batch - 1) // batch)
    if max_steps is not None and max_steps < steps:
        steps, x, epochs = max_steps, x[:max_steps * batch], 1
    schedule = tf.keras.optimizers.schedules.CosineDecay(lr, max(steps, 1))
    model.compile(optimizer=tf.keras.optimizers.Adam(schedule), loss="mse")
    t0 = time.time()

    class Log(tf.keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            log(f"  epoch {epoch + 1}/{epochs}: loss {logs['loss']:.3e} "
                f"({time.time() - t0:.0f} s)")

    tf.keras.utils.set_random_seed(seed)
    model.fit(x, x, batch_size=batch, epochs=epochs, shuffle=True, verbose=0,
              callbacks=[Log()])
    return model


def forward(model, x, batch: int = 10_000) -> np.ndarray:
    """Inference-mode forward pass as float64 numpy (QKeras: the quantized one)."""
    return _base().forward(model, x, batch)


def load_autoencoder(weights=HERE / f"{NAME}.h5"):
    """(quantized encoder, float decoder) rebuilt from the committed weights."""
    encoder, decoder = build_encoder(), build_decoder()
    build_autoencoder(encoder, decoder).load_weights(str(weights))
    return encoder, decoder


def load_trained(weights=HERE / f"{NAME}.h5") -> tf.keras.Model:
    """The quantized encoder rebuilt from the committed weights (what the .onnx is)."""
    return load_autoencoder(weights)[0]


def centroid(x) -> np.ndarray:
    """Charge-weighted centre (n, 2) of normalised modules, in cell pitches."""
    w = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    xy = datasets.HGCAL_TC_XY.reshape(-1, 2)
    return (w @ xy) / np.maximum(w.sum(axis=1, keepdims=True), 1e-12)


def reconstruction(x, decoded) -> dict:
    """Figures of the decoded modules: MSE per cell, R^2 against predicting the mean
    module, and the charge-weighted centroid's RMS shift (cell pitches)."""
    x = np.asarray(x, dtype=np.float64)
    decoded = np.asarray(decoded, dtype=np.float64)
    mse = float(np.mean((decoded - x) ** 2))
    base = float(np.mean((x - x.mean(axis=0)) ** 2))
    shift = np.linalg.norm(centroid(decoded) - centroid(x), axis=1)
    return {"mse": mse, "r2": 1.0 - mse / base, "centroid_rms": float(np.sqrt(np.mean(shift**2)))}


def quality(latent, x, decoder=None) -> float:
    """R^2 of the modules decoded from ``latent`` (the committed decoder by default)."""
    decoder = decoder if decoder is not None else load_autoencoder()[1]
    return reconstruction(x, forward(decoder, latent))["r2"]


def _fmt(r: dict) -> str:
    return f"MSE {r['mse']:.3e}  R2 {r['r2']:.4f}  centroid RMS {r['centroid_rms']:.3f}"


def run(out_dir=HERE, epochs: int = QAT_EPOCHS, float_epochs: int = FLOAT_EPOCHS,
        seed: int = SEED, n_train: int = N_TRAIN, n_test: int = N_TEST, max_steps=None,
        log=print) -> dict:
    """The whole script: float AE, QAT, export, evaluation. Returns the metrics."""
    import trigc

    base = _base()
    base.setup(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    x, xt = load_data(n_train, n_test, seed)
    t0 = time.time()

    log("float autoencoder")
    fenc, fdec = build_encoder(quantized=False), build_decoder()
    fit(build_autoencoder(fenc, fdec), x, float_epochs, 3e-3, seed, max_steps=max_steps,
        log=log)
    rec_float = reconstruction(xt, forward(fdec, forward(fenc, xt)))

    log("quantization-aware training (QKeras encoder, float decoder)")
    tf.keras.utils.set_random_seed(seed + 1)
    encoder, decoder = build_encoder(), build_decoder()
    for layer in ("conv", "latent"):
        encoder.get_layer(layer).set_weights(fenc.get_layer(layer).get_weights())
    decoder.set_weights(fdec.get_weights())
    autoencoder = build_autoencoder(encoder, decoder)
    fit(autoencoder, x, epochs, 1e-3, seed + 1, max_steps=max_steps, log=log)
    latent_q = forward(encoder, xt)
    rec_quant = reconstruction(xt, forward(decoder, latent_q))

    onnx_path = base.export(encoder, out_dir / f"{NAME}.onnx", NAME)
    autoencoder.save_weights(str(out_dir / f"{NAME}.h5"))
    graph = trigc.load(onnx_path)
    latent_t = trigc.emulate(graph, xt)
    rec_trigc = reconstruction(xt, forward(decoder, latent_t))
    n_equal = int(np.sum(np.all(latent_t == latent_q, axis=1)))

    with tempfile.TemporaryDirectory() as tmp:
        project = trigc.compile(onnx_path, Path(tmp) / NAME)
        report = (project.path / "report.txt").read_text()
    metrics = {"float": rec_float, "qkeras": rec_quant, "trigc": rec_trigc,
               "params": int(encoder.count_params()),
               "trigc_equals_qkeras": f"{n_equal}/{len(xt)}",
               "train_seconds": round(time.time() - t0, 1)}
    log(f"reconstruction of {len(xt)} test modules:")
    log(f"  float          {_fmt(rec_float)}")
    log(f"  QKeras encoder {_fmt(rec_quant)}")
    log(f"  trigc encoder  {_fmt(rec_trigc)}  (trigc == qkeras on {n_equal}/{len(xt)})")
    log(f"encoder parameters: {metrics['params']}")
    log(report)
    return metrics


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=QAT_EPOCHS, help="QAT epochs")
    parser.add_argument("--float-epochs", type=int, default=FLOAT_EPOCHS,
                        help="epochs of the float autoencoder")
    parser.add_argument("--out", default=str(HERE), help="output directory (default: here)")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    run(args.out, epochs=args.epochs, float_epochs=args.float_epochs, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())

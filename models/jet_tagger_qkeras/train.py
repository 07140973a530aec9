"""Train the QKeras jet tagger (16 -> 64 -> 32 -> 32 -> 5 MLP, 6-bit) and export it.

    python models/jet_tagger_qkeras/train.py [--epochs N] [--out DIR]

The classic hls4ml jet-substructure tagger in QKeras, on the toy jets of
``trigc.datasets.jet_features`` (classes g, q, W, Z, t):

    inputs   QActivation(quantized_bits(8, 3, alpha=1))   fixed<8,4>, as the Brevitas twin
    fc1..3   QDense(quantized_bits(6, 0, alpha=1) kernel and bias) + QActivation(quantized_relu(6))
    fc4      QDense(5, same quantizers)                   logits out

Steps (seeded, deterministic TensorFlow ops, one thread): a float Keras baseline of
the same architecture, QAT initialised from it, export with trigc's own QKeras ->
QONNX exporter (``trigc.frontends.qkeras.to_qonnx``) to ``jet_tagger_qkeras.onnx``,
the weights to ``jet_tagger_qkeras.h5``, accuracies (float / QKeras / trigc) and
trigc's estimate.

The exported model's output is the logits: the softmax is monotonic and not
needed for the trigger decision; it is only used in the loss.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # QKeras needs Keras 2 (tf_keras)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import tensorflow as tf
from qkeras import QActivation, QDense, quantized_bits, quantized_relu
from trigc import datasets

NAME = "jet_tagger_qkeras"
HERE = Path(__file__).resolve().parent
SEED = 2026
SIZES = (16, 64, 32, 32, 5)
BITS = 6
INPUT_Q = (8, 3)  # quantized_bits(8, 3): fixed<8,4> (3 integer bits + sign)
N_TRAIN, N_TEST = 200_000, 100_000
FLOAT_EPOCHS, FLOAT_BATCH = 10, 512
QAT_EPOCHS, QAT_BATCH = 8, 1024


def build_float_model(name: str = NAME) -> tf.keras.Model:
    """The float baseline: Dense + ReLU, same sizes, no quantizers."""
    x = tf.keras.Input((SIZES[0],), name="inputs")
    h = x
    for i, n in enumerate(SIZES[1:-1]):
        h = tf.keras.layers.Dense(n, name=f"fc{i + 1}")(h)
        h = tf.keras.layers.Activation("relu", name=f"relu{i + 1}")(h)
    out = tf.keras.layers.Dense(SIZES[-1], name=f"fc{len(SIZES) - 1}")(h)
    return tf.keras.Model(x, out, name=f"{name}_float")


def build_model(bits: int = BITS, input_q=INPUT_Q, name: str = NAME) -> tf.keras.Model:
    """The QAT model. Layer names become the firmware's layer names; ``input_q`` is
    the input quantizer's (bits, integer bits)."""
    x = tf.keras.Input((SIZES[0],), name="inputs")
    h = QActivation(quantized_bits(*input_q, alpha=1), name="input_q")(x)
    for i, n in enumerate(SIZES[1:]):
        last = i == len(SIZES) - 2
        h = QDense(n, kernel_quantizer=quantized_bits(bits, 0, alpha=1),
                   bias_quantizer=quantized_bits(bits, 0, alpha=1), name=f"fc{i + 1}")(h)
        if not last:
            h = QActivation(quantized_relu(bits), name=f"relu{i + 1}")(h)
    return tf.keras.Model(x, h, name=name)


def setup(seed: int = SEED) -> None:
    """Seeds and deterministic kernels; one thread when TensorFlow is not yet running."""
    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already initialised (e.g. inside pytest)
        pass


def load_data(n_train=N_TRAIN, n_test=N_TEST, seed=SEED):
    x, y = datasets.jet_features(n_train, datasets.split_seed(seed, "train"))
    xt, yt = datasets.jet_features(n_test, datasets.split_seed(seed, "test"))
    return x, y, xt, yt


def fit(model: tf.keras.Model, x, y, epochs: int, lr: float, seed: int, batch: int,
        max_steps=None, log=print) -> tf.keras.Model:
    """Adam + cross-entropy on the logits, cosine learning-rate decay, seeded shuffling."""
    steps_per_epoch = (len(x) + batch - 1) // batch
    total = epochs * steps_per_epoch
    if max_steps is not None and max_steps < total:
        total = max_steps
        n = min(len(x), max_steps * batch)
        x, y, epochs = x[:n], y[:n], 1
    schedule = tf.keras.optimizers.schedules.CosineDecay(lr, max(total, 1))
    model.compile(optimizer=tf.keras.optimizers.Adam(schedule),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    t0 = time.time()

    class Log(tf.keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            log(f"  epoch {epoch + 1}/{epochs}: loss {logs['loss']:.4f} "
                f"({time.time() - t0:.0f} s)")

    tf.keras.utils.set_random_seed(seed)
    model.fit(x, y, batch_size=batch, epochs=epochs, shuffle=True, verbose=0,
              callbacks=[Log()])
    return model


def forward(model: tf.keras.Model, x, batch: int = 10_000) -> np.ndarray:
    """Inference-mode float32 forward pass as float64 numpy (QKeras: the quantized one)."""
    x = np.asarray(x, dtype=np.float32)
    outs = [np.asarray(model(x[i:i + batch], training=False), dtype=np.float64)
            for i in range(0, len(x), batch)]
    return np.concatenate(outs)


def export(model: tf.keras.Model, path, name: str = NAME) -> Path:
    """trigc's QKeras exporter (``trigc.frontends.qkeras.to_qonnx``) to a .onnx file."""
    from trigc.frontends.qkeras import to_qonnx

    proto = to_qonnx(model)
    proto.graph.name = name
    onnx.save(proto, str(path))
    return Path(path)


def load_trained(weights=HERE / f"{NAME}.h5", input_q=INPUT_Q) -> tf.keras.Model:
    """Rebuild the quantized model from the committed weights."""
    model = build_model(input_q=input_q)
    model.load_weights(str(weights))
    return model


def accuracy(logits, y) -> float:
    return float(np.mean(np.argmax(logits, axis=1) == y))


def run(out_dir=HERE, epochs: int = QAT_EPOCHS, float_epochs: int = FLOAT_EPOCHS,
        seed: int = SEED, n_train: int = N_TRAIN, n_test: int = N_TEST, max_steps=None,
        log=print, name: str = NAME, input_q=INPUT_Q) -> dict:
    """The whole script: train float + QAT, export, evaluate. Returns the metrics.
    ``name`` and ``input_q`` make the variants (``../jet_tagger_qkeras16``)."""
    import trigc

    setup(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    x, y, xt, yt = load_data(n_train, n_test, seed)
    t0 = time.time()

    log("float baseline")
    fmodel = fit(build_float_model(name), x, y, float_epochs, 3e-3, seed, FLOAT_BATCH,
                 max_steps, log)
    acc_float = accuracy(forward(fmodel, xt), yt)

    log("quantization-aware training (QKeras)")
    tf.keras.utils.set_random_seed(seed + 1)
    qmodel = build_model(input_q=input_q, name=name)
    for i in range(1, len(SIZES)):
        qmodel.get_layer(f"fc{i}").set_weights(fmodel.get_layer(f"fc{i}").get_weights())
    fit(qmodel, x, y, epochs, 1e-3, seed + 1, QAT_BATCH, max_steps, log)
    logits_q = forward(qmodel, xt)
    acc_quant = accuracy(logits_q, yt)

    onnx_path = export(qmodel, out_dir / f"{name}.onnx", name)
    qmodel.save_weights(str(out_dir / f"{name}.h5"))
    graph = trigc.load(onnx_path)
    logits_t = trigc.emulate(graph, xt)
    acc_trigc = accuracy(logits_t, yt)
    n_equal = int(np.sum(np.all(logits_t == logits_q, axis=1)))

    with tempfile.TemporaryDirectory() as tmp:
        project = trigc.compile(onnx_path, Path(tmp) / name)
        report = (project.path / "report.txt").read_text()
    metrics = {"float": acc_float, "qkeras": acc_quant, "trigc": acc_trigc,
               "trigc_equals_qkeras": f"{n_equal}/{len(xt)}",
               "train_seconds": round(time.time() - t0, 1)}
    log(f"test accuracy on {len(xt)} jets: float {acc_float:.4f}  qkeras {acc_quant:.4f}  "
        f"trigc {acc_trigc:.4f}  (trigc == qkeras on {n_equal}/{len(xt)} events)")
    log(report)
    return metrics


def main(argv=None, *, doc: str = __doc__, here: Path = HERE, **variant) -> int:
    """The command line; a variant's script passes its ``doc``, folder, ``name`` and
    ``input_q``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=QAT_EPOCHS, help="QAT epochs")
    parser.add_argument("--float-epochs", type=int, default=FLOAT_EPOCHS,
                        help="epochs of the float baseline")
    parser.add_argument("--out", default=str(here), help="output directory (default: here)")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    run(args.out, epochs=args.epochs, float_epochs=args.float_epochs, seed=args.seed,
        **variant)
    return 0


if __name__ == "__main__":
    sys.exit(main())

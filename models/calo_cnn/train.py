"""Train the Brevitas 16x16 calorimeter-image CNN (three Conv2D, 6-bit) and export it.

    python models/calo_cnn/train.py [--epochs N] [--float-epochs N] [--out DIR]

The streaming reference model: a larger image than ``../conv_tagger`` (16x16
towers instead of 8x8) through three convolutions, so that the feature maps,
not the weights, dominate. Data: ``trigc.datasets.calo_images_large``: the toy
boosted jets of ``calo_images`` (QCD, W -> qq, t -> bqq) in a 16x16 window of
0.1 x 0.1 trigger towers (tower ET / (jet pT / 4)). Model (4,339 parameters):

    input ufixed<8,2> (1x16x16)
    conv1  QuantConv2d 1 -> 8, 3x3, pad 1   + QuantReLU 6-bit  -> MaxPool 2x2  (8x8x8)
    conv2  QuantConv2d 8 -> 16, 3x3, pad 1  + QuantReLU 6-bit  -> MaxPool 2x2  (16x4x4)
    conv3  QuantConv2d 16 -> 16, 3x3, pad 1 + QuantReLU 6-bit                  (16x4x4)
    flatten (256)
    fc     QuantLinear 256 -> 3             (logits out)

Quantizers and training recipe are conv_tagger's (imported from its train.py):
6-bit weights (power-of-two per-tensor scale, narrow range), biases on the
accumulator grid (Int16Bias), 6-bit unsigned power-of-two activations, the
constant ufixed<8,2> input; Adam, cosine decay, seeded shuffling.

Steps (seeded, single-threaded, reproducible): float baseline, QAT initialised
from it, export to QONNX (``calo_cnn.onnx``) + state_dict (``calo_cnn.pt``),
accuracies (float / Brevitas / trigc emulation) and trigc's estimate.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

import brevitas.nn as qnn
import numpy as np
import onnx
import torch
from brevitas.export import export_qonnx
from torch import nn
from trigc import datasets

NAME = "calo_cnn"
HERE = Path(__file__).resolve().parent
SEED = 2027
BITS = 6
SHAPE = datasets.CALO_LARGE_SHAPE
N_TRAIN, N_TEST = 100_000, 50_000
FLOAT_EPOCHS, FLOAT_BATCH = 6, 256
QAT_EPOCHS, QAT_BATCH = 6, 512
LAYERS = ("conv1", "conv2", "conv3", "fc")


def _base():
    """``../conv_tagger/train.py``, whose quantizers and training loop this model uses."""
    path = HERE.parent / "conv_tagger" / "train.py"
    name = "trigc_reference_conv_tagger_train"  # the tests import it under this name too
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]


class FloatCaloCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.conv3 = nn.Conv2d(16, 16, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(256, 3)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = torch.relu(self.conv3(x))
        return self.fc(x.flatten(1))


class CaloCNN(nn.Module):
    """The QAT model (module names become the firmware's layer names)."""

    def __init__(self, bits=BITS):
        super().__init__()
        base = _base()
        self.inp = qnn.QuantIdentity(act_quant=base.InputQuant, bit_width=8,
                                     return_quant_tensor=True)
        self.conv1, self.relu1, self.pool1 = base._conv(1, 8, bits), base._relu(bits), \
            nn.MaxPool2d(2)
        self.conv2, self.relu2, self.pool2 = base._conv(8, 16, bits), base._relu(bits), \
            nn.MaxPool2d(2)
        self.conv3, self.relu3 = base._conv(16, 16, bits), base._relu(bits)
        self.fc = base._linear(256, 3, bits, last=True)

    def forward(self, x):
        x = self.pool1(self.relu1(self.conv1(self.inp(x))))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = self.relu3(self.conv3(x))
        return self.fc(x.flatten(1))


def load_data(n_train=N_TRAIN, n_test=N_TEST, seed=SEED):
    x, y = datasets.calo_images_large(n_train, datasets.split_seed(seed, "train"))
    xt, yt = datasets.calo_images_large(n_test, datasets.split_seed(seed, "test"))
    return x, y, xt, yt


def forward(model: nn.Module, x, batch: int = 5_000) -> np.ndarray:
    """Eval-mode float32 forward pass as float64 numpy (Brevitas: the quantized one)."""
    return _base().forward(model, x, batch)


def export(model: nn.Module, path) -> Path:
    """``export_qonnx``, then self-contained (weights inlined) and reproducible (of
    torch's per-node metadata only the module path, which names trigc's layers)."""
    path = Path(path)
    model.eval()
    with tempfile.TemporaryDirectory() as tmp:
        export_qonnx(model, torch.zeros(1, *SHAPE), str(Path(tmp) / path.name))
        proto = onnx.load(str(Path(tmp) / path.name))
    for node in proto.graph.node:
        keep = [p for p in node.metadata_props if p.key == "pkg.torch.onnx.name_scopes"]
        del node.metadata_props[:]
        node.metadata_props.extend(keep)
    del proto.metadata_props[:]
    proto.graph.name = NAME
    onnx.save(proto, str(path))
    return path


def load_trained(weights=HERE / f"{NAME}.pt") -> CaloCNN:
    """Rebuild the quantized model from the committed state_dict (eval mode)."""
    model = CaloCNN()
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return model.eval()


def confusion(logits, y) -> np.ndarray:
    """Row-normalised confusion matrix (true x predicted)."""
    pred = np.argmax(logits, axis=1)
    k = len(datasets.CALO_CLASSES)
    counts = np.bincount(y * k + pred, minlength=k * k).reshape(k, k)
    return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)


def run(out_dir=HERE, epochs: int = QAT_EPOCHS, float_epochs: int = FLOAT_EPOCHS,
        seed: int = SEED, n_train: int = N_TRAIN, n_test: int = N_TEST, max_steps=None,
        log=print) -> dict:
    """The whole script: train float + QAT, export, evaluate. Returns the metrics."""
    import trigc

    base = _base()
    base.setup(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    x, y, xt, yt = load_data(n_train, n_test, seed)
    t0 = time.time()

    log("float baseline")
    fmodel = base.fit(FloatCaloCNN(), x, y, float_epochs, 3e-3, seed, FLOAT_BATCH, max_steps,
                      log)
    acc_float = base.accuracy(forward(fmodel, xt), yt)

    log("quantization-aware training (Brevitas)")
    qmodel = CaloCNN()
    with torch.no_grad():
        for name in LAYERS:
            getattr(qmodel, name).weight.copy_(getattr(fmodel, name).weight)
            getattr(qmodel, name).bias.copy_(getattr(fmodel, name).bias)
    base.fit(qmodel, x, y, epochs, 1e-3, seed + 1, QAT_BATCH, max_steps, log)
    logits_q = forward(qmodel, xt)
    acc_quant = base.accuracy(logits_q, yt)
    train_seconds = round(time.time() - t0, 1)

    onnx_path = export(qmodel, out_dir / f"{NAME}.onnx")
    torch.save(qmodel.state_dict(), out_dir / f"{NAME}.pt")
    graph = trigc.load(onnx_path)
    logits_t = trigc.emulate(graph, xt)
    acc_trigc = base.accuracy(logits_t, yt)
    n_equal = int(np.sum(np.all(logits_t == logits_q, axis=1)))

    with tempfile.TemporaryDirectory() as tmp:
        project = trigc.compile(onnx_path, Path(tmp) / NAME)
        report = (project.path / "report.txt").read_text()
    metrics = {"float": acc_float, "brevitas": acc_quant, "trigc": acc_trigc,
               "trigc_equals_brevitas": f"{n_equal}/{len(xt)}",
               "parameters": sum(p.numel() for p in fmodel.parameters()),
               "train_seconds": train_seconds}
    log(f"test accuracy on {len(xt)} jets: float {acc_float:.4f}  brevitas {acc_quant:.4f}  "
        f"trigc {acc_trigc:.4f}  (trigc == brevitas on {n_equal}/{len(xt)} events)")
    log(f"parameters {metrics['parameters']}, training {train_seconds} s")
    log("confusion (true x predicted, brevitas):\n" + np.array2string(confusion(logits_q, yt),
                                                                       precision=3))
    log(report)
    return metrics


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=QAT_EPOCHS, help="QAT epochs")
    parser.add_argument("--float-epochs", type=int, default=FLOAT_EPOCHS,
                        help="epochs of the float baseline")
    parser.add_argument("--out", default=str(HERE), help="output directory (default: here)")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    run(args.out, epochs=args.epochs, float_epochs=args.float_epochs, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())

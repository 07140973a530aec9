"""Train the Brevitas calorimeter-image tagger (small Conv2D, 6-bit) and export it.

    python models/conv_tagger/train.py [--epochs N] [--out DIR]

Data: ``trigc.datasets.calo_images``: 8x8 trigger-tower images of boosted jets
(tower ET / (jet pT / 4)), classes QCD, W -> qq, t -> bqq. Model (2,339 parameters):

    input ufixed<8,2> (1x8x8)
    conv1  QuantConv2d 1 -> 8, 3x3, pad 1  + QuantReLU 6-bit   -> MaxPool 2x2
    conv2  QuantConv2d 8 -> 16, 3x3, pad 1 + QuantReLU 6-bit   -> MaxPool 2x2
    flatten (16x2x2 = 64)
    fc1    QuantLinear 64 -> 16            + QuantReLU 6-bit
    fc2    QuantLinear 16 -> 3             (logits out)

6-bit weights (power-of-two per-tensor scale, narrow range), biases on the
accumulator grid (Int16Bias), 6-bit unsigned power-of-two activations.

Steps (seeded, single-threaded, reproducible): float baseline, QAT initialised
from it, export to QONNX (``conv_tagger.onnx``) + state_dict (``conv_tagger.pt``),
accuracies (float / Brevitas / trigc emulation) and trigc's estimate.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import brevitas.nn as qnn
import numpy as np
import onnx
import torch
from brevitas.export import export_qonnx
from brevitas.inject.enum import ScalingImplType
from brevitas.quant import Int8WeightPerTensorFixedPoint, Int16Bias, Uint8ActPerTensorFixedPoint
from torch import nn
from trigc import datasets

NAME = "conv_tagger"
HERE = Path(__file__).resolve().parent
SEED = 2026
BITS = 6
SHAPE = datasets.CALO_SHAPE
N_TRAIN, N_TEST = 100_000, 50_000
FLOAT_EPOCHS, FLOAT_BATCH = 6, 256
QAT_EPOCHS, QAT_BATCH = 6, 512


class InputQuant(Uint8ActPerTensorFixedPoint):
    """Tower input word: ufixed<8,2> (scale 2^-6, range [0, 4)), constant."""

    scaling_impl_type = ScalingImplType.CONST
    scaling_init = 4.0


class FloatConvTagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(64, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = torch.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)


def _relu(bits):
    return qnn.QuantReLU(act_quant=Uint8ActPerTensorFixedPoint, bit_width=bits,
                         return_quant_tensor=True)


def _conv(c_in, c_out, bits):
    return qnn.QuantConv2d(c_in, c_out, 3, padding=1, bias=True,
                           weight_quant=Int8WeightPerTensorFixedPoint, weight_bit_width=bits,
                           bias_quant=Int16Bias, return_quant_tensor=True)


def _linear(n_in, n_out, bits, last=False):
    return qnn.QuantLinear(n_in, n_out, bias=True, weight_quant=Int8WeightPerTensorFixedPoint,
                           weight_bit_width=bits, bias_quant=Int16Bias,
                           return_quant_tensor=not last)


class ConvTagger(nn.Module):
    """The QAT model (module names become the firmware's layer names)."""

    def __init__(self, bits=BITS):
        super().__init__()
        self.inp = qnn.QuantIdentity(act_quant=InputQuant, bit_width=8, return_quant_tensor=True)
        self.conv1, self.relu1, self.pool1 = _conv(1, 8, bits), _relu(bits), nn.MaxPool2d(2)
        self.conv2, self.relu2, self.pool2 = _conv(8, 16, bits), _relu(bits), nn.MaxPool2d(2)
        self.fc1, self.relu3 = _linear(64, 16, bits), _relu(bits)
        self.fc2 = _linear(16, 3, bits, last=True)

    def forward(self, x):
        x = self.pool1(self.relu1(self.conv1(self.inp(x))))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = self.relu3(self.fc1(x.flatten(1)))
        return self.fc2(x)


def setup(seed: int = SEED) -> None:
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def load_data(n_train=N_TRAIN, n_test=N_TEST, seed=SEED):
    x, y = datasets.calo_images(n_train, datasets.split_seed(seed, "train"))
    xt, yt = datasets.calo_images(n_test, datasets.split_seed(seed, "test"))
    return x, y, xt, yt


def fit(model: nn.Module, x, y, epochs: int, lr: float, seed: int, batch: int,
        max_steps=None, log=print) -> nn.Module:
    """Adam + cross-entropy, cosine learning-rate decay, seeded shuffling."""
    gen = torch.Generator().manual_seed(seed)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)
    steps_per_epoch = (len(xs) + batch - 1) // batch
    total = epochs * steps_per_epoch
    total = total if max_steps is None else min(max_steps, total)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(total, 1))
    step, t0 = 0, time.time()
    model.train()
    for epoch in range(epochs):
        perm = torch.randperm(len(xs), generator=gen)
        loss_sum, n_steps = 0.0, 0
        for i in range(0, len(xs), batch):
            if step >= total:
                break
            idx = perm[i:i + batch]
            opt.zero_grad()
            out = model(xs[idx])
            loss = nn.functional.cross_entropy(getattr(out, "value", out), ys[idx])
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss.detach())
            step += 1
            n_steps += 1
        log(f"  epoch {epoch + 1}/{epochs}: loss {loss_sum / max(1, n_steps):.4f} "
            f"({time.time() - t0:.0f} s)")
        if step >= total:
            break
    return model.eval()


def forward(model: nn.Module, x, batch: int = 10_000) -> np.ndarray:
    """Eval-mode float32 forward pass as float64 numpy (Brevitas: the quantized one)."""
    model.eval()
    x = np.asarray(x, dtype=np.float32)
    outs = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = model(torch.from_numpy(x[i:i + batch]))
            outs.append(getattr(out, "value", out).numpy().astype(np.float64))
    return np.concatenate(outs)


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


def load_trained(weights=HERE / f"{NAME}.pt") -> ConvTagger:
    """Rebuild the quantized model from the committed state_dict (eval mode)."""
    model = ConvTagger()
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return model.eval()


def accuracy(logits, y) -> float:
    return float(np.mean(np.argmax(logits, axis=1) == y))


def run(out_dir=HERE, epochs: int = QAT_EPOCHS, float_epochs: int = FLOAT_EPOCHS,
        seed: int = SEED, n_train: int = N_TRAIN, n_test: int = N_TEST, max_steps=None,
        log=print) -> dict:
    """The whole script: train float + QAT, export, evaluate. Returns the metrics."""
    import trigc

    setup(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    x, y, xt, yt = load_data(n_train, n_test, seed)
    t0 = time.time()

    log("float baseline")
    fmodel = fit(FloatConvTagger(), x, y, float_epochs, 3e-3, seed, FLOAT_BATCH, max_steps, log)
    acc_float = accuracy(forward(fmodel, xt), yt)

    log("quantization-aware training (Brevitas)")
    qmodel = ConvTagger()
    with torch.no_grad():
        for name in ("conv1", "conv2", "fc1", "fc2"):
            getattr(qmodel, name).weight.copy_(getattr(fmodel, name).weight)
            getattr(qmodel, name).bias.copy_(getattr(fmodel, name).bias)
    fit(qmodel, x, y, epochs, 1e-3, seed + 1, QAT_BATCH, max_steps, log)
    logits_q = forward(qmodel, xt)
    acc_quant = accuracy(logits_q, yt)

    onnx_path = export(qmodel, out_dir / f"{NAME}.onnx")
    torch.save(qmodel.state_dict(), out_dir / f"{NAME}.pt")
    graph = trigc.load(onnx_path)
    logits_t = trigc.emulate(graph, xt)
    acc_trigc = accuracy(logits_t, yt)
    n_equal = int(np.sum(np.all(logits_t == logits_q, axis=1)))

    with tempfile.TemporaryDirectory() as tmp:
        project = trigc.compile(onnx_path, Path(tmp) / NAME)
        report = (project.path / "report.txt").read_text()
    metrics = {"float": acc_float, "brevitas": acc_quant, "trigc": acc_trigc,
               "trigc_equals_brevitas": f"{n_equal}/{len(xt)}",
               "parameters": sum(p.numel() for p in fmodel.parameters()),
               "train_seconds": round(time.time() - t0, 1)}
    log(f"test accuracy on {len(xt)} jets: float {acc_float:.4f}  brevitas {acc_quant:.4f}  "
        f"trigc {acc_trigc:.4f}  (trigc == brevitas on {n_equal}/{len(xt)} events)")
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

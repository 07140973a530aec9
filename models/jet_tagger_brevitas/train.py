"""Train the Brevitas jet tagger (16 -> 64 -> 32 -> 32 -> 5 MLP, 6-bit) and export it.

    python models/jet_tagger_brevitas/train.py [--epochs N] [--out DIR]

Data: ``trigc.datasets.jet_features`` (toy hls4ml-like jet-substructure features,
classes g, q, W, Z, t). Steps, all seeded and single-threaded (bit-for-bit
reproducible on any machine with the same torch/Brevitas versions):

1. a float baseline with the same architecture (plain torch),
2. quantization-aware training of the Brevitas model, initialised from the float
   weights: 8-bit fixed<8,4> input, 6-bit weights with a power-of-two per-tensor
   scale, 6-bit unsigned power-of-two activations after each ReLU, biases on the
   accumulator grid (Int16Bias),
3. export to QONNX (``<name>.onnx``) and the state_dict (``<name>.pt``),
4. accuracies: float, Brevitas-quantized (its own eval forward pass), and trigc's
   bit-exact emulation of the exported model; plus trigc's latency/resource estimate.

The exported model's output is the last layer's accumulator (the logits, exact
fixed-point values): the softmax is monotonic, so the trigger decision (argmax or
a threshold on a logit difference) needs no softmax in firmware; it is applied
only in training (cross-entropy) and for float-side probabilities.
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
from brevitas.quant import (
    Int8ActPerTensorFixedPoint,
    Int8WeightPerTensorFixedPoint,
    Int16Bias,
    Uint8ActPerTensorFixedPoint,
)
from torch import nn
from trigc import datasets

NAME = "jet_tagger_brevitas"
HERE = Path(__file__).resolve().parent
SEED = 2026
SIZES = (16, 64, 32, 32, 5)
BITS = 6
N_TRAIN, N_TEST = 200_000, 100_000
FLOAT_EPOCHS, FLOAT_BATCH = 10, 512
QAT_EPOCHS, QAT_BATCH = 8, 1024


class InputQuant(Int8ActPerTensorFixedPoint):
    """The trigger's input word: fixed<8,4> (scale 2^-4, range [-8, 8)), constant."""

    scaling_impl_type = ScalingImplType.CONST
    scaling_init = 8.0


class FloatJetTagger(nn.Module):
    """The float baseline: the same MLP without quantizers."""

    def __init__(self, sizes=SIZES):
        super().__init__()
        self.fc1 = nn.Linear(sizes[0], sizes[1])
        self.fc2 = nn.Linear(sizes[1], sizes[2])
        self.fc3 = nn.Linear(sizes[2], sizes[3])
        self.fc4 = nn.Linear(sizes[3], sizes[4])

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        x = torch.relu(self.fc3(x))
        return self.fc4(x)


def _linear(n_in, n_out, bits, last=False):
    # Int16Bias: the bias is quantized on the accumulator's grid (input scale x
    # weight scale), so the firmware adds it without any rounding.
    return qnn.QuantLinear(n_in, n_out, bias=True, weight_quant=Int8WeightPerTensorFixedPoint,
                           weight_bit_width=bits, bias_quant=Int16Bias,
                           return_quant_tensor=not last)


def _relu(bits):
    return qnn.QuantReLU(act_quant=Uint8ActPerTensorFixedPoint, bit_width=bits,
                         return_quant_tensor=True)


class JetTagger(nn.Module):
    """The QAT model: fixed<8,4> input quantizer, QuantLinear + 6-bit QuantReLU
    (unsigned, power-of-two scale), and the last layer's accumulator (logits) out.
    Module names (fc1, relu1, ...) become the firmware's layer names."""

    def __init__(self, sizes=SIZES, bits=BITS):
        super().__init__()
        self.inp = qnn.QuantIdentity(act_quant=InputQuant, bit_width=8, return_quant_tensor=True)
        self.fc1, self.relu1 = _linear(sizes[0], sizes[1], bits), _relu(bits)
        self.fc2, self.relu2 = _linear(sizes[1], sizes[2], bits), _relu(bits)
        self.fc3, self.relu3 = _linear(sizes[2], sizes[3], bits), _relu(bits)
        self.fc4 = _linear(sizes[3], sizes[4], bits, last=True)

    def forward(self, x):
        x = self.relu1(self.fc1(self.inp(x)))
        x = self.relu2(self.fc2(x))
        x = self.relu3(self.fc3(x))
        return self.fc4(x)


def setup(seed: int = SEED) -> None:
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def load_data(n_train=N_TRAIN, n_test=N_TEST, seed=SEED):
    x, y = datasets.jet_features(n_train, datasets.split_seed(seed, "train"))
    xt, yt = datasets.jet_features(n_test, datasets.split_seed(seed, "test"))
    return x, y, xt, yt


def fit(model: nn.Module, x, y, epochs: int, lr: float, seed: int, batch: int,
        max_steps=None, log=print) -> nn.Module:
    """Adam + cross-entropy, cosine learning-rate decay, seeded shuffling."""
    gen = torch.Generator().manual_seed(seed)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)
    steps_per_epoch = (len(xs) + batch - 1) // batch
    total = epochs * steps_per_epoch if max_steps is None else min(max_steps,
                                                                    epochs * steps_per_epoch)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(total, 1))
    step, t0 = 0, time.time()
    model.train()
    for epoch in range(epochs):
        perm = torch.randperm(len(xs), generator=gen)
        loss_sum = 0.0
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
        log(f"  epoch {epoch + 1}/{epochs}: loss {loss_sum / max(1, steps_per_epoch):.4f} "
            f"({time.time() - t0:.0f} s)")
        if step >= total:
            break
    return model.eval()


def forward(model: nn.Module, x) -> np.ndarray:
    """Eval-mode float32 forward pass as float64 numpy (Brevitas: the quantized one)."""
    model.eval()
    with torch.no_grad():
        out = model(torch.from_numpy(np.asarray(x, dtype=np.float32)))
    return getattr(out, "value", out).numpy().astype(np.float64)


def export(model: nn.Module, path) -> Path:
    """``export_qonnx`` (torch's default exporter), then made self-contained and
    reproducible: weights inlined (no external .onnx.data file), and of torch's
    per-node metadata only the module path kept (trigc names layers after it;
    the stack traces hold absolute paths)."""
    path = Path(path)
    model.eval()
    with tempfile.TemporaryDirectory() as tmp:
        export_qonnx(model, torch.zeros(1, SIZES[0]), str(Path(tmp) / path.name))
        proto = onnx.load(str(Path(tmp) / path.name))
    for node in proto.graph.node:
        keep = [p for p in node.metadata_props if p.key == "pkg.torch.onnx.name_scopes"]
        del node.metadata_props[:]
        node.metadata_props.extend(keep)
    del proto.metadata_props[:]
    proto.graph.name = NAME
    onnx.save(proto, str(path))
    return path


def load_trained(weights=HERE / f"{NAME}.pt") -> JetTagger:
    """Rebuild the quantized model from the committed state_dict (eval mode)."""
    model = JetTagger()
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
    fmodel = fit(FloatJetTagger(), x, y, float_epochs, 3e-3, seed, FLOAT_BATCH, max_steps, log)
    acc_float = accuracy(forward(fmodel, xt), yt)

    log("quantization-aware training (Brevitas)")
    qmodel = JetTagger()
    with torch.no_grad():
        for name in ("fc1", "fc2", "fc3", "fc4"):
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

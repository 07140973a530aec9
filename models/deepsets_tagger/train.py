"""Train the Deep Sets jet tagger (16 constituents x 3 features; phi 3 -> 32 -> 32 per
constituent, sum over constituents, rho 32 -> 32 -> 5; 6-bit) and export it.

    python models/deepsets_tagger/train.py [--epochs N] [--out DIR]

Data: ``trigc.datasets.jet_constituents`` (toy constituent lists: pT fraction,
delta-eta, delta-phi of the 16 hardest constituents, zero-padded; classes g, q, W,
Z, t). Steps, all seeded and single-threaded (bit-for-bit reproducible with the
same torch/Brevitas versions):

1. a float baseline with the same architecture (plain torch),
2. quantization-aware training of the Brevitas model, initialised from the float
   weights: 8-bit fixed<8,0> input, 6-bit weights with a power-of-two per-tensor
   scale, 6-bit unsigned power-of-two activations after each ReLU, an 8-bit
   power-of-two quantizer after the sum, biases of rho on the accumulator grid,
3. export to QONNX (``deepsets_tagger.onnx``) and the state_dict (``.pt``),
4. accuracies: float, Brevitas-quantized (its own eval forward pass), and trigc's
   bit-exact emulation of the exported model; plus trigc's estimate.

phi has no biases, so a zero-padded constituent maps to exactly 0 (ReLU(W @ 0) = 0
in float and in fixed point) and adds nothing to the sum: the output does not
depend on the number of padding slots, and the sum makes it independent of the
constituents' order. The exported model ends at the last layer's accumulator
(the logits): the trigger decision needs no softmax.
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

NAME = "deepsets_tagger"
HERE = Path(__file__).resolve().parent
SEED = 2026
N_OBJECTS, N_FEATURES = datasets.N_CONSTITUENTS, len(datasets.CONSTITUENT_FEATURES)
PHI, RHO, N_CLASSES = (32, 32), 32, len(datasets.JET_CLASSES)
BITS, POOL_BITS = 6, 8
N_TRAIN, N_TEST = 100_000, 50_000
FLOAT_EPOCHS, FLOAT_BATCH = 40, 256
QAT_EPOCHS, QAT_BATCH = 12, 512


class InputQuant(Int8ActPerTensorFixedPoint):
    """The constituent word: fixed<8,0> (scale 2^-7, range [-1, 1)), constant: pT
    fractions in [0, 1) and angles within +-0.5 fit."""

    scaling_impl_type = ScalingImplType.CONST
    scaling_init = 1.0


class FloatDeepSets(nn.Module):
    """The float baseline: the same network without quantizers."""

    def __init__(self):
        super().__init__()
        self.phi1 = nn.Linear(N_FEATURES, PHI[0], bias=False)
        self.phi2 = nn.Linear(PHI[0], PHI[1], bias=False)
        self.rho1 = nn.Linear(PHI[1], RHO)
        self.rho2 = nn.Linear(RHO, N_CLASSES)

    def forward(self, x):
        h = torch.relu(self.phi2(torch.relu(self.phi1(x))))
        return self.rho2(torch.relu(self.rho1(h.sum(dim=1))))


def _linear(n_in, n_out, bias, last=False):
    return qnn.QuantLinear(n_in, n_out, bias=bias, weight_quant=Int8WeightPerTensorFixedPoint,
                           weight_bit_width=BITS, bias_quant=Int16Bias if bias else None,
                           return_quant_tensor=not last)


def _relu(bits=BITS):
    return qnn.QuantReLU(act_quant=Uint8ActPerTensorFixedPoint, bit_width=bits,
                         return_quant_tensor=True)


class DeepSetsTagger(nn.Module):
    """The QAT model. phi: QuantLinear (no bias) + 6-bit QuantReLU, twice, applied to
    every constituent; the sum over constituents (ONNX ReduceSum) and an 8-bit
    unsigned power-of-two quantizer; rho: QuantLinear + QuantReLU, QuantLinear (the
    logits). Module names become the firmware's layer names."""

    def __init__(self):
        super().__init__()
        self.inp = qnn.QuantIdentity(act_quant=InputQuant, bit_width=8, return_quant_tensor=True)
        self.phi1, self.phi_relu1 = _linear(N_FEATURES, PHI[0], False), _relu()
        self.phi2, self.phi_relu2 = _linear(PHI[0], PHI[1], False), _relu()
        self.pool_quant = qnn.QuantIdentity(act_quant=Uint8ActPerTensorFixedPoint,
                                            bit_width=POOL_BITS, return_quant_tensor=True)
        self.rho1, self.rho_relu1 = _linear(PHI[1], RHO, True), _relu()
        self.rho2 = _linear(RHO, N_CLASSES, True, last=True)

    def forward(self, x):
        h = self.phi_relu1(self.phi1(self.inp(x)))
        h = self.phi_relu2(self.phi2(h))
        h = getattr(h, "value", h)  # a QuantTensor in training, a tensor when exported
        pooled = self.pool_quant(h.sum(dim=1))  # permutation-invariant sum (ReduceSum)
        return self.rho2(self.rho_relu1(self.rho1(pooled)))


def setup(seed: int = SEED) -> None:
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def load_data(n_train=N_TRAIN, n_test=N_TEST, seed=SEED):
    x, y = datasets.jet_constituents(n_train, datasets.split_seed(seed, "deepsets-train"))
    xt, yt = datasets.jet_constituents(n_test, datasets.split_seed(seed, "deepsets-test"))
    return x, y, xt, yt


def fit(model: nn.Module, x, y, epochs: int, lr: float, seed: int, batch: int,
        max_steps=None, log=print) -> nn.Module:
    """Adam + cross-entropy, cosine learning-rate decay, seeded shuffling; at most
    ``max_steps`` optimiser steps when given (the tests' smoke run)."""
    gen = torch.Generator().manual_seed(seed)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)
    steps = epochs * ((len(xs) + batch - 1) // batch)
    steps = steps if max_steps is None else max(1, min(steps, max_steps))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    t0, n_done = time.time(), 0
    model.train()
    for epoch in range(epochs):
        perm = torch.randperm(len(xs), generator=gen)
        loss_sum, n_batches = 0.0, 0
        for i in range(0, len(xs), batch):
            if n_done >= steps:
                break
            idx = perm[i:i + batch]
            opt.zero_grad()
            out = model(xs[idx])
            loss = nn.functional.cross_entropy(getattr(out, "value", out), ys[idx])
            loss.backward()
            opt.step()
            sched.step()
            loss_sum, n_batches = loss_sum + float(loss.detach()), n_batches + 1
            n_done += 1
        log(f"  epoch {epoch + 1}/{epochs}: loss {loss_sum / max(n_batches, 1):.4f} "
            f"({time.time() - t0:.0f} s)")
    return model.eval()


def forward(model: nn.Module, x) -> np.ndarray:
    """Eval-mode float32 forward pass as float64 numpy (Brevitas: the quantized one)."""
    model.eval()
    with torch.no_grad():
        out = model(torch.from_numpy(np.asarray(x, dtype=np.float32)))
    return getattr(out, "value", out).numpy().astype(np.float64)


def export(model: nn.Module, path) -> Path:
    """``export_qonnx``, made self-contained and reproducible (weights inlined, of
    torch's per-node metadata only the module path kept)."""
    path = Path(path)
    model.eval()
    with tempfile.TemporaryDirectory() as tmp:
        export_qonnx(model, torch.zeros(1, N_OBJECTS, N_FEATURES), str(Path(tmp) / path.name))
        proto = onnx.load(str(Path(tmp) / path.name))
    for node in proto.graph.node:
        keep = [p for p in node.metadata_props if p.key == "pkg.torch.onnx.name_scopes"]
        del node.metadata_props[:]
        node.metadata_props.extend(keep)
    del proto.metadata_props[:]
    proto.graph.name = NAME
    onnx.save(proto, str(path))
    return path


def load_trained(weights=HERE / f"{NAME}.pt") -> DeepSetsTagger:
    """Rebuild the quantized model from the committed state_dict (eval mode)."""
    model = DeepSetsTagger()
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
    fmodel = fit(FloatDeepSets(), x, y, float_epochs, 3e-3, seed, FLOAT_BATCH, max_steps, log)
    acc_float = accuracy(forward(fmodel, xt), yt)

    log("quantization-aware training (Brevitas)")
    qmodel = DeepSetsTagger()
    with torch.no_grad():
        for name in ("phi1", "phi2", "rho1", "rho2"):
            getattr(qmodel, name).weight.copy_(getattr(fmodel, name).weight)
            if getattr(fmodel, name).bias is not None:
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
    metrics = run(args.out, epochs=args.epochs, float_epochs=args.float_epochs, seed=args.seed)
    print(metrics)
    return 0


if __name__ == "__main__":
    sys.exit(main())

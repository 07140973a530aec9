"""Train the Brevitas autoencoder anomaly trigger (16 -> 32 -> 8 -> 32 -> 16, 6-bit weights)
and export it with the anomaly score computed in the model graph.

    python models/anomaly_ae/train.py [--epochs N] [--out DIR]

Data: ``trigc.datasets.l1_events``: 16 event-level L1 quantities (MET, HT, jets,
e/gamma, muons, tau; log-scaled and standardised). Trained on background only
(QCD, W, Z, ttbar mixture); evaluated on held-out background and four injected
signals (A -> 4l, LQ -> b tau, h0 -> tau tau, h+ -> tau nu).

Model::

    x      input fixed<8,4> (16)                     -- the trigger's input words
    enc1   QuantLinear 16 -> 32 + QuantReLU 8-bit
    enc2   QuantLinear 32 -> 8  + QuantIdentity 8-bit signed (the latent code)
    dec1   QuantLinear 8 -> 32  + QuantReLU 8-bit
    dec2   QuantLinear 32 -> 16 + QuantIdentity 8-bit signed (the reconstruction)
    score  sum_i (x_i - xhat_i)^2                    -- Sub, Mul, MatMul by ones(16, 1)

6-bit weights with a power-of-two scale per output channel, biases on the
accumulator grid (Int16Bias), 8-bit activations with power-of-two scales. The
score is the model's (only) output, so the firmware emits the anomaly score
itself; ONNX ReduceSum is not needed (the sum is a MatMul by a constant ones
vector, which trigc turns into a Dense layer with 1-bit weights: an adder tree).

Steps (seeded, single-threaded, reproducible): float baseline, QAT initialised
from it, export to QONNX (``anomaly_ae.onnx``) + state_dict (``anomaly_ae.pt``),
ROC AUC and signal efficiency at background acceptances 1e-3 and 1e-2 (float /
Brevitas / trigc emulation), and trigc's estimate.
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

NAME = "anomaly_ae"
HERE = Path(__file__).resolve().parent
SEED = 2026
BITS, ACT_BITS = 6, 8  # weights, activations
N_FEAT, N_HIDDEN, N_LATENT = 16, 32, 8
N_TRAIN, N_TEST_BKG, N_TEST_SIG = 200_000, 200_000, 20_000
FLOAT_EPOCHS, FLOAT_BATCH = 10, 512
QAT_EPOCHS, QAT_BATCH = 10, 1024
RATES = (1e-3, 1e-2)  # background acceptances at which signal efficiencies are quoted


class InputQuant(Int8ActPerTensorFixedPoint):
    """The trigger's input word: fixed<8,4> (scale 2^-4, range [-8, 8)), constant."""

    scaling_impl_type = ScalingImplType.CONST
    scaling_init = 8.0


class WeightQuantPerChannel(Int8WeightPerTensorFixedPoint):
    """Power-of-two weight scale per output channel (narrow range, round half even).
    A regression needs it more than a classifier: with one scale per tensor the
    6-bit weights cost twice the reconstruction error."""

    scaling_per_output_channel = True


class FloatAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc1 = nn.Linear(N_FEAT, N_HIDDEN)
        self.enc2 = nn.Linear(N_HIDDEN, N_LATENT)
        self.dec1 = nn.Linear(N_LATENT, N_HIDDEN)
        self.dec2 = nn.Linear(N_HIDDEN, N_FEAT)

    def reconstruct(self, x):
        z = self.enc2(torch.relu(self.enc1(x)))
        return self.dec2(torch.relu(self.dec1(z)))

    def forward(self, x):
        return ((x - self.reconstruct(x))**2).sum(dim=1, keepdim=True)


def _linear(n_in, n_out, bits):
    # Int16Bias: biases on the accumulator grid (per channel here), no rounding
    return qnn.QuantLinear(n_in, n_out, bias=True, weight_quant=WeightQuantPerChannel,
                           weight_bit_width=bits, bias_quant=Int16Bias,
                           return_quant_tensor=True)


class AnomalyAE(nn.Module):
    """The QAT autoencoder; ``forward`` returns the anomaly score (N, 1)."""

    def __init__(self, bits=BITS, act_bits=ACT_BITS):
        super().__init__()
        self.inp = qnn.QuantIdentity(act_quant=InputQuant, bit_width=8, return_quant_tensor=True)
        self.enc1 = _linear(N_FEAT, N_HIDDEN, bits)
        self.relu1 = qnn.QuantReLU(act_quant=Uint8ActPerTensorFixedPoint, bit_width=act_bits,
                                   return_quant_tensor=True)
        self.enc2 = _linear(N_HIDDEN, N_LATENT, bits)
        self.latent = qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint,
                                        bit_width=act_bits, return_quant_tensor=True)
        self.dec1 = _linear(N_LATENT, N_HIDDEN, bits)
        self.relu2 = qnn.QuantReLU(act_quant=Uint8ActPerTensorFixedPoint, bit_width=act_bits,
                                   return_quant_tensor=True)
        self.dec2 = _linear(N_HIDDEN, N_FEAT, bits)
        self.out = qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint, bit_width=8,
                                     return_quant_tensor=False)
        # the sum over features as a product with a constant ones vector
        self.register_buffer("ones", torch.ones(N_FEAT, 1), persistent=False)

    def reconstruct(self, xq):
        z = self.latent(self.enc2(self.relu1(self.enc1(xq))))
        return self.out(self.dec2(self.relu2(self.dec1(z))))

    def forward(self, x):
        xq = self.inp(x)
        # (during export the quantizers return plain tensors, not QuantTensors)
        diff = getattr(xq, "value", xq) - self.reconstruct(xq)
        return torch.matmul(diff * diff, self.ones)


def setup(seed: int = SEED) -> None:
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def load_data(n_train=N_TRAIN, n_bkg=N_TEST_BKG, n_sig=N_TEST_SIG, seed=SEED):
    """Background for training; held-out background and each signal for testing."""
    x = datasets.l1_events(n_train, datasets.split_seed(seed, "train"))
    test = {"background": datasets.l1_events(n_bkg, datasets.split_seed(seed, "test"))}
    for sig in datasets.L1_SIGNALS:
        test[sig] = datasets.l1_events(n_sig, datasets.split_seed(seed, "test-" + sig), sig)
    return x, test


def fit(model: nn.Module, x, epochs: int, lr: float, seed: int, batch: int,
        max_steps=None, log=print) -> nn.Module:
    """Adam on the mean anomaly score (= the summed squared reconstruction error)."""
    gen = torch.Generator().manual_seed(seed)
    xs = torch.from_numpy(x)
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
            opt.zero_grad()
            loss = model(xs[perm[i:i + batch]]).mean()
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss.detach())
            step += 1
            n_steps += 1
        log(f"  epoch {epoch + 1}/{epochs}: mean score {loss_sum / max(1, n_steps):.4f} "
            f"({time.time() - t0:.0f} s)")
        if step >= total:
            break
    return model.eval()


def forward(model: nn.Module, x, batch: int = 50_000) -> np.ndarray:
    """Eval-mode float32 forward pass (the score) as float64 numpy."""
    model.eval()
    x = np.asarray(x, dtype=np.float32)
    outs = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            outs.append(model(torch.from_numpy(x[i:i + batch])).numpy().astype(np.float64))
    return np.concatenate(outs)


def export(model: nn.Module, path) -> Path:
    """``export_qonnx``, then self-contained (weights inlined) and reproducible (of
    torch's per-node metadata only the module path, which names trigc's layers)."""
    path = Path(path)
    model.eval()
    with tempfile.TemporaryDirectory() as tmp:
        export_qonnx(model, torch.zeros(1, N_FEAT), str(Path(tmp) / path.name))
        proto = onnx.load(str(Path(tmp) / path.name))
    for node in proto.graph.node:
        keep = [p for p in node.metadata_props if p.key == "pkg.torch.onnx.name_scopes"]
        del node.metadata_props[:]
        node.metadata_props.extend(keep)
    del proto.metadata_props[:]
    proto.graph.name = NAME
    onnx.save(proto, str(path))
    return path


def load_trained(weights=HERE / f"{NAME}.pt") -> AnomalyAE:
    """Rebuild the quantized model from the committed state_dict (eval mode)."""
    model = AnomalyAE()
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return model.eval()


def figures_of_merit(scores: dict) -> dict:
    """{signal: (AUC, efficiency at each of RATES)} from {"background": s, signal: s}."""
    bkg = scores["background"]
    return {sig: (datasets.roc_auc(bkg, s),
                  *(datasets.efficiency_at_rate(bkg, s, r)[0] for r in RATES))
            for sig, s in scores.items() if sig != "background"}


def format_table(results: dict) -> str:
    """results: {"float": fom, "brevitas": fom, "trigc": fom}."""
    cols = ["AUC", *(f"eff@{r:g}" for r in RATES)]
    lines = [f"{'':<12}" + "".join(f"{k:^{11 * len(cols)}}" for k in results),
             f"{'signal':<12}" + "".join(f"{c:>11}" for _ in results for c in cols)]
    for sig in datasets.L1_SIGNALS:
        lines.append(f"{sig:<12}" + "".join(f"{v:>11.4f}" for fom in results.values()
                                            for v in fom[sig]))
    return "\n".join(lines)


def run(out_dir=HERE, epochs: int = QAT_EPOCHS, float_epochs: int = FLOAT_EPOCHS,
        seed: int = SEED, n_train: int = N_TRAIN, n_bkg: int = N_TEST_BKG,
        n_sig: int = N_TEST_SIG, max_steps=None, log=print) -> dict:
    """The whole script: train float + QAT, export, evaluate. Returns the metrics."""
    import trigc

    setup(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    x, test = load_data(n_train, n_bkg, n_sig, seed)
    t0 = time.time()

    log("float baseline")
    fmodel = fit(FloatAE(), x, float_epochs, 3e-3, seed, FLOAT_BATCH, max_steps, log)
    fom_float = figures_of_merit({k: forward(fmodel, v) for k, v in test.items()})

    log("quantization-aware training (Brevitas)")
    qmodel = AnomalyAE()
    with torch.no_grad():
        for name in ("enc1", "enc2", "dec1", "dec2"):
            getattr(qmodel, name).weight.copy_(getattr(fmodel, name).weight)
            getattr(qmodel, name).bias.copy_(getattr(fmodel, name).bias)
    fit(qmodel, x, epochs, 1e-3, seed + 1, QAT_BATCH, max_steps, log)
    scores_q = {k: forward(qmodel, v) for k, v in test.items()}
    fom_quant = figures_of_merit(scores_q)

    onnx_path = export(qmodel, out_dir / f"{NAME}.onnx")
    torch.save(qmodel.state_dict(), out_dir / f"{NAME}.pt")
    graph = trigc.load(onnx_path)
    scores_t = {k: trigc.emulate(graph, v) for k, v in test.items()}
    fom_trigc = figures_of_merit(scores_t)
    n_equal = sum(int(np.sum(scores_t[k] == scores_q[k])) for k in test)
    n_all = sum(len(v) for v in test.values())

    with tempfile.TemporaryDirectory() as tmp:
        project = trigc.compile(onnx_path, Path(tmp) / NAME)
        report = (project.path / "report.txt").read_text()
    results = {"float": fom_float, "brevitas": fom_quant, "trigc": fom_trigc}
    log(f"anomaly score on {len(test['background'])} background events and "
        f"{n_sig} per signal (efficiency at background acceptance r: eff@r):")
    log(format_table(results))
    log(f"trigc == brevitas on {n_equal}/{n_all} events")
    log(report)
    return {**results, "trigc_equals_brevitas": f"{n_equal}/{n_all}",
            "train_seconds": round(time.time() - t0, 1)}


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

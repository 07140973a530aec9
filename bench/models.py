"""The benchmark models: built here (seeded, a few QAT steps), or the reference models
of ``models/`` when their trained weights are present and load.

    python -m bench.models qkeras   WORKDIR   # QKeras models   (one fresh process)
    python -m bench.models brevitas WORKDIR   # Brevitas models (one fresh process)

For every model this writes, under WORKDIR:

    models/<name>.h5 | .onnx      the model file both tools start from (QKeras: the
                                  Keras .h5; Brevitas: the QONNX export)
    models/<name>.qonnx.onnx      QKeras only: trigc's own QONNX export (to_qonnx), for
                                  the extra "trigc from QONNX" conversion timing
    out/<name>/framework.npy      the framework's quantized forward pass on the inputs
    specs/<name>.json             architecture, parameters, MACs, source, accuracy, and
                                  the framework's float / quantized forward-pass timings

Architectures (the reference ones, see ``models/*/train.py``):

* QKeras MLPs: input ``QActivation(quantized_bits(8, 3, alpha=1))`` (fixed<8,4>), then
  ``QDense`` with ``quantized_bits(6, 0, alpha=1)`` kernel and bias and
  ``QActivation(quantized_relu(6))``; the last layer's output is the logits.
* Brevitas MLP: ``QuantIdentity`` fixed<8,4> input, ``QuantLinear`` with 6-bit
  power-of-two weights (Int8WeightPerTensorFixedPoint), Int16Bias, 6-bit unsigned
  ``QuantReLU`` (Uint8ActPerTensorFixedPoint), logits out.
* Brevitas conv (the reference conv_tagger): ufixed<8,2> 1x8x8 input, conv 3x3 1->8 +
  ReLU + maxpool 2, conv 3x3 8->16 + ReLU + maxpool 2, dense 64->16 + ReLU, dense 16->3.
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from bench.common import ROOT, log, read_json, write_json  # noqa: E402

SEED = 2026
QAT_STEPS = 40          # "a few QAT steps": enough to leave the random initialisation
QAT_BATCH = 512
N_TRAIN = QAT_STEPS * QAT_BATCH
FORWARD_REPS = 3
FORWARD_BATCH = 10_000

JET_SIZES = (16, 64, 32, 32, 5)
LARGE_SIZES = (16, 200, 200, 200, 200, 200, 5)
SCALING_WIDTHS = (16, 32, 64, 128)      # 16 -> w x 5 -> 5; w = 200 is mlp_large


def scaling_sizes(width: int) -> tuple:
    return (16,) + (width,) * 5 + (5,)


# name -> (framework, dataset, family, builder args)
MODELS = {
    "jet_qkeras": ("qkeras", "jet", "main", {"sizes": JET_SIZES}),
    "jet_brevitas": ("brevitas", "jet", "main", {"sizes": JET_SIZES}),
    "conv_brevitas": ("brevitas", "calo", "main", {}),
    "mlp_large": ("qkeras", "jet", "main", {"sizes": LARGE_SIZES}),
    **{f"mlp_w{w}": ("qkeras", "jet", "scaling", {"sizes": scaling_sizes(w)})
       for w in SCALING_WIDTHS},
}
SCALING_SERIES = [f"mlp_w{w}" for w in SCALING_WIDTHS] + ["mlp_large"]

REFERENCE = {  # bench model -> (models/ directory, trained weights file)
    "jet_qkeras": ("jet_tagger_qkeras", "jet_tagger_qkeras.h5"),
    "jet_brevitas": ("jet_tagger_brevitas", "jet_tagger_brevitas.pt"),
    "conv_brevitas": ("conv_tagger", "conv_tagger.pt"),
}


def describe(sizes) -> str:
    return "→".join(map(str, sizes))


def _load_reference_module(name: str):
    directory, _ = REFERENCE[name]
    path = ROOT / "models" / directory / "train.py"
    spec = importlib.util.spec_from_file_location(f"_bench_ref_{directory}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _reference_available(name: str) -> bool:
    if name not in REFERENCE or os.environ.get("BENCH_NO_REFERENCE") == "1":
        return False
    directory, weights = REFERENCE[name]
    return (ROOT / "models" / directory / weights).is_file() and \
        (ROOT / "models" / directory / "train.py").is_file()


def _train_data(dataset: str):
    from trigc import datasets

    seed = datasets.split_seed(SEED, "bench-train")
    if dataset == "jet":
        return datasets.jet_features(N_TRAIN, seed)
    return datasets.calo_images(N_TRAIN, seed)


def _time_forward(fn, x) -> list[float]:
    """Wall seconds of ``fn(x)`` on all events, FORWARD_REPS times."""
    times = []
    for _ in range(FORWARD_REPS):
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return times


def _finish(workdir: Path, name: str, spec: dict, forward_q, forward_f, x, y) -> None:
    import numpy as np

    out = forward_q(x)
    (workdir / "out" / name).mkdir(parents=True, exist_ok=True)
    np.save(workdir / "out" / name / "framework.npy", out)
    spec["accuracy_framework"] = float(np.mean(np.argmax(out, axis=1) == y))
    spec["forward_quantized_s"] = _time_forward(forward_q, x)
    spec["forward_float_s"] = _time_forward(forward_f, x) if forward_f else None
    spec["n_events"] = int(len(x))
    write_json(workdir / "specs" / f"{name}.json", spec)
    log(f"  {name}: {spec['params']} parameters, {spec['macs']} MACs/event, source "
        f"{spec['source']}, framework accuracy {spec['accuracy_framework']:.3f}")


# =============================================================================
# QKeras
# =============================================================================

def qkeras_mlp(sizes, bits: int = 6, name: str = "mlp"):
    import tensorflow as tf
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    x = tf.keras.Input((sizes[0],), name="inputs")
    h = QActivation(quantized_bits(8, 3, alpha=1), name="input_q")(x)
    for i, n in enumerate(sizes[1:]):
        h = QDense(n, kernel_quantizer=quantized_bits(bits, 0, alpha=1),
                   bias_quantizer=quantized_bits(bits, 0, alpha=1), name=f"fc{i + 1}")(h)
        if i < len(sizes) - 2:
            h = QActivation(quantized_relu(bits), name=f"relu{i + 1}")(h)
    return tf.keras.Model(x, h, name=name)


def _qkeras_float_twin(qmodel):
    """The same MLP with plain Dense + ReLU and the (unquantized) QAT weights."""
    import tensorflow as tf

    x = tf.keras.Input(qmodel.input_shape[1:])
    h = x
    dense = [layer for layer in qmodel.layers if hasattr(layer, "kernel")]
    for i, layer in enumerate(dense):
        d = tf.keras.layers.Dense(layer.kernel.shape[-1])
        h = d(h)
        d.set_weights(layer.get_weights()[:2])
        if i < len(dense) - 1:
            h = tf.keras.layers.ReLU()(h)
    return tf.keras.Model(x, h)


def _qkeras_macs(model) -> int:
    macs = 0
    for layer in model.layers:
        if hasattr(layer, "kernel"):
            out = layer.output_shape
            positions = math.prod(out[1:-1]) if len(out) > 2 else 1
            macs += int(layer.kernel.shape.num_elements()) * positions
    return macs


def _qkeras_fit(model, x, y, seed: int) -> None:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    model.compile(optimizer=tf.keras.optimizers.Adam(3e-3),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=QAT_BATCH, epochs=1, shuffle=True, verbose=0)


def prepare_qkeras(workdir: Path, names: list[str]) -> None:
    import numpy as np
    import onnx
    import tensorflow as tf

    from trigc.frontends.qkeras import to_qonnx

    tf.keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    data = {"jet": (np.load(workdir / "data" / "jet_x.npy"),
                    np.load(workdir / "data" / "jet_y.npy"))}
    for i, name in enumerate(names):
        framework, dataset, family, args = MODELS[name]
        sizes = args["sizes"]
        x, y = data[dataset]
        source, note = None, None
        model = None
        if _reference_available(name):
            try:
                ref = _load_reference_module(name)
                model = ref.load_trained()
                if tuple(model.input_shape[1:]) != (sizes[0],) or \
                        tuple(model.output_shape[1:]) != (sizes[-1],):
                    raise ValueError(f"unexpected shapes {model.input_shape} -> "
                                     f"{model.output_shape}")
                source = f"models/{REFERENCE[name][0]} (trained weights)"
            except Exception as exc:  # noqa: BLE001 - any failure: fall back to ours
                model, note = None, f"reference model not usable: {exc!r}"
                log(f"  {name}: {note}")
        if model is None:
            tf.keras.utils.set_random_seed(SEED + i)
            model = qkeras_mlp(sizes, name=name)
            xt, yt = _train_data(dataset)
            _qkeras_fit(model, xt, yt, SEED + i)
            source = f"bench (seed {SEED + i}, {QAT_STEPS} QAT steps)"
        h5 = workdir / "models" / f"{name}.h5"
        h5.parent.mkdir(parents=True, exist_ok=True)
        model.save(str(h5), include_optimizer=False)
        proto = to_qonnx(model)
        proto.graph.name = name
        onnx.save(proto, str(workdir / "models" / f"{name}.qonnx.onnx"))
        float_model = _qkeras_float_twin(model)

        def forward(m):
            def run(xs):
                return np.concatenate([
                    np.asarray(m(xs[j:j + FORWARD_BATCH], training=False), dtype=np.float64)
                    for j in range(0, len(xs), FORWARD_BATCH)])
            return run

        spec = {"name": name, "framework": "qkeras", "dataset": dataset, "family": family,
                "architecture": f"MLP {describe(sizes)}", "sizes": list(sizes),
                "width": sizes[1], "params": int(model.count_params()),
                "macs": _qkeras_macs(model), "source": source, "note": note,
                "model_file": str(h5),
                "qonnx_file": str(workdir / "models" / f"{name}.qonnx.onnx")}
        _finish(workdir, name, spec, forward(model), forward(float_model), x, y)


# =============================================================================
# Brevitas
# =============================================================================

def _brevitas_classes():
    import brevitas.nn as qnn
    from brevitas.inject.enum import ScalingImplType
    from brevitas.quant import (
        Int8ActPerTensorFixedPoint, Int8WeightPerTensorFixedPoint, Int16Bias,
        Uint8ActPerTensorFixedPoint,
    )
    from torch import nn

    class JetInput(Int8ActPerTensorFixedPoint):  # fixed<8,4>
        scaling_impl_type = ScalingImplType.CONST
        scaling_init = 8.0

    class CaloInput(Uint8ActPerTensorFixedPoint):  # ufixed<8,2>
        scaling_impl_type = ScalingImplType.CONST
        scaling_init = 4.0

    def linear(n_in, n_out, bits, last=False):
        return qnn.QuantLinear(n_in, n_out, bias=True,
                               weight_quant=Int8WeightPerTensorFixedPoint,
                               weight_bit_width=bits, bias_quant=Int16Bias,
                               return_quant_tensor=not last)

    def conv(c_in, c_out, bits):
        return qnn.QuantConv2d(c_in, c_out, 3, padding=1, bias=True,
                               weight_quant=Int8WeightPerTensorFixedPoint,
                               weight_bit_width=bits, bias_quant=Int16Bias,
                               return_quant_tensor=True)

    def relu(bits):
        return qnn.QuantReLU(act_quant=Uint8ActPerTensorFixedPoint, bit_width=bits,
                             return_quant_tensor=True)

    class MLP(nn.Module):
        def __init__(self, sizes, bits=6):
            super().__init__()
            self.n = len(sizes) - 1
            self.inp = qnn.QuantIdentity(act_quant=JetInput, bit_width=8,
                                         return_quant_tensor=True)
            for i in range(self.n):
                last = i == self.n - 1
                setattr(self, f"fc{i + 1}", linear(sizes[i], sizes[i + 1], bits, last))
                if not last:
                    setattr(self, f"relu{i + 1}", relu(bits))

        def forward(self, x):
            x = self.inp(x)
            for i in range(self.n):
                x = getattr(self, f"fc{i + 1}")(x)
                if i < self.n - 1:
                    x = getattr(self, f"relu{i + 1}")(x)
            return x

    class Conv(nn.Module):
        def __init__(self, bits=6):
            super().__init__()
            self.inp = qnn.QuantIdentity(act_quant=CaloInput, bit_width=8,
                                         return_quant_tensor=True)
            self.conv1, self.relu1, self.pool1 = conv(1, 8, bits), relu(bits), nn.MaxPool2d(2)
            self.conv2, self.relu2, self.pool2 = conv(8, 16, bits), relu(bits), nn.MaxPool2d(2)
            self.fc1, self.relu3 = linear(64, 16, bits), relu(bits)
            self.fc2 = linear(16, 3, bits, last=True)

        def forward(self, x):
            x = self.pool1(self.relu1(self.conv1(self.inp(x))))
            x = self.pool2(self.relu2(self.conv2(x)))
            x = self.relu3(self.fc1(x.flatten(1)))
            return self.fc2(x)

    return MLP, Conv


def _torch_float_twin(qmodel):
    """Same layers without quantizers (float weights of the QAT model)."""
    import torch
    from torch import nn

    layers = [(n, m) for n, m in qmodel.named_modules()
              if isinstance(m, (nn.Linear, nn.Conv2d))]

    class Float(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList()
            for _, m in layers:
                if isinstance(m, nn.Conv2d):
                    f = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size,
                                  padding=m.padding)
                else:
                    f = nn.Linear(m.in_features, m.out_features)
                with torch.no_grad():
                    f.weight.copy_(m.weight)
                    f.bias.copy_(m.bias)
                self.layers.append(f)

        def forward(self, x):
            for i, f in enumerate(self.layers):
                if isinstance(f, nn.Linear) and x.ndim > 2:
                    x = x.flatten(1)
                x = f(x)
                if i < len(self.layers) - 1:
                    x = torch.relu(x)
                    if isinstance(f, nn.Conv2d):
                        x = nn.functional.max_pool2d(x, 2)
            return x

    return Float().eval()


def _torch_macs(model, example) -> int:
    import torch
    from torch import nn

    macs = []

    def hook(module, inp, out):
        out = getattr(out, "value", out)
        positions = math.prod(out.shape[2:]) if out.ndim > 2 else 1
        macs.append(module.weight.numel() * positions)

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Linear, nn.Conv2d))]
    with torch.no_grad():
        model(example)
    for h in handles:
        h.remove()
    return int(sum(macs))


def _torch_fit(model, x, y, seed: int) -> None:
    import torch
    from torch import nn

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    perm = torch.randperm(len(xs), generator=gen)
    for i in range(0, len(xs), QAT_BATCH):
        idx = perm[i:i + QAT_BATCH]
        opt.zero_grad()
        out = model(xs[idx])
        loss = nn.functional.cross_entropy(getattr(out, "value", out), ys[idx])
        loss.backward()
        opt.step()
    model.eval()


def _export_brevitas(model, example, path: Path, name: str) -> None:
    """export_qonnx, self-contained (weights inlined), graph named after the model."""
    import tempfile

    import onnx
    from brevitas.export import export_qonnx

    model.eval()
    with tempfile.TemporaryDirectory() as tmp:
        export_qonnx(model, example, str(Path(tmp) / "m.onnx"))
        proto = onnx.load(str(Path(tmp) / "m.onnx"))
    proto.graph.name = name
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(path))


def prepare_brevitas(workdir: Path, names: list[str]) -> None:
    import numpy as np
    import torch

    torch.manual_seed(SEED)
    MLP, Conv = _brevitas_classes()
    data = {d: (np.load(workdir / "data" / f"{d}_x.npy"), np.load(workdir / "data" / f"{d}_y.npy"))
            for d in ("jet", "calo") if (workdir / "data" / f"{d}_x.npy").is_file()}
    for i, name in enumerate(names):
        framework, dataset, family, args = MODELS[name]
        x, y = data[dataset]
        example = torch.zeros(1, *x.shape[1:])
        path = workdir / "models" / f"{name}.onnx"
        source, note, model = None, None, None
        if _reference_available(name):
            try:
                ref = _load_reference_module(name)
                model = ref.load_trained().eval()
                ref.export(model, path)
                source = f"models/{REFERENCE[name][0]} (trained weights)"
            except Exception as exc:  # noqa: BLE001
                model, note = None, f"reference model not usable: {exc!r}"
                log(f"  {name}: {note}")
        if model is None:
            torch.manual_seed(SEED + 100 + i)
            model = MLP(args["sizes"]) if dataset == "jet" else Conv()
            xt, yt = _train_data(dataset)
            _torch_fit(model, xt, yt, SEED + 100 + i)
            _export_brevitas(model, example, path, name)
            source = f"bench (seed {SEED + 100 + i}, {QAT_STEPS} QAT steps)"
        float_model = _torch_float_twin(model)

        def forward(m):
            def run(xs):
                outs = []
                with torch.no_grad():
                    for j in range(0, len(xs), FORWARD_BATCH):
                        o = m(torch.from_numpy(np.ascontiguousarray(xs[j:j + FORWARD_BATCH])))
                        outs.append(getattr(o, "value", o).numpy().astype(np.float64))
                return np.concatenate(outs)
            return run

        arch = (f"MLP {describe(args['sizes'])}" if dataset == "jet" else
                "Conv 1x8x8: conv3x3(8)+pool, conv3x3(16)+pool, 64→16→3")
        spec = {"name": name, "framework": "brevitas", "dataset": dataset, "family": family,
                "architecture": arch, "sizes": list(args.get("sizes", ())),
                "width": None, "params": int(sum(p.numel() for p in float_model.parameters())),
                "macs": _torch_macs(model, example), "source": source, "note": note,
                "model_file": str(path), "qonnx_file": None}
        _finish(workdir, name, spec, forward(model), forward(float_model), x, y)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    framework, workdir = argv[0], Path(argv[1])
    names = argv[2].split(",") if len(argv) > 2 and argv[2] else \
        [n for n, m in MODELS.items() if m[0] == framework]
    names = [n for n in names if MODELS[n][0] == framework]
    try:
        if framework == "qkeras":
            prepare_qkeras(workdir, names)
        else:
            prepare_brevitas(workdir, names)
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["MODELS", "SCALING_SERIES", "read_json"]

"""Profiling for post-training quantization (PTQ), like hls4ml's ``numerical`` profiling.

``profile(model, data)`` runs the model's *float* forward pass on calibration data,
records the value range of every tensor (model input, every node output, and every
weight/bias feeding MatMul/Gemm/Conv) and suggests a fixed-point type per tensor:

* integer bits: the fewest that hold the largest observed magnitude (or, with
  ``percentile=P``, the P-th percentile of ``|x|``, to ignore outliers), plus the
  sign bit when the tensor has negative values, plus ``margin`` extra bits;
* total width: the user's ``width`` (default 16); the remaining bits are fractional.

Without ``percentile`` every suggested type holds every observed value (checked with
the type's own rounding). With it, outliers beyond the type are expected, so the
suggested types saturate (``SAT``) instead of wrapping, unless ``overflow`` says
otherwise.

The forward pass uses onnxruntime with every intermediate tensor exposed as a graph
output; a model with QONNX custom ops (Quant, BipolarQuant, Trunc) runs in qonnx's
node-by-node executor instead (``executor='auto'`` picks).

Tensors are named by the user's layer exactly as trigc names them (the ``source`` of
the imported IR: ``"/fc1/Gemm"`` -> ``"fc1"``, torch.onnx module scopes).
:meth:`Profile.precision_config` gives the overrides for ``trigc.load(model,
precision=...)``: ``'input'`` (when the model input has no type of its own) and the
output tensor of every float-derived layer that exists in the firmware. Tensors whose
type the model already fixes (QONNX Quant outputs, and layers computed only from
quantized values, which trigc types exactly) are profiled but left out, as are
tensors that exist only inside a fused layer (the MatMul before its bias Add) and
layout ops. ``precision_config(weights=True)`` adds the ``'weights'`` key (one type
for every float weight and bias, which trigc rounds into it).
"""

from __future__ import annotations

import copy
import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from trigc.errors import ConfigError, ModelError, TrigcError
from trigc.fixed import FixedType, Overflow, Rounding, requantize

log = logging.getLogger(__name__)

DEFAULT_WIDTH = 16
#: percentiles of x recorded for every tensor (plus the one of ``percentile=``)
PERCENTILES = (0.1, 1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0, 99.9)
#: at most this many values per tensor are kept for percentiles (min/max are exact)
MAX_VALUES = 1_000_000
QUANT_OPS = ("Quant", "BipolarQuant", "Trunc")
LINEAR_OPS = ("MatMul", "Gemm", "Conv")
LAYOUT_OPS = ("Reshape", "Transpose", "Concat", "Flatten", "Identity", "Dropout")
FIRMWARE_LAYOUT_OPS = ("Reshape", "Transpose", "Concat")
STANDARD_DOMAINS = ("", "ai.onnx")

# why a profiled tensor is (not) in precision_config()
NOTE_CONFIG = "config"
NOTE_QUANT = "trained Quant"
NOTE_QUANT_INPUT = "typed by Quant"
NOTE_EXACT = "exact (quantized operands)"
NOTE_FUSED = "fused"
NOTE_LAYOUT = "layout"
NOTE_WEIGHT = "weights"
NOTE_EXACT_CONST = "exact"


# ---- suggested types ----------------------------------------------------------

def _parse_rounding(value) -> Rounding:
    if isinstance(value, Rounding):
        return value
    try:
        return Rounding[str(value).upper().removeprefix("AP_")]
    except KeyError:
        raise ConfigError(f"Unknown rounding {value!r}; use one of "
                          f"{[r.name for r in Rounding]}") from None


def _parse_overflow(value) -> Overflow:
    if isinstance(value, Overflow):
        return value
    try:
        return Overflow[str(value).upper().removeprefix("AP_")]
    except KeyError:
        raise ConfigError(f"Unknown overflow mode {value!r}; use one of "
                          f"{[o.name for o in Overflow]}") from None


def _fits(t: FixedType, values) -> np.ndarray:
    """Per value: assigning it to ``t`` (with ``t``'s rounding) needs no overflow handling."""
    x = np.asarray(values, dtype=np.float64)
    mant, exp = np.frexp(x)
    mant_int = (mant * (1 << 53)).astype(np.int64)  # exact, as fixed.quantize does
    src_frac = np.minimum(53 - exp.astype(np.int64), t.frac_bits + 60)
    q = requantize(mant_int, src_frac, t, wrap=False)
    low = -t.max_raw if (t.overflow is Overflow.SAT_SYM and t.signed) else t.min_raw
    return (q >= low) & (q <= t.max_raw)


def holds(t: FixedType, lo: float, hi: float) -> bool:
    """True when assigning ``lo`` and ``hi`` (and so every value between them) to ``t``
    neither overflows nor rounds past the type's range."""
    return bool(np.all(_fits(t, [lo, hi])))


def suggest_type(lo: float, hi: float, width: int = DEFAULT_WIDTH, *, signed: bool | None = None,
                 rounding=Rounding.TRN, overflow=Overflow.WRAP, margin: int = 0) -> FixedType:
    """The ``width``-bit type with the fewest integer bits that holds [lo, hi].

    Signed when ``lo < 0`` (unless ``signed`` is given); ``margin`` adds integer bits."""
    lo, hi = float(lo), float(hi)
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise ConfigError(f"Cannot suggest a type for the range [{lo}, {hi}]")
    rounding, overflow = _parse_rounding(rounding), _parse_overflow(overflow)
    if not isinstance(width, int) or width < 1:
        raise ConfigError(f"Width must be a positive integer, not {width!r}")
    signed = lo < 0 if signed is None else bool(signed)
    if overflow is Overflow.WRAP_SM and not signed:
        overflow = Overflow.WRAP
    peak = max(abs(lo), abs(hi))
    if peak == 0:  # all zero: every type holds it; all bits fractional
        return FixedType(signed, width, int(signed) + int(margin), rounding, overflow)
    integer = math.frexp(peak)[1] + int(signed) - 2
    while True:
        t = FixedType(signed, width, integer, rounding, overflow)
        if holds(t, lo, hi):
            break
        integer += 1
    return FixedType(signed, width, integer + int(margin), rounding, overflow)


# ---- results ------------------------------------------------------------------

@dataclass
class TensorProfile:
    """Observed statistics and the suggested type of one tensor."""

    name: str
    layer: str
    kind: str              # "input", "activation", "weight", "bias"
    op: str                # ONNX op producing it (activations) or reading it (weights)
    shape: tuple           # per sample for activations, full shape for weights
    count: int             # number of values observed
    min: float
    max: float
    max_abs: float
    mean: float
    std: float
    zero_fraction: float
    percentiles: dict      # {p: value of x at percentile p}
    abs_box: tuple | None  # (min, q1, median, q3, max) of nonzero |x|, None if all zero
    bound: float           # magnitude the type was sized for (max |x| or a percentile)
    suggested: FixedType
    outside: int           # observed values the suggested type cannot hold
    note: str = ""         # what precision_config() does with it (NOTE_*)
    key: str = ""          # its precision_config() key when not its own name

    @property
    def in_config(self) -> bool:
        return self.note == NOTE_CONFIG

    @property
    def config_key(self) -> str:
        return self.key or self.name

    def to_dict(self) -> dict:
        return {
            "name": self.name, "layer": self.layer, "kind": self.kind, "op": self.op,
            "shape": list(self.shape), "count": self.count, "min": self.min, "max": self.max,
            "max_abs": self.max_abs, "mean": self.mean, "std": self.std,
            "zero_fraction": self.zero_fraction,
            "percentiles": {f"{p:g}": v for p, v in self.percentiles.items()},
            "abs_box": None if self.abs_box is None else list(self.abs_box),
            "bound": self.bound, "suggested": str(self.suggested),
            "integer_bits": self.suggested.integer_bits, "outside": self.outside,
            "note": self.note, "key": self.config_key if self.in_config else None,
        }


@dataclass
class Profile:
    """The result of :func:`profile`."""

    model: str
    tensors: list[TensorProfile]
    n_samples: int
    width: int
    percentile: float | None
    executor: str
    input_keys: dict = field(default_factory=dict)  # model input name -> config key
    lowering_error: str = ""

    def __getitem__(self, name: str) -> TensorProfile:
        for t in self.tensors:
            if t.name == name:
                return t
        raise KeyError(f"No profiled tensor {name!r}; profiled: {[t.name for t in self.tensors]}")

    def __contains__(self, name) -> bool:
        return any(t.name == name for t in self.tensors)

    def __iter__(self):
        return iter(self.tensors)

    def __len__(self) -> int:
        return len(self.tensors)

    @property
    def activations(self) -> list[TensorProfile]:
        return [t for t in self.tensors if t.kind in ("input", "activation")]

    @property
    def weights(self) -> list[TensorProfile]:
        return [t for t in self.tensors if t.kind in ("weight", "bias")]

    def weights_type(self) -> FixedType | None:
        """One type (at the profile's width) holding every profiled weight and bias,
        with the rounding trigc applies to float constants (RND_CONV, SAT)."""
        ws = self.weights
        if not ws:
            return None
        return suggest_type(min(t.min for t in ws), max(t.max for t in ws), self.width,
                            rounding=Rounding.RND_CONV, overflow=Overflow.SAT)

    def precision_config(self, weights: bool = False) -> dict[str, str]:
        """Overrides for ``trigc.load(model, precision=...)``: ``'input'`` (or one key
        per input for several untyped inputs) and the output tensor of every float
        layer in the firmware; with ``weights=True`` also ``'weights'``."""
        config: dict[str, str] = {}
        for t in self.tensors:
            if t.kind == "input" and t.name in self.input_keys:
                config[self.input_keys[t.name]] = str(t.suggested)
        for t in self.tensors:
            if t.kind == "activation" and t.in_config:
                config[t.config_key] = str(t.suggested)
        if weights and self.weights:
            config["weights"] = str(self.weights_type())
        return config

    def table(self) -> str:
        """An aligned text table: layer, tensor, kind, min, max, max|x|, suggested type
        and what precision_config() does with it."""
        head = ("layer", "tensor", "kind", "min", "max", "max|x|", "suggested", "use")
        rows = [head]
        for t in self.tensors:
            use = t.note
            if t.in_config and t.config_key != t.name:
                use = f"{use} as {t.config_key!r}"
            if t.outside:
                use = f"{use}; {t.outside} outside" if use else f"{t.outside} outside"
            rows.append((t.layer or "-", t.name, t.kind, f"{t.min:.4g}", f"{t.max:.4g}",
                         f"{t.max_abs:.4g}", str(t.suggested), use))
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        right = {3, 4, 5}
        lines = []
        for k, r in enumerate(rows):
            cells = [c.rjust(w) if i in right else c.ljust(w)
                     for i, (c, w) in enumerate(zip(r, widths))]
            lines.append("  ".join(cells).rstrip())
            if k == 0:
                lines.append("  ".join("-" * w for w in widths))
        mode = (f"integer bits for the {self.percentile:g}th percentile of |x| (outliers "
                "saturate)" if self.percentile is not None else "integer bits for max |x|")
        lines.append("")
        lines.append(f"{self.model}: {self.n_samples} samples, width {self.width}, {mode}; "
                     f"'config' rows and the input go to precision_config()")
        if self.lowering_error:
            lines.append(f"note: trigc could not lower the model ({self.lowering_error}); "
                         "precision_config() lists every float node output")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        wt = self.weights_type()
        return {
            "model": self.model, "n_samples": self.n_samples, "width": self.width,
            "percentile": self.percentile, "executor": self.executor,
            "precision": self.precision_config(),
            "weights_type": None if wt is None else str(wt),
            "tensors": [t.to_dict() for t in self.tensors],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1) + "\n"

    def write(self, out_dir, weights: bool = False) -> list[Path]:
        """Write ``precision.json`` (``{"precision": {...}}``, readable by ``trigc
        inspect/compile --config``), ``profile.json`` and ``profile.png``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / "precision.json", out / "profile.json", out / "profile.png"]
        paths[0].write_text(json.dumps({"precision": self.precision_config(weights)},
                                       indent=1) + "\n")
        paths[1].write_text(self.to_json())
        self.plot(paths[2])
        return paths

    def plot(self, path) -> Path:
        """A PNG like hls4ml's profiling: per tensor a box/whisker of log2|x| (box:
        quartiles of the nonzero |x|, whiskers: smallest and largest), over a grey bar
        spanning the suggested type (LSB to largest magnitude); in percentile mode a red
        mark at the percentile. Uses a bare Figure and the Agg canvas (no pyplot)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import Rectangle

        groups = [(title, rows) for title, rows in
                  (("weights and biases", self.weights), ("activations", self.activations))
                  if rows]
        n_rows = sum(len(rows) for _, rows in groups)
        fig = Figure(figsize=(9.0, 1.6 + 0.34 * max(n_rows, 1) + 0.5 * len(groups)))
        FigureCanvasAgg(fig)
        axes = fig.subplots(len(groups), 1, squeeze=False, gridspec_kw={
            "height_ratios": [max(len(rows), 1) + 1 for _, rows in groups]})[:, 0]
        for ax, (title, rows) in zip(axes, groups):
            lows, highs = [], []
            edge = "#1b4f72"
            for i, t in enumerate(rows):
                st = t.suggested
                lsb = math.log2(st.lsb)
                top = math.log2(max(abs(st.min_value), abs(st.max_value), st.lsb))
                ax.add_patch(Rectangle((lsb, i - 0.4), top - lsb, 0.8, facecolor="#d5d8dc",
                                       edgecolor="#909497", linewidth=0.6, zorder=0))
                lows.append(lsb)
                highs.append(top)
                if t.abs_box is None:
                    continue
                # drawn by hand: Axes.bxp reads every rcParam, which imports pyplot
                lo, q1, med, q3, hi = (math.log2(v) for v in t.abs_box)
                ax.add_patch(Rectangle((q1, i - 0.25), max(q3 - q1, 1e-3), 0.5,
                                       facecolor="#5dade2", edgecolor=edge, linewidth=0.8,
                                       zorder=2))
                ax.plot([med, med], [i - 0.25, i + 0.25], color=edge, linewidth=1.2, zorder=3)
                ax.plot([lo, q1], [i, i], color=edge, linewidth=0.8, zorder=1)
                ax.plot([q3, hi], [i, i], color=edge, linewidth=0.8, zorder=1)
                for end in (lo, hi):
                    ax.plot([end, end], [i - 0.12, i + 0.12], color=edge, linewidth=0.8,
                            zorder=1)
                lows.append(lo)
                highs.append(hi)
                if self.percentile is not None and t.kind in ("input", "activation"):
                    ax.plot([math.log2(t.bound)] * 2, [i - 0.4, i + 0.4], color="#c0392b",
                            linewidth=1.0, zorder=3)
            ax.set_yticks(range(len(rows)))
            ax.set_yticklabels([f"{t.layer}: {t.name}  {t.suggested}" if t.layer
                                else f"{t.name}  {t.suggested}" for t in rows], fontsize=7)
            ax.set_ylim(len(rows) - 0.5, -0.5)
            if lows:
                ax.set_xlim(math.floor(min(lows)) - 1, math.ceil(max(highs)) + 1)
            ax.set_xlabel("log2 |x|", fontsize=8)
            ax.tick_params(axis="x", labelsize=7)
            ax.grid(axis="x", linewidth=0.3, alpha=0.6)
            ax.set_title(title, fontsize=9)
        mode = (f"p{self.percentile:g} of |x|" if self.percentile is not None else "max |x|")
        fig.suptitle(f"{self.model}: {self.n_samples} samples; boxes: nonzero |x| quartiles, "
                     f"whiskers min/max; grey: suggested type ({self.width} bits, {mode})",
                     fontsize=8)
        fig.tight_layout()
        fig.savefig(str(path), format="png", dpi=100, metadata={"Software": None})
        return Path(path)


# ---- statistics ---------------------------------------------------------------

class _Stats:
    """Running exact min/max/moments plus an evenly strided sample for percentiles."""

    def __init__(self, step: int = 1) -> None:
        self.step = max(int(step), 1)
        self.seen = 0
        self.count = 0
        self.lo = math.inf
        self.hi = -math.inf
        self.sum = 0.0
        self.sumsq = 0.0
        self.zeros = 0
        self.chunks: list[np.ndarray] = []
        self.shape: tuple = ()

    def add(self, arr: np.ndarray) -> None:
        flat = np.asarray(arr, dtype=np.float64).ravel()
        if flat.size == 0:
            return
        self.lo = min(self.lo, float(flat.min()))
        self.hi = max(self.hi, float(flat.max()))
        self.sum += float(flat.sum())
        self.sumsq += float(np.dot(flat, flat))
        self.zeros += int(np.count_nonzero(flat == 0))
        start = (-self.seen) % self.step
        self.chunks.append(flat[start::self.step].copy())
        self.seen += flat.size
        self.count += flat.size

    def values(self) -> np.ndarray:
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0)


def _finish(name: str, layer: str, kind: str, op: str, st: _Stats, width: int,
            percentile: float | None, rounding, overflow, margin: int) -> TensorProfile:
    vals = st.values()
    absv = np.abs(vals)
    nonzero = absv[absv > 0]
    pct = {p: float(np.percentile(vals, p)) for p in PERCENTILES} if vals.size else {}
    if percentile is not None and vals.size:
        pct.setdefault(float(percentile), float(np.percentile(vals, percentile)))
    max_abs = max(abs(st.lo), abs(st.hi))
    abs_box = None
    if nonzero.size:
        q1, med, q3 = np.percentile(nonzero, (25, 50, 75))
        # max |x| is exact; the smallest nonzero |x| comes from the (strided) sample
        small = float(nonzero.min())
        abs_box = (small, float(q1), float(med), float(q3), max_abs)
    bound = max_abs
    lo, hi = st.lo, st.hi
    if percentile is not None and absv.size:
        bound = float(np.percentile(absv, percentile))
        lo, hi = max(lo, -bound), min(hi, bound)
    t = suggest_type(lo, hi, width, signed=st.lo < 0, rounding=rounding, overflow=overflow,
                     margin=margin)
    outside = 0
    if percentile is not None and vals.size:
        # counted on the sample, scaled to all values (exact when nothing was skipped)
        over = int(np.count_nonzero(~_fits(t, vals)))
        outside = over if vals.size == st.count else round(over * st.count / vals.size)
    mean = st.sum / st.count
    var = max(st.sumsq / st.count - mean * mean, 0.0)
    return TensorProfile(
        name=name, layer=layer, kind=kind, op=op, shape=tuple(int(d) for d in st.shape),
        count=st.count, min=st.lo, max=st.hi, max_abs=max_abs, mean=mean, std=math.sqrt(var),
        zero_fraction=st.zeros / st.count, percentiles=pct, abs_box=abs_box, bound=bound,
        suggested=t, outside=outside)


# ---- the model ----------------------------------------------------------------

def _read(model) -> tuple[onnx.ModelProto, str]:
    from trigc.frontends.onnx_import import _read_model

    proto = _read_model(model)
    name = Path(model).stem if isinstance(model, (str, Path)) else (proto.graph.name or "model")
    return proto, name


def _model_inputs(proto: onnx.ModelProto) -> list:
    inits = {i.name for i in proto.graph.initializer}
    return [vi for vi in proto.graph.input if vi.name not in inits]


def _dims(vi) -> list:
    return [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
            for d in vi.type.tensor_type.shape.dim]


def _np_dtype(vi):
    try:
        dt = onnx.helper.tensor_dtype_to_np_dtype(vi.type.tensor_type.elem_type)
    except Exception:  # unknown element type
        return np.float32
    return dt if np.issubdtype(dt, np.floating) else np.float32


def _check_data(proto: onnx.ModelProto, data) -> dict[str, np.ndarray]:
    inputs = _model_inputs(proto)
    if not inputs:
        raise ModelError("The model has no non-constant input")
    names = [vi.name for vi in inputs]
    if isinstance(data, Mapping):
        missing = [n for n in names if n not in data]
        extra = [k for k in data if k not in names]
        if missing or extra:
            raise ConfigError(f"Profiling data is keyed {sorted(data)}; the model's inputs "
                              f"are {names}")
        arrays = dict(data)
    else:
        if len(inputs) != 1:
            raise ConfigError(f"The model has {len(inputs)} inputs {names}; pass the profiling "
                              "data as a dict {input name: array}")
        arrays = {names[0]: data}
    out = {}
    for vi in inputs:
        dims = _dims(vi)
        per_sample = dims[1:]
        expected = "(N, " + ", ".join("?" if d is None else str(d) for d in per_sample) + ")"
        if len(per_sample) == 0:
            expected = "(N,)"
        try:
            x = np.asarray(arrays[vi.name])
        except Exception as exc:
            raise ConfigError(f"Profiling data for input {vi.name!r} is not an array: "
                              f"{exc}") from None
        if x.dtype.kind not in "fiub":
            raise ConfigError(f"Profiling data for input {vi.name!r} has dtype {x.dtype}; "
                              f"expected a float array of shape {expected}")
        if x.ndim == len(per_sample) and all(d is None or d == s
                                              for d, s in zip(per_sample, x.shape)):
            raise ConfigError(f"Profiling data for input {vi.name!r} has shape {x.shape}, "
                              f"one sample without the batch axis; expected {expected} "
                              "(use x[None] for a single sample)")
        if x.ndim != len(dims) or any(d is not None and d != s
                                      for d, s in zip(per_sample, x.shape[1:])):
            raise ConfigError(f"Profiling data for input {vi.name!r} has shape {x.shape}; "
                              f"the model expects {expected}")
        if x.shape[0] == 0:
            raise ConfigError(f"Profiling data for input {vi.name!r} is empty (shape "
                              f"{x.shape}); expected {expected} with N >= 1")
        bad = ~np.isfinite(x.astype(np.float64, copy=False))
        if bad.any():
            n_nan = int(np.count_nonzero(np.isnan(x.astype(np.float64, copy=False))))
            raise ConfigError(f"Profiling data for input {vi.name!r} (shape {x.shape}, "
                              f"expected {expected}) holds {n_nan} NaN and "
                              f"{int(bad.sum()) - n_nan} infinite values; clean it first")
        out[vi.name] = x.astype(_np_dtype(vi), copy=False)
    return out


def _constant_names(proto: onnx.ModelProto) -> set[str]:
    """Initializers and everything computed only from them."""
    const = {i.name for i in proto.graph.initializer}
    for node in proto.graph.node:
        ins = [n for n in node.input if n]
        if all(n in const for n in ins):
            const.update(o for o in node.output if o)
    return const


@dataclass
class _Lowering:
    layers: dict            # tensor name -> the user's layer (trigc's node source)
    firmware: dict | None   # ONNX tensor -> (precision key, trigc op) of the firmware node
    input_types: dict | None
    error: str = ""


def _lower(proto: onnx.ModelProto) -> _Lowering:
    """Import the model with trigc and run every pass before precision inference:
    the user's layer of each tensor, and which firmware node computes each ONNX tensor
    (None: it exists only inside a fused node, e.g. the MatMul before its bias Add).

    A firmware node is keyed by its output tensor's name when that is the ONNX name,
    else (a layout pass renamed its output, e.g. a Relu between channels-last
    Transposes) by the node's name; ``trigc.load`` accepts both as precision keys."""
    from trigc.frontends.onnx_import import _torch_scope, import_onnx, layer_name

    fallback = {}
    for i, node in enumerate(proto.graph.node):
        source = _torch_scope(node) or layer_name(node.name or f"{node.op_type}_{i}")
        for o in node.output:
            fallback[o] = source
    try:
        graph = import_onnx(proto)
    except TrigcError as exc:
        log.info("profile: trigc cannot import the model (%s); layer names from node names",
                 exc)
        return _Lowering(fallback, None, None, str(exc))
    layers = dict(fallback)
    layers.update({name: t.source for name, t in graph.tensors.items() if t.source})
    onnx_names = {o for node in proto.graph.node for o in node.output if o}
    made_by = {name: t.producer.name for name, t in graph.tensors.items()
               if name in onnx_names and t.producer is not None}
    try:
        from trigc.passes import PIPELINE

        for p in PIPELINE:
            if p.__name__ == "infer_precision":
                break
            p(graph)
    except TrigcError as exc:
        log.info("profile: trigc cannot lower the model (%s)", exc)
        return _Lowering(layers, None, None, str(exc))
    by_node: dict[str, list[str]] = {}
    for o, n in made_by.items():
        by_node.setdefault(n, []).append(o)
    firmware: dict[str, tuple[str, str]] = {}
    layout = [n for n in graph.nodes if n.op.value in FIRMWARE_LAYOUT_OPS]
    compute = [n for n in graph.nodes if n.op.value not in FIRMWARE_LAYOUT_OPS]
    for node in layout + compute:  # a compute node wins over a layout node
        out = node.output.name
        if out in onnx_names:
            firmware[out] = (out, node.op.value)
        elif len(node.outputs) == 1 and len(by_node.get(node.name, [])) == 1:
            firmware[by_node[node.name][0]] = (node.name, node.op.value)
    return _Lowering(layers, firmware, {t.name: t.type for t in graph.inputs})


def _float_derived(proto: onnx.ModelProto, width: int) -> set[str]:
    """Tensors whose values depend on unquantized data: the model inputs and float
    constants that no ``width``-bit type holds exactly, through every op but the
    QONNX quantizers."""
    from trigc.fixed import constant_type

    tainted = {vi.name for vi in _model_inputs(proto)}
    for init in proto.graph.initializer:
        if init.data_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE,
                              onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16):
            try:
                constant_type(numpy_helper.to_array(init), max_width=width)
            except TrigcError:
                tainted.add(init.name)
    for node in proto.graph.node:
        if node.op_type in QUANT_OPS:
            continue
        if any(n in tainted for n in node.input if n):
            tainted.update(o for o in node.output if o)
    return tainted


def _weight_roles(proto: onnx.ModelProto, const: set[str]) -> dict[str, tuple[str, str, str]]:
    """{constant tensor: (kind, op, output of the consuming node)} for the weights and
    biases of MatMul/Gemm/Conv (and the constant of a bias Add after them)."""
    producer = {o: node for node in proto.graph.node for o in node.output}
    roles: dict[str, tuple[str, str, str]] = {}
    for node in proto.graph.node:
        if node.op_type in LINEAR_OPS:
            for i, n in enumerate(node.input):
                if n and n in const and n not in roles:
                    roles[n] = ("bias" if i == 2 else "weight", node.op_type, node.output[0])
        elif node.op_type in ("Add", "Sub") and len(node.input) == 2:
            a, b = node.input
            for c, other in ((a, b), (b, a)):
                p = producer.get(other)
                if c in const and other not in const and p is not None \
                        and p.op_type in LINEAR_OPS and c not in roles:
                    roles[c] = ("bias", node.op_type, node.output[0])
    return roles


# ---- forward passes -----------------------------------------------------------

def _uses_custom_ops(proto: onnx.ModelProto) -> bool:
    return any(node.domain not in STANDARD_DOMAINS for node in proto.graph.node)


class _OrtRunner:
    def __init__(self, proto: onnx.ModelProto, names: list[str]) -> None:
        import onnxruntime as ort

        m = copy.deepcopy(proto)
        try:
            inferred = onnx.shape_inference.infer_shapes(m)
            elem = {vi.name: vi.type.tensor_type.elem_type
                    for vi in (*inferred.graph.value_info, *inferred.graph.output,
                               *inferred.graph.input)}
        except Exception:  # shape inference is only used for element types
            elem = {}
        del m.graph.value_info[:]
        for vi in _model_inputs(m):
            dims = vi.type.tensor_type.shape.dim
            if len(dims):
                dims[0].Clear()
                dims[0].dim_param = "batch"
        outputs = [vi.name for vi in m.graph.output]
        out_elem = {vi.name: vi.type.tensor_type.elem_type for vi in m.graph.output}
        del m.graph.output[:]
        self.names = list(dict.fromkeys(outputs + names))
        for n in self.names:
            et = out_elem.get(n) or elem.get(n) or onnx.TensorProto.FLOAT
            m.graph.output.append(onnx.helper.make_tensor_value_info(n, et, None))
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        opts.log_severity_level = 4  # failures are raised (or retried)
        try:
            self.session = ort.InferenceSession(m.SerializeToString(), opts,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ModelError(f"onnxruntime cannot load the model for profiling: {exc}") from None

    def __call__(self, feeds: dict) -> dict:
        values = self.session.run(self.names, feeds)
        return dict(zip(self.names, values))


class _QonnxRunner:
    def __init__(self, proto: onnx.ModelProto, names: list[str]) -> None:
        self.proto = proto
        self.cache: dict[int, object] = {}

    def _model(self, batch: int):
        if batch not in self.cache:
            from qonnx.core.modelwrapper import ModelWrapper
            from qonnx.transformation.infer_shapes import InferShapes

            m = copy.deepcopy(self.proto)
            del m.graph.value_info[:]
            inits = {i.name for i in m.graph.initializer}
            for vi in (*m.graph.input, *m.graph.output):
                dims = vi.type.tensor_type.shape.dim
                if vi.name not in inits and len(dims):
                    dims[0].Clear()
                    dims[0].dim_value = batch
            try:
                self.cache[batch] = ModelWrapper(m).transform(InferShapes())
            except Exception as exc:
                raise ModelError(f"qonnx shape inference failed for profiling: {exc}") from None
        return self.cache[batch]

    def __call__(self, feeds: dict) -> dict:
        from qonnx.core.onnx_exec import execute_onnx

        batch = next(iter(feeds.values())).shape[0]
        ctx = execute_onnx(self._model(batch), feeds, return_full_exec_context=True)
        return {k: v for k, v in ctx.items() if v is not None}


def _forward(runner, arrays: dict, batch_size: int):
    """Yield the runner's outputs chunk by chunk; a model that hard-codes batch 1
    (e.g. Reshape to [1, -1]) falls back to one sample at a time."""
    n = next(iter(arrays.values())).shape[0]
    size = max(int(batch_size), 1)
    start = 0
    while start < n:
        stop = min(start + size, n)
        feeds = {k: v[start:stop] for k, v in arrays.items()}
        try:
            out = runner(feeds)
        except Exception as exc:
            if isinstance(exc, TrigcError):
                raise
            if size > 1:
                log.warning("profile: the model does not run on a batch of %d (%s); "
                            "running one sample at a time", stop - start, exc)
                size = 1
                continue
            raise ModelError(f"The float forward pass failed: {exc}") from None
        yield stop - start, out
        start = stop


# ---- entry point --------------------------------------------------------------

def profile(model, data, *, width: int = DEFAULT_WIDTH, percentile: float | None = None,
            margin: int = 0, rounding="TRN", overflow=None, executor: str = "auto",
            batch_size: int = 4096, max_values: int = MAX_VALUES) -> Profile:
    """Profile the float forward pass of an ONNX/QONNX model (path or ModelProto) on
    ``data`` (an (N, ...) float array, or {input name: array} for several inputs).

    ``width``: total bits of every suggested type. ``percentile`` (e.g. 99.99): size
    integer bits for that percentile of |x| instead of max |x|, saturating outliers.
    ``margin``: extra integer bits. ``rounding``/``overflow``: modes of the suggested
    activation types (default TRN, and WRAP, or SAT with ``percentile``); weights use
    RND_CONV/SAT, as trigc does when it rounds float constants. ``executor``:
    ``'auto'``, ``'onnxruntime'`` or ``'qonnx'``. Min/max are exact; percentiles come
    from at most ``max_values`` evenly strided values per tensor."""
    if not isinstance(width, int) or isinstance(width, bool) or not 1 <= width <= 1024:
        raise ConfigError(f"width must be an integer between 1 and 1024, not {width!r}")
    if percentile is not None:
        try:
            percentile = float(percentile)
        except (TypeError, ValueError):
            raise ConfigError(f"percentile must be a number in (0, 100], not "
                              f"{percentile!r}") from None
        if not 0 < percentile <= 100:
            raise ConfigError(f"percentile must be in (0, 100], not {percentile!r}")
    if not isinstance(margin, int) or margin < 0:
        raise ConfigError(f"margin must be a non-negative integer, not {margin!r}")
    rounding = _parse_rounding(rounding)
    overflow = _parse_overflow(
        overflow if overflow is not None else ("SAT" if percentile is not None else "WRAP"))
    if executor not in ("auto", "onnxruntime", "qonnx"):
        raise ConfigError(f"executor must be 'auto', 'onnxruntime' or 'qonnx', not "
                          f"{executor!r}")

    proto, name = _read(model)
    arrays = _check_data(proto, data)
    n = next(iter(arrays.values())).shape[0]
    if any(a.shape[0] != n for a in arrays.values()):
        raise ConfigError("Every input's profiling data needs the same number of samples: "
                          f"{ {k: v.shape for k, v in arrays.items()} }")
    if executor == "auto":
        executor = "qonnx" if _uses_custom_ops(proto) else "onnxruntime"

    const = _constant_names(proto)
    roles = _weight_roles(proto, const)
    input_names = [vi.name for vi in _model_inputs(proto)]
    act_names: list[str] = []
    op_of: dict[str, str] = {}
    for node in proto.graph.node:
        for o in node.output:
            if o and o not in const:
                act_names.append(o)
                op_of[o] = node.op_type
    act_names = list(dict.fromkeys(act_names))
    initializers = {i.name for i in proto.graph.initializer}
    quant_outputs = {o for node in proto.graph.node if node.op_type in QUANT_OPS
                     for o in node.output}
    computed_consts = [c for c in roles if c not in initializers]

    runner = (_QonnxRunner if executor == "qonnx" else _OrtRunner)(
        proto, act_names + computed_consts)

    per_sample: dict[str, int] = {}
    stats: dict[str, _Stats] = {}
    const_values: dict[str, np.ndarray] = {
        i.name: numpy_helper.to_array(i) for i in proto.graph.initializer if i.name in roles}
    for name_ in input_names:
        a = arrays[name_]
        st = _Stats(math.ceil(a.size / max_values))
        st.shape = a.shape[1:]
        st.add(a)
        stats[name_] = st
    for rows, out in _forward(runner, arrays, batch_size):
        for t in act_names:
            v = out.get(t)
            if v is None or not np.issubdtype(np.asarray(v).dtype, np.floating):
                continue
            v = np.asarray(v)
            if t not in stats:
                per_sample[t] = v.size // max(rows, 1)
                st = _Stats(math.ceil(per_sample[t] * n / max_values))
                st.shape = v.shape[1:]
                stats[t] = st
            stats[t].add(v)
        for c in computed_consts:
            if c not in const_values and c in out:
                const_values[c] = np.asarray(out[c])

    lowering = _lower(proto)
    layers, firmware, input_types = lowering.layers, lowering.firmware, lowering.input_types
    tainted = _float_derived(proto, width)
    w_round, w_over = Rounding.RND_CONV, Overflow.SAT

    result: list[TensorProfile] = []
    input_keys: dict[str, str] = {}
    untyped = [t for t in input_names if t in tainted and (
        input_types is None or input_types.get(t) is None)]
    if input_types is None:  # not lowered: an input feeding only Quant nodes has a type
        untyped = [t for t in untyped if any(
            node.op_type not in QUANT_OPS for node in proto.graph.node if t in node.input)]
    for t in input_names:
        tp = _finish(t, "input", "input", "input", stats[t], width, percentile, rounding,
                     overflow, margin)
        if t in untyped:
            input_keys[t] = "input" if len(untyped) == 1 else t
            tp.note = NOTE_CONFIG
        else:
            tp.note = NOTE_QUANT_INPUT
        result.append(tp)

    def weight_rows(node) -> list[TensorProfile]:
        rows = []
        for c in node.input:
            if c in roles and roles[c][2] == node.output[0] and c in const_values:
                kind, op, out_t = roles[c]
                value = np.asarray(const_values[c], dtype=np.float64)
                if value.size == 0 or not np.all(np.isfinite(value)):
                    continue
                st = _Stats(math.ceil(value.size / max_values))
                st.shape = value.shape
                st.add(value)
                tp = _finish(c, layers.get(out_t, ""), kind, op, st, width, None, w_round,
                             w_over, 0)
                if c in tainted:
                    tp.note = NOTE_WEIGHT         # float: rounded by the 'weights' key
                elif c in quant_outputs:
                    tp.note = NOTE_QUANT          # a Quant on the weights
                else:
                    tp.note = NOTE_EXACT_CONST    # a narrow type holds it exactly
                rows.append(tp)
        return rows

    for node in proto.graph.node:
        result.extend(weight_rows(node))
        for o in node.output:
            if o not in stats or o in input_names or any(r.name == o for r in result):
                continue
            tp = _finish(o, layers.get(o, ""), "activation", op_of[o], stats[o], width,
                         percentile, rounding, overflow, margin)
            fw = None if firmware is None else firmware.get(o)
            if node.op_type in QUANT_OPS:
                tp.note = NOTE_QUANT
            elif node.op_type in LAYOUT_OPS:
                tp.note = NOTE_LAYOUT
            elif firmware is not None and fw is None:
                tp.note = NOTE_FUSED
            elif fw is not None and fw[1] in FIRMWARE_LAYOUT_OPS:
                tp.note = NOTE_LAYOUT
            elif fw is not None and fw[1] == "Cast":
                tp.note = NOTE_QUANT
            elif o not in tainted:
                tp.note = NOTE_EXACT
            else:
                tp.note = NOTE_CONFIG
                if fw is not None:
                    tp.key = fw[0]
            result.append(tp)

    return Profile(model=name, tensors=result, n_samples=int(n), width=width,
                   percentile=percentile, executor=executor, input_keys=input_keys,
                   lowering_error=lowering.error)


__all__ = ["Profile", "TensorProfile", "holds", "profile", "suggest_type"]

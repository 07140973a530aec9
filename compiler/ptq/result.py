"""The result of a PTQ profile: per tensor the observed statistics and the suggested
type, the precision config they give, a text table and a JSON form."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from trigc.fixed import FixedType, Overflow, Rounding
from trigc.ptq.plot import plot_profile
from trigc.ptq.types import suggest_type
from trigc.ptq.write import write_profile

# why a profiled tensor is (not) in precision_config()
NOTE_CONFIG = "config"
NOTE_QUANT = "trained Quant"
NOTE_QUANT_INPUT = "typed by Quant"
NOTE_EXACT = "exact (quantized operands)"
NOTE_FUSED = "fused"
NOTE_LAYOUT = "layout"
NOTE_WEIGHT = "weights"
NOTE_EXACT_CONST = "exact"


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
        return write_profile(self, out_dir, weights)

    def plot(self, path) -> Path:
        """A PNG like hls4ml's profiling (see :func:`trigc.ptq.plot.plot_profile`)."""
        return plot_profile(self, path)


__all__ = ["NOTE_CONFIG", "NOTE_EXACT", "NOTE_EXACT_CONST", "NOTE_FUSED", "NOTE_LAYOUT",
           "NOTE_QUANT", "NOTE_QUANT_INPUT", "NOTE_WEIGHT", "Profile", "TensorProfile"]

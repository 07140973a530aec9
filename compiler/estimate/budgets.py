"""User budgets and the check of an estimate against them.

A budget limits latency (``latency_ns``, ``latency_cycles``), the initiation
interval (``ii``), resources in absolute numbers (``dsp``, ``lut``, ``ff``,
``bram`` in BRAM_18K blocks) or as a percentage of the device
(``dsp_pct``, ``lut_pct``, ``ff_pct``, ``bram_pct``). Every exceeded budget is
one :class:`Violation` naming the budget, the amount over, the layers that
contribute most and a concrete hint.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields

from trigc.errors import BudgetError, ConfigError
from trigc.estimate import hints
from trigc.estimate.datapath import RESOURCE_NAMES
from trigc.estimate.summary import Estimate, LayerEstimate

INT_BUDGETS = ("latency_cycles", "ii", "dsp", "lut", "ff", "bram")
TOP_LAYERS = 3
UNITS = {"dsp": "DSP", "lut": "LUT", "ff": "FF", "bram": "BRAM_18K"}


@dataclass(frozen=True)
class Budgets:
    """Limits an estimate must stay within; ``None`` means no limit."""

    latency_ns: float | None = None
    latency_cycles: int | None = None
    ii: int | None = None
    dsp: int | None = None
    lut: int | None = None
    ff: int | None = None
    bram: int | None = None
    dsp_pct: float | None = None
    lut_pct: float | None = None
    ff_pct: float | None = None
    bram_pct: float | None = None

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_dict(cls, data: Mapping | None) -> Budgets:
        """Validate a ``{"latency_ns": 100, "dsp_pct": 10, ...}`` mapping (config
        file ``budgets`` section, or a project's stored budgets)."""
        data = dict(data or {})
        unknown = sorted(set(data) - set(cls.keys()))
        if unknown:
            raise ConfigError(f"Unknown budget(s) {unknown}; budgets are {list(cls.keys())}")
        return cls(**{k: _validate(k, v) for k, v in data.items()})

    def override(self, **values) -> Budgets:
        """These budgets with every non-None value of ``values`` replacing ours (CLI
        flags over stored budgets)."""
        merged = self.to_json()
        merged.update({k: v for k, v in values.items() if v is not None})
        return Budgets.from_dict(merged)

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in self.keys() if getattr(self, k) is not None}

    def __bool__(self) -> bool:
        return bool(self.to_json())

    def limit(self, resource: str, estimate: Estimate) -> tuple[float | None, str | None]:
        """The tightest limit on ``resource`` and the budget that sets it."""
        best: tuple[float | None, str | None] = (None, None)
        absolute = getattr(self, resource)
        if absolute is not None:
            best = (float(absolute), resource)
        pct = getattr(self, f"{resource}_pct")
        if pct is not None:
            value = pct / 100.0 * estimate.device.capacity(resource)
            if best[0] is None or value < best[0]:
                best = (value, f"{resource}_pct")
        return best


def _validate(key: str, value) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"Budget {key!r} must be a number, not {value!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"Budget {key!r} must be positive, not {value!r}")
    if key in INT_BUDGETS:
        if value != int(value):
            raise ConfigError(f"Budget {key!r} must be a whole number, not {value!r}")
        return int(value)
    if key.endswith("_pct") and value > 100:
        raise ConfigError(f"Budget {key!r} is a percentage of the device; {value} > 100")
    return float(value)


@dataclass(frozen=True)
class Violation:
    """One exceeded budget."""

    budget: str  # the budget's name, e.g. "dsp_pct"
    limit: float  # in the unit of ``value``
    value: float
    unit: str
    top_layers: tuple[tuple[str, float], ...]  # (layer label, its share), largest first
    hint: str

    @property
    def over(self) -> float:
        return self.value - self.limit

    def to_json(self) -> dict:
        return {"budget": self.budget, "limit": _round(self.limit), "value": _round(self.value),
                "over": _round(self.over), "unit": self.unit,
                "top_layers": [{"layer": name, "amount": _round(v)} for name, v in self.top_layers],
                "hint": self.hint}

    def __str__(self) -> str:
        pct = f", +{100 * self.over / self.limit:.0f}%" if self.limit else ""
        top = ", ".join(f"{name} {_fmt(v)}" for name, v in self.top_layers)
        return (f"over budget {self.budget}: {_fmt(self.value)} {self.unit} > "
                f"{_fmt(self.limit)} {self.unit} (over by {_fmt(self.over)}{pct}); "
                f"largest: {top or '-'}. Hint: {self.hint}")


def _round(v: float) -> float | int:
    return int(v) if float(v).is_integer() else round(float(v), 3)


def _fmt(v: float) -> str:
    return f"{int(v):,}" if float(v).is_integer() else f"{v:,.1f}"


def _top(layers, key) -> list[LayerEstimate]:
    ranked = sorted((layer for layer in layers if key(layer) > 0), key=lambda la: -key(la))
    return ranked[:TOP_LAYERS]


def check(estimate: Estimate, budgets: Budgets) -> list[Violation]:
    """Every budget the estimate exceeds (empty when it fits)."""
    out: list[Violation] = []
    layers = estimate.layers
    critical = [layer for layer in layers if layer.critical]
    for name, value, unit, scale in (
            ("latency_ns", estimate.latency_ns, "ns", estimate.clock_ns),
            ("latency_cycles", estimate.latency_cycles, "cycles", 1.0)):
        limit = getattr(budgets, name)
        if limit is not None and value > limit + 1e-9:
            top = _top(critical, lambda la: la.cycles)
            out.append(Violation(name, limit, value, unit,
                                 tuple((la.label, la.cycles * scale) for la in top),
                                 hints.latency(estimate, top, value - limit, scale)))
    if budgets.ii is not None and estimate.ii > budgets.ii:
        top = _top(layers, lambda la: la.ii if la.ii > budgets.ii else 0)
        out.append(Violation("ii", budgets.ii, estimate.ii, "cycles",
                             tuple((la.label, la.ii) for la in top),
                             hints.ii(top, budgets.ii)))
    for resource in RESOURCE_NAMES:
        limit, name = budgets.limit(resource, estimate)
        value = estimate.total.get(resource)
        if limit is None or value <= limit + 1e-9:
            continue
        top = _top(layers, lambda la, r=resource: la.resources.get(r))
        out.append(Violation(name, limit, value, UNITS[resource],
                             tuple((la.label, la.resources.get(resource)) for la in top),
                             hints.resource(estimate, resource, top, value - limit)))
    return out


def enforce(estimate: Estimate, budgets: Budgets) -> None:
    """Raise :class:`BudgetError` listing every exceeded budget."""
    violations = check(estimate, budgets)
    if violations:
        raise BudgetError(f"{estimate.model} exceeds {len(violations)} budget(s) "
                          f"(static estimate, not synthesis):\n"
                          + "\n".join(f"  - {v}" for v in violations))

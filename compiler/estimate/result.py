"""What an estimate is: :class:`LayerEstimate`, :class:`Estimate`, and the build
options it is made with (:func:`build_options`), shared by the io_parallel
(:mod:`trigc.estimate.summary`) and io_stream (:mod:`trigc.estimate.stream`)
estimators."""

from __future__ import annotations

from dataclasses import dataclass, field

from trigc.estimate import arith
from trigc.estimate.datapath import RESOURCE_NAMES, Resources
from trigc.estimate.devices import Device
from trigc.ir.graph import Graph
from trigc.target import BuildOptions


@dataclass(frozen=True)
class LayerEstimate:
    """One node of the final IR (one process of a stream design): its place in the
    schedule and its resources."""

    name: str
    source: str
    op: str
    reuse: int
    ii: int
    start_cycle: int
    end_cycle: int
    cycles: int
    critical: bool
    resources: Resources
    detail: dict = field(default_factory=dict)
    stages: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """How reports name the layer: the user's layer name, then our node."""
        if self.source and self.source != self.name:
            return f"{self.source} ({self.name})"
        return self.name

    def to_json(self) -> dict:
        return {"name": self.name, "source": self.source, "op": self.op, "reuse": self.reuse,
                "ii": self.ii, "start_cycle": self.start_cycle, "end_cycle": self.end_cycle,
                "cycles": self.cycles, "critical_path": self.critical,
                **self.resources.to_json(), "detail": dict(sorted(self.detail.items())),
                "register_boundaries": list(self.stages)}


@dataclass(frozen=True)
class Estimate:
    """Latency, II and resources of a compiled model (a model, not synthesis)."""

    model: str
    device: Device
    part: str
    clock_ns: float
    layers: tuple[LayerEstimate, ...]
    latency_cycles: int
    ii: int
    total: Resources

    @property
    def latency_ns(self) -> float:
        return self.latency_cycles * self.clock_ns

    def utilization(self, resource: str) -> float:
        """Percent of the device's ``resource`` ("dsp", "lut", "ff", "bram")."""
        return 100.0 * self.total.get(resource) / self.device.capacity(resource)

    def to_json(self) -> dict:
        return {
            "kind": "trigc static estimate (not a synthesis result)",
            "model": self.model, "part": self.part, "device": self.device.name,
            "clock_ns": self.clock_ns, "clock_uncertainty": arith.CLOCK_UNCERTAINTY,
            "latency_cycles": self.latency_cycles, "latency_ns": round(self.latency_ns, 6),
            "ii": self.ii, "total": self.total.to_json(),
            "available": {r: self.device.capacity(r) for r in RESOURCE_NAMES},
            "utilization_pct": {r: round(self.utilization(r), 4) for r in RESOURCE_NAMES},
            "layers": [layer.to_json() for layer in self.layers],
        }


def build_options(settings, graph: Graph) -> BuildOptions:
    """The options of ``settings``: :class:`~trigc.target.BuildOptions`, their JSON
    form (a project's ``meta['settings']``) or None (the defaults); the per-layer reuse
    factors must name layers of ``graph``."""
    options = (settings if isinstance(settings, BuildOptions)
               else BuildOptions.from_json(settings, where="estimator settings"))
    options.check_layers({n.name for n in graph.nodes} | {n.source for n in graph.nodes},
                         sorted({n.source or n.name for n in graph.nodes}))
    return options


__all__ = ["Estimate", "LayerEstimate", "build_options"]

"""``estimate(graph, settings) -> Estimate``: per-layer and total latency and resources."""

from __future__ import annotations

import logging

from trigc.estimate.datapath import Resources
from trigc.estimate.devices import lookup
from trigc.estimate.latency import schedule
from trigc.estimate.resources import datapath_for
from trigc.estimate.result import Estimate, LayerEstimate, build_options
from trigc.estimate.stream import estimate_stream
from trigc.ir.graph import Graph

log = logging.getLogger(__name__)


def estimate(graph: Graph, settings=None) -> Estimate:
    """Estimate latency (cycles, ns), II and DSP/LUT/FF/BRAM of ``graph`` (the final
    IR) as the Vitis HLS backend would build it.

    ``settings`` is a :class:`~trigc.target.BuildOptions` or its JSON form (a
    project's ``meta['settings']``: part, clock_ns, default_reuse, reuse per layer).
    With ``io_mode="stream"`` the streaming design is estimated
    (:func:`trigc.estimate.stream.estimate_stream`)."""
    s = build_options(settings, graph)
    if s.io_mode == "stream":
        return estimate_stream(graph, s)
    device = lookup(s.part)
    datapaths = {node.name: datapath_for(node, s) for node in graph.nodes}
    sched = schedule(graph, datapaths, s.clock_ns)
    layers, total = [], Resources()
    for node in graph.nodes:
        dp, timing = datapaths[node.name], sched.layers[node.name]
        res = dp.resources + Resources(ff=timing.ff)
        total = total + res
        layers.append(LayerEstimate(
            node.name, node.source, node.op.value, dp.reuse, dp.ii, timing.start.cycle,
            timing.start.cycle + timing.cycles, timing.cycles, timing.critical, res,
            dict(dp.detail), tuple(f"cycle {st.cycle}: {st.label}" for st in timing.stages)))
    ii = max([layer.ii for layer in layers], default=1)
    est = Estimate(graph.name, device, s.part, s.clock_ns, tuple(layers), sched.latency_cycles,
                   ii, total)
    log.info("estimate for %s: %d cycles (%.1f ns), II %d, %s", graph.name,
             est.latency_cycles, est.latency_ns, ii, total)
    return est


__all__ = ["Estimate", "LayerEstimate", "build_options", "estimate"]

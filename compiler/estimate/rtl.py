"""The Verilog backend's estimate: the netlist's own cost and schedule, per layer.

The Verilog backend builds exactly the netlist of :mod:`trigc.netlist` with the
registers its schedule places, so this estimate sums the cost model the CMVM solver
minimises (:func:`trigc.netlist.timing.cost`) over each layer's nodes, counts the
flip-flops of every delay chain (:func:`trigc.netlist.timing.registers`) and the
port registers, and takes the latency from the schedule. ``trigc synth`` measures
the same design with Yosys; ``tests/rtl`` keeps the two within the calibration
tolerance on the reference models.
"""

from __future__ import annotations

import math

from trigc.estimate.datapath import Resources
from trigc.estimate.devices import lookup
from trigc.estimate.summary import Estimate, LayerEstimate, build_options
from trigc.ir.graph import Graph
from trigc.netlist import Netlist, Schedule, schedule
from trigc.netlist.lower import LowerOptions, lower
from trigc.netlist.timing import Cost, cost, registers

PORT_LAYER = "ports"
"""The pseudo-layer of the input, output and valid registers."""


def netlist_for(graph: Graph, options) -> tuple[Netlist, Schedule]:
    """The netlist and schedule the Verilog backend builds for ``graph``."""
    net = lower(graph, LowerOptions(dsp_digits=options.dsp_digits))
    return net, schedule(net, options.stage_budget_ns)


def estimate_rtl(graph: Graph, settings=None, net: Netlist | None = None,
                 sched: Schedule | None = None) -> Estimate:
    """Per-layer LUT/FF/DSP (and CARRY4 (as Yosys 0.23 maps carries) in ``detail``) and the latency in cycles of the
    Verilog backend's design for ``graph``."""
    options = build_options(settings, graph)
    if net is None or sched is None:
        net, sched = netlist_for(graph, options)
    live = net.live()
    ffs = registers(net, sched)
    costs: dict[str, Cost] = {}
    flops: dict[str, int] = {}
    stages: dict[str, list[int]] = {}
    for n in net.nodes:
        if not live[n.id]:
            continue
        costs[n.layer] = costs.get(n.layer, Cost()) + cost(net, n)
        flops[n.layer] = flops.get(n.layer, 0) + ffs[n.id]
        stages.setdefault(n.layer, []).append(sched.stage[n.id])
    in_bits = sum(t.width for t in net.input_types)
    out_bits = sum(t.width for t in net.output_types)
    layers = []
    for node in [*graph.nodes]:
        c = costs.get(node.name, Cost())
        st = stages.get(node.name, [0])
        res = Resources(dsp=c.dsp, lut=math.ceil(c.lut), ff=flops.get(node.name, 0))
        layers.append(LayerEstimate(node.name, node.source, node.op.value, 1, 1, min(st),
                                    max(st) + 1, max(st) - min(st) + 1, False, res,
                                    {"carry4": math.ceil(c.carry)}))
    port_ff = in_bits + out_bits + sched.latency + flops.get("input", 0) + \
        flops.get("output", 0)
    other = costs.get("output", Cost()) + costs.get("input", Cost())
    layers.append(LayerEstimate(PORT_LAYER, "", "Registers", 1, 1, 0, sched.latency,
                                sched.latency, False,
                                Resources(dsp=other.dsp, lut=math.ceil(other.lut), ff=port_ff),
                                {"carry4": math.ceil(other.carry)}))
    total = Resources()
    for layer in layers:
        total = total + layer.resources
    return Estimate(graph.name, lookup(options.part), options.part, options.clock_ns,
                    tuple(layers), sched.latency, 1, total)


__all__ = ["PORT_LAYER", "estimate_rtl", "netlist_for"]

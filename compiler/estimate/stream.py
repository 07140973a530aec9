"""``estimate_stream(graph, settings)``: the estimate of a streaming (``io_mode="stream"``)
design, costing its :class:`~trigc.plans.stream.StreamPlan` process by process.

Each process of the plan (``hls_templates/kernels/trigc_stream.h``) is one
pipelined loop of ``steps`` steps at II ``ii``; it holds one copy of its kernel
(never one per pixel, as the io_parallel design does), costed by the same models
as the io_parallel estimate:

- ``window`` Conv: the dense kernel of the Conv's plan on one window (the mult
  config, at the layer's reuse factor: :func:`trigc.estimate.linear.window_kernel`);
  MaxPool/AvgPool: the pooling models of :mod:`trigc.estimate.resources` on one
  window (``n_chan`` outputs over ``kernel_h * kernel_w`` taps; an average divides
  by the whole window: a count-excluding-padding divisor that varies is costed as
  the constant one). State: the line buffer, ``kernel_h`` row memories of
  ``padded_w`` words (one read and one write per step each), and the window as
  registers (``taps * n_chan`` elements), which hold the ``kernel_w`` columns the
  C++ reads so that a row memory needs one read port.
- ``pixel`` / ``binary``: the op's model on the per-word node
  (``StreamProcess.pixel_node``).
- ``reduce``: one comparator and select (max) or accumulator (sum) per channel,
  then the constant divider per channel (average).
- ``gather``: the input and output images as registers (``KERNEL::apply`` reads and
  writes every element in one step, so neither can be a RAM), a write decoder and
  a ``p_out``:1 output word select.
- ``zeropad``: the zero select (half a LUT per bit); ``append``: a 2:1 word select
  and the casts; ``clone``: the control only.
- Every process: its loop counters and FSM (:func:`control`).
- FIFOs: each internal stream at its configured depth
  (``StreamPlan.depths(settings.fifo_depths)``), mapped by
  :mod:`trigc.estimate.memory`, counted with the process that writes it (its
  layer's ``detail`` names it ``fifo <stream>``). The model's ports are AXI4-Stream
  interfaces, not FIFOs.

Timing: ``plans.stream.schedule`` gives the II (cycles per image) and the latency
with every step's result readable one cycle after the step starts. A step whose
path does not fit one cycle (chained at the clock as in :mod:`trigc.estimate.latency`,
a BRAM line-buffer read counting one registered cycle, a reuse loop ``R - 1``) delays
its words by its pipeline depth (the register boundaries on its path); the latency
adds, along the deepest chain of processes from the input to an output, the sum of
their depths (an upper bound: a process waiting on its own II hides part of it).
Flip-flops: the path's pipeline registers, the state above, the control.
A layer is marked critical when it is the throughput bottleneck (its
``steps * ii`` is the II).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from trigc.errors import ConfigError, UnsupportedOpError
from trigc.estimate import arith, linear, memory, resources
from trigc.estimate.datapath import LOGIC, REGISTERED, PathOp, Resources
from trigc.estimate.devices import lookup
from trigc.estimate.latency import Time, walk
from trigc.estimate.result import Estimate, LayerEstimate, build_options
from trigc.fixed import FixedType
from trigc.ir.graph import Graph, Node, Tensor
from trigc.ir.ops import Op
from trigc.plans import GlobalPoolPlan, plan
from trigc.plans.stream import StreamPlan, StreamProcess, schedule, stream_plan
from trigc.target import BuildOptions

log = logging.getLogger(__name__)

CONTROL_LUT = 8  # loop FSM, stream handshakes
CONTROL_FF = 4


@dataclass
class ProcessCost:
    """One process: its logic and state (``resources``, without pipeline registers),
    its per-step critical path, its memories and what the layer report shows."""

    resources: Resources
    ops: list[PathOp]
    memories: dict[str, memory.Memory] = field(default_factory=dict)
    detail: dict = field(default_factory=dict)


def counter_bits(n: int) -> int:
    """Bits of a counter over ``n`` values."""
    return max(arith.log2ceil(int(n)), 1)


def control(*counts: int, compares: int = 0) -> Resources:
    """A process's loop counters (over ``counts`` values each: increment and wrap) and
    FSM, plus ``compares`` comparisons of a counter (the reads()/writes() tests)."""
    bits = [counter_bits(n) for n in counts]
    lut = CONTROL_LUT + sum(bits) + compares * arith.compare_lut(max(bits, default=1))
    return Resources(lut=lut, ff=CONTROL_FF + sum(bits))


def _word_bits(sp: StreamPlan, stream: str) -> int:
    return sp.streams[stream].word_bits


def _cast_lut(src: FixedType, dst: FixedType, n: int) -> int:
    return arith.cast_cost(src, dst).lut * n


def _clone(p: StreamProcess, sp: StreamPlan, settings: BuildOptions) -> ProcessCost:
    return ProcessCost(control(p.steps), [])


def _zeropad(p: StreamProcess, sp: StreamPlan, settings: BuildOptions) -> ProcessCost:
    bits = _word_bits(sp, p.outputs[0])
    g = p.owner.inputs[0]
    h, w = (g.shape[0], g.shape[1]) if len(g.shape) == 3 else (1, g.shape[0])
    top, left, bottom, right = p.pad
    res = Resources(lut=arith.mux_lut(2, bits)) + control(top + h + bottom, left + w + right,
                                                          compares=4)
    return ProcessCost(res, [PathOp("zero select", LOGIC, arith.T_LUT_NS)])


def _append(p: StreamProcess, sp: StreamPlan, settings: BuildOptions) -> ProcessCost:
    out = sp.streams[p.outputs[0]]
    a, b = (sp.streams[s] for s in p.inputs)
    casts = max(arith.cast_cost(a.type, out.type).delay_ns,
                arith.cast_cost(b.type, out.type).delay_ns)
    lut = (arith.mux_lut(2, out.word_bits) + _cast_lut(a.type, out.type, out.chans)
           + _cast_lut(b.type, out.type, out.chans))
    ops = [PathOp("word select", LOGIC, arith.T_LUT_NS)]
    if casts:
        ops.append(PathOp("assign to output type", LOGIC, casts))
    return ProcessCost(Resources(lut=lut) + control(p.steps, compares=1), ops)


def _pixel(p: StreamProcess, sp: StreamPlan, settings: BuildOptions) -> ProcessCost:
    dp = resources.datapath_for(p.pixel_node, settings)
    return ProcessCost(dp.resources + control(p.steps), list(dp.ops), detail=dict(dp.detail))


def _word_node(node: Node, n_in: int, n_out: int) -> Node:
    """``node`` on one window: ``n_in`` input elements, ``n_out`` outputs."""
    x, y = node.inputs[0], node.output
    return Node(node.op, [Tensor(x.name, (n_in,), x.type)], [Tensor(y.name, (n_out,), y.type)],
                node.attrs, node.name, node.source)


def _window_kernel(p: StreamProcess, settings: BuildOptions, taps: int, n_chan: int):
    node = p.node
    kp = plan(node, settings)
    if node.op is Op.CONV:
        dp = linear.window_kernel(kp)
        dp.detail.update(positions=1)
        return dp
    window = GlobalPoolPlan(op=node.op, input_types=(node.inputs[0].type,),
                            input_sizes=(taps * n_chan,), output_type=node.output.type,
                            n_out=n_chan, n_spatial=taps, n_chan=n_chan,
                            accum_type=kp.accum_type,
                            divisor=taps if node.op is Op.AVGPOOL else 1)
    model = resources.maxpool if node.op is Op.MAXPOOL else resources.avgpool
    return model(_word_node(node, taps * n_chan, n_chan), window)


def _window(p: StreamProcess, sp: StreamPlan, settings: BuildOptions) -> ProcessCost:
    from trigc.plans.window import window_geometry
    g = window_geometry(p.node)
    s_in = sp.streams[p.inputs[0]]
    hp, wp = g.in_h + g.pad_top + g.pad_bottom, g.in_w + g.pad_left + g.pad_right
    taps = g.kernel_h * g.kernel_w
    dp = _window_kernel(p, settings, taps, s_in.chans)
    lines = memory.buffer("line buffer", wp, s_in.word_bits, copies=g.kernel_h)
    window_ff = taps * s_in.word_bits
    read = (PathOp("line buffer read (BRAM)", REGISTERED, arith.T_BRAM_CO_NS, 1)
            if lines.kind == "bram" else
            PathOp("line buffer read (LUTRAM)", LOGIC, arith.T_LUT_NS))
    res = dp.resources + lines.resources + Resources(ff=window_ff) + control(hp, wp, compares=6)
    detail = dict(dp.detail, window_registers_ff=window_ff, taps=taps)
    return ProcessCost(res, [read, *dp.ops], {"line buffer": lines}, detail)


def _reduce(p: StreamProcess, sp: StreamPlan, settings: BuildOptions) -> ProcessCost:
    node = p.node
    kp = plan(node, settings)
    s_in, out = sp.streams[p.inputs[0]], node.output.type
    n, x = s_in.chans, s_in.type
    if node.op is Op.GLOBAL_MAXPOOL:
        lut = n * (arith.compare_lut(x.width) + arith.mux_lut(2, x.width))
        res = Resources(lut=lut, ff=n * x.width)
        ops = [PathOp("compare-select", LOGIC, arith.add_delay(x.width) + arith.T_LUT_NS)]
    else:
        acc = kp.accum_type
        num_bits = acc.width + 1 + max(0, out.frac_bits - acc.frac_bits)
        d_dsp, d_lut, d_delay = resources._divider(num_bits, kp.divisor)
        res = Resources(dsp=n * d_dsp, lut=n * (acc.width + d_lut + out.width + 1),
                        ff=n * acc.width)
        ops = [PathOp("accumulate", LOGIC, arith.add_delay(acc.width))]
        if d_delay:
            ops.append(PathOp("divide by pixel count", LOGIC, d_delay))
    return ProcessCost(res + control(p.steps), ops)


def _gather(p: StreamProcess, sp: StreamPlan, settings: BuildOptions) -> ProcessCost:
    s_in, s_out = sp.streams[p.inputs[0]], sp.streams[p.outputs[0]]
    image_in = s_in.pixels * s_in.word_bits
    image_out = s_out.pixels * s_out.word_bits
    n = s_out.pixels * s_out.chans
    lut = (arith.mux_lut(s_out.pixels, s_out.word_bits) + s_in.pixels
           + _cast_lut(s_in.type, s_out.type, n))
    res = Resources(lut=lut, ff=image_in + image_out) + control(p.steps, compares=2)
    ops = [PathOp("output word select", LOGIC, arith.mux_delay(s_out.pixels))]
    detail = {"image_buffer_in_ff": image_in, "image_buffer_out_ff": image_out}
    return ProcessCost(res, ops, detail=detail)


COSTS = {
    "clone": _clone,
    "zeropad": _zeropad,
    "window": _window,
    "reduce": _reduce,
    "gather": _gather,
    "pixel": _pixel,
    "binary": _pixel,
    "append": _append,
}


def process_cost(p: StreamProcess, sp: StreamPlan, settings: BuildOptions) -> ProcessCost:
    """The logic, state, memories and per-step path of process ``p`` (its FIFOs are
    added by :func:`estimate_stream`)."""
    model = COSTS.get(p.kind)
    if model is None:
        raise UnsupportedOpError(f"{p.owner.where()}: the estimator has no model for the "
                                 f"stream process kind {p.kind!r}")
    return model(p, sp, settings)


def _depths(sp: StreamPlan, settings: BuildOptions) -> dict[str, int]:
    unknown = sorted(set(settings.fifo_depths) - set(sp.streams))
    if unknown:
        raise ConfigError(f"FIFO depths given for unknown streams {unknown}; the streams "
                          f"are {sorted(sp.streams)}")
    return sp.depths(dict(settings.fifo_depths))


def _fifos(sp: StreamPlan, settings: BuildOptions) -> dict[str, memory.Memory]:
    """Every internal stream's FIFO (the ports are not FIFOs)."""
    depths = _depths(sp, settings)
    ports = set(sp.inputs) | set(sp.outputs)
    return {name: memory.fifo(depths[name], s.word_bits)
            for name, s in sp.streams.items() if name not in ports}


def _op_label(p: StreamProcess) -> str:
    if p.node is not None:
        return p.node.op.value
    return {"clone": "Clone", "zeropad": "ZeroPad"}.get(p.kind, p.kind)


def _layer(p: StreamProcess, cost: ProcessCost, fifos: dict[str, memory.Memory],
           timing: tuple[int, int, int, int], stages, critical: bool) -> LayerEstimate:
    start, end, depth, ff = timing
    res = cost.resources + Resources(ff=ff)
    detail = dict(cost.detail, kind=p.kind, steps=p.steps, step_ii=p.ii, pipeline_depth=depth)
    for role, mem in cost.memories.items():
        detail[role] = mem.to_json()
    for name in p.outputs:
        if name in fifos:
            res = res + fifos[name].resources
            detail[f"fifo {name}"] = fifos[name].to_json()
    reuse = p.ii if p.node is not None and p.node.op in (Op.CONV, Op.DENSE) else 1
    return LayerEstimate(p.name, p.owner.source, _op_label(p), reuse, p.cycles, start, end,
                         end - start, critical, res, detail,
                         tuple(f"step cycle {st.cycle}: {st.label}" for st in stages))


def estimate_stream(graph: Graph, settings=None) -> Estimate:
    """Estimate latency (cycles, ns), II (cycles per image) and DSP/LUT/FF/BRAM of the
    streaming design of ``graph`` (the final IR) as the Vitis HLS backend builds it
    with ``io_mode="stream"`` (see the module doc for the model).

    ``settings`` is a :class:`~trigc.target.BuildOptions` or its JSON form; its
    ``io_mode`` is not checked here (:func:`trigc.estimate.estimate` dispatches on it)."""
    s = build_options(settings, graph)
    device = lookup(s.part)
    sp = stream_plan(graph, s)
    sched = schedule(sp)
    fifos = _fifos(sp, s)
    budget = arith.budget_ns(s.clock_ns)
    delay: dict[str, int] = {}  # stream -> pipeline cycles its words arrive late
    layers, total = [], Resources()
    for p in sp.processes:
        cost = process_cost(p, sp, s)
        in_bits = sum(_word_bits(sp, name) for name in p.inputs)
        end, ff, stages = walk(Time(0, 0.0), in_bits, cost.ops, budget)
        late = max((delay.get(name, 0) for name in p.inputs), default=0)
        depth = end.cycle
        for name in p.outputs:
            delay[name] = late + depth
        steps = sched.start[p.name]
        start = int(steps[0]) + late if steps.size else late
        stop = (int(steps[-1]) + p.ii if steps.size else 0) + late + depth
        layer = _layer(p, cost, fifos, (start, stop, depth, ff), stages,
                       p.cycles == sched.ii)
        layers.append(layer)
        total = total + layer.resources
    latency = sched.latency + max((delay.get(name, 0) for name in sp.outputs), default=0)
    est = Estimate(graph.name, device, s.part, s.clock_ns, tuple(layers), latency, sched.ii,
                   total)
    log.info("stream estimate for %s: %d cycles (%.1f ns), II %d, %s", graph.name,
             est.latency_cycles, est.latency_ns, est.ii, total)
    return est


__all__ = ["COSTS", "ProcessCost", "control", "estimate_stream", "process_cost"]

"""Static schedule of the generated design at the target clock.

The top function is one pipelined region (``#pragma HLS PIPELINE II=max reuse``)
and the reuse-1 kernels are inlined into it, so Vitis HLS chains operations
across layer boundaries and only inserts a register where the next operation
no longer fits in the cycle. The scheduler does the same along each layer's
critical path (:class:`~trigc.estimate.datapath.PathOp` list):

- A time is (cycle, ns into the cycle); graph inputs arrive at (0, 0).
- A layer starts when its last run-time input arrives.
- Logic is chained while the cycle's budget (clock period minus the 27 %
  default uncertainty) lasts; otherwise a register boundary is inserted and the
  operation starts the next cycle. Logic longer than a cycle is split over
  ``ceil(delay / budget)`` cycles.
- A DSP48E2 multiply that does not fit starts the next cycle with its inputs
  in the DSP's own A/B registers (free); longer than a cycle, it uses its M/P
  registers (up to 3 stages, free).
- A block-RAM read is registered: its data arrives one cycle later, 1.0 ns into
  that cycle. A reuse loop adds ``R - 1`` cycles (II = 1 iterations); a call of
  the non-inlined reuse kernel and its exit each force a register.
- The outputs are registered: the latency is the cycle in which the last output
  is complete, plus one.

Flip-flops of the schedule: every register boundary costs the bits live at it
(``PathOp.live_bits`` of the step before it; the bits of the layer's inputs at
its start), and a value needed by a later layer several cycles after it was
produced (a skip connection) costs ``bits * cycles`` of delay line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trigc.estimate import arith
from trigc.estimate.datapath import BOUNDARY, DSP, LOOP, REGISTERED, Datapath, PathOp
from trigc.ir.graph import Graph, Tensor

EPS = 1e-9


@dataclass(frozen=True, order=True)
class Time:
    """A point in the schedule: clock cycle and ns into it."""

    cycle: int
    offset: float


@dataclass(frozen=True)
class Stage:
    """Where a register boundary fell: before step ``label`` at the start of ``cycle``."""

    cycle: int
    label: str


@dataclass
class LayerTiming:
    start: Time
    end: Time
    cycles: int
    ff: int
    stages: list[Stage]
    critical: bool = False


def _bits(t: Tensor) -> int:
    size = int(np.prod(t.shape)) if t.shape else 1
    return size * t.type.width


class _Walker:
    """Chains one layer's path; remembers the steps chained in the current cycle so
    that a register boundary can be moved back to the narrowest point (retiming)."""

    def __init__(self, start: Time, in_bits: int, budget: float, retime: bool) -> None:
        self.t, self.bits, self.budget, self.retime = start, in_bits, budget, retime
        self.ff, self.stages = 0, []
        self.chain: list[tuple[PathOp, int]] = []  # (step, live bits after it) this cycle
        self.in_bits = in_bits
        self.mid_cycle = start.offset > 0  # earlier layers' logic shares the first cycle

    def _new_cycle(self, label: str, bits: int, offset: float = 0.0) -> None:
        self.ff += bits
        self.t = Time(self.t.cycle + 1, offset)
        self.stages.append(Stage(self.t.cycle, label))
        self.chain = []
        self.mid_cycle = False

    def _cut_before(self, op: PathOp) -> None:
        """Register boundary so that ``op`` fits: at the narrowest legal point."""
        best_i, best_cost = len(self.chain), 0 if op.kind == DSP else self.bits
        tail = op.delay_ns
        if self.retime:
            first = 0 if self.mid_cycle else 1  # cut at the layer input
            for i in range(len(self.chain) - 1, first - 1, -1):
                tail += self.chain[i][0].delay_ns
                if tail > self.budget + EPS:
                    break
                before = self.chain[i - 1][1] if i else self.in_bits
                cost = 0 if self.chain[i][0].kind == DSP else before
                if cost < best_cost:
                    best_i, best_cost = i, cost
        moved = self.chain[best_i:]
        label = moved[0][0].label if moved else op.label
        offset = sum(step.delay_ns for step, _ in moved)
        self._new_cycle(label + (" (DSP input register)" if best_cost == 0 and (
            (moved[0][0] if moved else op).kind == DSP) else ""), best_cost, offset)
        self.chain = list(moved)
        self.mid_cycle = False

    def step(self, op: PathOp) -> None:
        if op.kind == BOUNDARY:
            self._new_cycle(op.label, self.bits)
            return
        if op.kind == LOOP:
            self.t = Time(self.t.cycle + op.cycles, self.t.offset)
            self.chain, self.mid_cycle = [], False
            return
        if op.kind == REGISTERED:
            self.t = Time(self.t.cycle + op.cycles, op.delay_ns)
            self.stages.append(Stage(self.t.cycle, op.label))
            self.bits = self.bits if op.live_bits is None else op.live_bits
            self.chain, self.mid_cycle = [], False
            return
        delay = op.delay_ns
        if self.t.offset + delay > self.budget + EPS:
            if delay <= self.budget + EPS:
                self._cut_before(op)
            elif op.kind == DSP:
                self._long_dsp(op)
                return
            else:
                if self.t.offset > 0:
                    self._new_cycle(op.label, self.bits)
                n = max(math.ceil(delay / self.budget - EPS), 1)
                inner = self.bits if op.live_bits is None else op.live_bits
                for _ in range(n - 1):
                    self._new_cycle(op.label + " (split)", inner)
                self.t = Time(self.t.cycle, delay - (n - 1) * self.budget)
                self.bits = self.bits if op.live_bits is None else op.live_bits
                return
        self.t = Time(self.t.cycle, self.t.offset + delay)
        self.bits = self.bits if op.live_bits is None else op.live_bits
        self.chain.append((op, self.bits))

    def _long_dsp(self, op: PathOp) -> None:
        """A multiply longer than a cycle: the DSP's own registers pipeline it."""
        n = min(max(math.ceil(op.delay_ns / self.budget - EPS), 1), arith.DSP_MAX_STAGES)
        first = self.t.cycle + (1 if self.t.offset > 0 else 0)
        lo = first if self.t.offset > 0 else first + 1
        self.stages += [Stage(c, op.label + " (DSP register)") for c in range(lo, first + n)]
        self.t = Time(first + n - 1, op.delay_ns / n)
        self.bits = self.bits if op.live_bits is None else op.live_bits
        self.chain, self.mid_cycle = [], False


def walk(start: Time, in_bits: int, ops: list[PathOp], budget: float, retime: bool = False
         ) -> tuple[Time, int, list[Stage]]:
    """Chain ``ops`` from ``start``; returns the end time, register bits, boundaries.

    With ``retime`` a boundary may move back within its cycle (into the layer
    input) to where fewer bits are live, as register-minimizing scheduling does."""
    w = _Walker(start, in_bits, budget, retime)
    for op in ops:
        w.step(op)
    return w.t, w.ff, w.stages


@dataclass
class Schedule:
    layers: dict[str, LayerTiming]
    latency_cycles: int


def _run(graph: Graph, datapaths: dict[str, Datapath], budget: float, retimed: set[str]
         ) -> tuple[dict[str, LayerTiming], dict[int, Time], dict[int, str], int]:
    arrival: dict[int, Time] = {id(t): Time(0, 0.0) for t in graph.inputs}
    producer_of: dict[int, str] = {}
    layers: dict[str, LayerTiming] = {}
    for node in graph.nodes:
        ins = [t for t in node.inputs if not t.is_constant]
        start = max((arrival[id(t)] for t in ins), default=Time(0, 0.0))
        in_bits = sum(_bits(t) for t in ins)
        end, ff, stages = walk(start, in_bits, datapaths[node.name].ops, budget,
                               node.name in retimed)
        layers[node.name] = LayerTiming(start, end, end.cycle - start.cycle, ff, stages)
        for out in node.outputs:
            arrival[id(out)] = end
            producer_of[id(out)] = node.name
    last = max((arrival[id(t)] for t in graph.outputs), default=Time(0, 0.0))
    return layers, arrival, producer_of, last.cycle + (1 if last.offset > 0 else 0)


def schedule(graph: Graph, datapaths: dict[str, Datapath], clock_ns: float) -> Schedule:
    """Chain every layer's critical path through the graph (in topological order).

    Register boundaries are first placed greedily (ASAP); then, layer by layer,
    a boundary is moved back to where fewer bits are live whenever that does not
    lengthen the whole schedule."""
    budget = arith.budget_ns(clock_ns)
    retimed: set[str] = set()
    *_, best = _run(graph, datapaths, budget, retimed)
    for node in graph.nodes:
        if _run(graph, datapaths, budget, retimed | {node.name})[3] <= best:
            retimed.add(node.name)
    layers, arrival, producer_of, latency = _run(graph, datapaths, budget, retimed)
    _delay_lines(graph, arrival, layers)
    for t in graph.outputs:
        name = producer_of.get(id(t))
        if name is None:
            continue
        done = arrival[id(t)]
        layers[name].cycles += latency - done.cycle
        layers[name].ff += _bits(t) * max(latency - done.cycle, 0)
    if graph.outputs:
        _mark_critical(graph, arrival, producer_of, layers)
    return Schedule(layers, latency)


def _delay_lines(graph: Graph, arrival: dict[int, Time], layers: dict[str, LayerTiming]) -> None:
    """Registers that hold a value until its last (later-starting) user needs it."""
    users: dict[int, list[str]] = {}
    for node in graph.nodes:
        for t in node.inputs:
            if not t.is_constant:
                users.setdefault(id(t), []).append(node.name)
    tensors = {id(t): t for n in graph.nodes for t in n.inputs} | {id(t): t for t in graph.inputs}
    for key, names in users.items():
        ready = arrival[key]
        hold, who = max((layers[n].start.cycle - ready.cycle, n) for n in names)
        if hold > 0:
            layers[who].ff += _bits(tensors[key]) * hold


def _mark_critical(graph: Graph, arrival: dict[int, Time], producer_of: dict[int, str],
                   layers: dict[str, LayerTiming]) -> None:
    by_name = {n.name: n for n in graph.nodes}
    tensor = max(graph.outputs, key=lambda t: arrival[id(t)])
    while id(tensor) in producer_of:
        name = producer_of[id(tensor)]
        layers[name].critical = True
        ins = [t for t in by_name[name].inputs if not t.is_constant]
        if not ins:
            break
        tensor = max(ins, key=lambda t: arrival[id(t)])

"""Delay and cost model of netlist nodes, and the pipeline schedule.

One model serves the CMVM solver (which adder tree is cheaper and shallower), the
scheduler (where registers go so every stage fits the clock) and the estimator
(LUT/FF/CARRY of the Verilog backend). The figures are for AMD UltraScale+ fabric
(a LUT6 level with local routing, a CARRY8 per 8 adder bits) and are calibrated
against Yosys ``synth_xilinx -family xcup`` on the reference models.

Stage semantics: the input port is registered; every node of stage ``s`` is
computed combinationally from registers loaded at boundary ``s``; a value used in a
later stage passes through one register per boundary; the outputs are registered
once more. A design whose last output is in stage ``S`` has latency ``S + 1``
cycles: an event sampled at clock edge ``t`` is on ``out_data`` after edge ``t + S + 1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trigc.fixed import Overflow, Rounding, requantize
from trigc.netlist.graph import Kind, Netlist, Node

WIRES = frozenset({Kind.INPUT, Kind.CONST, Kind.SHIFT})


@dataclass(frozen=True)
class DelayModel:
    """Nanoseconds per logic element (UltraScale+ -2, with typical routing)."""

    lut: float = 0.40  # one LUT6 level including its net
    carry_bit: float = 0.012  # per bit of a CARRY8 chain
    carry_setup: float = 0.25  # entering and leaving the carry chain
    dsp: float = 2.6  # a DSP48E2 multiply, unregistered
    register: float = 0.35  # clock-to-out plus setup of one register


MODEL = DelayModel()


def adder_bits(net: Netlist, n: Node) -> int:
    """Bits an ADD/SUB/MAX/MIN really computes: the LSBs below the coarser operand's
    grid pass straight through from the finer one."""
    if len(n.args) < 2:
        return n.width
    ea, eb = (net[a].exp for a in n.args[:2])
    if n.kind is Kind.SUB and eb < ea:
        return n.width  # a finer subtrahend borrows through every bit
    return max(n.width - abs(ea - eb), 1)


def delay(net: Netlist, n: Node, model: DelayModel = MODEL) -> float:
    """Combinational delay of one node (ns)."""
    k = n.kind
    if k in WIRES:
        return 0.0
    if k in (Kind.ADD, Kind.SUB, Kind.NEG):
        return model.lut + model.carry_setup + model.carry_bit * adder_bits(net, n)
    if k in (Kind.MAX, Kind.MIN):
        return 2 * model.lut + model.carry_setup + model.carry_bit * adder_bits(net, n)
    if k is Kind.CAST:
        src = net[n.args[0]]
        t = n.param
        d = 0.0
        if t.rounding is not Rounding.TRN and -src.exp > t.frac_bits:
            d += model.lut + model.carry_setup + model.carry_bit * (src.width + 1)
        if not _cast_fits(net, n):
            d += model.lut * (2 if t.overflow is not Overflow.WRAP else 0)
        return d
    if k is Kind.SELECT:
        return model.lut
    if k is Kind.ROM:
        index_bits = max(1, math.ceil(math.log2(max(len(n.param.table), 2))))
        return model.lut * (1 + max(0, index_bits - 6) / 2)
    if k is Kind.MUL:
        return model.dsp
    if k is Kind.DIVC:
        return 3 * (model.lut + model.carry_setup + model.carry_bit * n.width)
    raise ValueError(f"no delay for {k}")


def _cast_fits(net: Netlist, n: Node) -> bool:
    """Whether a CAST never overflows its destination (no saturation logic)."""
    t = n.param
    return t.min_raw <= n.lo and n.hi <= t.max_raw and not _may_overflow(net, n)


def _may_overflow(net: Netlist, n: Node) -> bool:
    src = net[n.args[0]]
    lo, hi = requantize(np.array([src.lo, src.hi], dtype=object), -src.exp, n.param,
                        wrap=False)
    return not (n.param.min_raw <= lo and hi <= n.param.max_raw)


@dataclass(frozen=True)
class Schedule:
    """Pipeline stage of every node and the design's latency (cycles, II 1)."""

    stage: tuple[int, ...]
    arrival: tuple[float, ...]
    last_stage: int
    stage_ns: float

    @property
    def latency(self) -> int:
        return self.last_stage + 1


def schedule(net: Netlist, stage_ns: float | None, model: DelayModel = MODEL) -> Schedule:
    """Place registers so that no stage's combinational delay exceeds ``stage_ns``
    (ASAP, in topological order). ``stage_ns=None`` puts everything in stage 0: a
    combinational datapath between the port registers."""
    budget = math.inf if stage_ns is None else stage_ns - model.register
    live = net.live()
    stage = [0] * len(net)
    arrival = [0.0] * len(net)
    for n in net.nodes:
        if not live[n.id] or not n.args:
            continue
        if n.kind in WIRES:  # a wire is where its source is
            stage[n.id], arrival[n.id] = stage[n.args[0]], arrival[n.args[0]]
            continue
        d = delay(net, n, model)
        s = max(stage[a] for a in n.args)
        t = max((arrival[a] for a in n.args if stage[a] == s), default=0.0)
        if t + d > budget and t > 0:
            s, t = s + 1, 0.0
        stage[n.id], arrival[n.id] = s, t + d
    last = max((stage[i] for i in net.outputs), default=0)
    return Schedule(tuple(stage), tuple(arrival), last, budget if stage_ns else math.inf)


# ---- cost ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Cost:
    """Fabric cost of one node: LUTs, CARRY8 blocks and DSP48E2 slices."""

    lut: float = 0.0
    carry: float = 0.0
    dsp: int = 0

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.lut + other.lut, self.carry + other.carry, self.dsp + other.dsp)


DSP_MIN_BITS = 2
"""A multiplier whose operands are both at least this wide goes to a DSP48E2: Yosys
0.23 ``synth_xilinx`` maps even a 5x9 ``$mul`` to one; narrower ones are LUT logic."""


def _carry(bits: int) -> int:
    """Carry blocks of a ``bits``-wide chain (Yosys 0.23 maps CARRY4 even for xcup)."""
    return math.ceil(bits / CARRY_BITS)


CARRY_BITS = 4


def cost(net: Netlist, n: Node) -> Cost:
    """LUT/CARRY/DSP of one node: the estimator's figures, calibrated against Yosys
    0.23 ``synth_xilinx -family xcup`` on the reference models. The CMVM solver
    minimises the same adder widths (:func:`adder_bits`).

    - an adder of two run-time words: one LUT per computed bit, except the top bit,
      which the carry-out gives;
    - an adder with a constant operand (a bias, a rounding constant): no LUT, the
      constant's bits go straight into the carry chain;
    - a rounding cast: its constant (plus the tie bit of round-half-to-even) rides
      the carry chain too; saturation is a 2:1 multiplexer per output bit and a LUT
      for the range check;
    - max/min: a comparator (a LUT per bit into a carry chain) and a multiplexer."""
    k = n.kind
    if k in WIRES:
        return Cost()
    if k in (Kind.ADD, Kind.SUB):
        bits = adder_bits(net, n)
        if any(net[a].lo == net[a].hi for a in n.args):
            return Cost(0, _carry(bits))
        return Cost(max(bits - 1, 1), _carry(bits))
    if k is Kind.NEG:
        return Cost(n.width - 1, _carry(n.width))
    if k in (Kind.MAX, Kind.MIN):
        bits = adder_bits(net, n)
        return Cost(bits + n.width, _carry(bits))
    if k is Kind.SELECT:
        return Cost(n.width)
    if k is Kind.CAST:
        src, t = net[n.args[0]], n.param
        c = Cost()
        if t.rounding is not Rounding.TRN and -src.exp > t.frac_bits:
            c = c + Cost(1, _carry(src.width))  # a constant (and a tie bit) add
        if _may_overflow(net, n) and t.overflow is not Overflow.WRAP:
            c = c + Cost(n.width + 1)
        return c
    if k is Kind.ROM:
        entries = len(n.param.table)
        return Cost(n.width * max(1.0, entries / 64))
    if k is Kind.MUL:
        wa, wb = (net[a].width for a in n.args)
        if min(wa, wb) >= DSP_MIN_BITS:
            return Cost(dsp=math.ceil(wa / 27) * math.ceil(wb / 18))
        return Cost(wa * wb, wa * _carry(wb))
    if k is Kind.DIVC:
        w = net[n.args[0]].width
        return Cost(3 * w * w / 2, w)
    raise ValueError(f"no cost for {k}")


def registers(net: Netlist, sched: Schedule) -> list[int]:
    """Flip-flops per node: its width times the registers its value passes through
    (the longest delay any consumer needs, or to the output register). A shift is
    its source's wire, and a node of one value a literal: neither has registers."""

    def base(i: int) -> int:
        while net[i].kind is Kind.SHIFT:
            i = net[i].args[0]
        return i

    depth = [0] * len(net)
    live = net.live()
    for n in net.nodes:
        if not live[n.id] or n.kind is Kind.SHIFT:
            continue
        for a in n.args:
            b = base(a)
            depth[b] = max(depth[b], sched.stage[n.id] - sched.stage[b])
    for i in net.outputs:
        b = base(i)
        depth[b] = max(depth[b], sched.last_stage - sched.stage[b])
    return [depth[n.id] * n.width if n.lo != n.hi else 0 for n in net.nodes]

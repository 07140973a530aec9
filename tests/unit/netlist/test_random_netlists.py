"""Random netlists: the Verilog backend equals ``trigc.netlist.evaluate`` bit for bit.

A seeded generator builds small netlists from every node kind the builder offers
(add, sub, neg, shift, max, min, select, mul, rom, divc and casts into every
rounding x overflow mode, signed and unsigned, 1 to 72 bits, intermediates past
64 bits). Each is scheduled combinationally, with a tight and with a loose stage
budget, rendered, and all of a batch share one testbench and one Verilator build
(``tests/rtl/emit_sim.py``; one build costs seconds, one per design would cost
minutes). Every node the generator keeps is an output too, so a wrong intermediate
cannot hide behind a later wrap or clamp. A hypothesis test without simulator checks the
generator's premise: every value ``evaluate`` computes lies in its node's interval
(the width the Verilog declares).
"""

from __future__ import annotations

import sys
from itertools import product
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from trigc.backends.verilog import render
from trigc.fixed import FixedType, Overflow, Rounding
from trigc.netlist import Kind, Netlist, Rom, evaluate, schedule

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "rtl"))
from emit_sim import Case, check, have, run

F = FixedType
MAX_WIDTH = 72  # widest cast / input type; products and sums grow past it
MODES = [(q, o, s) for q, o, s in product(Rounding, Overflow, (True, False))
         if s or o is not Overflow.WRAP_SM]
STAGE_NS = (None, 0.8, 2.5)  # combinational, a register almost every node, loose
EVENTS = 400
BUILT = {Kind.INPUT, Kind.CONST, Kind.SHIFT, Kind.ADD, Kind.SUB, Kind.NEG, Kind.MUL, Kind.MAX,
         Kind.MIN, Kind.CAST, Kind.ROM, Kind.SELECT, Kind.DIVC}


def choose(rng: np.random.Generator, items: list):
    return items[int(rng.integers(len(items)))]


class Gen:
    """One random netlist; ``modes`` cycles through every cast mode so a batch covers
    them all (``requested`` records what was asked for)."""

    def __init__(self, rng: np.random.Generator, modes: list) -> None:
        self.rng, self.modes = rng, modes
        self.net = Netlist()
        self.pool: list[int] = []
        self.requested: set = set()

    def pick(self) -> int:
        """A node of the pool, the newest ones more often (deeper chains)."""
        k = len(self.pool)
        back = int(abs(self.rng.normal(0, 2))) if self.rng.random() < 0.6 else \
            int(self.rng.integers(k))
        return self.pool[max(k - 1 - back, 0)]

    def width(self, i: int) -> int:
        return self.net[i].width

    def random_type(self, near: int | None = None) -> FixedType:
        """A type of up to MAX_WIDTH bits; ``near``: around node ``near``'s range and
        grid, so that casts round and overflow sometimes and fit sometimes."""
        rng = self.rng
        q, o, s = self.modes[0] if self.modes and near is not None else (
            choose(rng, list(Rounding)), choose(rng, list(Overflow)), bool(rng.integers(2)))
        if o is Overflow.WRAP_SM and not s:
            o = Overflow.SAT
        if near is None:
            width = choose(rng, [1, 2, 3, 5, 8, 12, 17, 24, 33, 48, 63, 64, 65, 72])
            return F(s, width, width - int(rng.integers(-3, width + 4)), q, o)
        n = self.net[near]
        need = F.for_raw_range(n.lo, n.hi, -n.exp)
        frac = -n.exp + int(rng.integers(-6, 3))  # mostly drop LSBs
        integer = need.integer_bits + int(rng.integers(-4, 3))  # sometimes overflow
        width = min(max(integer + frac, 1), MAX_WIDTH)
        return F(s, width, width - frac, q, o)

    def cast(self, a: int, output: bool = False) -> int:
        """``a`` cast to a random type near its range (and made an output)."""
        t = self.random_type(near=a)
        out = self.net.cast(a, t)
        if out != a and self.net[a].lo != self.net[a].hi:
            self.requested.add((t.rounding, t.overflow, t.signed))
            if self.modes and self.modes[0] == (t.rounding, t.overflow, t.signed):
                self.modes.pop(0)  # else the next cast tries the mode again
        if output:
            self.net.output(out, t)
        return out

    def step(self) -> None:
        rng, net = self.rng, self.net
        op = choose(rng, ["add", "sub", "neg", "shift", "max", "min", "select", "cast", "cast",
                         "rom", "mul", "divc", "const"])
        a, b = self.pick(), self.pick()
        if op in ("add", "sub", "max", "min"):
            if rng.random() < 0.3:
                b = self.const_near(a)
            b = net.shift(b, int(rng.integers(-5, 6))) if rng.random() < 0.4 else b
            out = getattr(net, op)(a, b)
        elif op == "neg":
            out = net.neg(a)
        elif op == "shift":
            out = net.shift(a, int(rng.integers(-8, 9)))
        elif op == "select":
            c = self.pick()
            out = net.select(c, a, net.shift(b, net[a].exp - net[b].exp))
        elif op == "cast":
            out = self.cast(a)
        elif op == "rom":
            out = self.rom(a)
        elif op == "mul":
            if self.width(a) + self.width(b) > 110:
                b = net.cast(b, F(True, 6, 3, Rounding.RND, Overflow.SAT))
            out = net.mul(a, b)
        elif op == "divc":
            out = self.divc(a)
        else:
            out = net.add(a, self.const_near(a))
        if self.width(out) > 100:  # keep the sums from growing without bound
            out = self.cast(out)
        self.pool.append(out)

    def const_near(self, a: int) -> int:
        n = self.net[a]
        raw = int(self.rng.integers(-40, 41)) if self.rng.random() < 0.5 else \
            int(self.rng.integers(-(1 << min(n.width, 60)), 1 << min(n.width, 60)))
        return self.net.const(raw, n.exp + int(self.rng.integers(-3, 4)))

    def rom(self, a: int) -> int:
        rng, n = self.rng, self.net[a]
        length = int(rng.integers(1, 70))
        span = n.hi - n.lo + 1
        shift = max(0, (span // max(length, 1)).bit_length() - int(rng.integers(-1, 3)))
        index_low = n.lo + int(rng.integers(-2, 3)) * (1 << shift) + (
            int(rng.integers(0, span)) if span < 1 << 62 else 0) // 4
        table = tuple(int(v) for v in rng.integers(-300, 300, length))
        return self.net.rom(a, Rom(table, int(index_low), int(shift)), int(rng.integers(-4, 4)))

    def divc(self, a: int) -> int:
        rng, n = self.rng, self.net[a]
        den = choose(rng, [1, 2, 3, 4, 5, 6, 7, 9, 10, 12, 25, 96, 255, 1000])
        frac = -n.exp + int(rng.integers(-3, 6))
        shift = frac + n.exp  # quotient raw = source raw * 2**shift / den
        num, div = (1 << max(shift, 0), den << max(-shift, 0))
        lo, hi = n.lo * num // div - 1, -(-n.hi * num // div) + 1
        need = F.for_raw_range(lo, hi, frac)
        signed = need.signed or bool(rng.integers(2))
        width = need.width + (signed and not need.signed)
        q = choose(rng, list(Rounding))
        return self.net.divc(a, den, F(signed, width, width - frac, q))


def random_netlist(seed: int, modes: list | None = None, steps: int = 14) -> tuple[Netlist, set]:
    """A netlist of 1-4 inputs and ``steps`` random operations; every non-wire node
    and a few casts of it are outputs. Returns the netlist and the modes requested."""
    rng = np.random.default_rng(seed)
    gen = Gen(rng, list(modes or []))
    net = gen.net
    net.layer = "inputs"
    for _ in range(int(rng.integers(1, 5))):
        gen.pool.append(net.input(gen.random_type()))
    for k in range(steps):
        net.layer = f"layer_{k // 4}"
        gen.step()
    net.layer = "outputs"
    for i in dict.fromkeys(gen.pool):
        n = net[i]
        if n.kind in (Kind.INPUT, Kind.CONST, Kind.SHIFT):
            continue
        net.output(i, F.for_raw_range(n.lo, n.hi, -n.exp))
    for i in gen.pool[-3:]:
        gen.cast(i, output=True)
    for _ in range(200):  # every cast mode this netlist was given
        if not gen.modes:
            break
        gen.cast(gen.pick(), output=True)
    return net, gen.requested


def _draw(rng: np.random.Generator, lo: int, hi: int) -> int:
    """Uniform-ish in [lo, hi] for any width, half of the time log-uniform in
    magnitude (small values of wide types: rounding ties, casts that fit)."""
    if rng.random() < 0.5:
        bits = int(rng.integers(0, max(hi, -lo, 1).bit_length() + 1))
        v = int.from_bytes(rng.bytes(bits // 8 + 1), "little") % (1 << bits) if bits else 0
        v = -v if rng.random() < 0.5 else v
        return min(max(v, lo), hi)
    span = hi - lo + 1
    return lo + int.from_bytes(rng.bytes(span.bit_length() // 8 + 2), "little") % span


def raw_inputs(net: Netlist, events: int, seed: int) -> np.ndarray:
    """Raw inputs (events x inputs, Python ints): each type's corners first."""
    rng = np.random.default_rng(seed)
    cols = []
    for t in net.input_types:
        corners = [t.min_raw, t.max_raw, 0, min(t.max_raw, 1), max(t.min_raw, -1),
                   t.max_raw - 1 if t.max_raw > t.min_raw else t.max_raw]
        cols.append((corners + [_draw(rng, t.min_raw, t.max_raw)
                                for _ in range(events)])[:events])
    return np.array(cols, dtype=object).T.reshape(events, len(net.input_types))


def make_batch(first_seed: int, count: int) -> tuple[list[Case], set]:
    """``count`` designs (seeds ``first_seed``...), schedules cycling through STAGE_NS,
    with the cast modes spread over the batch so that it requests every one."""
    modes = [MODES[i] for i in np.random.default_rng(first_seed).permutation(len(MODES))]
    per = -(-len(modes) // count)
    cases, requested = [], set()
    for k in range(count):
        seed = first_seed + k
        net, asked = random_netlist(seed, modes[k * per:(k + 1) * per])
        requested |= asked
        sched = schedule(net, STAGE_NS[k % len(STAGE_NS)])
        top = f"rnd_{seed}"
        files = render(net, sched, top, clock_ns=4.0,
                       input_names=[f"x{i}" for i in range(len(net.inputs))],
                       output_names=[f"y{i}" for i in range(len(net.outputs))],
                       source="random")
        valid = np.random.default_rng(seed + 1).integers(0, 2, EVENTS)
        cases.append(Case(top, net, sched, files, raw_inputs(net, EVENTS, seed), valid))
    return cases, requested


needs_verilator = pytest.mark.skipif(not have("verilator"), reason="needs verilator")


@needs_verilator
@pytest.mark.slow
@pytest.mark.parametrize("first_seed", [1000, 2000])
def test_random_netlists_verilator(tmp_path, first_seed):
    cases, requested = make_batch(first_seed, 12)
    # the batch is as broad as the docstring says
    assert requested == set(MODES)
    kinds = {n.kind for case in cases for n in case.net.nodes}
    assert kinds >= BUILT
    assert max(n.width for case in cases for n in case.net.nodes) > 64
    assert max(case.sched.latency for case in cases) >= 4
    assert min(case.sched.latency for case in cases) == 1
    lines = run(cases, tmp_path)
    for case in cases:
        assert check(case, lines[case.top]) == EVENTS


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=True)
@given(st.integers(0, 2**32 - 1))
def test_evaluate_stays_in_node_intervals(seed):
    net, _ = random_netlist(seed)
    live = net.live()
    probe = [n.id for n in net.nodes if live[n.id] and n.kind is not Kind.CONST]
    for i in probe:  # every live node an output, in its own exact type
        n = net[i]
        net.output(i, F.for_raw_range(n.lo, n.hi, -n.exp))
    out = evaluate(net, raw_inputs(net, 200, seed))
    for col, i in enumerate(probe):
        n = net[i]
        values = out[:, len(out[0]) - len(probe) + col]
        assert n.lo <= min(values) and max(values) <= n.hi, (seed, n)

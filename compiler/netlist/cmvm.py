"""Constant matrix times vector (CMVM) as a shift-add network.

``y_j = sum_i x_i * w[i, j]`` for a constant integer matrix ``w``. The solver:

1. recodes every weight in canonical signed digits (CSD: the fewest nonzero
   digits ``±2**k``), so column ``j`` is a sum of signed, shifted *digits*
   ``±(x_i << k)``; a weight with at least ``dsp_digits`` digits becomes one
   multiplier term instead;
2. extracts common subexpressions across the whole matrix (Hartley-style): the
   pair of digits ``±(t_a << s) ± (t_b << s + d)`` that occurs most often,
   normalised by its lowest shift and sign, becomes a new term ``t_a ± (t_b << d)``
   built once, and every occurrence is replaced by one digit of that term. Pair
   counts are kept incrementally; new terms take part in later pairs. Among equally
   frequent pairs the one with the closest shifts (then the narrowest) wins,
   and a pair is not extracted if it would make a column later than its
   no-sharing adder tree (so sharing costs no latency);
3. sums each column's remaining digits with an adder tree that always combines the
   two earliest-available terms (arrival times from the delay model of
   :mod:`trigc.netlist.timing`), so there are no deep chains.

The result is a :class:`Program`: a frozen recipe solved once and applied to any
input signals of the same bounds (a Conv layer applies it at every pixel). Its
``cost`` is the sum of adder bits under the netlist's own rule
(:func:`trigc.netlist.timing.adder_bits`): every adder is exactly as wide as its
interval needs, minus the LSBs that pass through from the finer operand.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
from trigc.errors import IRError
from trigc.netlist.graph import Netlist, raw_width
from trigc.netlist.timing import MODEL

Bounds = tuple[int, int, int]
"""(lo, hi, exp) of a signal: raw interval and exponent, as netlist nodes carry."""

# recipe opcodes
_ADD, _SUB, _NEG, _MUL = "add", "sub", "neg", "mul"


@dataclass(frozen=True)
class Program:
    """A solved CMVM: ``ops`` build new terms from the inputs (terms ``0..n_in-1``),
    and column ``j`` is ``outputs[j] = (term, shift)`` or None for a zero column.

    Op ``(kind, a, b, shift)`` appends term ``a ± (b << shift)`` (``add``/``sub``),
    ``-a`` (``neg``) or ``a * b`` with the constant ``b`` (``mul``)."""

    n_in: int
    ops: tuple[tuple[str, int, int, int], ...]
    outputs: tuple[tuple[int, int] | None, ...]
    cost: float
    """Sum of adder bits (the netlist's :func:`~trigc.netlist.timing.adder_bits`)."""
    adders: int
    """Adders and negations (multipliers are not counted)."""
    depth: int
    """Adder levels on the longest path (a multiplier counts as one level)."""
    latency_ns: float
    """Combinational delay of the longest path (inputs arriving at 0)."""

    def apply(self, net: Netlist, x: list[int]) -> list[int]:
        """Build the program on the signals ``x`` (one per matrix row, with the bounds
        the program was solved for): one signal per column, exactly ``x @ w``."""
        if len(x) != self.n_in:
            raise IRError(f"cmvm: program takes {self.n_in} inputs, got {len(x)}")
        sig = list(x)
        for kind, a, b, shift in self.ops:
            if kind == _ADD:
                sig.append(net.add(sig[a], net.shift(sig[b], shift)))
            elif kind == _SUB:
                sig.append(net.sub(sig[a], net.shift(sig[b], shift)))
            elif kind == _NEG:
                sig.append(net.neg(sig[a]))
            else:
                sig.append(net.mul(sig[a], net.const(b)))
        zero = None
        out = []
        for column in self.outputs:
            if column is None:
                zero = net.const(0) if zero is None else zero
                out.append(zero)
            else:
                out.append(net.shift(sig[column[0]], column[1]))
        return out


def csd(value: int) -> list[tuple[int, int]]:
    """Canonical signed digits of ``value`` as ``(shift, sign)``, lowest first:
    ``value == sum(sign << shift)`` with no two adjacent nonzero digits."""
    digits = []
    shift = 0
    value = int(value)
    while value:
        if value & 1:
            sign = 2 - (value & 3)  # ...01 -> +1, ...11 -> -1 (then a carry)
            digits.append((shift, sign))
            value -= sign
        value >>= 1
        shift += 1
    return digits


def combine(a: Bounds, b: Bounds, shift: int, sub: bool) -> tuple[Bounds, int]:
    """Bounds of ``a ± (b << shift)`` and its adder bits, as the netlist computes them
    (on the finer grid; LSBs below the coarser operand pass through, except below a
    finer subtrahend)."""
    alo, ahi, aexp = a
    blo, bhi, bexp = b
    bexp += shift
    exp = min(aexp, bexp)
    alo, ahi = alo << (aexp - exp), ahi << (aexp - exp)
    blo, bhi = blo << (bexp - exp), bhi << (bexp - exp)
    lo, hi = (alo - bhi, ahi - blo) if sub else (alo + blo, ahi + bhi)
    width = raw_width(lo, hi)[0]
    if sub and bexp < aexp:
        return (lo, hi, exp), width  # a finer subtrahend borrows through every bit
    return (lo, hi, exp), max(width - abs(aexp - bexp), 1)


def adder_delay(bits: int) -> float:
    """Delay of one adder of ``bits`` bits (the model of :func:`timing.delay`)."""
    return MODEL.lut + MODEL.carry_setup + MODEL.carry_bit * bits


def solve(w: np.ndarray, in_bounds: list[Bounds], *, dsp_digits: int | None = None,
          extra_depth: int = 0) -> Program:
    """Solve ``x @ w`` for the integer matrix ``w`` (rows: inputs, columns: outputs)
    and inputs of raw bounds ``in_bounds[i] = (lo, hi, exp)``.

    ``dsp_digits``: a weight with at least that many CSD digits is a multiplier.
    ``extra_depth``: adder levels the sharing may add over the deepest no-sharing
    column tree (0: sharing never makes the matrix slower)."""
    w = np.asarray(w, dtype=object)
    if w.ndim != 2 or w.shape[0] != len(in_bounds):
        raise IRError(f"cmvm: a ({len(in_bounds)}, n) matrix is needed, got shape {w.shape}")
    solver = _Solver([tuple(int(v) for v in b) for b in in_bounds])
    columns = solver.digits(w, dsp_digits)
    sharing = _Sharing(solver, columns, extra_depth)
    sharing.run()
    outputs = tuple(solver.tree(column) for column in sharing.columns)
    return solver.program(outputs)


class _Solver:
    """The terms built so far (inputs first), their bounds, arrival and depth, and
    the recipe that builds them."""

    def __init__(self, in_bounds: list[Bounds]) -> None:
        self.n_in = len(in_bounds)
        self.bounds: list[Bounds] = list(in_bounds)
        self.arrival: list[float] = [0.0] * self.n_in
        self.depth: list[int] = [0] * self.n_in
        self.ops: list[tuple[str, int, int, int]] = []
        self.cost = 0
        self.adders = 0
        self._memo: dict[tuple[str, int, int, int], int] = {}

    def term(self, kind: str, a: int, b: int = 0, shift: int = 0) -> int:
        """The term ``a ± (b << shift)``, ``-a`` or ``a * b`` (built once)."""
        key = (kind, a, b, shift)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        if kind in (_ADD, _SUB):
            bounds, bits = combine(self.bounds[a], self.bounds[b], shift, kind == _SUB)
            arrival = max(self.arrival[a], self.arrival[b]) + adder_delay(bits)
            depth = max(self.depth[a], self.depth[b]) + 1
        elif kind == _NEG:
            lo, hi, exp = self.bounds[a]
            bounds, bits = (-hi, -lo, exp), raw_width(-hi, -lo)[0]
            arrival, depth = self.arrival[a] + adder_delay(bits), self.depth[a] + 1
        else:
            lo, hi, exp = self.bounds[a]
            odd = b
            corners = (lo * odd, hi * odd)
            bounds, bits = (min(corners), max(corners), exp), 0
            arrival, depth = self.arrival[a] + MODEL.dsp, self.depth[a] + _MUL_LEVELS
        if bits:
            self.cost += bits
            self.adders += 1
        self._memo[key] = len(self.bounds)
        self.ops.append(key)
        self.bounds.append(bounds)
        self.arrival.append(arrival)
        self.depth.append(depth)
        return len(self.bounds) - 1

    def digits(self, w: np.ndarray, dsp_digits: int | None) -> list[dict]:
        """Each column as ``{(term, shift): sign}``: the CSD digits of its weights
        (a multiplier term for a weight with ``dsp_digits`` digits or more)."""
        columns: list[dict] = [{} for _ in range(w.shape[1])]
        cache: dict[int, list[tuple[int, int]]] = {}
        for i in range(w.shape[0]):
            lo, hi, _ = self.bounds[i]
            if lo == hi == 0:
                continue  # a constant-zero input contributes nothing
            for j in range(w.shape[1]):
                value = int(w[i, j])
                if not value:
                    continue
                recoded = cache.get(value)
                if recoded is None:
                    recoded = cache[value] = csd(value)
                if dsp_digits is not None and len(recoded) >= dsp_digits:
                    odd, zeros = _odd_part(abs(value))
                    columns[j][(self.term(_MUL, i, odd), zeros)] = 1 if value > 0 else -1
                    continue
                for shift, sign in recoded:
                    columns[j][(i, shift)] = sign
        return columns

    def tree(self, column: dict[int, dict[int, int]]) -> tuple[int, int] | None:
        """Sum a column's digits, always adding the two earliest-available ones; the
        result as ``(term, shift)`` (negated at the end only if every digit is)."""
        if not column:
            return None
        heap = [(self.arrival[t], s, t, g) for t, shifts in column.items()
                for s, g in shifts.items()]
        heapq.heapify(heap)
        while len(heap) > 1:
            _, sa, a, ga = heapq.heappop(heap)
            _, sb, b, gb = heapq.heappop(heap)
            if ga < 0 < gb:
                sa, a, ga, sb, b, gb = sb, b, gb, sa, a, ga
            if ga != gb and heap and self.bounds[b][2] + sb < self.bounds[a][2]:
                # not the root: -(b - a) keeps the coarser operand as subtrahend
                sa, a, ga, sb, b, gb = sb, b, gb, sa, a, ga
            t = self.term(_ADD if ga == gb else _SUB, a, b, sb - sa)
            heapq.heappush(heap, (self.arrival[t], sa, t, ga))
        _, shift, t, sign = heap[0]
        if sign < 0:
            t = self.term(_NEG, t)
        return t, shift

    def program(self, outputs: tuple) -> Program:
        used = [self.depth[c[0]] for c in outputs if c is not None]
        late = [self.arrival[c[0]] for c in outputs if c is not None]
        return Program(self.n_in, tuple(self.ops), outputs, float(self.cost), self.adders,
                       max(used, default=0), max(late, default=0.0))


_MUL_LEVELS = 3
"""Adder levels a multiplier counts as (DSP delay over a typical adder's)."""


def _odd_part(value: int) -> tuple[int, int]:
    """``value = odd << zeros``."""
    zeros = (value & -value).bit_length() - 1
    return value >> zeros, zeros


class _Sharing:
    """Greedy common-subexpression extraction over the digits of all columns.

    A pair key ``(a, b, d, g)`` (``a`` before ``b`` in (term, shift) order) stands
    for the term ``a + g * (b << d)``; ``count`` holds, incrementally, how often each
    key occurs as two digits of one column. A lazy max-heap finds the most frequent.
    """

    def __init__(self, solver: _Solver, columns: list[dict], extra_depth: int) -> None:
        self.solver = solver
        depth = solver.depth
        # column j: {term: {shift: sign}}
        self.columns: list[dict[int, dict[int, int]]] = []
        self.kraft: list[int] = []
        self.where: dict[int, set[int]] = {}
        for j, flat in enumerate(columns):
            col: dict[int, dict[int, int]] = {}
            for (t, s), g in flat.items():
                col.setdefault(t, {})[s] = g
                self.where.setdefault(t, set()).add(j)
            self.columns.append(col)
            self.kraft.append(sum(1 << depth[t] for t, _ in flat))
        levels = max(((k - 1).bit_length() for k in self.kraft if k), default=0)
        self.budget = 1 << (levels + extra_depth)
        self.count: dict[tuple[int, int, int, int], int] = {}
        self._count_all()
        self.heap = [self._entry(key, c) for key, c in self.count.items() if c > 1]
        heapq.heapify(self.heap)

    def _count_all(self) -> None:
        count = self.count
        for col in self.columns:
            items = sorted((t, s, g) for t, shifts in col.items() for s, g in shifts.items())
            for i, (ta, sa, ga) in enumerate(items):
                for tb, sb, gb in items[i + 1:]:
                    key = (ta, tb, sb - sa, ga * gb)
                    count[key] = count.get(key, 0) + 1

    def _oriented(self, key: tuple[int, int, int, int]) -> tuple[str, int, int, int, bool]:
        """How a pair is built: ``(kind, first, second, shift, flipped)``. A difference
        is taken with the coarser operand as subtrahend (its LSBs pass through);
        ``flipped``: the term is ``b - (a << -d)``, the negated pair."""
        a, b, d, g = key
        if g > 0:
            return _ADD, a, b, d, False
        if self.solver.bounds[b][2] + d < self.solver.bounds[a][2]:
            return _SUB, b, a, -d, True
        return _SUB, a, b, d, False

    def _entry(self, key: tuple[int, int, int, int], bound: int) -> tuple:
        """Heap entry of a pair with at most ``bound`` usable occurrences: the most
        frequent first, then the closest shifts (which keeps the sums narrow: fewer
        adder bits), then the narrowest adder."""
        kind, first, second, shift, _ = self._oriented(key)
        bounds = self.solver.bounds
        _, bits = combine(bounds[first], bounds[second], shift, kind == _SUB)
        return (-bound, abs(shift), bits, bound, key)

    def run(self) -> None:
        heap, count = self.heap, self.count
        while heap:
            # an entry's bound is at least its key's usable occurrences
            entry = heapq.heappop(heap)
            bound, key = entry[-2], entry[-1]
            now = count.get(key, 0)
            if now < bound:
                if now > 1:
                    heapq.heappush(heap, self._entry(key, now))
                continue
            found = self._occurrences(key)
            if len(found) >= bound:
                self._extract(key, found)
            elif len(found) > 1:
                heapq.heappush(heap, self._entry(key, len(found)))

    def _occurrences(self, key: tuple[int, int, int, int]) -> list[tuple[int, int, int]]:
        """Non-overlapping occurrences ``(column, shift, sign)`` of a pair whose
        extraction keeps the column within the depth budget."""
        a, b, d, g = key
        depth = self.solver.depth
        grow = (2 << max(depth[a], depth[b])) - (1 << depth[a]) - (1 << depth[b])
        found = []
        for j in self.where.get(a, ()) & self.where.get(b, set()):
            col = self.columns[j]
            shifts_a, shifts_b = col[a], col[b]
            used: set[int] = set()
            kraft = self.kraft[j]
            for s in sorted(shifts_a):
                h = shifts_b.get(s + d)
                if h is None or s in used or (a == b and s + d in used):
                    continue
                if h * shifts_a[s] != g or kraft + grow > self.budget:
                    continue
                used.update((s, s + d))
                kraft += grow
                found.append((j, s, shifts_a[s]))
        return found

    def _extract(self, key: tuple[int, int, int, int], found: list) -> None:
        a, b, d, _ = key
        kind, first, second, shift, flipped = self._oriented(key)
        new = self.solver.term(kind, first, second, shift)
        touched: set = set()
        grow = (1 << self.solver.depth[new]) - (1 << self.solver.depth[a]) - \
            (1 << self.solver.depth[b])
        for j, s, sign in found:
            self._remove(j, a, s, touched)
            self._remove(j, b, s + d, touched)
            if flipped:
                self._insert(j, new, s + d, -sign, touched)
            else:
                self._insert(j, new, s, sign, touched)
            self.kraft[j] += grow
        count = self.count
        for k in touched:
            c = count.get(k, 0)
            if c > 1:
                heapq.heappush(self.heap, self._entry(k, c))

    def _remove(self, j: int, t: int, s: int, touched: set) -> None:
        col = self.columns[j]
        g = col[t].pop(s)
        if not col[t]:
            del col[t]
            self.where[t].discard(j)
        count = self.count
        for u, shifts in col.items():
            for r, h in shifts.items():
                key = (t, u, r - s, g * h) if (t, s) < (u, r) else (u, t, s - r, g * h)
                count[key] -= 1

    def _insert(self, j: int, t: int, s: int, g: int, touched: set) -> None:
        col = self.columns[j]
        count = self.count
        for u, shifts in col.items():
            for r, h in shifts.items():
                key = (t, u, r - s, g * h) if (t, s) < (u, r) else (u, t, s - r, g * h)
                count[key] = count.get(key, 0) + 1
                touched.add(key)
        col.setdefault(t, {})[s] = g
        self.where.setdefault(t, set()).add(j)

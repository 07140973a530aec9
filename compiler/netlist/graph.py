"""The netlist: a word-level dataflow graph of integer operations, the Verilog
backend's plan of the whole design.

Every signal is an integer ``raw`` with a known exponent: its real value is
``raw * 2**exp``. Each node knows the exact interval ``[lo, hi]`` of its raw
values, so its width is exactly what that interval needs (``width``/``signed``).
Shifting by a power of two only changes the exponent: :meth:`Netlist.shift`
creates a wire, never logic.

Node kinds (``Kind``) and their exact semantics (what :func:`evaluate`, the
emitted Verilog and the cost model agree on):

- ``INPUT``: element ``param`` of the packed input vector.
- ``CONST``: the constant ``param`` (raw, at ``exp``).
- ``SHIFT``: ``args[0]`` with ``exp`` moved by ``param`` (a wire).
- ``ADD`` / ``SUB``: ``a + b`` / ``a - b`` on the finer of the two grids.
- ``NEG``: ``-a``.
- ``MUL``: ``a * b`` (two run-time operands: a multiplier).
- ``MAX`` / ``MIN``: the larger / smaller of ``a`` and ``b`` (by real value).
- ``CAST``: ``a`` assigned to the :class:`~trigc.fixed.FixedType` ``param``
  (rounding, then overflow, as ``ap_fixed`` does); ``exp = -param.frac_bits``.
- ``ROM``: ``param.table[clamp((a - index_low) >> shift)]`` (a :class:`Rom`).
- ``SELECT``: ``args[0] < 0 ? args[1] : args[2]`` on the finer operand grid (the
  sign of the first operand picks, as LeakyRelu needs).
- ``DIVC``: ``a / param.den`` assigned to ``param.dst`` with its rounding (a
  :class:`DivConst`; no overflow: the interval says it fits).


Nodes are hash-consed: asking twice for the same operation on the same operands
returns the same node, so structurally equal subexpressions are shared for free.
Nodes are stored in creation order, which is a topological order.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from trigc.errors import IRError
from trigc.fixed import FixedType, Overflow, Rounding, assign_ratio, requantize


class Kind(enum.Enum):
    INPUT = "input"
    CONST = "const"
    SHIFT = "shift"
    ADD = "add"
    SUB = "sub"
    NEG = "neg"
    MUL = "mul"
    MAX = "max"
    MIN = "min"
    CAST = "cast"
    ROM = "rom"
    SELECT = "select"
    DIVC = "divc"


@dataclass(frozen=True)
class Rom:
    """A lookup table: ``table[clamp((raw - index_low) >> shift, 0, len - 1)]``."""

    table: tuple[int, ...]
    index_low: int
    shift: int


@dataclass(frozen=True)
class DivConst:
    """Exact division by the positive integer ``den``, assigned to ``dst``."""

    den: int
    dst: FixedType


_FOLDED = (Rounding.RND, Rounding.RND_MIN_INF)
"""Roundings whose adder a cast shares with a constant operand (``_folded_cast``)."""


def raw_width(lo: int, hi: int) -> tuple[int, bool]:
    """(width, signed) of the narrowest two's-complement word holding [lo, hi]."""
    if lo >= 0:
        return max(int(hi).bit_length(), 1), False
    return max((-lo - 1).bit_length(), max(hi, 0).bit_length()) + 1, True


@dataclass(eq=False)
class Node:
    id: int
    kind: Kind
    args: tuple[int, ...]
    exp: int
    lo: int
    hi: int
    param: object = None
    layer: str = ""

    @property
    def width(self) -> int:
        return raw_width(self.lo, self.hi)[0]

    @property
    def signed(self) -> bool:
        return self.lo < 0


@dataclass
class Netlist:
    """A design: nodes in topological order, the input elements (packed in that order)
    and the output signals (packed in that order)."""

    nodes: list[Node] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    input_types: list[FixedType] = field(default_factory=list)
    output_types: list[FixedType] = field(default_factory=list)
    layer: str = ""
    """The layer new nodes are attributed to (the IR node being lowered)."""
    _memo: dict = field(default_factory=dict, repr=False)

    def __getitem__(self, i: int) -> Node:
        return self.nodes[i]

    def __len__(self) -> int:
        return len(self.nodes)

    # ---- building ------------------------------------------------------------
    def _make(self, kind: Kind, args: tuple[int, ...], exp: int, lo: int, hi: int,
              param=None) -> int:
        key = (kind, args, exp, param)
        if kind is not Kind.INPUT:
            hit = self._memo.get(key)
            if hit is not None:
                return hit
        if lo > hi:
            raise IRError(f"netlist: empty interval [{lo}, {hi}] for {kind.value}")
        node = Node(len(self.nodes), kind, args, exp, int(lo), int(hi), param, self.layer)
        self.nodes.append(node)
        if kind is not Kind.INPUT:
            self._memo[key] = node.id
        return node.id

    def input(self, t: FixedType) -> int:
        """The next element of the packed input vector, of type ``t``."""
        i = self._make(Kind.INPUT, (), -t.frac_bits, t.min_raw, t.max_raw, len(self.inputs))
        self.inputs.append(i)
        self.input_types.append(t)
        return i

    def output(self, i: int, t: FixedType) -> None:
        """Append signal ``i`` (already of type ``t``) to the packed output vector."""
        n = self.nodes[i]
        if n.exp != -t.frac_bits or n.lo < t.min_raw or n.hi > t.max_raw:
            i = self.cast(i, t)
        self.outputs.append(i)
        self.output_types.append(t)

    def const(self, raw: int, exp: int = 0) -> int:
        """The constant ``raw * 2**exp`` (normalized: odd raw, or 0 at exp 0)."""
        raw = int(raw)
        if raw == 0:
            return self._make(Kind.CONST, (), 0, 0, 0, 0)
        while raw % 2 == 0:
            raw //= 2
            exp += 1
        return self._make(Kind.CONST, (), exp, raw, raw, raw)

    def value(self, i: int) -> int | None:
        """The constant value of ``i`` as (raw at its exp), or None if it varies."""
        n = self.nodes[i]
        return n.lo if n.lo == n.hi else None

    def shift(self, a: int, k: int) -> int:
        """``a * 2**k``: a wire."""
        if k == 0:
            return a
        n = self.nodes[a]
        if n.kind is Kind.SHIFT:
            return self.shift(n.args[0], n.param + k)
        if n.kind is Kind.CONST:
            return self.const(n.lo, n.exp + k)
        return self._make(Kind.SHIFT, (a,), n.exp + k, n.lo, n.hi, k)

    def _aligned(self, a: int, b: int) -> tuple[int, tuple[int, int], tuple[int, int]]:
        na, nb = self.nodes[a], self.nodes[b]
        exp = min(na.exp, nb.exp)
        sa, sb = na.exp - exp, nb.exp - exp
        return exp, (na.lo << sa, na.hi << sa), (nb.lo << sb, nb.hi << sb)

    def add(self, a: int, b: int) -> int:
        """``a + b`` (a constant 0 operand is dropped)."""
        if self.value(b) == 0:
            return a
        if self.value(a) == 0:
            return b
        if a > b:
            a, b = b, a  # commutative: one node for either order
        exp, (alo, ahi), (blo, bhi) = self._aligned(a, b)
        return self._make(Kind.ADD, (a, b), exp, alo + blo, ahi + bhi)

    def sub(self, a: int, b: int) -> int:
        """``a - b``."""
        if self.value(b) == 0:
            return a
        if self.value(a) == 0:
            return self.neg(b)
        exp, (alo, ahi), (blo, bhi) = self._aligned(a, b)
        return self._make(Kind.SUB, (a, b), exp, alo - bhi, ahi - blo)

    def neg(self, a: int) -> int:
        """``-a``."""
        n = self.nodes[a]
        if n.lo == n.hi:
            return self.const(-n.lo, n.exp)
        if n.kind is Kind.NEG:
            return n.args[0]
        return self._make(Kind.NEG, (a,), n.exp, -n.hi, -n.lo)

    def mul(self, a: int, b: int) -> int:
        """``a * b`` of two run-time signals (a multiplier)."""
        if a > b:
            a, b = b, a
        na, nb = self.nodes[a], self.nodes[b]
        corners = [x * y for x in (na.lo, na.hi) for y in (nb.lo, nb.hi)]
        return self._make(Kind.MUL, (a, b), na.exp + nb.exp, min(corners), max(corners))

    def _minmax(self, kind: Kind, a: int, b: int) -> int:
        if a == b:
            return a
        if a > b:
            a, b = b, a
        exp, (alo, ahi), (blo, bhi) = self._aligned(a, b)
        pick = max if kind is Kind.MAX else min
        lo, hi = pick(alo, blo), pick(ahi, bhi)
        # a side that always wins is the result: no comparator
        if kind is Kind.MAX and blo >= ahi or kind is Kind.MIN and bhi <= alo:
            return b
        if kind is Kind.MAX and alo >= bhi or kind is Kind.MIN and ahi <= blo:
            return a
        return self._make(kind, (a, b), exp, lo, hi)

    def max(self, a: int, b: int) -> int:
        return self._minmax(Kind.MAX, a, b)

    def min(self, a: int, b: int) -> int:
        return self._minmax(Kind.MIN, a, b)

    def cast(self, a: int, t: FixedType) -> int:
        """``a`` assigned to ``t`` (rounding, then overflow)."""
        n = self.nodes[a]
        exp = -t.frac_bits
        if n.exp == exp and t.min_raw <= n.lo and n.hi <= t.max_raw:
            return a  # nothing dropped, nothing overflows: the same signal
        lo, hi = self._cast_bounds(a, t)
        if n.lo == n.hi:
            v = int(requantize(np.array([n.lo], dtype=object), -n.exp, t)[0])
            return self.const(v, exp) if v else self.const(0)
        drop = -n.exp - t.frac_bits
        if drop > 0 and t.rounding in _FOLDED and t.overflow is not Overflow.WRAP_SM:
            return self._folded_cast(a, t, drop)
        return self._make(Kind.CAST, (a,), exp, lo, hi, t)

    def _cast_bounds(self, a: int, t: FixedType) -> tuple[int, int]:
        """The raw interval of ``a`` assigned to ``t`` (appending zeros only is a
        wire in the Verilog)."""
        n = self.nodes[a]
        lo_q, hi_q = (int(v) for v in requantize(np.array([n.lo, n.hi], dtype=object),
                                                 -n.exp, t, wrap=False))
        if t.min_raw <= lo_q and hi_q <= t.max_raw:
            return lo_q, hi_q
        if t.overflow in (Overflow.SAT, Overflow.SAT_SYM):
            low = t.min_raw if not (t.overflow is Overflow.SAT_SYM and t.signed and
                                    t.width > 1) else -t.max_raw
            return min(max(lo_q, low), t.max_raw), max(min(hi_q, t.max_raw), low)
        if t.overflow is Overflow.SAT_ZERO:
            return min(max(lo_q, t.min_raw), 0), max(min(hi_q, t.max_raw), 0)
        return t.min_raw, t.max_raw

    def _folded_cast(self, a: int, t: FixedType, drop: int) -> int:
        """A cast whose rounding adds a constant (``RND``, ``RND_MIN_INF``) shares that
        adder with a constant operand of ``a`` (a bias): one constant add, then a
        truncation and the overflow handling alone. (Round-half-to-even adds a bit of
        the biased value itself, so it keeps its own adder: Yosys maps ``x + C +
        bit`` onto one carry chain.)"""
        n = self.nodes[a]
        base, offset = a, 0
        if n.kind is Kind.ADD:
            for x, c in (n.args, n.args[::-1]):
                cn = self.nodes[c]
                if cn.lo == cn.hi:
                    base, offset = x, cn.lo << (cn.exp - n.exp)
                    break
        half = 1 << (drop - 1)
        addend = offset + (half - 1 if t.rounding is Rounding.RND_MIN_INF else half)
        y = self.add(base, self.const(addend, n.exp))
        return self.cast(y, t.with_modes(rounding=Rounding.TRN))

    def rom(self, a: int, rom: Rom, table_exp: int) -> int:
        """Table lookup of ``a`` (raw index arithmetic on ``a``'s raw integers)."""
        n = self.nodes[a]
        top = len(rom.table) - 1
        i_lo = min(max((n.lo - rom.index_low) >> rom.shift, 0), top)
        i_hi = min(max((n.hi - rom.index_low) >> rom.shift, 0), top)
        used = rom.table[i_lo:i_hi + 1]
        return self._make(Kind.ROM, (a,), table_exp, min(used), max(used), rom)

    def select(self, c: int, a: int, b: int) -> int:
        """``c < 0 ? a : b`` on the finer of ``a``'s and ``b``'s grids."""
        exp, (alo, ahi), (blo, bhi) = self._aligned(a, b)
        return self._make(Kind.SELECT, (c, a, b), exp, min(alo, blo), max(ahi, bhi))

    def divc(self, a: int, den: int, dst: FixedType) -> int:
        """``a / den`` (``den`` > 0) assigned to ``dst`` (which must hold every quotient)."""
        n = self.nodes[a]
        lo, hi = (int(v) for v in _divc_eval(np.array([n.lo, n.hi], dtype=object),
                                             -n.exp, den, dst))
        return self._make(Kind.DIVC, (a,), -dst.frac_bits, lo, hi, DivConst(int(den), dst))

    # ---- facts ---------------------------------------------------------------
    def users(self) -> list[list[int]]:
        out: list[list[int]] = [[] for _ in self.nodes]
        for n in self.nodes:
            for a in n.args:
                out[a].append(n.id)
        return out

    def live(self) -> list[bool]:
        """Which nodes an output depends on."""
        keep = [False] * len(self.nodes)
        stack = list(self.outputs)
        while stack:
            i = stack.pop()
            if keep[i]:
                continue
            keep[i] = True
            stack.extend(self.nodes[i].args)
        return keep


def _divc_eval(raw, frac: int, den: int, dst: FixedType):
    shift = dst.frac_bits - frac
    raw = np.asarray(raw, dtype=object)
    if shift >= 0:
        return assign_ratio(raw * (1 << shift), den, dst)
    return assign_ratio(raw, den << -shift, dst)


def evaluate(net: Netlist, inputs: np.ndarray) -> np.ndarray:
    """Raw outputs (events × outputs, object ints) of ``net`` for raw inputs
    (events × inputs). The reference semantics of every node kind."""
    x = np.asarray(inputs)
    if x.ndim != 2 or x.shape[1] != len(net.inputs):
        raise IRError(f"netlist takes (events, {len(net.inputs)}) raw inputs, got {x.shape}")
    vals: list = [None] * len(net.nodes)
    live = net.live()
    for n in net.nodes:
        if not live[n.id]:
            continue
        a = [vals[i] for i in n.args]
        k = n.kind
        if k is Kind.INPUT:
            v = x[:, n.param].astype(object)
        elif k is Kind.CONST:
            v = np.full(x.shape[0], n.lo, dtype=object)
        elif k is Kind.SHIFT:
            v = a[0]
        elif k in (Kind.ADD, Kind.SUB, Kind.MAX, Kind.MIN):
            na, nb = net.nodes[n.args[0]], net.nodes[n.args[1]]
            p, q = a[0] << (na.exp - n.exp), a[1] << (nb.exp - n.exp)
            if k is Kind.ADD:
                v = p + q
            elif k is Kind.SUB:
                v = p - q
            else:
                v = np.maximum(p, q) if k is Kind.MAX else np.minimum(p, q)
        elif k is Kind.NEG:
            v = -a[0]
        elif k is Kind.MUL:
            v = a[0] * a[1]
        elif k is Kind.CAST:
            v = requantize(a[0], -net.nodes[n.args[0]].exp, n.param).astype(object)
        elif k is Kind.ROM:
            rom = n.param
            idx = (a[0] - rom.index_low) >> rom.shift
            idx = np.clip(idx.astype(object), 0, len(rom.table) - 1).astype(np.int64)
            v = np.array(rom.table, dtype=object)[idx]
        elif k is Kind.SELECT:
            na, nb = net.nodes[n.args[1]], net.nodes[n.args[2]]
            v = np.where(a[0] < 0, a[1] << (na.exp - n.exp), a[2] << (nb.exp - n.exp))
        elif k is Kind.DIVC:
            v = _divc_eval(a[0], -net.nodes[n.args[0]].exp, n.param.den,
                           n.param.dst).astype(object)
        else:  # pragma: no cover - the enum is closed
            raise IRError(f"netlist: unknown kind {k}")
        vals[n.id] = v
    if not net.outputs:
        return np.zeros((x.shape[0], 0), dtype=object)
    return np.stack([vals[i] for i in net.outputs], axis=1)

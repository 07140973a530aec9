"""Verilog expressions for netlist nodes, bit for bit what :func:`trigc.netlist.evaluate`
computes.

Every word is an unsigned vector holding a raw two's-complement (or unsigned) integer;
its interval says which. Arithmetic is unsigned modular on operands extended (by their
own signedness) to the result width: the interval guarantees the true result fits, so
the low bits are exact. ``$signed`` appears only in comparisons of equal-width words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from trigc.errors import IRError
from trigc.fixed import FixedType, Overflow, Rounding, requantize
from trigc.netlist.graph import Kind, Node, raw_width


@dataclass(frozen=True)
class Sig:
    """A word: the vector ``name`` (a constant when ``name`` is None) of raw integers
    in [lo, hi] at exponent ``exp``."""

    name: str | None
    lo: int
    hi: int
    exp: int = 0

    @property
    def width(self) -> int:
        return raw_width(self.lo, self.hi)[0]

    @property
    def signed(self) -> bool:
        return self.lo < 0

    @property
    def const(self) -> bool:
        return self.name is None


def constant(value: int, exp: int = 0) -> Sig:
    return Sig(None, int(value), int(value), exp)


def lit(value: int, width: int) -> str:
    """``value`` modulo ``2**width`` as a sized hex literal."""
    return f"{width}'h{int(value) % (1 << width):x}"


def _select(name: str, msb: int, lsb: int, width: int) -> str:
    if msb == width - 1 and lsb == 0:
        return name
    return f"{name}[{msb}]" if msb == lsb else f"{name}[{msb}:{lsb}]"


def bit(s: Sig, i: int) -> str:
    """Bit ``i`` of the raw value of ``s`` (beyond its width: the sign)."""
    if s.const:
        return "1'b1" if (s.lo >> i) & 1 else "1'b0"
    if i < s.width:
        return f"{s.name}[{i}]"
    return f"{s.name}[{s.width - 1}]" if s.signed else "1'b0"


def _extend(name: str, msb: int, lsb: int, signed: bool, full: int, width: int) -> str:
    """Bits [msb:lsb] of ``name`` (``full`` bits wide) as a ``width``-bit value,
    sign- or zero-extended, or truncated."""
    have = msb - lsb + 1
    if width <= have:
        return _select(name, lsb + width - 1, lsb, full)
    pad = width - have
    fill = f"{{{pad}{{{name}[{msb}]}}}}" if signed else f"{pad}'b0"
    return f"{{{fill}, {_select(name, msb, lsb, full)}}}"


def ext(s: Sig, width: int) -> str:
    """The raw value of ``s`` modulo ``2**width`` (sign/zero-extended or truncated)."""
    if s.const:
        return lit(s.lo, width)
    return _extend(s.name, s.width - 1, 0, s.signed, s.width, width)


def upper(s: Sig, k: int, width: int) -> str:
    """``floor(raw / 2**k)`` of ``s`` as a ``width``-bit value (a wire, no logic)."""
    if s.const:
        return lit(s.lo >> k, width)
    if k == 0:
        return ext(s, width)
    if s.width > k:
        return _extend(s.name, s.width - 1, k, s.signed, s.width, width)
    if s.signed:
        return f"{{{width}{{{s.name}[{s.width - 1}]}}}}"
    return lit(0, width)


def aligned(s: Sig, k: int, width: int) -> str:
    """``raw * 2**k`` (k >= 0) of ``s`` as a ``width``-bit value (zeros appended)."""
    if s.const:
        return lit(s.lo << k, width)
    if k == 0:
        return ext(s, width)
    if k >= width:
        return lit(0, width)
    return f"{{{ext(s, width - k)}, {k}'b0}}"


def compare(a: Sig, op: str, b: Sig) -> str:
    """``a op b`` on raw values, both extended to one width that holds both."""
    lo, hi = min(a.lo, b.lo), max(a.hi, b.hi)
    width, signed = raw_width(lo, hi)
    left, right = ext(a, width), ext(b, width)
    if signed:
        return f"$signed({left}) {op} $signed({right})"
    return f"{left} {op} {right}"


class Body:
    """The helper wires and functions of one node, named after it."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.lines: list[str] = []

    def word(self, tag: str, lo: int, hi: int, expr: str, exp: int = 0) -> Sig:
        """Declare ``prefix_tag = expr`` holding [lo, hi]; a constant needs no wire."""
        if lo > hi:
            raise IRError(f"verilog: empty interval for {self.prefix}_{tag}")
        if lo == hi:
            return constant(lo, exp)
        name = f"{self.prefix}_{tag}"
        width = raw_width(lo, hi)[0]
        self.lines.append(f"wire [{width - 1}:0] {name} = {expr};")
        return Sig(name, lo, hi, exp)

    def flag(self, tag: str, expr: str) -> str:
        name = f"{self.prefix}_{tag}"
        self.lines.append(f"wire {name} = {expr};")
        return name


# ---- arithmetic -------------------------------------------------------------

def _finer_first(n: Node, a: Sig, b: Sig) -> tuple[Sig, Sig, int]:
    """(finer operand, coarser operand, exponent difference)."""
    ka, kb = a.exp - n.exp, b.exp - n.exp
    return (a, b, kb) if ka == 0 else (b, a, ka)


def add_sub(body: Body, n: Node, a: Sig, b: Sig) -> str:
    """Only the bits above the finer operand's extra LSBs need an adder: those LSBs
    pass through (for SUB when the minuend is the finer one; a finer subtrahend
    borrows from them, so that case is a full-width subtraction)."""
    width = n.width
    op = "+" if n.kind is Kind.ADD else "-"
    fine, coarse, k = _finer_first(n, a, b)
    if k == 0 or (n.kind is Kind.SUB and fine is b):
        return f"{aligned(a, a.exp - n.exp, width)} {op} {aligned(b, b.exp - n.exp, width)}"
    if width <= k:
        return ext(fine, width)
    high = body.word("hi", 0, (1 << (width - k)) - 1,
                     f"{upper(fine, k, width - k)} {op} {ext(coarse, width - k)}")
    return f"{{{ext(high, width - k)}, {ext(fine, k)}}}"


def neg(n: Node, a: Sig) -> str:
    return f"{lit(0, n.width)} - {ext(a, n.width)}"


def mul(n: Node, a: Sig, b: Sig) -> str:
    """The low ``width`` bits of the product do not depend on signedness; a signed
    ``$mul`` only lets Yosys ``wreduce`` strip the sign extension back to the
    operands' own widths (the multiplier the cost model counts)."""
    left, right = ext(a, n.width), ext(b, n.width)
    if a.signed or b.signed:
        return f"$signed({left}) * $signed({right})"
    return f"{left} * {right}"


def min_max(body: Body, n: Node, a: Sig, b: Sig) -> str:
    """``fine >= coarse << k`` exactly when ``fine >> k >= coarse``: the comparator
    sees only the bits above the finer operand's extra LSBs."""
    fine, coarse, k = _finer_first(n, a, b)
    fine_high = Sig("", fine.lo >> k, fine.hi >> k)  # interval only
    lo, hi = min(fine_high.lo, coarse.lo), max(fine_high.hi, coarse.hi)
    width, signed = raw_width(lo, hi)
    left, right = upper(fine, k, width), ext(coarse, width)
    test = (f"$signed({left}) >= $signed({right})" if signed else f"{left} >= {right}")
    ge = body.flag("ge", test)
    f_val, c_val = ext(fine, n.width), aligned(coarse, k, n.width)
    if n.kind is Kind.MAX:
        return f"{ge} ? {f_val} : {c_val}"
    return f"{ge} ? {c_val} : {f_val}"


def select(n: Node, c: Sig, a: Sig, b: Sig) -> str:
    """``c < 0 ? a : b``, each operand aligned to the node's (finer) grid."""
    left, right = aligned(a, a.exp - n.exp, n.width), aligned(b, b.exp - n.exp, n.width)
    if c.const or not c.signed:
        return left if c.lo < 0 else right
    return f"{bit(c, c.width - 1)} ? {left} : {right}"


# ---- casts ------------------------------------------------------------------

def _addend(src: Sig, drop: int, rounding: Rounding) -> tuple[int, str | None, int]:
    """The add before the arithmetic shift of ``trigc.fixed._round_shift``:
    (constant, 0/1 flag or None, weight of the flag)."""
    half = 1 << (drop - 1)
    sign = bit(src, src.width - 1) if src.signed else None
    if rounding is Rounding.RND:
        return half, None, 0
    if rounding is Rounding.RND_MIN_INF:
        return half - 1, None, 0
    if rounding is Rounding.RND_CONV:
        return half - 1, bit(src, drop), 1
    if rounding is Rounding.RND_ZERO:
        return (half - 1, sign, 1) if sign else (half - 1, None, 0)
    if rounding is Rounding.RND_INF:  # half - neg == (half - 1) + !neg
        return (half - 1, f"~{sign}", 1) if sign else (half, None, 0)
    if rounding is Rounding.TRN_ZERO:
        return (0, sign, (1 << drop) - 1) if sign else (0, None, 0)
    raise IRError(f"verilog: no rounding rule for {rounding}")


def _scaled_flag(flag: str, weight: int, width: int) -> str:
    """``flag * weight`` modulo ``2**width`` for a weight of ``2**d - 1``."""
    ones = weight.bit_length()
    if ones >= width:
        return f"{{{width}{{{flag}}}}}"
    if ones == 1:
        return f"{{{width - 1}'b0, {flag}}}"
    return f"{{{width - ones}'b0, {{{ones}{{{flag}}}}}}}"


def round_shift(body: Body, src: Sig, drop: int, rounding: Rounding, q_lo: int,
                q_hi: int) -> Sig:
    """``src`` with ``drop`` > 0 LSBs dropped with ``rounding`` (raw, before overflow);
    [q_lo, q_hi] is the rounded interval (rounding is monotonic)."""
    q_width = _w(q_lo, q_hi)
    if rounding is Rounding.TRN:
        return body.word("q", q_lo, q_hi, upper(src, drop, q_width))
    const, flag, weight = _addend(src, drop, rounding)
    lo, hi = src.lo + const, src.hi + const + (weight if flag else 0)
    width = _w(lo, hi)
    terms = [ext(src, width)]
    if const:
        terms.append(lit(const, width))
    if flag:
        terms.append(_scaled_flag(flag, weight, width))
    total = body.word("sum", lo, hi, " + ".join(terms))
    return body.word("q", q_lo, q_hi, upper(total, drop, q_width))


def _w(lo: int, hi: int) -> int:
    return raw_width(lo, hi)[0]


def cast(body: Body, n: Node, src: Sig, t: FixedType) -> str:
    """``src`` assigned to ``t`` as :func:`trigc.fixed.requantize` does: rounding,
    then overflow; saturation the interval rules out is not built."""
    drop = -src.exp - t.frac_bits
    q_lo, q_hi = (int(v) for v in requantize(np.array([src.lo, src.hi], dtype=object),
                                             -src.exp, t, wrap=False))
    if drop > 0:
        q = round_shift(body, src, drop, t.rounding, q_lo, q_hi)
    elif drop < 0:
        q = body.word("q", q_lo, q_hi, aligned(src, -drop, _w(q_lo, q_hi)))
    else:
        q = src
    low, high = t.min_raw, t.max_raw
    if t.overflow is Overflow.SAT_SYM and t.signed and t.width > 1:
        low = -high
    if low <= q.lo and q.hi <= high:
        return ext(q, n.width)
    if t.overflow is Overflow.WRAP:
        return ext(q, t.width)
    under = _under(q, low) if q.lo < low else None
    over = _over(q, high) if q.hi > high else None
    if t.overflow in (Overflow.SAT, Overflow.SAT_SYM):
        expr = ext(q, n.width)
        if over:
            expr = f"{body.flag('over', over)} ? {lit(high, n.width)} : {expr}"
        if under:
            expr = f"{body.flag('under', under)} ? {lit(low, n.width)} : ({expr})"
        return expr
    out = body.flag("oor", " || ".join(f"({c})" for c in (under, over) if c))
    if t.overflow is Overflow.SAT_ZERO:
        return f"{out} ? {lit(0, n.width)} : {ext(q, n.width)}"
    if t.overflow is Overflow.WRAP_SM:
        # ap_fixed: the first dropped bit of the floor becomes the sign; when it
        # differs from the wrapped sign, every bit is inverted
        dropped = bit(src, t.width + drop) if drop > 0 else bit(q, t.width)
        flip = body.flag("flip", f"{out} & ({dropped} ^ {bit(q, t.width - 1)})")
        return f"{ext(q, t.width)} ^ {{{t.width}{{{flip}}}}}"
    raise IRError(f"verilog: no overflow rule for {t.overflow}")


def _beyond(q: Sig, k: int) -> str | None:
    """``q >= 2**k`` as bit logic (no comparator), or None when ``k`` is outside q."""
    top = q.width - 1 if q.signed else q.width
    if q.const or k >= top or k < 0:
        return None
    bits = _select(q.name, top - 1, k, q.width)
    ones = f"|{bits}" if top - 1 > k else bits
    return f"~{q.name}[{q.width - 1}] & {ones}" if q.signed else ones


def _below(q: Sig, k: int) -> str | None:
    """``q < -2**k`` (k >= 0) or, for k None, ``q < 0``, as bit logic."""
    if q.const or not q.signed:
        return None
    sign = f"{q.name}[{q.width - 1}]"
    if k is None:
        return sign
    if k >= q.width - 1:
        return None
    bits = _select(q.name, q.width - 2, k, q.width)
    return f"{sign} & ~(&{bits})" if q.width - 2 > k else f"{sign} & ~{bits}"


def _over(q: Sig, high: int) -> str:
    """``q > high``: bit logic when ``high + 1`` is a power of two."""
    if high >= 0 and (high + 1) & high == 0:
        fast = _beyond(q, (high + 1).bit_length() - 1)
        if fast is not None:
            return fast
    return compare(q, ">", constant(high))


def _under(q: Sig, low: int) -> str:
    """``q < low``: bit logic when ``low`` is 0 or minus a power of two."""
    if low == 0:
        fast = _below(q, None)
    elif low < 0 and (-low) & (-low - 1) == 0:
        fast = _below(q, (-low).bit_length() - 1)
    else:
        fast = None
    return fast if fast is not None else compare(q, "<", constant(low))


# ---- tables and division ----------------------------------------------------

def rom(body: Body, n: Node, src: Sig) -> str:
    """``table[clamp((raw - index_low) >> shift)]``: a ``case`` in a function on the
    index bits; the clamps the interval rules out are not built."""
    table, low, shift = n.param.table, n.param.index_low, n.param.shift
    last = len(table) - 1
    if low % (1 << shift) == 0:  # (raw - low) >> shift == (raw >> shift) - (low >> shift)
        base, offset = src, low >> shift
    else:
        width = _w(src.lo - low, src.hi - low)
        base = body.word("d", src.lo - low, src.hi - low,
                         f"{ext(src, width)} - {lit(low, width)}")
        offset = 0
    u_lo, u_hi = base.lo >> shift, base.hi >> shift
    index = base if shift == 0 else body.word("u", u_lo, u_hi, upper(base, shift, _w(u_lo, u_hi)))
    if index.const:
        return lit(table[min(max(index.lo - offset, 0), last)], n.width)
    func, width = f"{body.prefix}_rom", n.width
    lines = [f"function [{width - 1}:0] {func};",
             f"  input [{index.width - 1}:0] idx;",
             "  begin"]
    arg = Sig("idx", index.lo, index.hi)
    prefix = "    "
    if index.lo < offset:
        lines.append(f"    if ({compare(arg, '<', constant(offset))}) "
                     f"{func} = {lit(table[0], width)};")
        prefix = "    else "
    if index.hi > offset + last:
        lines.append(f"{prefix}if ({compare(arg, '>', constant(offset + last))}) "
                     f"{func} = {lit(table[last], width)};")
        prefix = "    else "
    first, final = max(index.lo, offset), min(index.hi, offset + last)
    lines.append(f"{prefix}case (idx)")
    for u in range(first, final):
        lines.append(f"      {lit(u, index.width)}: {func} = {lit(table[u - offset], width)};")
    lines.append(f"      default: {func} = {lit(table[final - offset], width)};")
    lines += ["    endcase", "  end", "endfunction"]
    body.lines.extend(lines)
    return f"{func}({index.name})"


def _reciprocal(m: int, top: int) -> tuple[int, int]:
    """(M, s) with ``(x * M) >> s == x // m`` for every 0 <= x <= top."""
    s = m.bit_length()
    while True:
        mult = -(-(1 << s) // m)
        if top * (mult * m - (1 << s)) < (1 << s):
            return mult, s
        s += 1


def _csd(value: int) -> list[tuple[int, int]]:
    """Canonical signed digits of ``value`` > 0: (sign, position) pairs."""
    digits, pos = [], 0
    while value:
        if value & 1:
            d = 2 - (value & 3)
            digits.append((d, pos))
            value -= d
        value >>= 1
        pos += 1
    return digits


def const_mul(s: Sig, value: int, width: int) -> str:
    """``raw * value`` modulo ``2**width`` as shifted adds (canonical signed digits):
    LUT adders, never a DSP, as the cost model counts a division."""
    terms = []
    for sign, pos in _csd(value):
        if pos >= width:
            continue
        term = aligned(s, pos, width)
        terms.append(("- " if sign < 0 else "+ ") + term if terms else
                     (f"{lit(0, width)} - {term}" if sign < 0 else term))
    return " ".join(terms) or lit(0, width)


def divc(body: Body, n: Node, src: Sig) -> str:
    """``raw / den`` assigned to ``dst`` as :func:`trigc.fixed.assign_ratio` does:
    floor quotient (multiply by a reciprocal, no divider), one half bit and a sticky
    bit from the remainder, then the ordinary cast of that word."""
    den, dst = n.param.den, n.param.dst
    shift = dst.frac_bits + src.exp
    up = max(shift, 0)
    divisor = den << max(-shift, 0)
    num = src if up == 0 else body.word("num", src.lo << up, src.hi << up,
                                        aligned(src, up, _w(src.lo << up, src.hi << up)))
    p = (divisor & -divisor).bit_length() - 1
    odd = divisor >> p
    x = num if p == 0 else body.word("x", num.lo >> p, num.hi >> p,
                                     upper(num, p, _w(num.lo >> p, num.hi >> p)))
    if odd == 1:
        floor, rem_high = x, constant(0)
    else:
        base = (x.lo // odd) * odd
        xp = x if base == 0 else body.word(
            "xp", x.lo - base, x.hi - base,
            f"{ext(x, _w(x.lo - base, x.hi - base))} - {lit(base, _w(x.lo - base, x.hi - base))}")
        mult, s = _reciprocal(odd, xp.hi)
        pw = _w(0, xp.hi * mult)
        prod = body.word("prod", xp.lo * mult, xp.hi * mult, const_mul(xp, mult, pw))
        qw = _w(xp.lo // odd, xp.hi // odd)
        quot = body.word("quot", xp.lo // odd, xp.hi // odd, upper(prod, s, qw))
        rw = _w(0, odd - 1)
        rem_high = body.word("r", 0, odd - 1,
                             f"{ext(xp, rw)} - ({const_mul(quot, odd, rw)})")
        fw = _w(x.lo // odd, x.hi // odd)
        floor = quot if base == 0 else body.word(
            "fl", x.lo // odd, x.hi // odd, f"{ext(quot, fw)} + {lit(base // odd, fw)}")
    if divisor == 1:
        half, sticky = "1'b0", "1'b0"
    else:
        # remainder = r * 2**p + (num mod 2**p): a concatenation
        rem_w = _w(0, divisor - 1)
        parts = ([ext(rem_high, rem_w - p)] if rem_w > p else []) + (
            [ext(num, p)] if p else [])
        rem = body.word("rem", 0, divisor - 1,
                        parts[0] if len(parts) == 1 else f"{{{', '.join(parts)}}}")
        half = body.flag("half", compare(rem, ">=", constant((divisor + 1) // 2)))
        nonzero = f"({compare(rem, '!=', constant(0))})"
        if divisor % 2 == 0:
            nonzero += f" && ({compare(rem, '!=', constant(divisor // 2))})"
        sticky = body.flag("sticky", nonzero)
    lo, hi = floor.lo * 4, floor.hi * 4 + 3
    word = body.word("ext", lo, hi, f"{{{ext(floor, _w(lo, hi) - 2)}, {half}, {sticky}}}",
                     exp=n.exp - 2)
    return cast(body, n, word, dst)

"""C source of the emulator's fast path: one kernel per final-IR graph, plain integer
(and exactly-representable float) arithmetic on raw values, batched over events.

Every tensor is held as its raw integers, ``B`` events side by side (element ``i`` of
event ``e`` at ``buf[i * B + e]``), so each loop over events vectorizes. Every value is
bounded by the IR's types (an op's exact result by interval arithmetic on its inputs'
types and its constants), and those bounds choose the C arithmetic: an accumulation runs
in float when every partial sum stays below 2**24, in double below 2**53, else in
int64; no value is ever checked at run time. Each assignment to a tensor's type is
the interpreter's :func:`trigc.ops.assign` written as integer operations (a rounding
shift with the mode's bias, then the overflow mode), and is omitted where the bounds
prove it the identity. What cannot be generated within 64 bits raises
:class:`Unsupported`, and the caller falls back to the interpreter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trigc.fixed import FixedType, Overflow, Rounding
from trigc.ir.graph import Tensor
from trigc.ops.pool import windows

SAFE = 1 << 62   # every intermediate stays within (-SAFE, SAFE): room for one more add
FLOAT_EXACT = 1 << 24
DOUBLE_EXACT = 1 << 53
WORKSPACE_BYTES = 1 << 19  # per thread: picks the events per block
VECTOR_BYTES = 64  # GCC vector extensions: 512-bit, lowered to 256-bit without AVX-512
EVENTS_MIN = 64    # events per block at least (a multiple of every vector's lanes)


class Unsupported(Exception):
    """The graph (or one node of it) cannot be generated exactly within 64 bits."""


@dataclass
class Buf:
    """A tensor's buffer: C name, element type, elements per event, raw bounds, grid."""

    name: str
    ctype: str
    size: int
    lo: int
    hi: int
    frac: int


def _check(lo: int, hi: int, what: str) -> None:
    if lo <= -SAFE or hi >= SAFE:
        raise Unsupported(f"{what} needs more than 62 bits")


def ctype_for(lo: int, hi: int) -> str:
    return "int32_t" if -(1 << 31) <= lo and hi < (1 << 31) else "int64_t"


def round_int(v: int, shift: int, rounding: Rounding) -> int:
    """The rounding shift on one Python int (the same formulas as the C code)."""
    half = 1 << (shift - 1)
    neg = int(v < 0)
    bias = {Rounding.TRN: 0, Rounding.RND: half, Rounding.RND_MIN_INF: half - 1,
            Rounding.RND_CONV: half - 1 + ((v >> shift) & 1),
            Rounding.RND_ZERO: half - 1 + neg, Rounding.RND_INF: half - neg,
            Rounding.TRN_ZERO: neg * ((1 << shift) - 1)}[rounding]
    return (v + bias) >> shift


def rounding_c(v: str, shift: int, rounding: Rounding, suffix: str = "LL") -> str:
    """C expression: integer ``v`` with ``shift`` (> 0) fractional bits dropped."""
    half = f"{1 << (shift - 1)}{suffix}"
    bias = {Rounding.TRN: "0", Rounding.RND: half, Rounding.RND_MIN_INF: f"({half} - 1)",
            Rounding.RND_CONV: f"({half} - 1 + (({v} >> {shift}) & 1))",
            Rounding.RND_ZERO: f"({half} - 1 + ({v} < 0))",
            Rounding.RND_INF: f"({half} - ({v} < 0))",
            Rounding.TRN_ZERO: f"(({v} < 0) ? {(1 << shift) - 1}{suffix} : 0)"}[rounding]
    return f"(({v} + {bias}) >> {shift})" if bias != "0" else f"({v} >> {shift})"


def overflow_limits(t: FixedType) -> tuple[int, int]:
    lo, hi = t.min_raw, t.max_raw
    if t.overflow is Overflow.SAT_SYM and t.signed and t.width > 1:
        lo = -hi
    return lo, hi


def work_ctype(lo: int, hi: int, frac: int, t: FixedType) -> str:
    """The C integer type an assignment of [lo, hi] at ``frac`` to ``t`` can run in:
    int32_t when every intermediate of it fits (twice the SIMD lanes), else int64_t."""
    shift = frac - t.frac_bits
    if shift > 30 or shift < -30 or t.overflow is Overflow.WRAP_SM or t.width > 30:
        return "int64_t"
    vals = [lo, hi, *overflow_limits(t)]
    if shift > 0:
        vals += [lo - (1 << shift), hi + (1 << shift)]
    elif shift < 0:
        vals += [lo << -shift, hi << -shift]
    return "int32_t" if all(-(1 << 31) < v < (1 << 31) - 1 for v in vals) else "int64_t"


def assign_c(v: str, lo: int, hi: int, frac: int, t: FixedType, out: str,
             floor: str | None = None) -> list[str]:
    """C statements assigning integer ``v`` (raw on grid ``frac``, within [lo, hi]) to
    type ``t`` into the new variable ``out``, as :func:`trigc.ops.assign` does, in the
    C type :func:`work_ctype` picks (``floor``: the value rounded down, for AP_WRAP_SM,
    when ``v`` is already rounded)."""
    if t.width > 64 or (t.width == 64 and not t.signed):
        raise Unsupported(f"type {t} is wider than int64")
    _check(lo, hi, "the exact result")
    shift = frac - t.frac_bits
    ct = work_ctype(lo, hi, frac, t)
    sx = "" if ct == "int32_t" else "LL"
    lines = []
    if shift > 0:
        if shift > 61:
            raise Unsupported(f"a rounding of {shift} bits")
        _check(lo - (1 << shift), hi + (1 << shift), "the rounding")
        q = rounding_c(v, shift, t.rounding, sx)
        qlo, qhi = round_int(lo, shift, t.rounding), round_int(hi, shift, t.rounding)
        floor = f"({v} >> {shift})"
    elif shift < 0:
        qlo, qhi = lo << -shift, hi << -shift
        _check(qlo, qhi, "the aligned result")
        q = floor = f"({v} * {1 << -shift}{sx})"
    else:
        qlo, qhi, q = lo, hi, v
        floor = floor or v
    lines.append(f"{ct} {out} = {q};")
    olo, ohi = overflow_limits(t)
    if olo <= qlo and qhi <= ohi:
        return lines
    mode, w = t.overflow, t.width
    if mode in (Overflow.SAT, Overflow.SAT_SYM):
        lines.append(f"{out} = {out} < {olo}{sx} ? {olo}{sx} : ({out} > {ohi}{sx} ? {ohi}{sx} "
                     f": {out});")
    elif mode is Overflow.SAT_ZERO:
        lines.append(f"{out} = ({out} < {olo}{sx} || {out} > {ohi}{sx}) ? 0 : {out};")
    elif mode is Overflow.WRAP and w < 64:
        bits = 32 if ct == "int32_t" else 64
        if t.signed:
            lines.append(f"{out} = ({ct})((u{ct}){out} << {bits - w}) >> {bits - w};")
        else:
            lines.append(f"{out} = {out} & {(1 << w) - 1}{sx};")
    elif mode is Overflow.WRAP_SM:
        if w >= 63:
            raise Unsupported(f"AP_WRAP_SM at {w} bits")
        mask, sign = (1 << w) - 1, 1 << (w - 1)
        lines += [
            "{",
            f"  int64_t oor = ({out} < {olo}LL) | ({out} > {ohi}LL);",
            f"  int64_t wr = {out} & {mask}LL;",
            f"  int64_t ld = (({floor}) >> {w}) & 1;",
            f"  int64_t ro = (wr >> {w - 1}) & 1;",
            f"  int64_t adj = (oor & (ld != ro)) ? ((~wr & {mask & ~sign}LL) | (ld << {w - 1}))"
            " : wr;",
            f"  {out} = adj >= {sign}LL ? adj - {1 << w}LL : adj;",
            "}",
        ]
    return lines


def ratio_assign_c(num: str, lo: int, hi: int, frac: int, den: str, den_max: int,
                   t: FixedType, out: str) -> list[str]:
    """``num / den`` (den > 0) on grid ``frac`` assigned to ``t``, as
    :func:`trigc.fixed.assign_ratio`: floor plus a half bit and a sticky bit."""
    shift = t.frac_bits - frac
    if shift >= 0:
        lo, hi, num = lo << shift, hi << shift, f"({num} * {1 << shift}LL)"
        den_max_s, dmul = den_max, ""
    else:
        den_max_s, dmul = den_max << -shift, f" * {1 << -shift}LL"
    _check(lo, hi, "the dividend")
    _check(-2 * den_max_s, 2 * den_max_s, "the divisor")
    _check(4 * min(lo, 0) - 4, 4 * max(hi, 0) + 4, "the quotient")  # |floor| <= |num|
    lines = ["{",
             f"  int64_t n_ = {num}, d_ = (int64_t)({den}){dmul};",
             "  int64_t f_ = n_ / d_, r_ = n_ % d_;",
             "  if (r_ < 0) { f_ -= 1; r_ += d_; }",
             "  int64_t qb_ = 2 * r_ >= d_;",
             "  int64_t st_ = (2 * r_) != (qb_ ? d_ : 0);",
             "  int64_t x_ = f_ * 4 + qb_ * 2 + st_;"]
    lines += ["  " + s for s in assign_c("x_", 4 * min(lo, 0) - 4, 4 * max(hi, 0) + 4,
                                         t.frac_bits + 2, t, "q_")]
    lines += [f"  {out} = q_;", "}"]
    return [f"int64_t {out};", *lines]


def c_array(name: str, ctype: str, values) -> str:
    vals = np.asarray(values).ravel().tolist() or [0]
    body = ",".join(str(int(v)) for v in vals)
    return f"static const {ctype} {name}[{len(vals)}] = {{{body}}};"


def c_float_array(name: str, ctype: str, values) -> str:
    vals = np.asarray(values).ravel().tolist() or [0]
    body = ",".join(f"{float(v)!r}" for v in vals)
    return f"static const {ctype} {name}[{len(vals)}] = {{{body}}};"


def type_bounds(t: FixedType) -> tuple[int, int]:
    return t.min_raw, t.max_raw


def const_raw(t: Tensor, shape: tuple[int, ...]) -> np.ndarray:
    """A constant's raw integers broadcast to a per-sample shape (Python ints)."""
    raw = np.asarray(t.raw)
    while raw.ndim > len(shape) and raw.shape[0] == 1:
        raw = raw[0]
    return np.broadcast_to(raw, shape).astype(object)


def window_table(shape, kernel, strides, pads) -> tuple[list[list[int]], int]:
    """For each output position of a channels-last pool or conv, the flat spatial
    positions of its in-bounds window elements (and the full window size)."""
    spatial = shape[:-1]
    index = np.arange(math.prod(spatial), dtype=np.int64).reshape(1, *spatial, 1)
    win = windows(index, kernel, strides, pads, fill=-1)  # (1, *o, 1, *k)
    nd = len(kernel)
    flat = win.reshape(-1, math.prod(kernel)) if nd else win.reshape(1, -1)
    return [[int(p) for p in row if p >= 0] for row in flat], math.prod(kernel)


__all__ = ["Buf", "Unsupported", "assign_c", "ratio_assign_c", "round_int"]

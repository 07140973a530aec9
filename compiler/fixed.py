"""Fixed-point types and arithmetic with the exact semantics of Xilinx ``ap_fixed``.

A :class:`FixedType` ``(signed, width, integer_bits, rounding, overflow)`` is
``ap_[u]fixed<W, I, Q, O>``: a value is ``raw * 2**-(W - I)`` where ``raw`` is a
W-bit two's-complement (or unsigned) integer. ``integer_bits`` counts the sign
bit and may be negative or larger than ``width``.

Values are carried as *raw integers* (numpy ``int64`` while they fit in 62 bits,
Python ints in ``object`` arrays beyond that) together with their type. Precision
is lost only in :func:`requantize` / :func:`quantize`, which apply the rounding
mode first and then the overflow mode, exactly as ``ap_fixed_base::operator=``
does. The property test in ``tests/csim/test_fixed_vs_apfixed.py`` checks this
module against the real ``ap_fixed.h`` on >100k random cases.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from trigc.errors import PrecisionError

# Raw integers up to this many bits (sign included) stay in int64 arrays; the
# margin leaves room for one shift/add before an operation must switch to
# Python ints.
INT64_SAFE_BITS = 62


class Rounding(str, enum.Enum):
    """ap_fixed quantization modes (applied when fractional bits are dropped)."""

    TRN = "AP_TRN"  # floor
    TRN_ZERO = "AP_TRN_ZERO"  # toward zero
    RND = "AP_RND"  # nearest, ties toward +inf
    RND_ZERO = "AP_RND_ZERO"  # nearest, ties toward zero
    RND_MIN_INF = "AP_RND_MIN_INF"  # nearest, ties toward -inf
    RND_INF = "AP_RND_INF"  # nearest, ties away from zero
    RND_CONV = "AP_RND_CONV"  # nearest, ties to even


class Overflow(str, enum.Enum):
    """ap_fixed overflow modes (applied after rounding)."""

    WRAP = "AP_WRAP"
    SAT = "AP_SAT"
    SAT_ZERO = "AP_SAT_ZERO"
    SAT_SYM = "AP_SAT_SYM"
    WRAP_SM = "AP_WRAP_SM"


@dataclass(frozen=True, order=True)
class FixedType:
    """An ``ap_fixed<W, I, Q, O>`` (signed) or ``ap_ufixed<W, I, Q, O>`` type."""

    signed: bool
    width: int
    integer_bits: int
    rounding: Rounding = Rounding.TRN
    overflow: Overflow = Overflow.WRAP

    def __post_init__(self) -> None:
        if not isinstance(self.width, int) or self.width < 1:
            raise PrecisionError(f"Width must be a positive integer, not {self.width!r}")
        if self.width > 1024:
            raise PrecisionError(f"Width {self.width} exceeds the supported maximum of 1024 bits")
        if not isinstance(self.integer_bits, int):
            raise PrecisionError(f"Integer bits must be an integer, not {self.integer_bits!r}")
        try:
            object.__setattr__(self, "rounding", Rounding(self.rounding))
            object.__setattr__(self, "overflow", Overflow(self.overflow))
        except ValueError:
            raise PrecisionError(
                f"Unknown mode in ({self.rounding!r}, {self.overflow!r}); rounding is one of "
                f"{[r.value for r in Rounding]}, overflow one of {[o.value for o in Overflow]}"
            ) from None
        if self.overflow is Overflow.WRAP_SM and not self.signed:
            raise PrecisionError("AP_WRAP_SM needs a signed type; ap_ufixed cannot use it")

    # ---- derived facts -------------------------------------------------
    @property
    def frac_bits(self) -> int:
        return self.width - self.integer_bits

    @property
    def min_raw(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def max_raw(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def lsb(self) -> float:
        return 2.0**-self.frac_bits

    @property
    def min_value(self) -> float:
        return self.min_raw * self.lsb

    @property
    def max_value(self) -> float:
        return self.max_raw * self.lsb

    @property
    def raw_dtype(self) -> type:
        """numpy dtype that holds this type's raw integers exactly."""
        return np.int64 if self.width <= INT64_SAFE_BITS else object

    def with_modes(self, rounding: Rounding | None = None, overflow: Overflow | None = None):
        return replace(
            self,
            rounding=self.rounding if rounding is None else rounding,
            overflow=self.overflow if overflow is None else overflow,
        )

    def __str__(self) -> str:
        name = "fixed" if self.signed else "ufixed"
        modes = ""
        if self.rounding is not Rounding.TRN or self.overflow is not Overflow.WRAP:
            modes = f",{self.rounding.name},{self.overflow.name}"
        return f"{name}<{self.width},{self.integer_bits}{modes}>"

    @classmethod
    def parse(cls, text: str) -> FixedType:
        """Parse ``fixed<16,6>``, ``ufixed<8,0,RND,SAT>``, ``ap_fixed<16,6,AP_RND,AP_SAT>``,
        ``int<8>`` or ``uint<4>``."""
        m = re.fullmatch(
            r"\s*(?:ap_)?(u?)(fixed|int)\s*<\s*(-?\d+)\s*(?:,\s*(-?\d+))?"
            r"\s*(?:,\s*(?:AP_)?(\w+))?\s*(?:,\s*(?:AP_)?(\w+))?\s*>\s*",
            text,
        )
        if m is None:
            raise PrecisionError(
                f"Cannot parse fixed-point type {text!r}; write e.g. 'fixed<16,6>', "
                "'ufixed<8,0,RND_CONV,SAT>' or 'int<8>'"
            )
        unsigned, kind, width, integer, q, o = m.groups()
        width = int(width)
        if kind == "int":
            if integer is not None:
                raise PrecisionError(f"{text!r}: int<W> takes one parameter")
            integer = width
        elif integer is None:
            raise PrecisionError(f"{text!r}: fixed<W,I> needs both width and integer bits")
        try:
            rounding = Rounding[q.upper()] if q else Rounding.TRN
            overflow = Overflow[o.upper()] if o else Overflow.WRAP
        except KeyError as exc:
            raise PrecisionError(
                f"{text!r}: unknown mode {exc.args[0]!r}; rounding is one of "
                f"{[r.name for r in Rounding]}, overflow one of {[o.name for o in Overflow]}"
            ) from None
        return cls(not unsigned, width, int(integer), rounding, overflow)

    @classmethod
    def for_raw_range(cls, lo_raw: int, hi_raw: int, frac_bits: int, **modes) -> FixedType:
        """Narrowest type at ``frac_bits`` that holds every raw value in [lo_raw, hi_raw]."""
        lo_raw, hi_raw = int(lo_raw), int(hi_raw)
        if lo_raw > hi_raw:
            raise PrecisionError(f"Empty range [{lo_raw}, {hi_raw}]")
        if lo_raw >= 0:
            width = max(hi_raw.bit_length(), 1)
            signed = False
        else:
            width = max((-lo_raw - 1).bit_length(), max(hi_raw, 0).bit_length()) + 1
            signed = True
        return cls(signed, width, width - frac_bits, **modes)

    def overflow_bits(self, lo_raw: int, hi_raw: int, frac_bits: int) -> int:
        """How many integer bits this type lacks to hold every value of a range.

        The range is raw integers at ``frac_bits``. Values are rounded with this
        type's rounding first (rounding up to max is an overflow too). 0 means fits."""
        lo_q, hi_q = requantize(np.array([lo_raw, hi_raw], dtype=object), frac_bits,
                                self, wrap=False)
        if self.min_raw <= lo_q and hi_q <= self.max_raw:
            return 0
        need = FixedType.for_raw_range(lo_q, hi_q, self.frac_bits)
        # a signed type spends one bit on the sign even for a non-negative range
        need_width = need.width + (1 if self.signed and not need.signed else 0)
        return max(need_width - self.width, 1)


# ---- quantization -------------------------------------------------------

def _as_int_array(raw) -> np.ndarray:
    arr = np.asarray(raw)
    if arr.dtype == object or arr.dtype.kind in "iu":
        return arr if arr.dtype != np.uint64 else arr.astype(object)
    raise PrecisionError(f"Raw fixed-point values must be integers, got dtype {arr.dtype}")


def _bits_needed(arr: np.ndarray) -> int:
    if arr.size == 0:
        return 1
    if arr.dtype == object:
        return max(int(v).bit_length() for v in arr.flat) + 1
    lo, hi = int(arr.min()), int(arr.max())
    return max(lo.bit_length(), hi.bit_length()) + 1


def _round_shift(raw: np.ndarray, shift, rounding: Rounding) -> np.ndarray:
    """Drop ``shift`` (>0, scalar or per element) fractional bits with ap_fixed rounding.

    Each mode is one add before an arithmetic shift: ``half - 1`` plus a 0/1 term
    that decides ties (e.g. the kept LSB for round-half-to-even)."""
    one = 1 if raw.dtype == object else np.int64(1)
    if rounding is Rounding.TRN:
        return raw >> shift
    half = one << (shift - 1)
    if rounding is Rounding.RND:
        return (raw + half) >> shift
    neg = (raw < 0).astype(raw.dtype)
    if rounding is Rounding.RND_MIN_INF:
        return (raw + (half - 1)) >> shift
    if rounding is Rounding.RND_CONV:
        return (raw + (half - 1) + ((raw >> shift) & one)) >> shift
    if rounding is Rounding.RND_ZERO:
        return (raw + (half - 1) + neg) >> shift
    if rounding is Rounding.RND_INF:
        return (raw + half - neg) >> shift
    # TRN_ZERO: ceiling for negative values
    return (raw + neg * ((one << shift) - 1)) >> shift


def _apply_overflow(q: np.ndarray, floor: np.ndarray | None, dst: FixedType) -> np.ndarray:
    lo, hi = dst.min_raw, dst.max_raw
    mode = dst.overflow
    if mode is Overflow.SAT_SYM and dst.signed and dst.width > 1:
        lo = -hi  # ap_fixed also maps the most negative value itself to -max
    if q.size and q.dtype != object and lo <= int(q.min()) and int(q.max()) <= hi:
        return q
    if mode is Overflow.SAT:
        return np.minimum(np.maximum(q, lo), hi)
    if mode is Overflow.SAT_SYM:
        return np.minimum(np.maximum(q, lo), hi)
    if mode is Overflow.SAT_ZERO:
        return np.where((q < lo) | (q > hi), 0, q)
    mask = (1 << dst.width) - 1
    wrapped = q & mask  # unsigned bit pattern
    if mode is Overflow.WRAP_SM:
        # ap_fixed: on overflow, if the first dropped bit (lD) differs from the new
        # sign bit, invert every bit, then force the sign bit to lD.
        sign_bit = 1 << (dst.width - 1)
        out_of_range = (q < lo) | (q > hi)
        l_d = ((floor >> dst.width) & 1) != 0
        r_o = (wrapped & sign_bit) != 0
        flip = out_of_range & (l_d != r_o)
        l_d_bits = l_d.astype(wrapped.dtype) * sign_bit if wrapped.dtype == object else \
            np.where(l_d, sign_bit, 0)
        adjusted = np.where(flip, (~wrapped & mask & ~sign_bit) | l_d_bits, wrapped)
        wrapped = np.where(out_of_range, adjusted, wrapped)
    if dst.signed:
        sign_bit = 1 << (dst.width - 1)
        wrapped = np.where(wrapped >= sign_bit, wrapped - (1 << dst.width), wrapped)
    return wrapped


def requantize(raw, src_frac, dst: FixedType, *, wrap: bool = True) -> np.ndarray:
    """Assign raw integers at ``src_frac`` fractional bits (scalar or per element)
    to type ``dst``: round with ``dst.rounding``, then apply ``dst.overflow``.

    ``wrap=False`` returns the rounded value before any overflow handling."""
    arr = _as_int_array(raw)
    shift = np.asarray(src_frac) - dst.frac_bits  # >0 drops bits, <0 appends zeros
    max_left = int(np.max(-shift)) if shift.size else 0
    max_right = int(np.max(shift)) if shift.size else 0
    bits = _bits_needed(arr)
    use_object = (
        arr.dtype == object
        or dst.width > INT64_SAFE_BITS
        or bits + max(max_left, 0) + 1 > INT64_SAFE_BITS
        or max_right >= INT64_SAFE_BITS
    )
    work = arr.astype(object) if use_object else arr.astype(np.int64, copy=False)
    if shift.ndim == 0:
        sh = int(shift)
        if sh > 0:
            q = _round_shift(work, sh, dst.rounding)
            floor = work >> sh if dst.overflow is Overflow.WRAP_SM else None
        else:
            q = floor = work << (-sh) if sh else work
    else:
        shift = np.broadcast_to(shift, work.shape)
        left = np.maximum(-shift, 0)
        right = np.maximum(shift, 0)
        if not use_object:
            left, right = left.astype(np.int64), right.astype(np.int64)
        else:
            left, right = left.astype(object), right.astype(object)
        shifted = work << left
        right1 = np.maximum(right, 1)
        keep = right == 0
        q = np.where(keep, shifted, _round_shift(shifted, right1, dst.rounding))
        floor = np.where(keep, shifted, shifted >> right1)
    if not wrap:
        return q
    out = _apply_overflow(q, floor, dst)
    if dst.raw_dtype is object:
        return out.astype(object)
    return out.astype(np.int64, copy=False)


def quantize(values, dst: FixedType) -> np.ndarray:
    """Convert floats to raw integers of ``dst`` exactly as ``ap_fixed(double)`` does."""
    x = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise PrecisionError(
            f"Cannot quantize NaN or infinite values to {dst}; clean the input data first"
        )
    fast = _quantize_float64(x, dst)
    if fast is not None:
        return fast
    mant, exp = np.frexp(x)
    mant_int = (mant * (1 << 53)).astype(np.int64)  # exact: 53-bit significand
    src_frac = 53 - exp.astype(np.int64)
    # Beyond 60 dropped bits the result no longer depends on the shift (the value
    # is below half an LSB and never a tie), so clamp to stay in int64.
    src_frac = np.minimum(src_frac, dst.frac_bits + 60)
    return requantize(mant_int, src_frac, dst)


# Rounding of a float64 ``s`` already on the target grid (``x * 2**frac``), exact
# while |s| < 2**52. Round-to-nearest never adds 0.5 to ``s`` (``floor(s + 0.5)``
# rounds ``0.5 - 2**-54`` up to 1): it compares ``s`` with the half-point ``f + 0.5``
# of its floor ``f``, which is exact for |f| < 2**52, and only then resolves ties.
def _nearest(ties_up) -> Callable[[np.ndarray], np.ndarray]:
    def rnd(s: np.ndarray) -> np.ndarray:
        f = np.floor(s)
        half = f + 0.5
        return f + ((s > half) | ((s == half) & ties_up(s)))
    return rnd


_FLOAT_ROUNDING = {
    Rounding.TRN: np.floor,
    Rounding.TRN_ZERO: np.trunc,
    Rounding.RND_CONV: np.rint,  # ties to even
    Rounding.RND: _nearest(lambda s: True),  # ties toward +inf
    Rounding.RND_MIN_INF: _nearest(lambda s: False),  # ties toward -inf
    Rounding.RND_INF: _nearest(lambda s: s > 0),  # ties away from zero
    Rounding.RND_ZERO: _nearest(lambda s: s < 0),  # ties toward zero
}


def _quantize_float64(x: np.ndarray, dst: FixedType) -> np.ndarray | None:
    """The common case of :func:`quantize` in float64 arithmetic, or None when a
    value is too large (or the type too wide) for that to be exact."""
    if dst.width > 50 or dst.frac_bits > 1000 or dst.frac_bits < -1000:
        return None
    scaled = np.ldexp(x, dst.frac_bits)  # exact: a power-of-two scaling
    if scaled.size and float(np.max(np.abs(scaled))) >= 2.0**52:
        return None
    q = _FLOAT_ROUNDING[dst.rounding](scaled).astype(np.int64)
    floor = np.floor(scaled).astype(np.int64) if dst.overflow is Overflow.WRAP_SM else q
    return _apply_overflow(q, floor, dst)


def to_float(raw, t: FixedType | int) -> np.ndarray:
    """Real values of raw integers (exact when they fit in float64's 53 bits)."""
    frac = t.frac_bits if isinstance(t, FixedType) else int(t)
    arr = np.asarray(raw)
    if arr.dtype == object:
        arr = arr.astype(np.float64)
    return np.ldexp(arr.astype(np.float64), -frac)


# ---- exact result types ------------------------------------------------------

def _range_type(lo_raw: int, hi_raw: int, frac: int) -> FixedType:
    return FixedType.for_raw_range(lo_raw, hi_raw, frac)


def _aligned(t: FixedType, frac: int) -> tuple[int, int]:
    shift = frac - t.frac_bits
    return t.min_raw << shift, t.max_raw << shift


def add_type(a: FixedType, b: FixedType) -> FixedType:
    """Narrowest type holding every ``a + b`` exactly."""
    frac = max(a.frac_bits, b.frac_bits)
    (alo, ahi), (blo, bhi) = _aligned(a, frac), _aligned(b, frac)
    return _range_type(alo + blo, ahi + bhi, frac)


def sub_type(a: FixedType, b: FixedType) -> FixedType:
    """Narrowest type holding every ``a - b`` exactly."""
    frac = max(a.frac_bits, b.frac_bits)
    (alo, ahi), (blo, bhi) = _aligned(a, frac), _aligned(b, frac)
    return _range_type(alo - bhi, ahi - blo, frac)


def mul_type(a: FixedType, b: FixedType) -> FixedType:
    """Narrowest type holding every ``a * b`` exactly."""
    corners = [x * y for x in (a.min_raw, a.max_raw) for y in (b.min_raw, b.max_raw)]
    return _range_type(min(corners), max(corners), a.frac_bits + b.frac_bits)


def accum_type(t: FixedType, n_terms: int) -> FixedType:
    """Narrowest type holding any sum of ``n_terms`` values of type ``t``."""
    if n_terms < 1:
        raise PrecisionError(f"Cannot accumulate {n_terms} terms")
    return _range_type(t.min_raw * n_terms, t.max_raw * n_terms, t.frac_bits)


def to_cpp(t: FixedType) -> str:
    """The Vitis HLS spelling of ``t``."""
    base = "ap_fixed" if t.signed else "ap_ufixed"
    if t.rounding is Rounding.TRN and t.overflow is Overflow.WRAP:
        return f"{base}<{t.width},{t.integer_bits}>"
    return f"{base}<{t.width},{t.integer_bits},{t.rounding.value},{t.overflow.value}>"


#: ac_fixed has no sign-magnitude wrap; every other mode maps one to one (AP_X -> AC_X).
AC_UNSUPPORTED = frozenset({Overflow.WRAP_SM})


def to_ac(t: FixedType) -> str:
    """The Catapult (Algorithmic C) spelling of ``t``: ``ac_fixed<W, I, S, Q, O>``.

    The modes map one to one (``AP_RND_CONV`` -> ``AC_RND_CONV``, ``AP_SAT_SYM`` ->
    ``AC_SAT_SYM``, ...); ``tests/csim/test_fixed_vs_acfixed.py`` proves the mapping
    against the real ``ac_fixed.h``. ``AP_WRAP_SM`` has no ac equivalent and raises a
    :class:`PrecisionError`, which callers extend with the layer."""
    if t.overflow in AC_UNSUPPORTED:
        raise PrecisionError(
            f"{t} uses {t.overflow.value}, which ac_fixed (Catapult) has no mode for; "
            "give the tensor AP_WRAP or AP_SAT overflow, or use --backend vitis")
    sign = "true" if t.signed else "false"
    if t.rounding is Rounding.TRN and t.overflow is Overflow.WRAP:
        return f"ac_fixed<{t.width},{t.integer_bits},{sign}>"
    q = "AC_" + t.rounding.value[3:]
    o = "AC_" + t.overflow.value[3:]
    return f"ac_fixed<{t.width},{t.integer_bits},{sign},{q},{o}>"


def constant_type(values: np.ndarray, max_width: int = 32) -> tuple[FixedType, np.ndarray]:
    """The narrowest type that holds every float in ``values`` exactly, and the raw values.

    Raises :class:`PrecisionError` when no type of at most ``max_width`` bits does;
    callers decide whether to approximate (explicitly) instead."""
    x = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise PrecisionError("Constant holds NaN or infinite values")
    nz = x[x != 0]
    if nz.size == 0:
        t = FixedType(False, 1, 1)
        return t, np.zeros(x.shape, dtype=np.int64)
    mant, exp = np.frexp(nz)
    # trailing-zero count of each 53-bit significand gives its lowest set bit
    ints = (np.abs(mant) * (1 << 53)).astype(np.int64)
    low = (ints & -ints).astype(np.float64)
    lowest_bit = (np.log2(low).astype(np.int64) + exp.astype(np.int64) - 53)
    frac = int(-lowest_bit.min())
    raw = np.round(np.ldexp(x, frac))
    lo, hi = int(raw.min()), int(raw.max())
    t = FixedType.for_raw_range(lo, hi, frac)
    if t.width > max_width:
        raise PrecisionError(
            f"Constant needs {t.width} bits to be exact (more than {max_width})"
        )
    return t, raw.astype(np.int64)


def assign_ratio(num, den, dst: FixedType) -> np.ndarray:
    """Assign the exact rationals ``num / den`` (integers, ``den > 0``, already
    scaled to ``dst``'s grid) to ``dst``: round with ``dst.rounding``, then overflow.

    The quotient is written as floor plus two more fraction bits: the first bit
    of the remainder and a sticky bit for the rest. Assigning that value with
    ``requantize`` is exactly what an ``ap_fixed`` assignment of it does, which is
    how the C++ kernels implement the division."""
    num = _as_int_array(num)
    den = np.asarray(den)
    if num.dtype == object or den.dtype == object or _bits_needed(num) + 3 > INT64_SAFE_BITS:
        num, den = num.astype(object), den.astype(object)
    floor = num // den
    rem = num - floor * den  # in [0, den)
    qb = 2 * rem >= den
    sticky = (2 * rem) != np.where(qb, den, 0)
    extended = floor * 4 + qb.astype(np.int64) * 2 + sticky.astype(np.int64)
    return requantize(extended, dst.frac_bits + 2, dst)

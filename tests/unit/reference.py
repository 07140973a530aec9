"""Independent reference arithmetic for the unit tests.

Everything here is written from the *documented* semantics (ap_fixed modes, the
QONNX ops, ONNX conv/pool) with Python ints and ``fractions.Fraction``; nothing
is imported from ``trigc.fixed`` or ``trigc.emulator`` except the FixedType
record and the mode enums.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np

from trigc.fixed import FixedType, Overflow, Rounding

HALF = Fraction(1, 2)


# ---- exact values -------------------------------------------------------------------

def val(raw, frac: int) -> Fraction:
    """The real value ``raw * 2**-frac`` as a Fraction (frac may be negative)."""
    return Fraction(int(raw)) * Fraction(2) ** (-int(frac))


def vals(raw: np.ndarray, frac) -> np.ndarray:
    """Element-wise :func:`val` into an object array (frac scalar or per element)."""
    raw = np.asarray(raw)
    frac = np.broadcast_to(np.asarray(frac), raw.shape)
    out = np.empty(raw.shape, dtype=object)
    for idx in np.ndindex(raw.shape):
        out[idx] = val(raw[idx], frac[idx])
    return out


def fractions_of(x) -> np.ndarray:
    """Exact Fractions of a float array (floats are dyadic rationals)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty(x.shape, dtype=object)
    for idx in np.ndindex(x.shape):
        out[idx] = Fraction(float(x[idx]))
    return out


def to_int_array(values) -> np.ndarray:
    """Python ints (possibly huge) as an object array, for exact comparisons."""
    arr = np.asarray(values)
    out = np.empty(arr.shape, dtype=object)
    for idx in np.ndindex(arr.shape):
        out[idx] = int(arr[idx])
    return out


def holds(t: FixedType, v: Fraction) -> bool:
    """Whether ``t`` represents ``v`` exactly."""
    scaled = v * Fraction(2) ** t.frac_bits
    if scaled.denominator != 1:
        return False
    lo = -(2 ** (t.width - 1)) if t.signed else 0
    hi = 2 ** (t.width - 1) - 1 if t.signed else 2**t.width - 1
    return lo <= scaled.numerator <= hi


def min_frac(values) -> int:
    """Fewest fractional bits (possibly negative) at which every value is an integer."""
    best = None
    for v in values:
        v = Fraction(v)
        if v == 0:
            continue
        if v.denominator > 1:
            f = v.denominator.bit_length() - 1  # denominators of dyadics are 2**f
            assert v.denominator == 1 << f
        else:
            n = abs(v.numerator)
            f = -((n & -n).bit_length() - 1)  # minus the trailing zero count
        best = f if best is None else max(best, f)
    return 0 if best is None else best


def narrowest_width(lo_raw: int, hi_raw: int) -> tuple[bool, int]:
    """(signed, width) of the narrowest ap_[u]fixed holding [lo_raw, hi_raw], by search."""
    for w in itertools.count(1):
        if lo_raw >= 0 and hi_raw <= 2**w - 1:
            return False, w
        if -(2 ** (w - 1)) <= lo_raw and hi_raw <= 2 ** (w - 1) - 1:
            return True, w
        assert w < 4096


def narrowest_type(values) -> FixedType:
    """The narrowest type (fewest fractional bits, then fewest bits) holding all values."""
    values = [Fraction(v) for v in values]
    f = min_frac(values)
    raws = [v * Fraction(2) ** f for v in values]
    assert all(r.denominator == 1 for r in raws)
    raws = [r.numerator for r in raws]
    signed, width = narrowest_width(min(raws), max(raws))
    return FixedType(signed, width, width - f)


# ---- rounding and overflow (the ap_fixed documentation, in Fractions) ---------------

def ref_round(v: Fraction, mode: Rounding) -> int:
    """Round the rational ``v`` (already scaled to the destination LSB) to an integer."""
    fl = math.floor(v)
    rem = v - fl
    if mode is Rounding.TRN:
        return fl
    if mode is Rounding.TRN_ZERO:
        return fl if v >= 0 else math.ceil(v)
    if rem != HALF:
        return fl + (1 if rem > HALF else 0)
    # an exact tie between fl and fl + 1
    if mode is Rounding.RND:
        return fl + 1  # toward +inf
    if mode is Rounding.RND_MIN_INF:
        return fl  # toward -inf
    if mode is Rounding.RND_ZERO:
        return fl + 1 if v < 0 else fl
    if mode is Rounding.RND_INF:
        return fl if v < 0 else fl + 1
    if mode is Rounding.RND_CONV:
        return fl if fl % 2 == 0 else fl + 1
    raise AssertionError(mode)


def ref_overflow(q: int, fl: int, t: FixedType) -> int:
    """Apply ``t.overflow`` to the rounded integer ``q`` (``fl``: the value before
    rounding, floored; its bit ``width`` is the first dropped bit for AP_WRAP_SM)."""
    w = t.width
    lo = -(2 ** (w - 1)) if t.signed else 0
    hi = 2 ** (w - 1) - 1 if t.signed else 2**w - 1
    mode = t.overflow
    if mode is Overflow.SAT_SYM:
        # symmetric range [-max, max]: the most negative code is never produced, except
        # by a 1-bit signed type (its only codes are -1 and 0; -max would be 0)
        sym_lo = -hi if (t.signed and w > 1) else lo
        return min(max(q, sym_lo), hi)
    if lo <= q <= hi:
        return q
    if mode is Overflow.SAT:
        return lo if q < lo else hi
    if mode is Overflow.SAT_ZERO:
        return 0
    # two's-complement bit pattern of the low w bits
    pattern = q % (2**w)
    if mode is Overflow.WRAP_SM:
        sign = (pattern >> (w - 1)) & 1
        first_dropped = (fl >> w) & 1  # Python >> floors, like an arithmetic shift
        if first_dropped != sign:
            pattern = (~pattern) % (2**w)
            pattern = (pattern & ~(1 << (w - 1))) | (first_dropped << (w - 1))
    if t.signed and pattern >= 2 ** (w - 1):
        return pattern - 2**w
    return pattern


def ref_assign_scaled(scaled: Fraction, t: FixedType) -> int:
    """Raw integer of ``t`` for the exact rational ``scaled`` given in units of t's LSB."""
    scaled = Fraction(scaled)
    return ref_overflow(ref_round(scaled, t.rounding), math.floor(scaled), t)


def ref_assign(v: Fraction, t: FixedType) -> int:
    """Raw integer of ``t`` that ap_fixed assigns for the exact real value ``v``."""
    return ref_assign_scaled(Fraction(v) * Fraction(2) ** t.frac_bits, t)


def ref_assign_array(v: np.ndarray, t: FixedType) -> np.ndarray:
    out = np.empty(np.shape(v), dtype=object)
    for idx in np.ndindex(out.shape):
        out[idx] = ref_assign(v[idx], t)
    return out


# ---- QONNX float semantics --------------------------------------------------------

def qonnx_round(y: Fraction, mode: str) -> int:
    mode = mode.upper()
    if mode in ("ROUND", "HALF_EVEN"):
        return round(y)  # Fraction.__round__ is half-to-even
    if mode == "FLOOR":
        return math.floor(y)
    if mode == "CEIL":
        return math.ceil(y)
    if mode == "DOWN":
        return math.trunc(y)
    if mode == "UP":
        return math.ceil(y) if y >= 0 else math.floor(y)
    if mode == "HALF_UP":  # ties away from zero
        return math.floor(abs(y) + HALF) * (1 if y >= 0 else -1)
    if mode == "HALF_DOWN":  # ties toward zero
        return math.ceil(abs(y) - HALF) * (1 if y >= 0 else -1)
    raise AssertionError(mode)


def qonnx_quant(x: Fraction, scale: Fraction, zp: Fraction, bits: int, signed: bool,
                narrow: bool, mode: str) -> Fraction:
    """QONNX Quant on exact rationals (clip to the integer range, round, rescale)."""
    y = x / scale + zp
    if bits == 1 and signed:
        q = Fraction(1 if y >= 0 else -1)
    else:
        if signed:
            lo, hi = -(2 ** (bits - 1)) + int(narrow), 2 ** (bits - 1) - 1
        else:
            lo, hi = 0, 2**bits - 1 - int(narrow)
        q = Fraction(qonnx_round(min(max(y, Fraction(lo)), Fraction(hi)), mode))
    return (q - zp) * scale


# ---- spatial ops on channels-last object/int arrays ----------------------------------

def conv_ref(x, w, b, strides, pads, groups):
    """Channels-last convolution by explicit loops.

    x: (N, *spatial, C_in); w: (*k, C_in // groups, C_out); b: (C_out,) or None;
    pads: (begin..., end...). Works on any element type supporting + and *."""
    x = np.asarray(x, dtype=object)
    w = np.asarray(w, dtype=object)
    nd = x.ndim - 2
    k = w.shape[:nd]
    cg, c_out = w.shape[nd], w.shape[nd + 1]
    og = c_out // groups
    n = x.shape[0]
    spatial = x.shape[1:1 + nd]
    out_sp = [(spatial[i] + pads[i] + pads[i + nd] - k[i]) // strides[i] + 1 for i in range(nd)]
    out = np.empty((n, *out_sp, c_out), dtype=object)
    for bi in range(n):
        for o in itertools.product(*(range(s) for s in out_sp)):
            for co in range(c_out):
                g = co // og
                acc = 0 if b is None else b[co]
                for kk in itertools.product(*(range(s) for s in k)):
                    pos = [o[i] * strides[i] + kk[i] - pads[i] for i in range(nd)]
                    if any(p < 0 or p >= spatial[i] for i, p in enumerate(pos)):
                        continue  # zero padding
                    for ci in range(cg):
                        acc = acc + x[(bi, *pos, g * cg + ci)] * w[(*kk, ci, co)]
                out[(bi, *o, co)] = acc
    return out


def pool_ref(x, kernel, strides, pads, kind: str, count_include_pad: bool = False):
    """Channels-last max / average pooling by explicit loops (average as an exact
    Fraction). Padding never wins a max; the average divides by the whole window
    (``count_include_pad``) or by the number of valid elements."""
    x = np.asarray(x, dtype=object)
    nd = len(kernel)
    n, c = x.shape[0], x.shape[-1]
    spatial = x.shape[1:1 + nd]
    out_sp = [(spatial[i] + pads[i] + pads[i + nd] - kernel[i]) // strides[i] + 1
              for i in range(nd)]
    out = np.empty((n, *out_sp, c), dtype=object)
    for bi in range(n):
        for o in itertools.product(*(range(s) for s in out_sp)):
            for ch in range(c):
                items = []
                for kk in itertools.product(*(range(s) for s in kernel)):
                    pos = [o[i] * strides[i] + kk[i] - pads[i] for i in range(nd)]
                    if all(0 <= p < spatial[i] for i, p in enumerate(pos)):
                        items.append(x[(bi, *pos, ch)])
                if kind == "max":
                    out[(bi, *o, ch)] = max(items)
                else:
                    count = math.prod(kernel) if count_include_pad else len(items)
                    out[(bi, *o, ch)] = Fraction(sum(items)) / count
    return out


def lut_index_ref(raw: int, index_low: int, shift: int, entries: int) -> int:
    """The LutAttrs docstring: clip(raw, low, low + (entries << shift) - 1) - low >> shift."""
    top = index_low + entries * 2**shift - 1
    clipped = min(max(int(raw), index_low), top)
    return (clipped - index_low) // 2**shift

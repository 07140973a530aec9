"""Suggested fixed-point types for post-training quantization: the ``width``-bit type
with the fewest integer bits that holds an observed range."""

from __future__ import annotations

import math

import numpy as np

from trigc.errors import ConfigError
from trigc.fixed import FixedType, Overflow, Rounding, requantize

DEFAULT_WIDTH = 16


def parse_rounding(value) -> Rounding:
    """A rounding mode from its name (``RND_CONV``, ``AP_TRN``, ...)."""
    if isinstance(value, Rounding):
        return value
    try:
        return Rounding[str(value).upper().removeprefix("AP_")]
    except KeyError:
        raise ConfigError(f"Unknown rounding {value!r}; use one of "
                          f"{[r.name for r in Rounding]}") from None


def parse_overflow(value) -> Overflow:
    """An overflow mode from its name (``SAT``, ``AP_WRAP``, ...)."""
    if isinstance(value, Overflow):
        return value
    try:
        return Overflow[str(value).upper().removeprefix("AP_")]
    except KeyError:
        raise ConfigError(f"Unknown overflow mode {value!r}; use one of "
                          f"{[o.name for o in Overflow]}") from None


def fits(t: FixedType, values) -> np.ndarray:
    """Per value: assigning it to ``t`` (with ``t``'s rounding) needs no overflow handling."""
    x = np.asarray(values, dtype=np.float64)
    mant, exp = np.frexp(x)
    mant_int = (mant * (1 << 53)).astype(np.int64)  # exact, as fixed.quantize does
    src_frac = np.minimum(53 - exp.astype(np.int64), t.frac_bits + 60)
    q = requantize(mant_int, src_frac, t, wrap=False)
    low = -t.max_raw if (t.overflow is Overflow.SAT_SYM and t.signed) else t.min_raw
    return (q >= low) & (q <= t.max_raw)


def holds(t: FixedType, lo: float, hi: float) -> bool:
    """True when assigning ``lo`` and ``hi`` (and so every value between them) to ``t``
    neither overflows nor rounds past the type's range."""
    return bool(np.all(fits(t, [lo, hi])))


def suggest_type(lo: float, hi: float, width: int = DEFAULT_WIDTH, *, signed: bool | None = None,
                 rounding=Rounding.TRN, overflow=Overflow.WRAP, margin: int = 0) -> FixedType:
    """The ``width``-bit type with the fewest integer bits that holds [lo, hi].

    Signed when ``lo < 0`` (unless ``signed`` is given); ``margin`` adds integer bits."""
    lo, hi = float(lo), float(hi)
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise ConfigError(f"Cannot suggest a type for the range [{lo}, {hi}]")
    rounding, overflow = parse_rounding(rounding), parse_overflow(overflow)
    if not isinstance(width, int) or width < 1:
        raise ConfigError(f"Width must be a positive integer, not {width!r}")
    signed = lo < 0 if signed is None else bool(signed)
    if overflow is Overflow.WRAP_SM and not signed:
        overflow = Overflow.WRAP
    peak = max(abs(lo), abs(hi))
    if peak == 0:  # all zero: every type holds it; all bits fractional
        return FixedType(signed, width, int(signed) + int(margin), rounding, overflow)
    integer = math.frexp(peak)[1] + int(signed) - 2
    while True:
        t = FixedType(signed, width, integer, rounding, overflow)
        if holds(t, lo, hi):
            break
        integer += 1
    return FixedType(signed, width, integer + int(margin), rounding, overflow)


__all__ = ["DEFAULT_WIDTH", "fits", "holds", "parse_overflow", "parse_rounding",
           "suggest_type"]

"""Exact integer arithmetic shared by the op kernels, precision inference and the
emulator.

A run-time value is ``Value(raw, frac)``: raw integer arrays (batch axis first
for activations; constants without batch axis), real value ``raw * 2**-frac``.
A kernel returns its op's *exact* result as ``Exact(raw, frac, den)``: real value
``raw * 2**-frac / den`` (``den`` is None except for divisions). :func:`assign`
then gives it an output type (rounding, then overflow), as ``ap_fixed`` does.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from trigc.errors import IRError
from trigc.fixed import FixedType, Overflow, assign_ratio, requantize

FLOAT_EXACT_BITS = 53
FLOAT32_EXACT_BITS = 24
INT64_SAFE_BITS = 62


class Value(NamedTuple):
    """Raw integers on the grid ``2**-frac``."""

    raw: np.ndarray
    frac: int


class Exact(NamedTuple):
    """An op's exact result: ``raw * 2**-frac / den``."""

    raw: np.ndarray
    frac: int
    den: np.ndarray | int | None = None


def max_abs(raw) -> int:
    """The largest magnitude in ``raw`` (0 when empty), as a Python int."""
    raw = np.asarray(raw)
    if raw.size == 0:
        return 0
    return max(abs(int(raw.min())), abs(int(raw.max())))


def widen(raw, extra_bits: int = 0):
    """``raw`` itself, or as Python ints when ``extra_bits`` more bits could leave int64."""
    raw = np.asarray(raw)
    if raw.dtype == object or max_abs(raw).bit_length() + extra_bits < INT64_SAFE_BITS:
        return raw
    return raw.astype(object)


def shift_left(raw, shift: int):
    """``raw << shift``, widened first when int64 could overflow; always an array
    (a 0-d object array shifted gives a bare Python int)."""
    if not shift:
        return raw
    wide = widen(raw, shift)
    return np.asarray(wide << shift, dtype=wide.dtype)


def align(v: Value, frac: int) -> np.ndarray:
    """Raw integers of ``v`` on a finer grid (exact)."""
    shift = frac - v.frac
    if shift < 0:
        raise IRError(f"cannot align frac {v.frac} down to {frac} exactly")
    return shift_left(v.raw, shift)


def matmul_exact(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Exact integer x @ w: float64 BLAS when every partial sum stays below 2**53."""
    if x.dtype != object and w.dtype != object:
        bound = max_abs(x) * int(np.abs(w).sum(axis=0).max(initial=0))
        if bound < 2**FLOAT32_EXACT_BITS:  # single precision is exact too, and twice as fast
            return np.matmul(x.astype(np.float32), w.astype(np.float32)).astype(np.int64)
        if bound < 2**FLOAT_EXACT_BITS:
            return np.matmul(x.astype(np.float64), w.astype(np.float64)).astype(np.int64)
        if bound < 2**62:
            return np.matmul(x.astype(np.int64), w.astype(np.int64))
    return np.matmul(x.astype(object), w.astype(object))


def is_one(den) -> bool:
    """Whether an ``Exact.den`` means no division."""
    return den is None or (np.ndim(den) == 0 and int(den) == 1)


def assign(result: Exact, t: FixedType) -> np.ndarray:
    """Assign an op's exact result to type ``t`` (rounding, then overflow)."""
    raw, frac, den = result
    if is_one(den):
        # AP_SAT_SYM maps the most negative value to -max even without a format
        # change (as ap_fixed does), so it is never the identity there
        low = -t.max_raw if t.overflow is Overflow.SAT_SYM and t.signed and t.width > 1 \
            else t.min_raw
        if frac == t.frac_bits and raw.size and raw.dtype != object \
                and int(raw.min()) >= low and int(raw.max()) <= t.max_raw:
            return raw
        return requantize(raw, frac, t)
    shift = t.frac_bits - frac
    den = np.asarray(den)
    if shift >= 0:
        return assign_ratio(shift_left(raw, shift), widen(den, 1), t)
    den = shift_left(den, -shift)
    if den.dtype == object:
        raw = np.asarray(raw).astype(object)
    return assign_ratio(raw, den, t)

"""Float value statistics of one tensor over the calibration data, and its profile row:
exact min/max/moments, percentiles from an evenly strided sample, the suggested type."""

from __future__ import annotations

import math

import numpy as np

from trigc.ptq.result import TensorProfile
from trigc.ptq.types import fits, suggest_type

#: percentiles of x recorded for every tensor (plus the one of ``percentile=``)
PERCENTILES = (0.1, 1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0, 99.9)
#: at most this many values per tensor are kept for percentiles (min/max are exact)
MAX_VALUES = 1_000_000


class Stats:
    """Running exact min/max/moments plus an evenly strided sample for percentiles."""

    def __init__(self, step: int = 1) -> None:
        self.step = max(int(step), 1)
        self.seen = 0
        self.count = 0
        self.lo = math.inf
        self.hi = -math.inf
        self.sum = 0.0
        self.sumsq = 0.0
        self.zeros = 0
        self.chunks: list[np.ndarray] = []
        self.shape: tuple = ()

    def add(self, arr: np.ndarray) -> None:
        flat = np.asarray(arr, dtype=np.float64).ravel()
        if flat.size == 0:
            return
        self.lo = min(self.lo, float(flat.min()))
        self.hi = max(self.hi, float(flat.max()))
        self.sum += float(flat.sum())
        self.sumsq += float(np.dot(flat, flat))
        self.zeros += int(np.count_nonzero(flat == 0))
        start = (-self.seen) % self.step
        self.chunks.append(flat[start::self.step].copy())
        self.seen += flat.size
        self.count += flat.size

    def values(self) -> np.ndarray:
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0)


def tensor_profile(name: str, layer: str, kind: str, op: str, st: Stats, width: int,
            percentile: float | None, rounding, overflow, margin: int) -> TensorProfile:
    vals = st.values()
    absv = np.abs(vals)
    nonzero = absv[absv > 0]
    pct = {p: float(np.percentile(vals, p)) for p in PERCENTILES} if vals.size else {}
    if percentile is not None and vals.size:
        pct.setdefault(float(percentile), float(np.percentile(vals, percentile)))
    max_abs = max(abs(st.lo), abs(st.hi))
    abs_box = None
    if nonzero.size:
        q1, med, q3 = np.percentile(nonzero, (25, 50, 75))
        # max |x| is exact; the smallest nonzero |x| comes from the (strided) sample
        small = float(nonzero.min())
        abs_box = (small, float(q1), float(med), float(q3), max_abs)
    bound = max_abs
    lo, hi = st.lo, st.hi
    if percentile is not None and absv.size:
        bound = float(np.percentile(absv, percentile))
        lo, hi = max(lo, -bound), min(hi, bound)
    t = suggest_type(lo, hi, width, signed=st.lo < 0, rounding=rounding, overflow=overflow,
                     margin=margin)
    outside = 0
    if percentile is not None and vals.size:
        # counted on the sample, scaled to all values (exact when nothing was skipped)
        over = int(np.count_nonzero(~fits(t, vals)))
        outside = over if vals.size == st.count else round(over * st.count / vals.size)
    mean = st.sum / st.count
    var = max(st.sumsq / st.count - mean * mean, 0.0)
    return TensorProfile(
        name=name, layer=layer, kind=kind, op=op, shape=tuple(int(d) for d in st.shape),
        count=st.count, min=st.lo, max=st.hi, max_abs=max_abs, mean=mean, std=math.sqrt(var),
        zero_fraction=st.zeros / st.count, percentiles=pct, abs_box=abs_box, bound=bound,
        suggested=t, outside=outside)


__all__ = ["MAX_VALUES", "PERCENTILES", "Stats", "tensor_profile"]

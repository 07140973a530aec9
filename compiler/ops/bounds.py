"""Generic bounds rules for precision inference (see :data:`trigc.ops.base.BoundsRule`).

Each rule runs the op's own kernel on input bounds, so the bounds are those of
exactly the computation the emulator and the firmware do. Inputs carry a batch
axis of 1; results are element-wise bounds.
"""

from __future__ import annotations

import numpy as np

from trigc.ir.graph import Node
from trigc.ops.base import Run
from trigc.ops.exact import Exact, Value


def add_exact(a: Exact, b: Exact) -> Exact:
    """``a + b`` of two exact results without denominators."""
    frac = max(a.frac, b.frac)
    return Exact((a.raw << (frac - a.frac)) + (b.raw << (frac - b.frac)), frac)


def envelope(results: list[Exact]) -> tuple[Exact, Exact]:
    """Element-wise min and max over exact results (equal den, aligned grid)."""
    frac = max(r.frac for r in results)
    raws = [r.raw << (frac - r.frac) for r in results]
    lo = raws[0]
    hi = raws[0]
    for r in raws[1:]:
        lo, hi = np.minimum(lo, r), np.maximum(hi, r)
    den = results[0].den
    return Exact(lo, frac, den), Exact(hi, frac, den)


def monotone(node: Node, run: Run, lo: list[Value], hi: list[Value]) -> tuple[Exact, Exact]:
    """Non-decreasing in every input: the result of the lows and of the highs."""
    return run(lo), run(hi)


def decreasing_second(node: Node, run: Run, lo: list[Value],
                      hi: list[Value]) -> tuple[Exact, Exact]:
    """Non-decreasing in the first input, non-increasing in the second (a - b)."""
    return run([lo[0], hi[1]]), run([hi[0], lo[1]])


def corners(node: Node, run: Run, lo: list[Value], hi: list[Value]) -> tuple[Exact, Exact]:
    """Bilinear in two inputs (a * b, a / c): the envelope of the four corners."""
    return envelope([run([a, b]) for a in (lo[0], hi[0]) for b in (lo[1], hi[1])])


def through_zero(node: Node, run: Run, lo: list[Value], hi: list[Value]) -> tuple[Exact, Exact]:
    """Monotone on each side of zero (|x|): the envelope of both ends and of the
    point of the interval nearest zero."""
    nearest = np.minimum(np.maximum(0, lo[0].raw), hi[0].raw)
    return envelope([run([lo[0]]), run([hi[0]]), run([Value(nearest, lo[0].frac)])])

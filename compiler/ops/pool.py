"""Pooling: max and average over channels-last windows, and their global forms.

Average pooling divides the exact window sum by the window's element count, so
its exact result carries a denominator; the sums accumulate (precision inference
records ``attrs.accum_type``). Every pool is non-decreasing in its input.
"""

from __future__ import annotations

import numpy as np

from trigc.ir.graph import Node
from trigc.ir.ops import Op, PoolAttrs
from trigc.ops.base import OpDef, Traits
from trigc.ops.bounds import monotone
from trigc.ops.exact import Exact, Value, widen


def _pad(raw: np.ndarray, pads, nd: int, fill) -> np.ndarray:
    if not any(pads):
        return raw
    width = [(0, 0)] + [(pads[i], pads[i + nd]) for i in range(nd)] + [(0, 0)]
    if raw.dtype == object:
        out = np.full(tuple(s + a + b for s, (a, b) in zip(raw.shape, width)), fill,
                      dtype=object)
        out[tuple(slice(a, a + s) for s, (a, _) in zip(raw.shape, width))] = raw
        return out
    return np.pad(raw, width, constant_values=fill)


def windows(raw: np.ndarray, kernel, strides, pads, fill=0) -> np.ndarray:
    """(N, *out_spatial, C, *kernel) sliding windows of a channels-last tensor."""
    nd = len(kernel)
    padded = _pad(raw, pads, nd, fill)
    view = np.lib.stride_tricks.sliding_window_view(padded, kernel, axis=tuple(range(1, nd + 1)))
    index = (slice(None),) + tuple(slice(None, None, s) for s in strides)
    return view[index]


def maxpool(node: Node, args: list[Value]) -> Exact:
    """The largest in-bounds element of each window (0 for an all-padding window)."""
    a = node.attrs
    x = args[0]
    low = int(x.raw.min()) - 1 if x.raw.size else -1  # below every value: never the max
    raw = widen(x.raw, 1)
    win = windows(raw, a.kernel_shape, a.strides, a.pads, fill=low)
    nd = len(a.kernel_shape)
    best = win.max(axis=tuple(range(-nd, 0)))
    # a window wholly in the padding has no element: 0, as in the firmware
    return Exact(np.where(best == low, 0, best), x.frac)


def pool_divisor(shape, a: PoolAttrs) -> np.ndarray | int:
    """Number of elements each average-pool window divides by."""
    k = int(np.prod(a.kernel_shape))
    if a.count_include_pad or not any(a.pads):
        return k
    ones = np.ones((1, *shape[:-1], 1), dtype=np.int64)
    win = windows(ones, a.kernel_shape, a.strides, a.pads)
    nd = len(a.kernel_shape)
    return win.sum(axis=tuple(range(-nd, 0)))[0]


def avgpool(node: Node, args: list[Value]) -> Exact:
    """The exact window sum over the window's divisor."""
    a = node.attrs
    x = args[0]
    nd = len(a.kernel_shape)
    count = int(np.prod(a.kernel_shape))
    win = windows(widen(x.raw, count.bit_length()), a.kernel_shape, a.strides, a.pads)
    total = win.sum(axis=tuple(range(-nd, 0)))
    return Exact(total, x.frac, pool_divisor(x.raw.shape[1:], a))


def global_avgpool(node: Node, args: list[Value]) -> Exact:
    """The exact mean over every spatial position (or object), per channel; the
    plain sum when ``attrs.divide`` is false (sum pooling)."""
    x = args[0]
    axes = tuple(range(1, x.raw.ndim - 1))
    count = int(np.prod([x.raw.shape[i] for i in axes]))
    total = widen(x.raw, count.bit_length()).sum(axis=axes, keepdims=True)
    if not node.attrs.divide:
        return Exact(total, x.frac)
    return Exact(total, x.frac, count)


def global_maxpool(node: Node, args: list[Value]) -> Exact:
    """The largest value over every spatial position, per channel."""
    x = args[0]
    return Exact(x.raw.max(axis=tuple(range(1, x.raw.ndim - 1)), keepdims=True), x.frac)


MAX = Traits(spatial=True)
AVERAGE = Traits(spatial=True, accumulates=True)

DEFS = {
    Op.MAXPOOL: OpDef(Op.MAXPOOL, MAX, maxpool, monotone),
    Op.AVGPOOL: OpDef(Op.AVGPOOL, AVERAGE, avgpool, monotone),
    Op.GLOBAL_AVGPOOL: OpDef(Op.GLOBAL_AVGPOOL, AVERAGE, global_avgpool, monotone),
    Op.GLOBAL_MAXPOOL: OpDef(Op.GLOBAL_MAXPOOL, MAX, global_maxpool, monotone),
}

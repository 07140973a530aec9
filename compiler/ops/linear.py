"""Dense and Conv: exact integer matrix products plus bias.

Both accumulate (precision inference records the exact accumulator type) and
both bound their result by splitting the constant weights into their positive
and negative parts.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from trigc.ir.graph import Node
from trigc.ir.ops import Op
from trigc.ops.base import OpDef, Run, Traits
from trigc.ops.bounds import add_exact
from trigc.ops.exact import Exact, Value, align, matmul_exact, shift_left, widen
from trigc.ops.pool import windows


def _linear(x: Value, w: Value, b: Value | None,
            apply: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Exact:
    frac = x.frac + w.frac
    if b is not None and b.frac > frac:
        out = shift_left(apply(x.raw, w.raw), b.frac - frac)
        return Exact(widen(out, 1) + b.raw, b.frac)
    out = apply(x.raw, w.raw)
    if b is not None:
        bias = align(b, frac)
        out = widen(out, 1) + widen(bias, 1)
    return Exact(out, frac)


def dense(node: Node, args: list[Value]) -> Exact:
    """``x @ W + b`` (W is (n_in, n_out))."""
    x, w = args[0], args[1]
    b = args[2] if len(args) > 2 else None
    return _linear(x, w, b, matmul_exact)


def _conv_apply(node: Node, xr: np.ndarray, wr: np.ndarray) -> np.ndarray:
    """Channels-last grouped convolution of raw integers (no bias)."""
    a = node.attrs
    nd = len(a.kernel_shape)
    win = windows(xr, a.kernel_shape, a.strides, a.pads)  # (N, *o, C, *k)
    # -> (N, *o, *k, C) to match weights (*k, C_in/g, C_out)
    perm = (0, *range(1, nd + 1), *range(nd + 2, 2 * nd + 2), nd + 1)
    win = np.transpose(win, perm)
    lead = win.shape[: nd + 1]
    groups = a.groups
    c_in = win.shape[-1]
    cg = c_in // groups
    c_out = wr.shape[-1]
    og = c_out // groups
    taps = int(np.prod(a.kernel_shape))
    if groups == 1:
        out = matmul_exact(win.reshape(-1, taps * c_in), wr.reshape(-1, c_out))
        return out.reshape(*lead, c_out)
    parts = []
    for g in range(groups):
        flat = win[..., g * cg:(g + 1) * cg].reshape(-1, taps * cg)
        wg = wr[..., g * og:(g + 1) * og].reshape(-1, og)
        parts.append(matmul_exact(flat, wg).reshape(*lead, og))
    return np.concatenate(parts, axis=-1)


def conv(node: Node, args: list[Value]) -> Exact:
    """Channels-last convolution, weights (*kernel, C_in // groups, C_out), plus bias."""
    x, w = args[0], args[1]
    b = args[2] if len(args) > 2 else None
    return _linear(x, w, b, lambda xr, wr: _conv_apply(node, xr, wr))


def weight_split(node: Node, run: Run, lo: list[Value], hi: list[Value]) -> tuple[Exact, Exact]:
    """Bounds of ``x * W + b``: the high end takes x's highs on positive weights and
    its lows on negative ones, the low end the other way round (bias in one half)."""
    w = lo[1]
    w_pos = Value(np.maximum(w.raw, 0), w.frac)
    w_neg = Value(np.minimum(w.raw, 0), w.frac)
    rest = lo[2:]
    high = add_exact(run([hi[0], w_pos, *rest]), run([lo[0], w_neg]))
    low = add_exact(run([lo[0], w_pos, *rest]), run([hi[0], w_neg]))
    return low, high


LINEAR = Traits(accumulates=True)

DEFS = {
    Op.DENSE: OpDef(Op.DENSE, LINEAR, dense, weight_split),
    Op.CONV: OpDef(Op.CONV, Traits(accumulates=True, spatial=True), conv, weight_split),
}

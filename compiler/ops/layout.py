"""Reshape, Transpose, Concat and Resize (nearest, integer factors): they move
elements and compute nothing.

Their results are exact at the input grid (Concat aligns its inputs to the finest
one); the backends render them as wiring. All are non-decreasing in every input.
"""

from __future__ import annotations

import numpy as np

from trigc.ir.graph import Node
from trigc.ir.ops import Op
from trigc.ops.base import OpDef, Traits
from trigc.ops.bounds import monotone
from trigc.ops.exact import Exact, Value, align


def reshape(node: Node, args: list[Value]) -> Exact:
    """The same elements in ``attrs.shape`` (per sample)."""
    x = args[0]
    return Exact(x.raw.reshape((x.raw.shape[0], *node.attrs.shape)), x.frac)


def transpose(node: Node, args: list[Value]) -> Exact:
    """Per-sample axes permuted by ``attrs.perm``."""
    x = args[0]
    return Exact(np.transpose(x.raw, (0, *(p + 1 for p in node.attrs.perm))), x.frac)


def concat(node: Node, args: list[Value]) -> Exact:
    """The inputs joined along per-sample axis ``attrs.axis``, on the finest grid."""
    frac = max(v.frac for v in args)
    return Exact(np.concatenate([align(v, frac) for v in args], axis=node.attrs.axis + 1), frac)


def resize(node: Node, args: list[Value]) -> Exact:
    """Nearest-neighbour upsampling: each spatial axis repeated ``factor`` times per
    element (output pixel ``o`` is input pixel ``o // factor``)."""
    a = node.attrs
    raw = args[0].raw
    rank = raw.ndim - 1
    first = 0 if a.channels_last else 1
    for axis, factor in zip(range(first, first + rank - 1), a.factors):
        raw = np.repeat(raw, factor, axis=axis + 1)
    return Exact(raw, args[0].frac)


LAYOUT = Traits(layout=True)

DEFS = {
    Op.RESHAPE: OpDef(Op.RESHAPE, LAYOUT, reshape, monotone),
    Op.TRANSPOSE: OpDef(Op.TRANSPOSE, LAYOUT, transpose, monotone),
    Op.CONCAT: OpDef(Op.CONCAT, LAYOUT, concat, monotone),
    # spatial: runs channels-last beside Conv and pooling (passes/channels_last.py)
    Op.RESIZE: OpDef(Op.RESIZE, Traits(layout=True, spatial=True), resize, monotone),
}

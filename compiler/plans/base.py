"""What every kernel plan shares: typed constant arrays, the operand types and the
reuse protocol.

A plan is frozen and holds plain numbers, :class:`~trigc.fixed.FixedType` values and
read-only integer arrays, never a backend's syntax: a C++ backend renders it, an RTL
backend would render it, and the estimator costs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from trigc.fixed import FixedType
from trigc.ir.graph import Node, Tensor
from trigc.ir.ops import Op


class ReuseSource(Protocol):
    """Where a layer's reuse factor comes from: the build options or settings (any
    object with ``reuse_for(node) -> int``)."""

    def reuse_for(self, node: Node) -> int:
        """The reuse factor asked for ``node`` (Dense and Conv use it)."""
        ...


class FixedReuse:
    """One reuse factor for every layer (``plan(node, 4)``)."""

    def __init__(self, reuse: int) -> None:
        self.reuse = reuse

    def reuse_for(self, node: Node) -> int:
        return self.reuse


def frozen_array(values, dtype=np.int64) -> np.ndarray:
    """A read-only copy of ``values`` (plans never share writable arrays)."""
    arr = np.array(values, dtype=dtype)
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False)
class TypedArray:
    """Raw integers of one fixed-point type (value = raw * 2^-frac_bits)."""

    raw: np.ndarray
    type: FixedType

    @classmethod
    def of(cls, raw, t: FixedType) -> TypedArray:
        return cls(frozen_array(raw), t)

    @property
    def size(self) -> int:
        return int(self.raw.size)


def size(t: Tensor) -> int:
    """Elements of one sample of ``t``."""
    return int(np.prod(t.shape)) if t.shape else 1


@dataclass(frozen=True, eq=False)
class KernelPlan:
    """One kernel instance: the op, its run-time operand types and its output.

    ``input_types`` and ``input_sizes`` list the node's inputs in order, constants
    included; ``n_out`` counts the output elements of one sample."""

    op: Op
    input_types: tuple[FixedType, ...]
    input_sizes: tuple[int, ...]
    output_type: FixedType
    n_out: int

    @property
    def reuse(self) -> int:
        """Cycles each multiplier is reused (1: fully parallel)."""
        return 1

    @property
    def ii(self) -> int:
        """Initiation interval of the kernel in cycles."""
        return 1


def operands(node: Node) -> dict:
    """The :class:`KernelPlan` fields every plan reads from its node."""
    return {"op": node.op, "input_types": tuple(t.type for t in node.inputs),
            "input_sizes": tuple(size(t) for t in node.inputs),
            "output_type": node.output.type, "n_out": size(node.output)}

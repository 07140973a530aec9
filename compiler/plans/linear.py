"""Dense and Conv plans: the nonzero weights, the reuse schedule, the geometry.

A Dense kernel stores only its nonzero weights (zero skipping at compile time) and
runs ``n_mult = ceil(n_products / reuse)`` multipliers, each reused ``reuse`` times.
A Conv kernel is one such dense kernel per output position over the flattened
window; a grouped or depthwise Conv gives it block-diagonal weights, so the zero
skipping drops the off-block entries. Reuse legality is checked here and only here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trigc.errors import UnsupportedOpError
from trigc.fixed import FixedType
from trigc.ir.graph import Node
from trigc.plans.base import KernelPlan, TypedArray, frozen_array, operands, size
from trigc.plans.window import WindowGeometry, window_geometry


class ReuseError(UnsupportedOpError):
    """A reuse factor outside 1 .. (products of the layer)."""


@dataclass(frozen=True, eq=False)
class SparseWeights:
    """An (n_in, n_out) weight matrix as its nonzero entries, row-major: product k
    multiplies input ``rows[k]`` by ``values.raw[k]`` into output ``cols[k]``."""

    n_in: int
    n_out: int
    rows: np.ndarray
    cols: np.ndarray
    values: TypedArray

    @classmethod
    def of(cls, raw: np.ndarray, t: FixedType) -> SparseWeights:
        raw = np.asarray(raw, dtype=np.int64)
        rows, cols = np.nonzero(raw)
        return cls(raw.shape[0], raw.shape[1], frozen_array(rows), frozen_array(cols),
                   TypedArray.of(raw[rows, cols], t))

    @property
    def type(self) -> FixedType:
        return self.values.type

    @property
    def nnz(self) -> int:
        """Nonzero weights."""
        return int(self.rows.size)

    @property
    def n_products(self) -> int:
        """Products the kernel computes: the nonzeros, or one zero product when every
        weight is pruned (so that no array of the kernel is empty)."""
        return max(self.nnz, 1)

    def stored(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, cols, raw values) of the :attr:`n_products` products."""
        if self.nnz == 0:
            zero = np.zeros(1, dtype=np.int64)
            return zero, zero, zero
        return self.rows, self.cols, self.values.raw

    def masked(self, rows_inside: np.ndarray) -> SparseWeights:
        """The products whose input row is inside (``rows_inside[row]`` true)."""
        keep = np.asarray(rows_inside, dtype=bool)[self.rows]
        return SparseWeights(self.n_in, self.n_out, frozen_array(self.rows[keep]),
                             frozen_array(self.cols[keep]),
                             TypedArray.of(self.values.raw[keep], self.type))


@dataclass(frozen=True)
class ReuseSchedule:
    """``n_mult`` multipliers, each computing ``reuse`` products one per cycle;
    the kernel accepts a new input every ``ii`` cycles."""

    reuse: int
    n_mult: int
    ii: int


def reuse_schedule(node: Node, reuse: int, weights: SparseWeights) -> ReuseSchedule:
    """The schedule of ``weights`` at ``reuse``; :class:`ReuseError` when illegal."""
    top = weights.n_products
    if not isinstance(reuse, (int, np.integer)) or not 1 <= reuse <= top:
        raise ReuseError(
            f"{node.where()}: reuse factor {reuse} is invalid for a layer with {weights.nnz} "
            f"nonzero multiplications; use a reuse factor between 1 and {top}")
    reuse = int(reuse)
    return ReuseSchedule(reuse, math.ceil(top / reuse), reuse)


@dataclass(frozen=True, eq=False)
class DensePlan(KernelPlan):
    """``y = x @ W + b`` on one vector: nonzero weights, optional bias, the exact
    accumulator type and the reuse schedule."""

    weights: SparseWeights
    bias: TypedArray | None
    accum_type: FixedType
    schedule: ReuseSchedule

    @property
    def input_type(self) -> FixedType:
        return self.input_types[0]

    @property
    def reuse(self) -> int:
        return self.schedule.reuse

    @property
    def ii(self) -> int:
        return self.schedule.ii

    def bias_raw(self) -> np.ndarray:
        """The bias per output (zeros without one)."""
        if self.bias is None:
            return np.zeros(self.weights.n_out, dtype=np.int64)
        return self.bias.raw


@dataclass(frozen=True, eq=False)
class ConvPlan(DensePlan):
    """A channels-last convolution: the dense kernel of :class:`DensePlan` (over the
    flattened window, block-diagonal over ``groups``) at each output position."""

    geometry: WindowGeometry
    groups: int


def _bias(node: Node) -> TypedArray | None:
    if len(node.inputs) > 2:
        b = node.inputs[2]
        return TypedArray.of(np.asarray(b.raw).ravel(), b.type)
    return None


def plan_dense(node: Node, reuse: int) -> DensePlan:
    """The plan of a Dense node (one vector per call)."""
    x, w = node.inputs[0], node.inputs[1]
    if size(x) != node.attrs.n_in:
        raise UnsupportedOpError(
            f"{node.where()}: Dense on a {x.shape} tensor (applied per row) is not supported "
            "by the Dense kernel; flatten the input first")
    weights = SparseWeights.of(w.raw, w.type)
    return DensePlan(**operands(node), weights=weights, bias=_bias(node),
                     accum_type=node.attrs.accum_type,
                     schedule=reuse_schedule(node, reuse, weights))


def block_diagonal(node: Node) -> np.ndarray:
    """The (taps * C_in, C_out) raw matrix of a Conv's flattened window: group g's
    weights on its block of input and output channels, zeros elsewhere."""
    a = node.attrs
    x, w, y = node.inputs[0], node.inputs[1], node.output
    c_in, c_out = x.shape[-1], y.shape[-1]
    cg, og = c_in // a.groups, c_out // a.groups
    taps = int(np.prod(a.kernel_shape))
    w_raw = np.asarray(w.raw, dtype=np.int64).reshape(taps, cg, c_out)
    full = np.zeros((taps, c_in, c_out), dtype=np.int64)
    for g in range(a.groups):
        full[:, g * cg:(g + 1) * cg, g * og:(g + 1) * og] = w_raw[:, :, g * og:(g + 1) * og]
    return full.reshape(taps * c_in, c_out)


def plan_conv(node: Node, reuse: int) -> ConvPlan:
    """The plan of a channels-last Conv node."""
    weights = SparseWeights.of(block_diagonal(node), node.inputs[1].type)
    return ConvPlan(**operands(node), weights=weights, bias=_bias(node),
                    accum_type=node.attrs.accum_type,
                    schedule=reuse_schedule(node, reuse, weights),
                    geometry=window_geometry(node), groups=node.attrs.groups)

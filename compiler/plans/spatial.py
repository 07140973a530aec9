"""Pooling plans: the window geometry, the elements each window holds and divides
by, and the accumulator of average pooling."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trigc.fixed import FixedType
from trigc.ir.graph import Node
from trigc.ir.ops import Op
from trigc.plans.base import KernelPlan, frozen_array, operands, size
from trigc.plans.window import WindowGeometry, window_geometry


@dataclass(frozen=True, eq=False)
class PoolPlan(KernelPlan):
    """Max or average pooling over a sliding window. ``valid[p]`` counts the input
    elements of output position p's window and ``divisor[p]`` what an average
    divides by (the whole window with ``count_include_pad``); ``accum_type`` is
    the average's sum type (None for max pooling)."""

    geometry: WindowGeometry
    count_include_pad: bool
    accum_type: FixedType | None
    valid: np.ndarray
    divisor: np.ndarray

    def windows(self) -> list[tuple[int, int]]:
        """(valid, divisor) of every output element, position-major."""
        chans = self.geometry.n_chan
        return [(int(v), int(d)) for v, d in zip(self.valid, self.divisor)
                for _ in range(chans)]


def plan_pool(node: Node) -> PoolPlan:
    a = node.attrs
    geometry = window_geometry(node)
    valid = geometry.valid_counts().ravel()
    divisor = np.full_like(valid, geometry.taps) if a.count_include_pad else valid
    accum = a.accum_type if node.op is Op.AVGPOOL else None
    return PoolPlan(**operands(node), geometry=geometry,
                    count_include_pad=bool(a.count_include_pad), accum_type=accum,
                    valid=frozen_array(valid), divisor=frozen_array(divisor))


@dataclass(frozen=True, eq=False)
class GlobalPoolPlan(KernelPlan):
    """Max, average or sum over all ``n_spatial`` positions (or objects) of each of
    ``n_chan`` channels; ``accum_type`` is the sum's type (None for the max), and
    ``divisor`` what the sum is divided by (``n_spatial``, or 1 for sum pooling)."""

    n_spatial: int
    n_chan: int
    accum_type: FixedType | None
    divisor: int = 1

    def windows(self) -> list[tuple[int, int]]:
        """(valid, divisor) of every output element."""
        return [(self.n_spatial, self.divisor)] * self.n_chan


def plan_global_pool(node: Node) -> GlobalPoolPlan:
    x = node.inputs[0]
    accum = node.attrs.accum_type if node.op is Op.GLOBAL_AVGPOOL else None
    n_spatial = size(x) // x.shape[-1]
    divisor = n_spatial if node.op is Op.GLOBAL_AVGPOOL and node.attrs.divide else 1
    return GlobalPoolPlan(**operands(node), n_spatial=n_spatial, n_chan=x.shape[-1],
                          accum_type=accum, divisor=divisor)

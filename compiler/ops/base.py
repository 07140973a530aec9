"""What one op is, independent of any backend: :class:`OpDef`.

An ``OpDef`` bundles the op's attribute class (from :mod:`trigc.ir.ops`), its
:class:`Traits` (what the passes, the backends and the estimator ask of it), its
emulator kernel and its bounds rule for precision inference. Each family module
(``linear``, ``elementwise``, ``lut``, ``pool``, ``layout``) defines the ops it
holds; :data:`trigc.ops.OPS` collects them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from trigc.ir.graph import Node
from trigc.ir.ops import ATTRS_FOR, Op
from trigc.ops.exact import Exact, Value

Kernel = Callable[[Node, "list[Value]"], Exact]
"""``kernel(node, args) -> Exact``: the op's exact result on raw integers."""

Run = Callable[["list[Value]"], Exact]
"""The node's kernel with the node bound: ``run(args) -> Exact``."""

BoundsRule = Callable[[Node, Run, "list[Value]", "list[Value]"], "tuple[Exact, Exact]"]
"""``rule(node, run, lo, hi) -> (lo, hi)``: exact-result bounds from per-element
input bounds (``lo``/``hi`` hold each input's lower/upper bounds; a constant
input is the same value in both)."""


@dataclass(frozen=True)
class ElementCost:
    """The datapath of a fully unrolled element-wise op, per element, on the input
    width ``w``: ``compares`` comparisons of two w-bit values, ``selects`` 2:1
    multiplexers of w bits and ``adders`` w-bit adders (negation included). The
    estimator turns the counts into LUTs and delay, so an element-wise op that
    declares one needs no estimator code of its own."""

    label: str
    compares: int = 0
    selects: int = 0
    adders: int = 0


@dataclass(frozen=True)
class Traits:
    """What passes and backends query about an op.

    - ``elementwise``: output element i depends only on input element i (constant
      operands broadcast), so the op commutes with any layout change;
    - ``unary``: one run-time input;
    - ``spatial``: reads a channels-first window (Conv, pooling); rewritten
      channels-last;
    - ``layout``: moves elements without computing (Reshape, Transpose, Concat);
    - ``accumulates``: sums many products or values; precision inference records
      the exact accumulator type in ``attrs.accum_type``;
    - ``lut``: computed through lookup tables that precision inference builds;
    - ``cost``: the generic element-wise datapath, or None when the estimator
      models the op itself."""

    elementwise: bool = False
    unary: bool = False
    spatial: bool = False
    layout: bool = False
    accumulates: bool = False
    lut: bool = False
    cost: ElementCost | None = None


@dataclass(frozen=True)
class OpDef:
    """The backend-independent definition of one final op."""

    op: Op
    traits: Traits
    kernel: Kernel
    bounds: BoundsRule

    @property
    def attrs(self) -> type:
        """The op's frozen attribute class."""
        return ATTRS_FOR[self.op]

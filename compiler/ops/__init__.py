"""The ops layer: each final op's backend-independent definition, in one place.

``OPS[op]`` is an :class:`OpDef`: the attribute class, the :class:`Traits` that
passes and backends query, the emulator kernel and the bounds rule precision
inference runs. The ops live by family in ``linear``, ``elementwise``, ``lut``,
``pool`` and ``layout``; exact arithmetic in ``exact``; typed attribute constants
in ``constants``. This layer imports only :mod:`trigc.ir`, :mod:`trigc.fixed`
and :mod:`trigc.errors`.

Adding an element-wise op: its ``Op`` member and attribute class in
:mod:`trigc.ir.ops`, then kernel, bounds rule and traits (with an
:class:`ElementCost` the estimator reads) in its family module here.
"""

from __future__ import annotations

import numpy as np

from trigc.errors import IRError
from trigc.fixed import FixedType
from trigc.ir.graph import Node
from trigc.ir.ops import IMPORT_OPS, Op
from trigc.ops import elementwise, layout, linear, lut, pool
from trigc.ops.base import BoundsRule, ElementCost, Kernel, OpDef, Traits
from trigc.ops.exact import Exact, Value, assign, is_one

OPS: dict[Op, OpDef] = {**linear.DEFS, **elementwise.DEFS, **lut.DEFS, **pool.DEFS,
                        **layout.DEFS}
"""Every final op's definition (import ops have none: the pipeline lowers them)."""

FINAL_OPS = frozenset(Op) - IMPORT_OPS


def op_def(node: Node) -> OpDef:
    """The definition of ``node``'s op (IRError for an import op)."""
    try:
        return OPS[node.op]
    except KeyError:
        raise IRError(f"{node.where()}: {node.op.value} is an import op with no fixed-point "
                      "semantics; run the pass pipeline first") from None


def ops_where(**traits: bool) -> frozenset[Op]:
    """The final ops whose traits have the given values, e.g. ``ops_where(layout=True)``."""
    return frozenset(op for op, d in OPS.items()
                     if all(getattr(d.traits, name) == value for name, value in traits.items()))


def full_range_type(node: Node) -> FixedType:
    """The narrowest type of ``node``'s exact result when each run-time input may take
    every value of its type (constants are their values); for ops without division."""
    lo: list[Value] = []
    hi: list[Value] = []
    for t in node.inputs:
        if t.is_constant:
            lo.append(Value(t.raw, t.type.frac_bits))
            hi.append(lo[-1])
        else:
            lo.append(Value(np.full((1, *t.shape), t.type.min_raw), t.type.frac_bits))
            hi.append(Value(np.full((1, *t.shape), t.type.max_raw), t.type.frac_bits))
    definition = op_def(node)
    low, high = definition.bounds(node, lambda args: definition.kernel(node, args), lo, hi)
    if not is_one(low.den):
        raise IRError(f"{node.where()}: {node.op.value} divides; its result has no exact type")
    return FixedType.for_raw_range(int(np.min(low.raw)), int(np.max(high.raw)), low.frac)


__all__ = ["FINAL_OPS", "OPS", "BoundsRule", "ElementCost", "Exact", "Kernel", "OpDef",
           "Traits", "Value", "assign", "full_range_type", "op_def", "ops_where"]

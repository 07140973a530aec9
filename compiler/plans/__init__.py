"""Kernel plans: ``plan(node, target) -> Plan``, one frozen plan per kernel instance.

A plan is how one final-IR node is lowered to a kernel, worked out once: for Dense
and Conv the nonzero weights (raw integers and their type), the block-diagonal
weights of grouped convolutions, the window geometry, the reuse schedule
(multipliers, reuse factor, II) and the accumulator type; for the other ops their
sizes, typed constants, tables and windows. Legality (reuse factors, shapes the
kernels cannot take) is checked here, once, with one message.

Every backend renders plans (:mod:`trigc.backends.vitis.config`) and the estimator
costs the same plans (:mod:`trigc.estimate.resources`), so an estimate describes
the circuit that is generated. Plans hold numbers, fixed-point types and read-only
arrays, never a backend's syntax. This layer imports :mod:`trigc.ir`,
:mod:`trigc.ops`, :mod:`trigc.fixed` and :mod:`trigc.errors` only.

Adding an element-wise unary op needs nothing here: ops with the ``elementwise``
and ``unary`` traits get a :class:`UnaryPlan`.
"""

from __future__ import annotations

from collections.abc import Callable

from trigc.errors import UnsupportedOpError
from trigc.ir.graph import Node
from trigc.ir.ops import Op
from trigc.ops import OPS
from trigc.plans.base import FixedReuse, KernelPlan, ReuseSource, TypedArray
from trigc.plans.elementwise import (
    BinaryPlan,
    DivPlan,
    LutPlan,
    LutTable,
    SoftmaxPlan,
    UnaryPlan,
    plan_binary,
    plan_div,
    plan_lut,
    plan_softmax,
    plan_unary,
)
from trigc.plans.layout import (
    ConcatPlan, GatherPlan, plan_concat, plan_resize, plan_transpose,
)
from trigc.plans.linear import (
    ConvPlan,
    DensePlan,
    ReuseError,
    ReuseSchedule,
    SparseWeights,
    plan_conv,
    plan_dense,
)
from trigc.plans.spatial import GlobalPoolPlan, PoolPlan, plan_global_pool, plan_pool
from trigc.plans.window import WindowGeometry

Plan = (DensePlan | ConvPlan | UnaryPlan | BinaryPlan | DivPlan | LutPlan | SoftmaxPlan
        | PoolPlan | GlobalPoolPlan | GatherPlan | ConcatPlan)
"""Every kind of plan (each a frozen :class:`KernelPlan`)."""

REUSE_OPS = frozenset({Op.DENSE, Op.CONV})
"""The ops whose plan takes a reuse factor."""

PLANNERS: dict[Op, Callable[[Node], KernelPlan]] = {
    Op.ADD: plan_binary,
    Op.SUB: plan_binary,
    Op.MUL: plan_binary,
    Op.DIV: plan_div,
    Op.RESHAPE: plan_unary,
    Op.SIGMOID: plan_lut,
    Op.TANH: plan_lut,
    Op.SELU: plan_lut,
    Op.SOFTMAX: plan_softmax,
    Op.MAXPOOL: plan_pool,
    Op.AVGPOOL: plan_pool,
    Op.GLOBAL_AVGPOOL: plan_global_pool,
    Op.GLOBAL_MAXPOOL: plan_global_pool,
    Op.TRANSPOSE: plan_transpose,
    Op.RESIZE: plan_resize,
    Op.CONCAT: plan_concat,
}
"""Planners of the ops without a reuse factor; element-wise unary ops that are not
listed (Cast, ReLU, LeakyRelu, Clip, Sign, ...) get :func:`plan_unary`."""


def planner(op: Op) -> Callable[[Node], KernelPlan] | None:
    """The planner of an op without a reuse factor (None: no kernel plans it)."""
    if op in PLANNERS:
        return PLANNERS[op]
    traits = OPS[op].traits if op in OPS else None
    if traits is not None and traits.elementwise and traits.unary and not traits.lut:
        return plan_unary
    return None


def plan(node: Node, target: ReuseSource | int = 1) -> Plan:
    """The plan of one final-IR node. ``target`` gives the reuse factor of Dense and
    Conv layers: an object with ``reuse_for(node) -> int`` (the build settings) or
    one int for every layer. Raises :class:`ReuseError` for an illegal reuse factor
    and :class:`~trigc.errors.UnsupportedOpError` for a node no kernel takes."""
    if isinstance(target, int):
        target = FixedReuse(target)
    if node.op is Op.DENSE:
        return plan_dense(node, target.reuse_for(node))
    if node.op is Op.CONV:
        return plan_conv(node, target.reuse_for(node))
    make = planner(node.op)
    if make is None:
        raise UnsupportedOpError(f"{node.where()}: no kernel for {node.op.value}")
    return make(node)


__all__ = ["PLANNERS", "REUSE_OPS", "BinaryPlan", "ConcatPlan", "ConvPlan", "DensePlan",
           "DivPlan", "FixedReuse", "GatherPlan", "GlobalPoolPlan", "KernelPlan", "LutPlan",
           "LutTable", "Plan", "PoolPlan", "ReuseError", "ReuseSchedule", "ReuseSource",
           "SoftmaxPlan", "SparseWeights", "TypedArray", "UnaryPlan", "WindowGeometry",
           "plan", "planner"]

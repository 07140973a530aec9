"""Plans of the element-wise ops: unary ops with their typed constants, binary ops
with a constant or two run-time operands, division by constants, and lookup
tables (Sigmoid, Tanh, Softmax)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trigc.errors import UnsupportedOpError
from trigc.fixed import FixedType
from trigc.ir.graph import Node, Tensor
from trigc.ir.ops import LutAttrs, Op
from trigc.ops.constants import ClipBounds, TypedConstant, clip_bounds, leaky_alpha
from trigc.plans.base import KernelPlan, TypedArray, operands, size


@dataclass(frozen=True, eq=False)
class UnaryPlan(KernelPlan):
    """One run-time input, element by element (Cast, ReLU, Sign, Reshape, ...).
    ``alpha`` is LeakyRelu's slope, ``bounds`` Clip's bounds; None elsewhere."""

    alpha: TypedConstant | None = None
    bounds: ClipBounds | None = None

    @property
    def input_type(self) -> FixedType:
        return self.input_types[0]


def plan_unary(node: Node) -> UnaryPlan:
    alpha = leaky_alpha(node) if node.op is Op.LEAKY_RELU else None
    bounds = clip_bounds(node) if node.op is Op.CLIP else None
    return UnaryPlan(**operands(node), alpha=alpha, bounds=bounds)


@dataclass(frozen=True, eq=False)
class BinaryPlan(KernelPlan):
    """Add, Sub or Mul of two equal-size run-time tensors, or of one run-time
    tensor and a constant (``constant`` broadcast to the output and flattened;
    ``const_first`` when it is the first operand)."""

    constant: TypedArray | None
    const_first: bool

    @property
    def variable_type(self) -> FixedType:
        """The run-time operand's type (the first one without a constant)."""
        return self.input_types[1] if self.const_first else self.input_types[0]


def flat_constant(node: Node, c: Tensor) -> TypedArray:
    """A constant operand broadcast to the (per-sample) output shape, flattened."""
    try:
        raw = np.broadcast_to(c.raw, node.output.shape).ravel()
    except ValueError:
        raise UnsupportedOpError(
            f"{node.where()}: constant of shape {c.shape} does not broadcast to "
            f"{node.output.shape}") from None
    return TypedArray.of(raw, c.type)


def plan_binary(node: Node) -> BinaryPlan:
    a, b = node.inputs
    if a.is_constant and b.is_constant:
        raise UnsupportedOpError(f"{node.where()}: both operands are constants (fold them)")
    if a.is_constant or b.is_constant:
        c = a if a.is_constant else b
        return BinaryPlan(**operands(node), constant=flat_constant(node, c),
                          const_first=a is c)
    for t in (a, b):
        if size(t) != size(node.output):
            raise UnsupportedOpError(
                f"{node.where()}: broadcasting two run-time tensors ({t.shape} to "
                f"{node.output.shape}) is not supported; broadcast one of them first")
    return BinaryPlan(**operands(node), constant=None, const_first=False)


@dataclass(frozen=True, eq=False)
class DivPlan(KernelPlan):
    """A run-time tensor divided by constants (``divisor`` broadcast and flattened)."""

    divisor: TypedArray


def plan_div(node: Node) -> DivPlan:
    x, c = node.inputs
    if x.is_constant:
        raise UnsupportedOpError(f"{node.where()}: Div of a constant by a run-time tensor")
    if not c.is_constant:
        raise UnsupportedOpError(f"{node.where()}: Div by a run-time tensor")
    return DivPlan(**operands(node), divisor=flat_constant(node, c))


@dataclass(frozen=True, eq=False)
class LutTable:
    """A lookup table: entry ``(x_raw >> shift) - index_low``, clamped to the table."""

    table: TypedArray
    index_low: int
    shift: int

    @classmethod
    def of(cls, a: LutAttrs) -> LutTable:
        return cls(TypedArray.of(a.table, a.table_type), int(a.index_low), int(a.shift))

    @property
    def entries(self) -> int:
        return self.table.size


@dataclass(frozen=True, eq=False)
class LutPlan(KernelPlan):
    """Sigmoid or Tanh: one table read per element."""

    lut: LutTable


def plan_lut(node: Node) -> LutPlan:
    return LutPlan(**operands(node), lut=LutTable.of(node.attrs))


@dataclass(frozen=True, eq=False)
class SoftmaxPlan(KernelPlan):
    """Softmax over the last axis of ``n_rows`` rows of ``n_cls`` classes: subtract
    the row's max (``diff_type``), exp table, sum (``sum_type``), inverse table, one
    multiply per class."""

    n_rows: int
    n_cls: int
    exp: LutTable
    inv: LutTable
    diff_type: FixedType
    sum_type: FixedType
    mode: str = "lut"
    exp_bits: int = 0
    exp_shifts: tuple[int, ...] = ()
    exp_sizes: tuple[int, ...] = ()
    exp_table: TypedArray | None = None


def plan_softmax(node: Node) -> SoftmaxPlan:
    a, x = node.attrs, node.inputs[0]
    n_cls = x.shape[-1]
    exact = {}
    if a.mode == "exact":
        exact = {"mode": "exact", "exp_bits": a.exp_bits, "exp_shifts": a.exp_shifts,
                 "exp_sizes": a.exp_sizes, "exp_table": TypedArray.of(
                     a.exp_table, FixedType(False, a.exp_bits + 1, 1))}
    return SoftmaxPlan(**operands(node), n_rows=size(x) // n_cls, n_cls=n_cls,
                       exp=LutTable.of(a.exp_lut), inv=LutTable.of(a.inv_lut),
                       diff_type=a.diff_type, sum_type=a.sum_type, **exact)

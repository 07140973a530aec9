"""Typed constants: attribute constants (LeakyRelu's alpha, Clip's bounds) and
constant tensors get their exact fixed-point type here, and only here.

The emulator, precision inference, the estimator and every backend read the same
:class:`TypedConstant`, so the value the firmware multiplies or compares with is
the one the emulator used.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from trigc.errors import PrecisionError
from trigc.fixed import FixedType, constant_type
from trigc.ir.graph import Node
from trigc.ops.exact import Value

CONSTANT_MAX_WIDTH = 48
"""The widest exact constant type; wider constants are rounded (tensors) or
refused (attribute constants)."""


class TypedConstant(NamedTuple):
    """A scalar constant: its narrowest exact type and raw integer."""

    type: FixedType
    raw: np.int64

    @property
    def value(self) -> Value:
        """The constant as a kernel operand."""
        return Value(self.raw, self.type.frac_bits)


class ClipBounds(NamedTuple):
    """Clip's optional bounds and one type that holds both (``bound_t``)."""

    type: FixedType | None
    low: TypedConstant | None
    high: TypedConstant | None


def exact_constant_type(values: np.ndarray) -> tuple[FixedType, np.ndarray]:
    """The narrowest type holding every value exactly in at most
    :data:`CONSTANT_MAX_WIDTH` bits, and the raw integers (PrecisionError if none)."""
    return constant_type(values, max_width=CONSTANT_MAX_WIDTH)


def scalar_constant(node: Node, value: float) -> TypedConstant:
    """An attribute constant of ``node`` as its exact type and raw integer."""
    try:
        t, raw = exact_constant_type(np.asarray([value]))
    except PrecisionError:
        raise PrecisionError(
            f"{node.where()}: constant {value!r} is not exactly representable in "
            f"{CONSTANT_MAX_WIDTH} bits; round it to a power-of-two fraction (e.g. 0.125) "
            "when training") from None
    return TypedConstant(t, raw[0])


def leaky_alpha(node: Node) -> TypedConstant:
    """LeakyRelu's slope for negative inputs."""
    return scalar_constant(node, node.attrs.alpha)


def clip_bounds(node: Node) -> ClipBounds:
    """Clip's bounds, each exact, and the narrowest type holding both on the finer
    grid of the two (``None`` for an absent bound; no type without bounds)."""
    a = node.attrs
    low, high = (None if v is None else scalar_constant(node, v) for v in (a.low, a.high))
    present = [b for b in (low, high) if b is not None]
    if not present:
        return ClipBounds(None, None, None)
    frac = max(b.type.frac_bits for b in present)
    raws = [int(b.raw) << (frac - b.type.frac_bits) for b in present]
    return ClipBounds(FixedType.for_raw_range(min(raws), max(raws), frac), low, high)

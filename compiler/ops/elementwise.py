"""Element-wise ops: arithmetic (Add, Sub, Mul, Div by a constant) and unary
functions (Cast, Relu, LeakyRelu, Clip, Sign, Abs).

Each computes its exact result per element; constant operands broadcast. They
commute with layout changes, which lets ``cancel_transposes`` move them.
"""

from __future__ import annotations

import numpy as np

from trigc.ir.graph import Node
from trigc.ir.ops import Op
from trigc.ops.base import ElementCost, OpDef, Run, Traits
from trigc.ops.bounds import corners, decreasing_second, envelope, monotone, through_zero
from trigc.ops.constants import clip_bounds, leaky_alpha
from trigc.ops.exact import Exact, Value, align, max_abs, widen


def _binary(args: list[Value]) -> tuple[np.ndarray, np.ndarray, int]:
    frac = max(args[0].frac, args[1].frac)
    return align(args[0], frac), align(args[1], frac), frac


def add(node: Node, args: list[Value]) -> Exact:
    """``a + b``."""
    a, b, frac = _binary(args)
    return Exact(widen(a, 1) + widen(b, 1), frac)


def sub(node: Node, args: list[Value]) -> Exact:
    """``a - b``."""
    a, b, frac = _binary(args)
    return Exact(widen(a, 1) - widen(b, 1), frac)


def mul(node: Node, args: list[Value]) -> Exact:
    """``a * b``."""
    a, b = args[0].raw, args[1].raw
    bits_b = max_abs(b).bit_length()
    return Exact(widen(a, bits_b) * widen(b, max_abs(a).bit_length()),
                 args[0].frac + args[1].frac)


def div(node: Node, args: list[Value]) -> Exact:
    """``x / c`` for a constant ``c``, as a ratio (the sign goes to the numerator)."""
    x, c = args
    # x / c = (x.raw * 2**c.frac) / (c.raw * 2**x.frac)
    sign = np.where(c.raw < 0, -1, 1)
    return Exact(x.raw * sign, x.frac - c.frac, np.abs(c.raw))


def cast(node: Node, args: list[Value]) -> Exact:
    """The input itself; the output type does the requantization."""
    return Exact(args[0].raw, args[0].frac)


def relu(node: Node, args: list[Value]) -> Exact:
    """``max(x, 0)``."""
    x = args[0]
    return Exact(np.maximum(x.raw, 0), x.frac)


def leaky_relu(node: Node, args: list[Value]) -> Exact:
    """``x`` for x >= 0, ``x * alpha`` (exact) below."""
    x = args[0]
    alpha = leaky_alpha(node).value
    frac = x.frac + alpha.frac
    raw = widen(x.raw, max(abs(int(alpha.raw)).bit_length(), alpha.frac))
    return Exact(np.where(raw < 0, raw * int(alpha.raw), raw << alpha.frac), frac)


def leaky_relu_bounds(node: Node, run: Run, lo: list[Value],
                      hi: list[Value]) -> tuple[Exact, Exact]:
    """Monotone on each side of zero for either sign of alpha: both ends and zero."""
    zero = Value(np.zeros_like(lo[0].raw), lo[0].frac)
    return envelope([run([lo[0]]), run([hi[0]]), run([zero])])


def clip(node: Node, args: list[Value]) -> Exact:
    """``min(max(x, low), high)``, either bound optional (max first)."""
    x = args[0]
    typed = clip_bounds(node)
    bounds = [None if b is None else b.value for b in (typed.low, typed.high)]
    frac = max([x.frac] + [b.frac for b in bounds if b is not None])
    out = align(x, frac)
    if bounds[0] is not None:
        out = np.maximum(out, align(bounds[0], frac))
    if bounds[1] is not None:
        out = np.minimum(out, align(bounds[1], frac))
    return Exact(out, frac)


def sign(node: Node, args: list[Value]) -> Exact:
    """1 for x >= 0, -1 below."""
    return Exact(np.where(args[0].raw >= 0, 1, -1).astype(np.int64), 0)


def absolute(node: Node, args: list[Value]) -> Exact:
    """``|x|`` (one bit wider than x: ``|min|`` is exact)."""
    x = args[0]
    return Exact(np.abs(widen(x.raw, 1)), x.frac)


ARITHMETIC = Traits(elementwise=True)


def _unary(cost: ElementCost | None = None) -> Traits:
    return Traits(elementwise=True, unary=True, cost=cost)


DEFS = {
    Op.ADD: OpDef(Op.ADD, ARITHMETIC, add, monotone),
    Op.SUB: OpDef(Op.SUB, ARITHMETIC, sub, decreasing_second),
    Op.MUL: OpDef(Op.MUL, ARITHMETIC, mul, corners),
    Op.DIV: OpDef(Op.DIV, ARITHMETIC, div, corners),
    Op.CAST: OpDef(Op.CAST, _unary(ElementCost("cast")), cast, monotone),
    Op.RELU: OpDef(Op.RELU, _unary(ElementCost("relu select", selects=1)), relu, monotone),
    Op.LEAKY_RELU: OpDef(Op.LEAKY_RELU, _unary(), leaky_relu, leaky_relu_bounds),
    Op.CLIP: OpDef(Op.CLIP, _unary(), clip, monotone),
    Op.SIGN: OpDef(Op.SIGN, _unary(), sign, monotone),
    Op.ABS: OpDef(Op.ABS, _unary(ElementCost("abs", selects=1, adders=1)), absolute,
                  through_zero),
}

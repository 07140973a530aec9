"""Lookup-table activations: Sigmoid, Tanh, Selu (one table) and Softmax (an exp table
and an inverse table), identical in the emulator and the firmware.

Precision inference builds the tables (``LutAttrs``) from the input's bounds and
the real function in :data:`FUNCTIONS`; the kernels only index them.
"""

from __future__ import annotations

import numpy as np

from trigc.errors import IRError
from trigc.ir.graph import Node
from trigc.ir.ops import LutAttrs, Op
from trigc.ops.base import OpDef, Run, Traits
from trigc.ops.bounds import monotone
from trigc.ops.exact import Exact, Value
from trigc.ops.softmax import softmax_exact

SELU_ALPHA = 1.67326319217681884765625  # the ONNX defaults (float32 attributes)
SELU_GAMMA = 1.05070102214813232421875


def selu(x: np.ndarray, alpha: float = SELU_ALPHA, gamma: float = SELU_GAMMA) -> np.ndarray:
    """``gamma * (x if x > 0 else alpha * (exp(x) - 1))`` (ONNX Selu)."""
    return gamma * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


FUNCTIONS = {
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "tanh": np.tanh,
    "selu": selu,
    "exp": np.exp,
    "inv": lambda x: 1.0 / x,
}
"""The real functions the tables sample, by ``LutAttrs.function``; called as
``FUNCTIONS[a.function](x, *a.params)``."""


def lut_index(raw: np.ndarray, lut: LutAttrs) -> np.ndarray:
    """Table index of raw input integers (clamped to the table's range)."""
    top = lut.index_low + (len(lut.table) << lut.shift) - 1
    clipped = np.minimum(np.maximum(raw, lut.index_low), top)
    return ((clipped - lut.index_low) >> lut.shift).astype(np.int64)


def lookup(raw: np.ndarray, lut: LutAttrs) -> np.ndarray:
    """Raw table entries (of ``lut.table_type``) for raw input integers."""
    return lut.table[lut_index(raw, lut)]


def lut(node: Node, args: list[Value]) -> Exact:
    """Sigmoid / Tanh / Selu: one table read per element."""
    a = node.attrs
    if not len(a.table):
        raise IRError(f"{node.where()}: lookup table not built (run precision inference)")
    return Exact(lookup(args[0].raw, a), a.table_type.frac_bits)


def softmax(node: Node, args: list[Value]) -> Exact:
    """exp table of ``x - max(x)``, times the inverse table of their sum (or, in the
    exact mode, :func:`trigc.ops.softmax.softmax_exact`)."""
    a = node.attrs
    if a.mode == "exact":
        return softmax_exact(node, args)
    x = args[0].raw
    diff = x - x.max(axis=-1, keepdims=True)
    e = lookup(diff, a.exp_lut)
    s = e.sum(axis=-1, keepdims=True)
    inv = lookup(s, a.inv_lut)
    return Exact(e * inv, a.exp_lut.table_type.frac_bits + a.inv_lut.table_type.frac_bits)


def softmax_bounds(node: Node, run: Run, lo: list[Value],
                   hi: list[Value]) -> tuple[Exact, Exact]:
    """From zero to the largest product of the two tables' entries (zero to one in
    the exact mode)."""
    a = node.attrs
    shape = lo[0].raw.shape
    if a.mode == "exact":
        return Exact(np.zeros(shape, dtype=np.int64), 0), Exact(np.ones(shape, np.int64), 0)
    frac = a.exp_lut.table_type.frac_bits + a.inv_lut.table_type.frac_bits
    top = int(a.exp_lut.table.max()) * int(a.inv_lut.table.max())
    return Exact(np.zeros(shape, dtype=np.int64), frac), Exact(np.full(shape, top), frac)


ACTIVATION = Traits(elementwise=True, unary=True, lut=True)

DEFS = {
    Op.SIGMOID: OpDef(Op.SIGMOID, ACTIVATION, lut, monotone),
    Op.TANH: OpDef(Op.TANH, ACTIVATION, lut, monotone),
    Op.SELU: OpDef(Op.SELU, ACTIVATION, lut, monotone),
    Op.SOFTMAX: OpDef(Op.SOFTMAX, Traits(unary=True, lut=True), softmax, softmax_bounds),
}

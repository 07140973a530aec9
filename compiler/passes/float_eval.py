"""Float64 evaluation of ops on constants (QONNX semantics), for constant folding."""

from __future__ import annotations

import numpy as np

from trigc.errors import UnsupportedOpError
from trigc.ir.graph import Node
from trigc.ir.ops import Op

QONNX_ROUNDING = {
    "ROUND": np.round,
    "HALF_EVEN": np.round,
    "FLOOR": np.floor,
    "CEIL": np.ceil,
    "DOWN": np.fix,
    "UP": lambda x: np.sign(x) * np.ceil(np.abs(x)),
    "HALF_UP": lambda x: np.sign(x) * np.floor(np.abs(x) + 0.5),
    "HALF_DOWN": lambda x: np.sign(x) * np.ceil(np.abs(x) - 0.5),
}


def int_range(signed: bool, narrow: bool, bits: int) -> tuple[int, int]:
    """QONNX's integer range of a Quant node."""
    if signed:
        return -(1 << (bits - 1)) + int(narrow), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1 - int(narrow)


def quant(x, scale, zero_point, bits, signed, narrow, rounding_mode) -> np.ndarray:
    bits_i = int(np.asarray(bits))
    y = x / scale + zero_point
    if bits_i == 1 and signed:
        y = np.where(y >= 0, 1.0, -1.0)
    else:
        lo, hi = int_range(signed, narrow, bits_i)
        y = QONNX_ROUNDING[rounding_mode](np.clip(y, lo, hi))
    return (y - zero_point) * scale


def evaluate(node: Node, args: list[np.ndarray]) -> np.ndarray:
    """Evaluate ``node`` on constant float arguments (full shapes, no batch axis)."""
    a = node.attrs
    op = node.op
    if op is Op.QUANT:
        if a.rounding_mode not in QONNX_ROUNDING:
            raise UnsupportedOpError(f"{node.where()}: rounding mode {a.rounding_mode!r}")
        return quant(*args, a.signed, a.narrow, a.rounding_mode)
    if op is Op.BIPOLAR_QUANT:
        return np.where(args[0] >= 0, 1.0, -1.0) * args[1]
    if op is Op.TRANSPOSE:
        return np.transpose(args[0], a.perm)
    if op is Op.RESHAPE:
        return np.reshape(args[0], a.shape)
    if op is Op.CONCAT:
        return np.concatenate(args, axis=a.axis)
    if op is Op.ADD:
        return args[0] + args[1]
    if op is Op.SUB:
        return args[0] - args[1]
    if op is Op.MUL:
        return args[0] * args[1]
    if op is Op.DIV:
        return args[0] / args[1]
    if op is Op.MATMUL:
        return args[0] @ args[1]
    if op is Op.RELU:
        return np.maximum(args[0], 0)
    if op is Op.CLIP:
        lo = -np.inf if a.low is None else a.low
        hi = np.inf if a.high is None else a.high
        return np.clip(args[0], lo, hi)
    raise UnsupportedOpError(
        f"{node.where()}: cannot fold {op.value} on constants; make its inputs run-time "
        "tensors or fold it before export"
    )

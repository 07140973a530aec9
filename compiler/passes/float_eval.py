"""Float64 evaluation of ops on constants (QONNX semantics, ``trigc.quantizers``), for
constant folding."""

from __future__ import annotations

import numpy as np

from trigc.errors import UnsupportedOpError
from trigc.ir.graph import Node
from trigc.ir.ops import Op
from trigc.quantizers import QONNX_ROUNDING, quant


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

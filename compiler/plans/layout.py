"""Plans of the layout ops that move elements: Transpose and Resize (gathers) and
Concat.
Reshape moves nothing; it is a unary cast (:mod:`trigc.plans.elementwise`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trigc.errors import UnsupportedOpError
from trigc.ir.graph import Node
from trigc.ops.exact import Value
from trigc.ops.layout import resize
from trigc.plans.base import KernelPlan, frozen_array, operands, size


@dataclass(frozen=True, eq=False)
class GatherPlan(KernelPlan):
    """``out[i] = in[index[i]]`` over the flattened tensors."""

    index: np.ndarray


def plan_transpose(node: Node) -> GatherPlan:
    x = node.inputs[0]
    index = np.transpose(np.arange(size(x)).reshape(x.shape), node.attrs.perm).ravel()
    return GatherPlan(**operands(node), index=frozen_array(index))


def plan_resize(node: Node) -> GatherPlan:
    """Nearest upsampling: the emulator's kernel applied to the element indices."""
    x = node.inputs[0]
    ids = Value(np.arange(size(x), dtype=np.int64).reshape(1, *x.shape), 0)
    index = np.asarray(resize(node, [ids]).raw).ravel()
    return GatherPlan(**operands(node), index=frozen_array(index))


@dataclass(frozen=True, eq=False)
class ConcatPlan(KernelPlan):
    """Two run-time tensors joined: ``out[i]`` is ``b[index[i]]`` where ``from_b[i]``,
    else ``a[index[i]]``."""

    from_b: np.ndarray
    index: np.ndarray


def plan_concat(node: Node) -> ConcatPlan:
    if len(node.inputs) != 2 or any(t.is_constant for t in node.inputs):
        raise UnsupportedOpError(
            f"{node.where()}: Concat joins exactly two run-time tensors; split the Concat "
            "into pairs")
    a, b = node.inputs
    ids_a = np.arange(size(a)).reshape(a.shape)
    ids_b = np.arange(size(b)).reshape(b.shape) + size(a)
    joined = np.concatenate([ids_a, ids_b], axis=node.attrs.axis).ravel()
    from_b = joined >= size(a)
    index = np.where(from_b, joined - size(a), joined)
    return ConcatPlan(**operands(node), from_b=frozen_array(from_b, bool),
                      index=frozen_array(index))

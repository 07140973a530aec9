"""drop_constant_batch_axis: constant operands of element-wise ops lose the model's
batch axis.

Activations in the IR are per sample, but an exporter may write a constant operand
with the batch axis in front (``x - c`` with ``c`` of ONNX shape ``(1, 8)`` against
``x`` of shape ``(N, 8)``: torch's ``1 - x`` on a batch-1 trace, Keras' broadcast
constants). Numpy broadcasting hides that in the emulator; the kernels, which see
one sample, cannot broadcast ``(1, 8)`` to ``(8,)``. Leading axes of length 1 beyond
the output's rank are dropped; a constant that varies along the batch axis is refused.
"""

from __future__ import annotations

from trigc.errors import UnsupportedOpError
from trigc.ir.graph import Graph
from trigc.ops import OPS


def drop_constant_batch_axis(graph: Graph) -> bool:
    """Reshape every constant operand of an element-wise op to at most the output's
    per-sample rank (dropping leading length-1 axes)."""
    changed = False
    for node in list(graph.nodes):
        definition = OPS.get(node.op)
        if definition is None or not definition.traits.elementwise:
            continue
        rank = len(node.output.shape)
        for index, t in enumerate(node.inputs):
            if not t.is_constant or t.value.ndim <= rank:
                continue
            extra = t.value.ndim - rank
            if any(d != 1 for d in t.value.shape[:extra]):
                raise UnsupportedOpError(
                    f"{node.where()}: the constant {t.name!r} of shape {t.value.shape} varies "
                    f"along the batch axis (the output is {node.output.shape} per sample); "
                    "give the constant one value per sample position")
            value = t.value.reshape(t.value.shape[extra:])
            if len(t.users) == 1:  # only this use: reshape it in place, keeping its name
                t.value, t.shape = value, value.shape
            else:
                graph.set_input(node, index, graph.add_constant(
                    f"{t.name}_sample", value, t.type, source=t.source))
            changed = True
    return changed


__all__ = ["drop_constant_batch_axis"]

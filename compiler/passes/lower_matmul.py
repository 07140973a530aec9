"""MatMul by a constant weight (plus a constant bias Add) becomes Dense.

A MatMul on a rank-2 or rank-3 per-sample input, (objects, features) or
(rows, cols, features), applies the same weights to every object: Deep Sets'
per-object network phi. It becomes a pointwise (kernel 1) channels-last Conv, so it
shares the Conv kernel, its plan, its estimate and its Verilog lowering (one CMVM
solution applied at every object)."""

from __future__ import annotations

import numpy as np

from trigc.errors import UnsupportedOpError
from trigc.ir.graph import Graph
from trigc.ir.graph import Node, Tensor
from trigc.ir.ops import ConvAttrs, DenseAttrs, Op


def lower_matmul(graph: Graph) -> bool:
    changed = False
    for mm in graph.find(Op.MATMUL):
        x, w = mm.inputs
        if not w.is_constant or w.value.ndim != 2:
            raise UnsupportedOpError(
                f"{mm.where()}: MatMul needs a constant 2-D weight as its second input; "
                "products of two run-time tensors are not supported"
            )
        n_in, n_out = w.value.shape
        if not x.shape or x.shape[-1] != n_in:
            raise UnsupportedOpError(
                f"{mm.where()}: input shape {x.shape} does not match weight {w.value.shape}")
        out = mm.output
        add = graph.sole_user(out)
        if add is not None and add.op is Op.ADD:
            other = add.inputs[1] if add.inputs[0] is out else add.inputs[0]
            if other.is_constant and other.value.size == n_out:
                bias = graph.add_constant(f"{mm.name}_bias",
                                          np.reshape(other.value, (n_out,)), source=mm.source)
                add_out = add.output
                graph.remove_node(add)
                graph.remove_node(mm)
                _add_linear(graph, mm, [x, w, bias], add_out)
                changed = True
                continue
        graph.remove_node(mm)
        _add_linear(graph, mm, [x, w], out)
        changed = True
    if changed:
        graph.prune_tensors()
    return changed


def _add_linear(graph: Graph, mm: Node, ins: list[Tensor], out: Tensor) -> None:
    """Dense on a vector; a pointwise Conv on per-object (rank 2 or 3) inputs."""
    x, w = ins[0], ins[1]
    n_in, n_out = w.value.shape
    n_spatial = len(x.shape) - 1
    if n_spatial == 0:
        graph.add_node(Op.DENSE, ins, [out], DenseAttrs(n_in, n_out), mm.name, mm.source,
                       index=_position(graph, x))
        return
    if n_spatial > 2:
        raise UnsupportedOpError(
            f"{mm.where()}: a Dense/MatMul applied per element of a {x.shape} tensor (more "
            "than two object axes) is not supported; reshape the objects to one axis first")
    w = graph.add_constant(f"{mm.name}_pointwise", w.value.reshape((1,) * n_spatial +
                                                                   (n_in, n_out)),
                           source=mm.source)
    attrs = ConvAttrs(kernel_shape=(1,) * n_spatial, strides=(1,) * n_spatial,
                      pads=(0,) * (2 * n_spatial), channels_last=True)
    graph.add_node(Op.CONV, [x, w, *ins[2:]], [out], attrs, mm.name, mm.source,
                   index=_position(graph, x))


def _position(graph: Graph, x) -> int:
    return graph.nodes.index(x.producer) + 1 if x.producer is not None else 0

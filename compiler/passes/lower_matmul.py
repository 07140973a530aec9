"""MatMul by a constant weight (plus a constant bias Add) becomes Dense."""

from __future__ import annotations

import numpy as np

from trigc.errors import UnsupportedOpError
from trigc.ir.graph import Graph
from trigc.ir.ops import DenseAttrs, Op


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
                graph.add_node(Op.DENSE, [x, w, bias], [add_out],
                                      DenseAttrs(n_in, n_out), mm.name, mm.source,
                                      index=_position(graph, x))
                changed = True
                continue
        graph.remove_node(mm)
        graph.add_node(Op.DENSE, [x, w], [out], DenseAttrs(n_in, n_out), mm.name, mm.source,
                       index=_position(graph, x))
        changed = True
    if changed:
        graph.prune_tensors()
    return changed


def _position(graph: Graph, x) -> int:
    return graph.nodes.index(x.producer) + 1 if x.producer is not None else 0

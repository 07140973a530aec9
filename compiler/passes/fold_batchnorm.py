"""Fold BatchNormalization into the preceding Dense/Conv (MatMul+bias or Conv), or
lower it to a per-channel Mul and Add when there is nothing to fold into.

A folded layer computes the BatchNorm's values, so it writes the BatchNorm's output
tensor (and the pre-BatchNorm tensor disappears): a precision override or a PTQ
profile keyed by a tensor name then meets the values that tensor carries."""

from __future__ import annotations

import numpy as np

from trigc.ir.graph import Graph, Node
from trigc.ir.ops import NoAttrs, Op


def _scale_shift(graph: Graph, bn: Node) -> tuple[np.ndarray, np.ndarray]:
    gamma, beta, mean, var = (t.value for t in bn.inputs[1:5])
    scale = gamma / np.sqrt(var + bn.attrs.epsilon)
    # Round to float32 like the framework's own parameters: the folded constants
    # are then exact dyadic numbers of at most 24 significant bits.
    scale = scale.astype(np.float32).astype(np.float64)
    shift = (beta - mean * scale).astype(np.float32).astype(np.float64)
    return scale, shift


def _foldable_producer(graph: Graph, bn: Node) -> Node | None:
    x = bn.inputs[0]
    prod = x.producer
    if prod is None or graph.sole_user(x) is None:
        return None
    if prod.op is Op.CONV and prod.inputs[1].is_constant:
        return prod
    if prod.op is Op.ADD and prod.inputs[1].is_constant:
        mm = prod.inputs[0].producer
        if mm is not None and mm.op is Op.MATMUL and graph.sole_user(prod.inputs[0]) is prod \
                and mm.inputs[1].is_constant and len(mm.inputs[0].shape) == 1:
            return prod
    if prod.op is Op.MATMUL and prod.inputs[1].is_constant and len(prod.inputs[0].shape) == 1:
        return prod
    return None


def fold_batchnorm(graph: Graph) -> bool:
    changed = False
    for bn in graph.find(Op.BATCHNORM):
        scale, shift = _scale_shift(graph, bn)
        prod = _foldable_producer(graph, bn)
        if prod is not None and prod.op is Op.CONV:
            w = graph.own_constant(prod, 1)
            w.value = w.value * scale.reshape((-1,) + (1,) * (w.value.ndim - 1))
            if len(prod.inputs) > 2:
                b = graph.own_constant(prod, 2)
                b.value = b.value * scale + shift
            else:
                b = graph.add_constant(f"{prod.name}_bias", shift, source=prod.source)
                graph.add_input(prod, b)
            _absorb(graph, prod, bn)
        elif prod is not None:
            mm = prod if prod.op is Op.MATMUL else prod.inputs[0].producer
            w = graph.own_constant(mm, 1)
            w.value = w.value * scale
            if prod.op is Op.ADD:
                bias = graph.own_constant(prod, 1)
                bias.value = bias.value * scale + shift
                _absorb(graph, prod, bn)
            else:
                bn.op = Op.ADD
                _to_add(graph, bn, shift)
        else:
            _to_mul_add(graph, bn, scale, shift)
        changed = True
    return changed


def _absorb(graph: Graph, prod: Node, bn: Node) -> None:
    """Drop ``bn``, whose scale and shift are in ``prod`` now; ``prod`` writes the
    BatchNorm's output tensor, the one that carries these values."""
    folded = bn.output
    graph.remove_node(bn)
    graph.set_output(prod, folded)


def _to_add(graph: Graph, bn: Node, shift: np.ndarray) -> None:
    c = graph.add_constant(f"{bn.name}_shift", shift, source=bn.source)
    graph.set_inputs(bn, [bn.inputs[0], c])
    bn.attrs = NoAttrs()
    graph.prune_tensors()


def _to_mul_add(graph: Graph, bn: Node, scale: np.ndarray, shift: np.ndarray) -> None:
    x = bn.inputs[0]
    # per-sample channel axis is 0 in ONNX layout
    bshape = (-1,) + (1,) * (len(x.shape) - 1)
    s = graph.add_constant(f"{bn.name}_scale", scale.reshape(bshape), source=bn.source)
    scaled = graph.add_tensor(graph.unique_name(f"{bn.output.name}_scaled"), x.shape,
                              source=bn.source)
    graph.add_node(Op.MUL, [x, s], [scaled], name=f"{bn.name}_scale", source=bn.source,
                   index=graph.nodes.index(bn))
    c = graph.add_constant(f"{bn.name}_shift", shift.reshape(bshape), source=bn.source)
    bn.op, bn.attrs = Op.ADD, NoAttrs()
    graph.set_inputs(bn, [scaled, c])
    graph.prune_tensors()

"""Layout normalisation: spatial ops run channels-last (H, W, C), the layout the
HLS kernels stream. Each channels-first Conv/Pool is wrapped in a pair of
Transposes; ``cancel_transposes`` then sinks Transposes through layout-agnostic
ops and removes inverse pairs, so only the model's own boundaries keep one."""

from __future__ import annotations

import dataclasses

import numpy as np

from trigc.ir.graph import Graph, Node
from trigc.ir.ops import Op, ReshapeAttrs, TransposeAttrs
from trigc.ops import ops_where

SPATIAL = ops_where(spatial=True)
UNARY = ops_where(elementwise=True, unary=True)  # layout-agnostic, one run-time input
BINARY = ops_where(elementwise=True, unary=False)


def _to_last(rank: int) -> tuple[int, ...]:
    return (*range(1, rank), 0)


def _to_first(rank: int) -> tuple[int, ...]:
    return (rank - 1, *range(0, rank - 1))


def to_channels_last(graph: Graph) -> bool:
    changed = False
    for node in list(graph.nodes):
        if node.op not in SPATIAL or node.attrs.channels_last:
            continue
        x, y = node.inputs[0], node.output
        rank = len(x.shape)
        perm = _to_last(rank)
        graph.insert_before(node, 0, Op.TRANSPOSE, TransposeAttrs(perm),
                            shape=tuple(x.shape[p] for p in perm), out_name=f"{x.name}_t",
                            name=f"{node.name}_in_t", source=node.source)
        if node.op is Op.CONV:
            w = graph.own_constant(node, 1)  # (C_out, C_in/g, *k) -> (*k, C_in/g, C_out)
            k = w.value.ndim - 2
            w.value = np.ascontiguousarray(np.transpose(w.value, (*range(2, 2 + k), 1, 0)))
            w.shape = w.value.shape
        node.attrs = dataclasses.replace(node.attrs, channels_last=True)
        # y becomes the channels-last result; a transpose restores the old layout
        y_rank = len(y.shape)
        old_shape = y.shape
        y.shape = tuple(old_shape[p] for p in _to_last(y_rank)) if y_rank == rank else y.shape
        if y_rank == rank:
            t_node = graph.insert_after(y, Op.TRANSPOSE, TransposeAttrs(_to_first(rank)),
                                        name=f"{node.name}_out_t", source=node.source)
            t_node.output.shape = old_shape
        changed = True
    return changed | cancel_transposes(graph)


def _compose(p1, p2) -> tuple[int, ...]:
    """perm of transpose(transpose(x, p1), p2)."""
    return tuple(p1[i] for i in p2)


def cancel_transposes(graph: Graph) -> bool:
    changed = False
    progress = True
    while progress:
        progress = False
        for node in list(graph.nodes):
            if node not in graph.nodes:
                continue
            if node.op is Op.RESHAPE and _feeds_only_reshape(graph, node):
                graph.bypass(node)  # reshape(reshape(x)) is one reshape
                progress = changed = True
                continue
            if node.op is Op.RESHAPE and _feeds_only_unary(graph, node):
                graph.swap_with_user(node, node.output.users[0])  # Cast fusion next
                progress = changed = True
                continue
            if node.op is not Op.TRANSPOSE:
                continue
            out = node.output
            if _keeps_flat_order(node):
                # only size-1 axes move (e.g. after a global pool): a reshape
                node.op, node.attrs = Op.RESHAPE, ReshapeAttrs(out.shape)
                progress = changed = True
                continue
            user = graph.sole_user(out)
            if user is None:
                continue
            if user.op is Op.TRANSPOSE:
                perm = _compose(node.attrs.perm, user.attrs.perm)
                graph.set_input(user, 0, node.inputs[0])
                graph.remove_node(node)
                if perm == tuple(range(len(perm))):
                    graph.bypass(user)
                else:
                    user.attrs = TransposeAttrs(perm)
                progress = changed = True
            elif user.op in UNARY or (user.op in BINARY and _const_operand(user)):
                _sink(graph, node, user)
                progress = changed = True
    return changed


def _feeds_only_reshape(graph: Graph, node: Node) -> bool:
    user = graph.sole_user(node.output)
    return user is not None and user.op is Op.RESHAPE and node.output.type is None


def _feeds_only_unary(graph: Graph, node: Node) -> bool:
    """user(reshape(x)) can become reshape(user(x)): element-wise ops do not care
    about shape, and the op then sits next to its producer (for Cast fusion)."""
    user = graph.sole_user(node.output)
    return (user is not None and user.op in UNARY and node.output.type is None
            and node.inputs[0] not in graph.inputs)


def _keeps_flat_order(node: Node) -> bool:
    """A transpose that moves only size-1 axes leaves the flat element order alone."""
    shape = node.inputs[0].shape
    moved = [p for p in node.attrs.perm if shape[p] != 1]
    return moved == sorted(moved)


def _const_operand(node: Node) -> bool:
    return node.inputs[1].is_constant and not node.inputs[0].is_constant


def _sink(graph: Graph, t: Node, user: Node) -> None:
    """user(transpose(x)) -> transpose(user'(x))."""
    mid = t.output
    perm = t.attrs.perm
    inverse = tuple(int(i) for i in np.argsort(perm))
    if user.op in BINARY:
        c = user.inputs[1]
        rank = len(mid.shape)
        val = c.value.reshape((1,) * (rank - c.value.ndim) + c.value.shape) \
            if c.value.ndim <= rank else c.value.reshape(c.value.shape[-rank:])
        new_c = graph.add_constant(f"{c.name}_t", np.transpose(val, inverse), source=c.source)
        graph.set_input(user, 1, new_c)
    graph.swap_with_user(t, user)
    graph.prune_tensors()

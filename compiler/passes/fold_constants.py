"""Evaluate nodes whose inputs are all constants (e.g. Quant on weights)."""

from __future__ import annotations

from trigc.ir.graph import Graph
from trigc.passes.float_eval import evaluate


def fold_constants(graph: Graph) -> bool:
    changed = False
    for node in list(graph.nodes):
        if not all(t.is_constant for t in node.inputs):
            continue
        graph.fold_to_constant(node, evaluate(node, [t.value for t in node.inputs]))
        changed = True
    if changed:
        graph.prune_tensors()
    return changed

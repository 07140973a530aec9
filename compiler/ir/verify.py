"""Structural checks of the IR, run after every pass in tests."""

from __future__ import annotations

from trigc.errors import IRError
from trigc.fixed import quantize, to_float
from trigc.ir.graph import Graph
from trigc.ir.ops import ATTRS_FOR, IMPORT_OPS


def verify(graph: Graph, final: bool = False) -> None:
    """Raise :class:`IRError` if the graph breaks an invariant.

    ``final=True`` also demands what the emulator and backends rely on: only final
    ops, every tensor typed, typed constants exactly representable."""
    seen = {id(t) for t in graph.inputs}
    names = set()
    for node in graph.nodes:
        where = node.where()
        if node.name in names:
            raise IRError(f"{where}: duplicate node name")
        names.add(node.name)
        if not isinstance(node.attrs, ATTRS_FOR[node.op]):
            raise IRError(f"{where}: attrs are {type(node.attrs).__name__}")
        for t in node.inputs:
            if not t.is_constant and id(t) not in seen:
                raise IRError(f"{where}: input {t.name!r} is used before it is produced")
            if node not in t.users:
                raise IRError(f"{where}: input {t.name!r} does not list it as a user")
            if t.users.count(node) != node.inputs.count(t):
                raise IRError(f"{where}: input {t.name!r} lists it as a user "
                              f"{t.users.count(node)} times, not once per use")
            if graph.tensors.get(t.name) is not t:
                raise IRError(f"{where}: input {t.name!r} is not registered in the graph")
        for t in node.outputs:
            if t.producer is not node:
                raise IRError(f"{where}: output {t.name!r} has producer {t.producer!r}")
            if id(t) in seen:
                raise IRError(f"{where}: output {t.name!r} is produced twice")
            seen.add(id(t))
            for user in t.users:
                if t not in user.inputs:
                    raise IRError(f"{where}: {t.name!r} lists user {user.name!r} wrongly")
        if final and node.op in IMPORT_OPS:
            raise IRError(f"{where}: import op {node.op.value} survived the pipeline")
    for t in graph.outputs:
        if id(t) not in seen:
            raise IRError(f"Graph output {t.name!r} is never produced")
    if not final:
        return
    for t in graph.tensors.values():
        if t.type is None:
            raise IRError(f"Tensor {t.name!r} (from {t.source or '?'}) has no fixed-point type")
        if t.is_constant and not (to_float(quantize(t.value, t.type), t.type) == t.value).all():
            raise IRError(f"Constant {t.name!r} is not exactly representable in {t.type}")

"""Readable text dump of the IR (``trigc inspect``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trigc.ir.ops import LutAttrs, SoftmaxAttrs

if TYPE_CHECKING:  # the graph imports the printer for Graph.__str__
    from trigc.ir.graph import Graph, Tensor


def _shape(shape) -> str:
    return "[" + "x".join(str(d) for d in shape) + "]" if shape else "[]"


def _tensor(t: Tensor) -> str:
    kind = "const " if t.is_constant else ""
    return f"{kind}{t.name}{_shape(t.shape)}:{t.type if t.type else '?'}"


def _attrs(node) -> str:
    a = node.attrs
    if isinstance(a, LutAttrs):
        return (f"fn={a.function} entries={len(a.table)} shift={a.shift} "
                f"table={a.table_type} exact={a.exact}")
    if isinstance(a, SoftmaxAttrs):
        n = len(a.exp_lut.table) if a.exp_lut else 0
        return f"axis={a.axis} exp_entries={n} sum={a.sum_type}"
    fields = getattr(a, "__dataclass_fields__", {})
    parts = [f"{k}={getattr(a, k)}" for k in fields]
    return " ".join(parts)


def format_graph(graph: Graph) -> str:
    lines = [f"graph {graph.name}"]
    for t in graph.inputs:
        lines.append(f"  input  {_tensor(t)}")
    for node in graph.nodes:
        ins = ", ".join(_tensor(t) for t in node.inputs)
        outs = ", ".join(_tensor(t) for t in node.outputs)
        src = f"  # {node.source}" if node.source and node.source != node.name else ""
        attrs = _attrs(node)
        attrs = f" {{{attrs}}}" if attrs else ""
        lines.append(f"  {node.name}: {node.op.value}({ins}) -> {outs}{attrs}{src}")
    for t in graph.outputs:
        lines.append(f"  output {_tensor(t)}")
    return "\n".join(lines)

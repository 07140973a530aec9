"""The trigc IR: one generic node type over a closed op set."""

from trigc.ir.graph import Graph, Node, Tensor
from trigc.ir.ops import Op
from trigc.ir.printer import format_graph
from trigc.ir.verify import verify

__all__ = ["Graph", "Node", "Op", "Tensor", "format_graph", "verify"]

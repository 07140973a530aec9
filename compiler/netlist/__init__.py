"""The Verilog backend's plan: the final IR lowered to a word-level netlist.

- :mod:`trigc.netlist.graph`: the netlist (nodes with exact intervals and exponents,
  hash-consed builder) and :func:`evaluate`, the reference semantics of every node;
- :mod:`trigc.netlist.cmvm`: constant matrix times vector as shift-add networks
  (canonical signed digits, common subexpressions shared across the matrix);
- :mod:`trigc.netlist.lower`: each final op as netlist nodes;
- :mod:`trigc.netlist.timing`: the delay and cost model and the pipeline schedule.

This layer imports :mod:`trigc.plans`, :mod:`trigc.ops`, :mod:`trigc.ir` and the
leaf modules only; the Verilog writer renders netlists and the estimator costs them.
"""

from trigc.netlist.graph import DivConst, Kind, Netlist, Node, Rom, evaluate, raw_width
from trigc.netlist.timing import MODEL, DelayModel, Schedule, delay, schedule

__all__ = ["MODEL", "DelayModel", "DivConst", "Kind", "Netlist", "Node", "Rom", "Schedule",
           "delay", "evaluate", "raw_width", "schedule"]

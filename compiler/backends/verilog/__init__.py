"""The Verilog backend: a scheduled netlist rendered as synthesizable Verilog-2005
with its port map, integration guide, clock constraint and Vivado script.

:func:`render` returns the files as ``{relative path: text}``; writing them is the
caller's job (through :mod:`trigc.outputs`)."""

from trigc.backends.verilog.render import DEFAULT_PART, render

__all__ = ["DEFAULT_PART", "render"]

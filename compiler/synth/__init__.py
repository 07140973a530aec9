"""Yosys synthesis of a Verilog project (``trigc synth``): resource counts, cached."""

from trigc.synth.yosys import SynthError, SynthResult, Usage, run, yosys_version

__all__ = ["SynthError", "SynthResult", "Usage", "run", "yosys_version"]

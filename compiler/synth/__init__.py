"""Yosys synthesis of a Verilog project (``trigc synth``): resource counts, cached;
``run_asic``: gate-level (ASIC) area proxies (``trigc synth --asic``)."""

from trigc.synth.asic import AsicResult, GateCount
from trigc.synth.asic import run as run_asic
from trigc.synth.yosys import SynthError, SynthResult, Usage, run, yosys_version

__all__ = ["AsicResult", "GateCount", "SynthError", "SynthResult", "Usage", "run", "run_asic",
           "yosys_version"]

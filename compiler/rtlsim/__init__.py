"""RTL simulation of a Verilog project with Verilator (``trigc rtlsim``): stream
events at II 1, measure the latency and compare every output bit with the emulator."""

from trigc.rtlsim.build import RtlSimError, build, verilator_version
from trigc.rtlsim.packing import pack, unpack
from trigc.backends.verilog.portmap import Field, PortMap, read_port_map
from trigc.rtlsim.sim import Mismatch, RtlResult, run

__all__ = ["Field", "Mismatch", "PortMap", "RtlResult", "RtlSimError", "build", "pack",
           "read_port_map", "run", "unpack", "verilator_version"]

"""Memories of a streaming design: FIFOs and line buffers.

One mapping rule for every memory of ``depth`` words of ``width`` bits (a FIFO
at its configured depth; one row of a window's line buffer, ``padded_w`` words of
one pixel each), following Vitis HLS' default FIFO binding (``config_storage fifo
-impl autosrl``, ``-auto_srl_max_bits 1024``). (A gather's whole-image buffers are
read or written entirely in one step, so they are registers, not memories: see
:mod:`trigc.estimate.stream`.)

- at most :data:`SRL_MAX_BITS` = 1024 bits (``depth * width``): distributed
  memory, one SRLC32E (or one LUT of a dual-port LUTRAM, RAM64X1D: two LUTs
  per 64 words) per bit of width per 32 words: ``width * ceil(depth / 32)``
  LUTs, no BRAM;
- larger: BRAM_18K blocks packed as Vitis/Vivado do (simple dual port,
  512x36, 1Kx18, 2Kx9, ... 16Kx1): ``ceil(width / port_width(depth)) *
  ceil(depth / 16K)`` (:func:`trigc.estimate.arith.bram18_blocks`).

A FIFO of at most :data:`SRL_MAX_DEPTH` = 2 words stays in SRLs at any width
(Vitis' ``-auto_srl_max_depth 2``: the ``fifo_w<width>_d2_S`` cores of its reports).

A FIFO also has its control: an SRL FIFO an address counter and the empty/full
flags (``addr + 4`` LUTs, ``addr + 2`` FFs, ``addr = ceil(log2(depth + 1))``);
a BRAM FIFO read and write pointers, a count and the show-ahead output
register (``3 * addr + 8`` LUTs, ``3 * addr + 4 + width`` FFs). These are
first-order counts, not Vitis' exact FIFO cores. URAM is never chosen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from trigc.estimate import arith
from trigc.estimate.datapath import Resources

SRL_MAX_BITS = 1024
"""Largest memory (depth x width bits) kept in LUTs (Vitis' ``auto_srl_max_bits``)."""
SRL_MAX_DEPTH = 2
"""A FIFO this shallow is kept in LUTs at any width (Vitis' ``auto_srl_max_depth``)."""
SRL_DEPTH = 32  # words per SRLC32E
FIFO_SRL_CONTROL_LUT = 4
FIFO_SRL_CONTROL_FF = 2
FIFO_BRAM_CONTROL_LUT = 8
FIFO_BRAM_CONTROL_FF = 4


@dataclass(frozen=True)
class Memory:
    """``copies`` memories of ``depth`` x ``width`` bits, mapped by the module's
    rule, with their control (FIFOs) included in ``resources``."""

    role: str
    depth: int
    width: int
    copies: int
    kind: str  # "srl" (LUTs) or "bram"
    resources: Resources

    @property
    def bits(self) -> int:
        return self.depth * self.width * self.copies

    def to_json(self) -> dict:
        return {"role": self.role, "depth": self.depth, "width": self.width,
                "copies": self.copies, "bits": self.bits, "kind": self.kind,
                **self.resources.to_json()}


def storage(depth: int, width: int, max_srl_depth: int = 0) -> tuple[str, Resources]:
    """Where one ``depth`` x ``width`` memory goes and what its storage costs (in LUTs
    also when ``depth <= max_srl_depth``)."""
    depth, width = max(int(depth), 1), max(int(width), 1)
    if depth * width <= SRL_MAX_BITS or depth <= max_srl_depth:
        return "srl", Resources(lut=width * math.ceil(depth / SRL_DEPTH))
    return "bram", Resources(bram=arith.bram18_blocks(depth, width))


def buffer(role: str, depth: int, width: int, copies: int = 1) -> Memory:
    """A random-access buffer (line buffer, image buffer): storage only; its
    addressing is the owning process's counters."""
    kind, res = storage(depth, width)
    return Memory(role, int(depth), int(width), int(copies), kind, res.scaled(copies))


def fifo(depth: int, width: int) -> Memory:
    """An ``hls::stream`` of ``depth`` words of ``width`` bits."""
    kind, res = storage(depth, width, SRL_MAX_DEPTH)
    addr = max(arith.log2ceil(int(depth) + 1), 1)
    if kind == "srl":
        control = Resources(lut=addr + FIFO_SRL_CONTROL_LUT, ff=addr + FIFO_SRL_CONTROL_FF)
    else:
        control = Resources(lut=3 * addr + FIFO_BRAM_CONTROL_LUT,
                            ff=3 * addr + FIFO_BRAM_CONTROL_FF + int(width))
    return Memory("fifo", int(depth), int(width), 1, kind, res + control)


__all__ = ["SRL_MAX_BITS", "SRL_MAX_DEPTH", "Memory", "buffer", "fifo", "storage"]

"""What the estimator knows about one layer: its resources and its critical path.

A :class:`Datapath` is the per-layer summary that the op models
(:mod:`trigc.estimate.linear`, :mod:`trigc.estimate.resources`) produce and
the scheduler (:mod:`trigc.estimate.latency`) consumes: the operations on the
layer's critical path in order (each with its delay and the bits that would
have to be registered after it), plus the layer's logic resources. Pipeline
registers are added by the scheduler, which alone knows where the register
boundaries fall.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

RESOURCE_NAMES = ("dsp", "lut", "ff", "bram")


@dataclass(frozen=True)
class Resources:
    """DSP48E2 slices, LUTs, flip-flops and BRAM_18K blocks."""

    dsp: int = 0
    lut: int = 0
    ff: int = 0
    bram: int = 0

    def __add__(self, other: Resources) -> Resources:
        return Resources(*(getattr(self, f.name) + getattr(other, f.name)
                           for f in fields(self)))

    def scaled(self, k: int) -> Resources:
        return Resources(*(getattr(self, f.name) * int(k) for f in fields(self)))

    def get(self, name: str) -> int:
        return int(getattr(self, name))

    def to_json(self) -> dict:
        return {name: self.get(name) for name in RESOURCE_NAMES}


# PathOp kinds
LOGIC = "logic"  # combinational, chained into the current cycle when it fits
DSP = "dsp"  # DSP48E2 multiply: free input registers, pipelines internally
REGISTERED = "registered"  # block-RAM read: result `cycles` later, `delay_ns` into that cycle
LOOP = "loop"  # a pipelined loop's extra iterations: `cycles` more, same offset
BOUNDARY = "boundary"  # a forced register (call of a non-inlined function)


@dataclass(frozen=True)
class PathOp:
    """One step of a layer's critical path."""

    label: str
    kind: str = LOGIC
    delay_ns: float = 0.0
    cycles: int = 0
    live_bits: int | None = None  # bits registered if a boundary follows (None: unchanged)


@dataclass
class Datapath:
    """A layer's critical path and its resources (without pipeline registers)."""

    ops: list[PathOp]
    resources: Resources
    reuse: int = 1
    ii: int = 1
    detail: dict = field(default_factory=dict)

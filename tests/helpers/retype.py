"""Re-typing a final graph's computed tensors with every rounding and overflow mode, to
prove implementations equal where rounding and overflow really happen."""

from __future__ import annotations

import dataclasses

import numpy as np

from trigc.errors import IRError
from trigc.fixed import FixedType, Overflow, Rounding
from trigc.ops import full_range_type, op_def

ROUNDINGS = list(Rounding)
OVERFLOWS = list(Overflow)


def retype(g, seed: int, wide: bool = False) -> None:
    """Give every computed tensor of ``g`` a rounding and an overflow mode (cycling
    through all of them with ``seed``) and a type that drops up to 3 fraction and
    integer bits (so that both apply), or, with ``wide``, a 40-64-bit type. Accumulating
    nodes get the accumulator type their new input types need (as precision inference
    records it), so the firmware accumulates exactly too."""
    rng = np.random.default_rng(seed)
    for i, n in enumerate(g.nodes):
        t = n.output.type
        rounding = ROUNDINGS[(seed + i) % len(ROUNDINGS)]
        overflow = OVERFLOWS[(seed + 2 * i) % len(OVERFLOWS)]
        if overflow is Overflow.WRAP_SM and not t.signed:
            overflow = Overflow.SAT_ZERO
        if wide:
            width = int(rng.integers(40, 65))
            frac = t.frac_bits + width - t.width - int(rng.integers(0, 4))
        else:
            frac = t.frac_bits - int(rng.integers(0, 4))
            width = max(t.width - int(rng.integers(0, 4)) - (t.frac_bits - frac), 2)
        n.output.type = FixedType(t.signed, width, width - frac, rounding, overflow)
        if op_def(n).traits.accumulates:
            try:
                n.attrs = dataclasses.replace(n.attrs, accum_type=full_range_type(n))
            except IRError:  # average pools divide: their sum type stays
                pass

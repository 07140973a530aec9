"""Seeded and hypothesis-drawn inputs for the fixed-point proofs (see fixed_driver_util.py).

Doubles and raw source integers are placed around every type's LSB, its rounding ties
and its saturation boundaries, plus random magnitudes from far below the LSB (down to
subnormals) to far above the range."""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING

import numpy as np
from hypothesis import strategies as st

from trigc.fixed import FixedType

if TYPE_CHECKING:
    from fixed_driver_util import Kernel

LARGEST_DOUBLE = 1.7976931348623157e308


def ldexp(m: int | float, e: int) -> float:
    """m * 2**e as the nearest double (saturating to the largest finite double)."""
    try:
        x = math.ldexp(float(m), e)
    except OverflowError:
        return math.copysign(LARGEST_DOUBLE, m)
    return x if math.isfinite(x) else math.copysign(LARGEST_DOUBLE, x)


def bulk_doubles(t: FixedType, rng: random.Random, n: int) -> list[float]:
    f, lo, hi = t.frac_bits, t.min_raw, t.max_raw
    vals = [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, -2.2250738585072014e-308,
            1e-300, -1e-300, 1e300, -1e300, LARGEST_DOUBLE, -LARGEST_DOUBLE,
            0.5, -0.5, 1.0, -1.0, 1.5, -1.5]
    for k in (1, 2, 3, 5):  # +-k LSB and ties at +-k/2 LSB, around zero
        for sign in (1, -1):
            vals += [ldexp(sign * k, -f), ldexp(sign * k, -f - 1), ldexp(sign * k, -f - 2)]
    for b in (hi, hi + 1, hi + 2, lo, lo - 1, lo - 2, -hi, -hi - 1):
        for num in (-3, -2, -1, 0, 1, 2, 3):  # b + num/4 LSB: ties, just-off ties, exact
            vals.append(ldexp(4 * b + num, -f - 2))
        x = ldexp(b, -f)
        vals += [math.nextafter(x, math.inf), math.nextafter(x, -math.inf)]
    m_bits = min(t.width + 2, 52)
    while len(vals) < n:
        kind = rng.randrange(6)
        sign = rng.choice((1, -1))
        if kind == 0:  # exact tie at the rounding bit, anywhere in (and just beyond) range
            k = rng.randint(-(1 << m_bits), 1 << m_bits) << rng.randint(0, max(t.width - 50, 0))
            vals.append(ldexp(2 * k + 1, -f - 1))
        elif kind == 1:  # near a saturation boundary, with random sub-LSB bits
            b = rng.choice((hi, lo, -hi)) + rng.randint(-3, 3)
            extra = rng.randint(1, 30)
            vals.append(ldexp((b << extra) + rng.getrandbits(extra), -f - extra))
        elif kind == 2:  # random 1..53-bit significand, top bit from far below LSB to far above MSB
            bl = rng.randint(1, 53)
            m = rng.getrandbits(bl) | (1 << (bl - 1))
            top = rng.randint(-70, t.width + 12)
            vals.append(sign * ldexp(m, top - f - bl + 1))
        elif kind == 3:  # tiny: far below the LSB, down to subnormals
            vals.append(sign * ldexp(rng.getrandbits(53) | 1, -f - rng.randint(55, 1200)))
        elif kind == 4:  # huge: far above the range
            e = t.integer_bits + rng.randint(0, 990)
            vals.append(sign * ldexp(rng.getrandbits(53) | 1, e))
        else:  # exact grid values (raw integers) just inside / outside the range
            r = rng.randint(lo - (hi - lo) // 4 - 2, hi + (hi - lo) // 4 + 2)
            vals.append(ldexp(r, -f))
    return vals[:n]


def clamp(v: int, t: FixedType) -> int:
    return min(max(v, t.min_raw), t.max_raw)


def bulk_raws(src: FixedType, dst: FixedType, rng: random.Random, n: int) -> list[int]:
    shift = src.frac_bits - dst.frac_bits  # > 0: rounding drops bits
    half = 1 << (shift - 1) if shift > 0 else 0
    lo, hi = src.min_raw, src.max_raw
    cands = [0, 1, -1, 2, -2, lo, lo + 1, hi, hi - 1, half, -half, half + 1, -half - 1,
             half - 1, 1 - half, 3 * half, -3 * half]
    for b in (dst.max_raw, dst.max_raw + 1, dst.min_raw, dst.min_raw - 1, -dst.max_raw,
              -dst.max_raw - 1, dst.max_raw + 2, dst.min_raw - 2):
        if shift >= 0:
            base = b << shift
            cands += [base + d for d in (0, 1, -1, half, half - 1, half + 1, -half, -half - 1,
                                         -half + 1)]
        else:
            cands += [(b >> -shift) + d for d in (-1, 0, 1)]
    vals = [v for v in cands if lo <= v <= hi]
    while len(vals) < n:
        kind = rng.randrange(4)
        if kind == 0:  # any width of magnitude
            bl = rng.randint(0, src.width)
            v = rng.getrandbits(bl) if bl else 0
            vals.append(clamp(-v if src.signed and rng.random() < 0.5 else v, src))
        elif kind == 1 and shift > 0:  # exact ties (and their neighbours)
            k = rng.randint(lo >> shift, hi >> shift)
            vals.append(clamp((k << shift) + half + rng.choice((0, 0, 0, 1, -1)), src))
        elif kind == 2:  # near dst's saturation boundaries
            b = rng.choice((dst.max_raw, dst.min_raw, -dst.max_raw)) + rng.randint(-2, 2)
            base = b << shift if shift >= 0 else b >> -shift
            noise = rng.getrandbits(shift) if shift > 0 else 0
            vals.append(clamp(base + noise * rng.choice((1, -1)), src))
        else:  # uniform over the source range
            vals.append(rng.randint(lo, hi))
    return vals[:n]


def bulk_cases(pool: list[Kernel], ids: list[int], seed: int, per_kernel: int):
    """(kernel ids, inputs): ``per_kernel`` seeded values for each kernel in ``ids``."""
    rng = random.Random(seed)
    kernel_ids, inputs = [], []
    for i in ids:
        k = pool[i]
        vals = (bulk_doubles(k.dst, rng, per_kernel) if k.src is None
                else bulk_raws(k.src, k.dst, rng, per_kernel))
        kernel_ids += [i] * len(vals)
        inputs += vals
    return np.array(kernel_ids), inputs


# ---- hypothesis strategies: (kernel id, input) ---------------------------------------

def double_cases(pool: list[Kernel], ids: list[int]):
    @st.composite
    def double_case(draw):
        kid = draw(st.sampled_from(ids))
        t = pool[kid].dst
        f, lo, hi = t.frac_bits, t.min_raw, t.max_raw
        kind = draw(st.sampled_from(("tie", "boundary", "tiny", "huge", "any", "grid", "zero")))
        sign = draw(st.sampled_from((1, -1)))
        if kind == "tie":
            k = draw(st.integers(lo - 4, hi + 4))
            x = ldexp(2 * k + 1, -f - 1)
        elif kind == "boundary":
            b = draw(st.sampled_from((hi, hi + 1, lo, lo - 1, -hi, -hi - 1)))
            x = ldexp(8 * b + draw(st.integers(-8, 8)), -f - 3)
        elif kind == "tiny":
            x = sign * ldexp(draw(st.integers(1, (1 << 53) - 1)),
                             -f - draw(st.integers(54, 1200)))
        elif kind == "huge":
            x = sign * ldexp(draw(st.integers(1, (1 << 53) - 1)),
                             t.integer_bits + draw(st.integers(0, 1000)))
        elif kind == "any":
            x = draw(st.floats(allow_nan=False, allow_infinity=False))
        elif kind == "grid":
            # a 53-bit significand whose top bit lies from 70 bits below the LSB to 8 above
            # the MSB
            x = ldexp(draw(st.integers(-(1 << 53) + 1, (1 << 53) - 1)),
                      draw(st.integers(-f - 122, t.integer_bits - 44)))
        else:
            x = draw(st.sampled_from((0.0, -0.0)))
        return kid, x

    return double_case()


def fixed_cases(pool: list[Kernel], ids: list[int]):
    @st.composite
    def fixed_case(draw):
        kid = draw(st.sampled_from(ids))
        src, dst = pool[kid].src, pool[kid].dst
        shift = src.frac_bits - dst.frac_bits
        half = 1 << (shift - 1) if shift > 0 else 0
        kind = draw(st.sampled_from(("any", "tie", "boundary", "edge")))
        if kind == "tie" and shift > 0:
            k = draw(st.integers(src.min_raw >> shift, src.max_raw >> shift))
            v = (k << shift) + half + draw(st.sampled_from((0, 0, 1, -1)))
        elif kind == "boundary":
            b = draw(st.sampled_from((dst.max_raw, dst.max_raw + 1, dst.min_raw,
                                      dst.min_raw - 1, -dst.max_raw, -dst.max_raw - 1)))
            base = b << shift if shift >= 0 else b >> -shift
            v = base + draw(st.sampled_from((0, 1, -1, half, half - 1, half + 1, -half,
                                             -half - 1)))
        elif kind == "edge":
            v = draw(st.sampled_from((0, 1, -1, src.min_raw, src.max_raw, src.min_raw + 1,
                                      src.max_raw - 1)))
        else:
            v = draw(st.integers(src.min_raw, src.max_raw))
        return kid, clamp(v, src)

    return fixed_case()

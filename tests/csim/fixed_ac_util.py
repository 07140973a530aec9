"""ac_fixed.h semantics for ``test_fixed_vs_acfixed.py``: the library description, the
predicates of ac's documented divergences from trigc.fixed (numbered as in that test's
docstring), and the arithmetic kernels (``a + b``, ``a - b``, ``a * b``, ``-a``)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fixed_driver_util import (UNSPECIFIED, Driver, Kernel, Library, mode_combos,
                               random_type, random_width, signed_bits)
from fixed_values_util import clamp

import trigc.fixed as fixed
from trigc.csim.headers import ac_types_dir
from trigc.fixed import FixedType, Overflow, Rounding, to_ac

AC = Library(name="ac_fixed.h", spell=to_ac, mode_prefix="AC_", include_dir=ac_types_dir(),
             driver_dir=Path(__file__).parent / "acfixed_driver", header="acfixed_driver.h",
             fn_type="void (*conv_fn)(const uint64_t* in, uint64_t* out)",
             in_words=2, out_words=5)
OVERFLOWS = tuple(o for o in Overflow if o not in fixed.AC_UNSUPPORTED)


# ---- the documented divergences ------------------------------------------------------

def storage_words(t: FixedType) -> int:
    """N: how many 32-bit words an ac_fixed<W,I,S> stores."""
    return (t.width + 31 + (not t.signed)) // 32


def ac_scaled_double(x: float, t: FixedType) -> float:
    """``ac_private::ldexpr<-(I + !S + ((32 - W - !S) & 31))>(x)``, step by step."""
    unsigned = int(not t.signed)
    exp = -(t.integer_bits + unsigned + ((32 - t.width - unsigned) & 31))  # = F - 32*N
    d = x / float(1 << (-exp & 31)) if exp < 0 else x * float(1 << (exp & 31))
    words = -(-exp // 32) if exp < 0 else exp // 32  # C++ division truncates
    for _ in range(abs(words)):
        d = d / 4294967296.0 if words < 0 else d * 4294967296.0
    return d


def double_divergence(t: FixedType, x: float):
    """ac's result for ``T y = x`` where it knowingly differs from trigc, else None."""
    scaled = ac_scaled_double(x, t)
    if math.isinf(scaled) and t.overflow is Overflow.WRAP:
        return UNSPECIFIED  # divergence 2
    if (scaled == 0.0 and x < 0 and t.rounding is Rounding.TRN
            and (t.signed or t.overflow is Overflow.WRAP)):
        return 0  # divergence 1
    if (t.signed and t.width % 32 == 0 and t.overflow is Overflow.SAT_ZERO
            and 2 * t.min_value <= x < t.min_value):
        # the rounded value, in a type with two more integer bits (no overflow there)
        wide = FixedType(True, t.width + 2, t.integer_bits + 2, t.rounding)
        if int(fixed.quantize([x], wide)[0]) == t.min_raw:
            return 0  # divergence 4
    return None


def carry_divergence(src: FixedType, dst: FixedType, raw: int):
    """ac's result for ``y = src`` where it knowingly differs from trigc, else None."""
    shift = src.frac_bits - dst.frac_bits
    words = storage_words(dst)
    if (src.signed or shift <= 0 or src.width != shift + 32 * words
            or dst.overflow not in (Overflow.SAT, Overflow.SAT_SYM)):
        return None
    rounded = fixed.requantize(np.array([raw], dtype=object), src.frac_bits, dst, wrap=False)
    return 0 if int(rounded[0]) == 1 << (32 * words) else None  # divergence 3


def known_divergences(kernel: Kernel, inputs: list) -> list:
    if kernel.src is None:
        return [double_divergence(kernel.dst, float(x)) for x in inputs]
    return [carry_divergence(kernel.src, kernel.dst, int(v)) for v in inputs]



# ---- arithmetic kernels --------------------------------------------------------------

def ac_result_type(op: str, a: FixedType, b: FixedType | None) -> tuple[int, int, bool]:
    """(W, I, S) of ``a OP b`` per ac_fixed's ``rt`` / ``rt_unary`` rules."""
    if op == "neg":
        return a.width + 1, a.integer_bits + 1, True
    if op == "mul":
        return a.width + b.width, a.integer_bits + b.integer_bits, a.signed or b.signed
    integer = max(a.integer_bits + (b.signed and not a.signed),
                  b.integer_bits + (a.signed and not b.signed)) + 1
    width = integer + max(a.frac_bits, b.frac_bits)
    return width, integer, op == "sub" or a.signed or b.signed


@dataclass(frozen=True)
class ArithKernel:
    """``T y; y = a OP b`` (``-a`` for "neg")."""

    op: str  # "add", "sub", "mul" or "neg"
    a: FixedType
    b: FixedType | None
    dst: FixedType

    def cpp_entry(self) -> str:
        d = self.dst
        dargs = f"{to_ac(d)}, {str(d.signed).lower()}, {d.width}, {d.integer_bits}, {AC.modes(d)}"
        if self.op == "neg":
            return f"&negate<{to_ac(self.a)}, {dargs} >"
        return f"&binary<op_{self.op}, {to_ac(self.a)}, {to_ac(self.b)}, {dargs} >"

    def exact(self, ra: int, rb: int) -> tuple[int, int]:
        """(raw, fractional bits) of the exact result, by integer arithmetic."""
        fa = self.a.frac_bits
        if self.op == "neg":
            return -ra, fa
        fb = self.b.frac_bits
        if self.op == "mul":
            return ra * rb, fa + fb
        frac = max(fa, fb)
        ra, rb = ra << (frac - fa), rb << (frac - fb)
        return (ra + rb if self.op == "add" else ra - rb), frac

    def describe(self, ra: int, rb: int) -> str:
        expr = ("-a" if self.op == "neg" else
                f"a {dict(add='+', sub='-', mul='*')[self.op]} b")
        return (f"{to_ac(self.dst)} y = {expr} with a = {to_ac(self.a)} raw {ra}"
                + ("" if self.b is None else f", b = {to_ac(self.b)} raw {rb}"))


def operand_type(rng: random.Random) -> FixedType:
    # operand modes play no part in ac arithmetic; vary them to show it
    return random_type(rng, rng.random() < 0.6, rounding=rng.choice(list(Rounding)),
                       overflow=rng.choice(OVERFLOWS))


ARITH_OPS = ("add", "sub", "mul", "neg")


def build_arith_pool(seed: int) -> list[ArithKernel]:
    """Two ops per destination mode combination (each op meets every rounding, every
    overflow mode and both signednesses), random operands."""
    rng = random.Random(seed)
    kernels = []
    for c, (signed, q, o) in enumerate(mode_combos(OVERFLOWS)):
        pair = (c + c // len(OVERFLOWS)) % 2
        for op in ARITH_OPS[2 * pair:2 * pair + 2]:
            while True:
                a = operand_type(rng)
                b = None if op == "neg" else operand_type(rng)
                width, integer, _ = ac_result_type(op, a, b)
                if width <= 190:
                    break
            dst_width = random_width(rng)
            if rng.random() < 0.5:  # fewer integer bits: overflow handling
                dst_integer = integer - rng.randint(-2, 12)
            else:  # fewer fractional bits: rounding
                dst_integer = dst_width - (width - integer) + rng.randint(0, 24)
            kernels.append(ArithKernel(op, a, b, FixedType(signed, dst_width, dst_integer, q, o)))
    return kernels


def operand_value(t: FixedType, rng: random.Random) -> int:
    if rng.random() < 0.3:
        return clamp(rng.choice((t.min_raw, t.max_raw, 0, 1, -1, t.min_raw + 1, t.max_raw - 1)),
                     t)
    if rng.random() < 0.5:
        return rng.randint(t.min_raw, t.max_raw)
    v = rng.getrandbits(rng.randint(0, t.width))
    return clamp(-v if t.signed and rng.random() < 0.5 else v, t)


def arith_cases(arith: list[ArithKernel], seed: int, n: int):
    """(kernel index, a raw, b raw): corner pairs and random operands for every kernel."""
    rng = random.Random(seed)
    cases = []
    for i, k in enumerate(arith):
        b_t = k.b if k.b is not None else k.a
        corners = [(ra, rb) for ra in (k.a.min_raw, k.a.max_raw, 0)
                   for rb in (b_t.min_raw, b_t.max_raw, 0)]
        cases += [(i, ra, rb) for ra, rb in corners]
        cases += [(i, operand_value(k.a, rng), operand_value(b_t, rng))
                  for _ in range(n - len(corners))]
    return cases


def check_arith(driver: Driver, arith: list[ArithKernel], base: int, cases) -> int:
    """Run (kernel index, a raw, b raw) cases; ac's ``r`` must be exact, in ac's result
    type, and ``y = r`` must equal trigc's requantize (or divergence 3)."""
    ids = np.array([base + i for i, _, _ in cases], dtype=np.int64)
    payload = np.array([[ra & (1 << 64) - 1, rb & (1 << 64) - 1] for _, ra, rb in cases],
                       dtype=np.uint64)
    out = driver.run(ids, payload)
    problems = []
    for (i, ra, rb), words in zip(cases, out):
        k = arith[i]
        w, integer, signed = ac_result_type(k.op, k.a, k.b)
        meta = int(words[4])
        got_type = (meta & 0xFFFF, ((meta >> 16) & 0xFFFF) - 32768, bool(meta >> 32))
        r_raw = signed_bits(int(words[1]) | int(words[2]) << 64 | int(words[3]) << 128, 192, True)
        exact, frac = k.exact(ra, rb)
        exact_at_r = exact << (w - integer - frac)
        want = int(fixed.requantize(np.array([exact], dtype=object), frac, k.dst)[0])
        r_type = FixedType(signed, w, integer)
        lib = carry_divergence(r_type, k.dst, exact_at_r)
        want = want if lib is None else lib
        y = signed_bits(int(words[0]), k.dst.width, k.dst.signed)
        if got_type != (w, integer, signed) or r_raw != exact_at_r or y != want:
            problems.append(f"  {k.describe(ra, rb)}: r type {got_type} raw {r_raw}, expected "
                            f"{(w, integer, signed)} raw {exact_at_r}; y = {y}, trigc.fixed -> "
                            f"{want}")
    assert not problems, (f"{len(problems)} of {len(cases)} ac_fixed.h arithmetic results "
                          "differ; first ones:\n" + "\n".join(problems[:8]))
    return len(cases)


def moded_entry(k: Kernel) -> str:
    s, d = k.src, k.dst
    return (f"&from_moded_fixed<{to_ac(s)}, {str(s.signed).lower()}, {s.width}, "
            f"{s.integer_bits}, {AC.modes(s)}, {to_ac(d)}, {str(d.signed).lower()}, "
            f"{d.width}, {d.integer_bits}, {AC.modes(d)} >")


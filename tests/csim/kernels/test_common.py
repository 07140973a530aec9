"""trigc_common.h: divide_exact against trigc.fixed.assign_ratio, raw_bits /
from_raw, and the TRIGC_TRACE hook, for both spellings of the kernels (ap_fixed and,
with TRIGC_AC_TYPES, ac_fixed)."""

from __future__ import annotations

import subprocess
import zlib

import numpy as np
import pytest
from kharness import (ALL_OVERFLOW, ALL_ROUNDING, LIBS, build_cases, compile_source, ctype, fx,
                      our_warnings)

from trigc.emulator import assign
from trigc.ops import Exact
from trigc.fixed import FixedType, Overflow, assign_ratio

pytestmark = pytest.mark.csim


# ---- divide_exact ---------------------------------------------------------------------------

class DivCase:
    def __init__(self, name, res: FixedType, num_w, num_frac, den_w, exhaustive=False):
        self.name, self.res = name, res
        self.num_w, self.num_frac, self.den_w = num_w, num_frac, den_w
        self.exhaustive = exhaustive

    def cpp(self):
        body = f"""
    typedef {ctype(self.res)} res_t;
    const long long n = kh::read_ll();
    for (long long s = 0; s < n; s++) {{
        const long long num = kh::read_ll();
        const long long den = kh::read_ll();
        res_t y = trigc::divide_exact<res_t, {self.num_w}, {self.num_frac}, {self.den_w}>(
            trigc::int_t<{self.num_w}>(num), trigc::uint_t<{self.den_w}>(den));
        std::printf("%lld\\n", trigc::raw_bits(y));
    }}"""
        return "", body

    def inputs(self, seed):
        rng = np.random.default_rng(seed)
        lo, hi = -(1 << (self.num_w - 1)), (1 << (self.num_w - 1)) - 1
        dmax = (1 << self.den_w) - 1
        if self.exhaustive:
            nums = np.arange(lo, hi + 1, dtype=np.int64)
            dens = np.arange(1, dmax + 1, dtype=np.int64)
            num, den = np.meshgrid(nums, dens)
            return num.ravel(), den.ravel()
        n = 3000
        num = rng.integers(lo, hi, size=n, endpoint=True, dtype=np.int64)
        den = rng.integers(1, dmax, size=n, endpoint=True, dtype=np.int64)
        small = rng.random(n) < 0.3  # small divisors: many exact quotients and ties
        den[small] = rng.integers(1, min(dmax, 12), size=int(small.sum()), endpoint=True)
        # exact ties (the quotient is k + 1/2 on the result grid)
        for i in np.nonzero(rng.random(n) < 0.2)[0]:
            tie = self._tie(rng, lo, hi, dmax)
            if tie is not None:
                num[i], den[i] = tie
        edges = [(lo, 1), (hi, 1), (lo, dmax), (hi, dmax), (0, 1), (-1, 1), (1, dmax), (-1, dmax),
                 (lo, 3), (hi, 3), (-1, 2), (1, 2), (-3, 2), (3, 2)]
        for i, (a, b) in enumerate(edges):
            if b <= dmax:
                num[i], den[i] = a, b
        return num, den

    def _tie(self, rng, lo, hi, dmax):
        up = max(self.res.frac_bits - self.num_frac, 0)
        dn = max(self.num_frac - self.res.frac_bits, 0)
        for _ in range(20):
            if up == 0:  # num / (d * 2^dn) = k / 2  with k odd
                d = int(rng.integers(1, dmax, endpoint=True))
                big_d = d << dn
                if big_d % 2:
                    continue
                half = big_d // 2
            else:  # num * 2^up / (m * 2^(up+1)) = num / 2m = k / 2
                if (1 << (up + 1)) > dmax:
                    return None
                m = int(rng.integers(1, dmax >> (up + 1), endpoint=True))
                d, half = m << (up + 1), m
            kmax = hi // half
            if kmax < 1:
                continue
            num = (int(rng.integers(-kmax, kmax, endpoint=True)) | 1) * half
            if lo <= num <= hi:
                return num, d
        return None

    def expected(self, num, den):
        f = self.res.frac_bits
        num_o = num.astype(object)
        den_o = den.astype(object)
        if f >= self.num_frac:
            out = assign_ratio(num_o << (f - self.num_frac), den_o, self.res)
        else:
            out = assign_ratio(num_o, den_o << (self.num_frac - f), self.res)
        return np.array([int(v) for v in out], dtype=np.int64)


def _div_cases() -> list[DivCase]:
    cases = []
    # Every rounding x overflow mode, exhaustively over 8-bit numerators and 5-bit divisors.
    for q in ALL_ROUNDING:
        for o in ALL_OVERFLOW:
            t = FixedType(True, 6, 2, q, o)
            cases.append(DivCase(f"s_{q.name}_{o.name}", t, 8, 3, 5, exhaustive=True))
            if o is not Overflow.WRAP_SM:
                t = FixedType(False, 5, 1, q, o)
                cases.append(DivCase(f"u_{q.name}_{o.name}", t, 7, 4, 4, exhaustive=True))
    # Shapes: the quotient's grid above and below the numerator's, negative NUM_FRAC,
    # multi-word intermediates (> 64 bits), negative and beyond-width integer bits.
    cases += [
        DivCase("wide_up", fx("fixed<24,10,RND_CONV,SAT>"), 40, -6, 20),
        DivCase("wide_down", fx("fixed<16,12,RND,WRAP>"), 32, 20, 12),
        DivCase("multiword", fx("fixed<64,20,RND_ZERO,SAT_SYM>"), 48, 2, 30),
        DivCase("multiword_den", fx("fixed<20,18,RND_INF,SAT>"), 60, 50, 40),
        DivCase("neg_int_bits", fx("fixed<8,-2,RND_MIN_INF,SAT>"), 16, 12, 8),
        DivCase("big_int_bits", fx("ufixed<6,10,RND,SAT_ZERO>"), 20, 0, 6),
        DivCase("w64_wrap", fx("fixed<64,40,RND_CONV,WRAP>"), 64, 8, 16),
        DivCase("u_trn_zero", fx("ufixed<12,4,TRN_ZERO,SAT>"), 24, 10, 10),
        DivCase("one_bit", fx("fixed<1,1,RND,SAT>"), 6, 1, 3),
        DivCase("wrap_sm_wide", fx("fixed<10,3,RND_CONV,WRAP_SM>"), 30, 14, 9),
    ]
    return cases


DIV_CASES = _div_cases()


# ---- raw_bits / from_raw --------------------------------------------------------------------

# name: (type: a trigc.fixed spec, or an integer type of trigc_types_*.h), width, signed
RAW_TYPES = {
    "r_fixed64": ("fixed<64,5>", 64, True),
    "r_ufixed64": ("ufixed<64,0>", 64, False),
    "r_ufixed1": ("ufixed<1,1>", 1, False),
    "r_fixed1": ("fixed<1,0>", 1, True),
    "r_fixed13": ("fixed<13,-3,RND,SAT>", 13, True),
    "r_ufixed33": ("ufixed<33,40>", 33, False),
    "r_int12": ("trigc::int_t<12>", 12, True),
    "r_uint7": ("trigc::uint_t<7>", 7, False),
}


class RawCase:
    def __init__(self, name: str, spec: str) -> None:
        self.name, self.spec = name, spec

    def cpp(self):
        cpp_type = self.spec if self.spec.startswith("trigc::") else ctype(fx(self.spec))
        return "", f"""
    typedef {cpp_type} T;
    typedef trigc::fixed_info<T> info;
    const long long n = kh::read_ll();
    for (long long s = 0; s < n; s++) {{
        const T y = trigc::from_raw<T>(kh::read_ll());
        const trigc::int_t<info::width + 1> wide = trigc::raw_int(y);
        // raw_bits, raw_int (low 64 bits) and, for W <= 52, the value times 2^frac
        const double scaled = info::width <= 52 ? y.to_double() * std::ldexp(1.0, info::frac) : 0.0;
        std::printf("%lld %lld %.0f\\n", trigc::raw_bits(y), (long long)wide.to_int64(), scaled);
    }}"""


def _wrap(v: np.ndarray, width: int, signed: bool) -> np.ndarray:
    u = [int(x) & ((1 << width) - 1) for x in v]
    if signed or width == 64:  # raw_bits returns a W = 64 pattern as a signed long long
        u = [x - (1 << width) if x >> (width - 1) else x for x in u]
    return u


# ---- the program -----------------------------------------------------------------------------

class TraceCase:
    name = "trace"

    def cpp(self):
        big = ctype(fx("ufixed<64,1>"))
        return "", f"""
    typedef trigc::fixed_t<8, 3> T;
    T arr[3];
    arr[0] = trigc::from_raw<T>(-128);
    arr[1] = trigc::from_raw<T>(5);
    arr[2] = trigc::from_raw<T>(127);
    long long buf[7] = {{-9, -9, -9, -9, -9, -9, -9}};
    TRIGC_TRACE(2, arr, 3);  // trace_out is null: nothing happens
    trigc::trace_out = buf;
    TRIGC_TRACE(2, arr, 3);
    {big} big = trigc::from_raw<{big} >(-2);
    TRIGC_TRACE(6, &big, 1);
    trigc::trace_out = 0;
    for (int i = 0; i < 7; i++) std::printf("%lld ", buf[i]);
    std::printf("\\n");"""


CASES = [*DIV_CASES, *(RawCase(name, spec) for name, (spec, _, _) in RAW_TYPES.items()),
         TraceCase()]


@pytest.fixture(scope="module", params=LIBS)
def program(request, tmp_path_factory):
    return build_cases(tmp_path_factory, "common", CASES, request.param,
                       prelude="#define TRIGC_TRACE_ENABLED\n#include <cmath>")


@pytest.mark.parametrize("case", DIV_CASES, ids=lambda c: c.name)
def test_divide_exact(program, case):
    num, den = case.inputs(seed=zlib.crc32(case.name.encode()))
    got = program.run(case.name, [np.stack([num, den], axis=1)], 1)[:, 0]
    want = case.expected(num, den)
    # the emulator's own route (Exact with a denominator) agrees too
    via_assign = assign(Exact(num.astype(object), case.num_frac, den.astype(object)), case.res)
    np.testing.assert_array_equal(want, np.array([int(v) for v in via_assign], dtype=np.int64))
    bad = np.nonzero(got != want)[0]
    assert bad.size == 0, (
        f"{ctype(case.res)}: {bad.size} of {len(num)} differ, e.g. num={num[bad[0]]} "
        f"(frac {case.num_frac}) den={den[bad[0]]}: C++ raw {got[bad[0]]}, "
        f"assign_ratio raw {want[bad[0]]}")


@pytest.mark.parametrize("name", list(RAW_TYPES))
def test_raw_bits_from_raw(program, name):
    _, width, signed = RAW_TYPES[name]
    rng = np.random.default_rng(5)
    vals = np.concatenate([
        np.array([0, 1, -1, 2**62, -(2**62), 2**63 - 1, -(2**63) + 1], dtype=np.int64),
        rng.integers(-(2**63) + 1, 2**63 - 1, size=200, dtype=np.int64),
        rng.integers(-(1 << min(width, 62)), 1 << min(width, 62), size=200, dtype=np.int64,
                     endpoint=True),
    ])
    out = program.run(name, [vals[:, None]], 3)
    want = _wrap(vals, width, signed)
    np.testing.assert_array_equal(out[:, 0], np.array(want, dtype=np.int64))
    # raw_int is exact beyond 64 bits for ap_ufixed<64>: its low 64 bits equal raw_bits
    np.testing.assert_array_equal(out[:, 1], out[:, 0])
    if width <= 52:
        np.testing.assert_array_equal(out[:, 2], out[:, 0])


def test_trace_enabled(program):
    out = program.run("trace", [np.zeros((1, 0), dtype=np.int64)], 7)
    np.testing.assert_array_equal(out[0], [-9, -9, -128, 5, 127, -9, -2])


def test_trace_disabled_compiles_to_nothing(tmp_path):
    """Without TRIGC_TRACE_ENABLED the macro must not touch trace_out, so a program
    that never defines trigc::trace_out still links."""
    source = """
#include "trigc.h"
#include <cstdio>
int main() {
    ap_fixed<8, 3> arr[2] = {1.0, -0.5};
    TRIGC_TRACE(0, arr, 2);
    std::printf("%lld %lld\\n", trigc::raw_bits(arr[0]), trigc::raw_bits(arr[1]));
    return 0;
}
"""
    exe, stderr = compile_source(source, tmp_path, "trace_off")
    assert not our_warnings(stderr)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["32", "-16"]

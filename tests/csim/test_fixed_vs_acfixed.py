"""Bit-exactness of ``trigc.fixed`` (through ``to_ac``) against the real Algorithmic C
``ac_fixed.h`` (Catapult's types, included from the hls4ml wheel).

The same proof as ``test_fixed_vs_apfixed.py``, with the infrastructure of
``fixed_driver_util.py``: a seeded pool of destination types over the full
7 rounding x 4 ac overflow (WRAP, SAT, SAT_ZERO, SAT_SYM) x signed/unsigned matrix,
each with negative, zero, inside and beyond-width integer bits and widths 1..64,
compiled into one driver; exact integer equality of the raw result bits for

(a) ``T y = (double)x;``            against ``quantize([x], T)``
(b) ``Src s = raw; T y; y = s;``     against ``requantize([raw], Src.frac_bits, T)``
(c) ``auto r = a + b`` / ``a - b`` / ``a * b`` / ``-a`` (``r`` must hold the exact
    value, in ac's documented result type) and ``T y; y = r;`` against integer
    arithmetic followed by ``requantize``.

``to_ac`` of an ``AP_WRAP_SM`` type raises ``PrecisionError``: ac has no such mode.

Where ac_fixed.h agrees with trigc although ap_fixed.h's semantics might suggest
otherwise, the pool proves it: AC_SAT_SYM on unsigned types (= AC_SAT), AC_SAT_SYM on
1-bit signed types (keeps -1 LSB, as ap does), AC_SAT_ZERO, I < 0 and I > W, and
subnormal doubles. ac_fixed.h decodes subnormals exactly (ap_fixed.h does not), so
this pool also holds types with more than 1000 fractional bits.

Known divergences of ac_fixed.h from trigc.fixed (and ap_fixed.h); each has a test
asserting it, and the bulk and hypothesis tests expect ac's documented result there:

1. Double conversion, underflow. ``ac_fixed(double d)`` first scales
   ``d * 2**(F - 32*N)`` (N = (W + 31 + !S) / 32 words) in double arithmetic, in
   steps of at most 2**32. A negative ``d`` whose scaled value underflows to 0.0 is
   then taken as 0, so AC_TRN gives 0 instead of -1 LSB (signed types) or, with
   AC_WRAP, the all-ones pattern (unsigned types). Example:
   ``ac_fixed<8,4,true> y = -5e-324`` is 0; trigc (and ap_fixed.h) give raw -1.
   Only AC_TRN is affected (every other mode rounds such a value to 0 anyway), and
   only values below about 2**(32*N - F - 1075), i.e. subnormals for usual types.
2. Double conversion, overflow with AC_WRAP. If the scaled value overflows to
   infinity (``|d| >= 2**(1024 + 32*N - F)``), ac converts NaN to unsigned (undefined
   behaviour in C++); the result is unspecified (on x86-64 +-1 LSB for rounding
   modes, modulo 2**W) where trigc wraps the exact value (raw 0). Example:
   ``ac_fixed<64,-59,true,AC_RND,AC_WRAP> y = 1e300`` is 1, trigc 0. The saturating
   modes are unaffected.
3. Fixed-to-fixed rounding carry lost. Assigning an *unsigned* source to a type with
   fewer fractional bits and AC_SAT or AC_SAT_SYM, when the source's bits above the
   rounding position exactly fill the destination's 32*N-bit storage
   (``W2 == F2 - F + 32*N``), all those bits are ones and the rounding mode rounds up:
   the carry out of the storage is dropped and the result is 0 instead of the
   maximum. Example: ``ac_fixed<4,0,true,AC_RND,AC_SAT> y = ac_fixed<44,28,false>``
   with all 44 bits set is 0; trigc gives 7. AC_TRN, AC_TRN_ZERO, AC_WRAP and
   AC_SAT_ZERO give trigc's result. Unsigned exact results of ``+`` and ``*`` can
   hit this too.
4. Double conversion, AC_SAT_ZERO, signed W = 32 (a whole storage word): a double just
   below the minimum that the rounding mode rounds *up to* the minimum is flagged as an
   overflow (``iv_conv_from_fraction`` checks the sign of the word before the rounding
   increment) and gives 0 where trigc gives the minimum. Example:
   ``ac_fixed<32,19,true,AC_RND_ZERO,AC_SAT_ZERO> y = -262144.0000305`` (the minimum
   minus 1/4 LSB) is 0; trigc gives raw -2**31. AC_SAT and AC_SAT_SYM saturate to the
   same value either way, AC_WRAP is unaffected, and for W = 64 no double lies strictly
   between the minimum and one LSB below it.
5. Source modes matter. ac_fixed's converting constructor trusts that a *source* whose
   type is AC_SAT_SYM never holds its minimum: assigning it to a signed AC_SAT_SYM type
   with the same integer bits and at least as many fractional bits skips the overflow
   check and keeps the minimum, where trigc's ``requantize`` (which ignores source modes)
   gives -max. Example: ``ac_fixed<8,4,true,AC_TRN,AC_SAT_SYM>`` holding raw -128
   (written with ``set_slc``) assigned to ``ac_fixed<8,4,true,AC_RND,AC_SAT_SYM>`` stays
   -128; trigc gives -127. Within trigc's own semantics a SAT_SYM value never holds its
   minimum (``requantize`` cannot produce it), so only raw bit writes reach this.

A trigc bug found on the way, and fixed (ap_fixed.h agrees with ac_fixed.h there);
``test_quantize_just_below_half_lsb`` keeps it fixed: ``quantize`` rounded the double
nearest below +-0.5 LSB to +-1 LSB with RND / RND_INF (positive) and RND_INF /
RND_MIN_INF (negative), e.g. ``quantize([0.12499999999999999], fixed<2,0,RND,SAT>)``
was 1 instead of 0, because ``floor(s + 0.5)`` / ``ceil(s - 0.5)`` are not exact for
``s = +-(0.5 - 2**-54)``; ``_quantize_float64`` now compares ``s`` with the exact
half-point of its floor.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from fixed_ac_util import (AC, ARITH_OPS, OVERFLOWS, ac_result_type, ac_scaled_double,
                           arith_cases, build_arith_pool, check_arith, double_divergence,
                           known_divergences, moded_entry, storage_words)
from fixed_driver_util import (ConversionCheck, Kernel, assert_pool_covers, build_pool,
                               mode_combos, signed_bits, start_driver)
from fixed_values_util import bulk_cases, clamp, double_cases, fixed_cases, ldexp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trigc.fixed as fixed
from trigc.errors import PrecisionError
from trigc.fixed import FixedType, Overflow, Rounding, to_ac

pytestmark = pytest.mark.csim

POOL_SEED = 20240612
BULK_SEED = 11
PER_KERNEL = 220
PER_ARITH_KERNEL = 200

EXTRA_TYPES = (
    "fixed<16,6>", "fixed<18,8,RND,SAT>", "ufixed<8,0,RND_CONV,SAT>", "fixed<1,1>",
    "ufixed<1,1>", "fixed<64,64,RND,SAT>", "ufixed<64,0,RND_INF,SAT_SYM>",
    "fixed<64,-30,RND_CONV,SAT_ZERO>", "fixed<8,80,RND_ZERO,SAT_ZERO>",
    "ufixed<53,-11,RND_MIN_INF,WRAP>", "fixed<2,-1,TRN_ZERO,SAT_SYM>",
    "fixed<2,2,RND,SAT_SYM>", "fixed<3,-150,RND_CONV,SAT>", "ufixed<7,180,RND_INF,SAT>",
    # beyond ap_fixed.h's reach: LSBs at subnormal magnitudes, and huge ones
    "fixed<16,-1050,RND,SAT>", "ufixed<24,-1030,RND_CONV,SAT_SYM>", "fixed<8,1000,TRN,SAT>",
    "fixed<40,-1000,RND_INF,SAT_ZERO>",
    # divergence 4 needs W = 32 and AC_SAT_ZERO
    "fixed<32,19,RND_ZERO,SAT_ZERO>", "fixed<32,0,TRN_ZERO,SAT_ZERO>", "fixed<32,40,RND,SAT_ZERO>",
    "fixed<32,-8,RND_MIN_INF,SAT_ZERO>", "fixed<32,7,RND_CONV,SAT_ZERO>",
    "fixed<32,7,RND_INF,SAT_ZERO>", "fixed<32,7,TRN,SAT_ZERO>", "fixed<32,7,RND_INF,SAT>",
)
POOL = build_pool(POOL_SEED, OVERFLOWS, EXTRA_TYPES)

# (source, destination) pairs that sit exactly on divergence 3, and controls beside it
CARRY_PAIRS = (
    ("ufixed<44,28>", "fixed<4,0,RND,SAT>"),
    ("ufixed<44,28>", "fixed<4,0,RND_INF,SAT_SYM>"),
    ("ufixed<40,28>", "ufixed<8,4,RND_CONV,SAT_SYM>"),
    ("ufixed<52,22>", "fixed<20,10,RND_MIN_INF,SAT>"),
    ("ufixed<44,28>", "fixed<4,0,RND,WRAP>"),  # control: wraps to 0 anyway
    ("ufixed<44,28>", "fixed<4,0,RND,SAT_ZERO>"),  # control: 0 anyway
    ("ufixed<44,28>", "fixed<4,0,TRN_ZERO,SAT>"),  # control: no rounding increment
    ("ufixed<45,29>", "fixed<4,0,RND,SAT>"),  # control: one more source bit
    ("fixed<44,28>", "fixed<4,0,RND,SAT>"),  # control: signed source
)
CARRY_KERNELS = [Kernel(FixedType.parse(d), FixedType.parse(s)) for s, d in CARRY_PAIRS]

# (source with modes, destination): divergence 5 and controls beside it
MODED_PAIRS = (
    ("fixed<8,4,TRN,SAT_SYM>", "fixed<8,4,RND,SAT_SYM>"),
    ("fixed<8,4,TRN,SAT_SYM>", "fixed<9,4,RND,SAT_SYM>"),  # one more fractional bit
    ("fixed<8,4,TRN,SAT_SYM>", "fixed<10,6,RND,SAT_SYM>"),  # control: wider range
    ("fixed<8,4,TRN,SAT_SYM>", "fixed<6,4,RND,SAT_SYM>"),  # control: rounds, so checks
    ("fixed<8,4,TRN,SAT>", "fixed<8,4,RND,SAT_SYM>"),  # control: source not SAT_SYM
    ("fixed<8,4,TRN,SAT_SYM>", "fixed<8,4,RND,SAT>"),  # control: target not SAT_SYM
)
MODED_KERNELS = [Kernel(FixedType.parse(d), FixedType.parse(s)) for s, d in MODED_PAIRS]
CONVERSIONS = POOL + CARRY_KERNELS
DOUBLE_IDS = [i for i, k in enumerate(POOL) if k.src is None]
FIXED_IDS = [i for i, k in enumerate(POOL) if k.src is not None]
CHECK = ConversionCheck(CONVERSIONS, AC, known=known_divergences)
check_cases = CHECK.check

ARITH = build_arith_pool(POOL_SEED + 1)
ARITH_BASE = len(CONVERSIONS)  # kernel id of ARITH[0]
MODED_BASE = ARITH_BASE + len(ARITH)  # kernel id of MODED_KERNELS[0]
ARITH_COMPILE_COST = 2.7  # g++ time of one arithmetic kernel, in conversion kernels


@pytest.fixture(scope="session")
def driver(tmp_path_factory):
    entries = ([k.cpp_entry(AC) for k in CONVERSIONS] + [k.cpp_entry() for k in ARITH]
               + [moded_entry(k) for k in MODED_KERNELS])
    weights = ([1.0] * len(CONVERSIONS) + [ARITH_COMPILE_COST] * len(ARITH)
               + [1.0] * len(MODED_KERNELS))
    drv = start_driver(tmp_path_factory, AC, entries, weights)
    yield drv
    drv.close()


def _bulk(ids: list[int], seed: int):
    return bulk_cases(CONVERSIONS, ids, seed, PER_KERNEL)


# ---- the tests -----------------------------------------------------------------------

def test_pool_covers_mode_matrix():
    assert_pool_covers(POOL, OVERFLOWS)
    assert {f for k in POOL for f in (k.dst.frac_bits,)} >= {1066, 1054}  # subnormal LSBs
    for op in ARITH_OPS:
        dsts = [k.dst for k in ARITH if k.op == op]
        assert {t.rounding for t in dsts} == set(Rounding), op
        assert {t.overflow for t in dsts} == set(OVERFLOWS), op
        assert {t.signed for t in dsts} == {True, False}, op
        assert {True, False} == {t.signed for k in ARITH if k.op == op for t in (k.a, k.b) if t}
    assert len(ARITH) == 2 * len(list(mode_combos(OVERFLOWS)))


def test_ac_result_types_hold_trigc_exact_types():
    """ac's result type of every pooled operation holds trigc's narrowest exact type."""
    trigc_type = {"add": fixed.add_type, "sub": fixed.sub_type, "mul": fixed.mul_type}
    for k in ARITH:
        w, integer, signed = ac_result_type(k.op, k.a, k.b)
        ac_type = FixedType(signed, w, integer)
        if k.op == "neg":
            lo, hi, frac = -k.a.max_raw, -k.a.min_raw, k.a.frac_bits
        else:
            t = trigc_type[k.op](k.a, k.b)
            lo, hi, frac = t.min_raw, t.max_raw, t.frac_bits
        shift = ac_type.frac_bits - frac
        assert shift >= 0 and ac_type.min_raw <= lo << shift and hi << shift <= ac_type.max_raw


def test_wrap_sm_has_no_ac_spelling():
    assert to_ac(FixedType.parse("fixed<8,3,RND,SAT_SYM>")) == \
        "ac_fixed<8,3,true,AC_RND,AC_SAT_SYM>"
    assert to_ac(FixedType.parse("ufixed<8,3>")) == "ac_fixed<8,3,false>"
    with pytest.raises(PrecisionError, match="AP_WRAP_SM.*no mode for"):
        to_ac(FixedType.parse("fixed<8,3,RND,WRAP_SM>"))


def test_double_to_fixed_bulk(driver):
    ids, inputs = _bulk(DOUBLE_IDS, BULK_SEED)
    assert check_cases(driver, ids, inputs) >= 50_000


def test_fixed_to_fixed_bulk(driver):
    ids, inputs = _bulk(FIXED_IDS, BULK_SEED + 1)
    assert check_cases(driver, ids, inputs) >= 50_000


def test_arithmetic_bulk(driver):
    cases = arith_cases(ARITH, BULK_SEED + 2, PER_ARITH_KERNEL)
    assert check_arith(driver, ARITH, ARITH_BASE, cases) >= 20_000


HYPOTHESIS = settings(max_examples=30, deadline=None, database=None, print_blob=True,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@HYPOTHESIS
@given(batch=st.lists(double_cases(CONVERSIONS, DOUBLE_IDS), min_size=100, max_size=400))
def test_double_to_fixed_hypothesis(driver, batch):
    check_cases(driver, [k for k, _ in batch], [x for _, x in batch])


@HYPOTHESIS
@given(batch=st.lists(fixed_cases(CONVERSIONS, FIXED_IDS), min_size=100, max_size=400))
def test_fixed_to_fixed_hypothesis(driver, batch):
    check_cases(driver, [k for k, _ in batch], [v for _, v in batch])


@st.composite
def arith_case(draw):
    i = draw(st.integers(0, len(ARITH) - 1))
    k = ARITH[i]
    b_t = k.b if k.b is not None else k.a
    return (i, draw(st.integers(k.a.min_raw, k.a.max_raw)),
            draw(st.integers(b_t.min_raw, b_t.max_raw)))


@HYPOTHESIS
@given(batch=st.lists(arith_case(), min_size=50, max_size=200))
def test_arithmetic_hypothesis(driver, batch):
    check_arith(driver, ARITH, ARITH_BASE, batch)


SABOTAGE = {
    "rnd_conv_as_rnd": (Rounding.RND_CONV, {"rounding": Rounding.RND}),
    "trn_zero_as_trn": (Rounding.TRN_ZERO, {"rounding": Rounding.TRN}),
    "sat_sym_as_sat": (Overflow.SAT_SYM, {"overflow": Overflow.SAT}),
    "sat_zero_as_sat": (Overflow.SAT_ZERO, {"overflow": Overflow.SAT}),
}


@pytest.mark.parametrize("sabotage", sorted(SABOTAGE))
def test_harness_detects_wrong_mode(driver, monkeypatch, sabotage):
    """Make trigc.fixed use a wrong mode for one mode's types: every comparison must fail."""
    victim, swap = SABOTAGE[sabotage]

    def wrong(t: FixedType) -> FixedType:
        return t.with_modes(**swap) if victim in (t.rounding, t.overflow) else t

    real_quantize, real_requantize = fixed.quantize, fixed.requantize
    monkeypatch.setattr(fixed, "quantize", lambda x, dst, **kw: real_quantize(x, wrong(dst), **kw))
    monkeypatch.setattr(fixed, "requantize", lambda raw, frac, dst, **kw: real_requantize(
        raw, frac, wrong(dst), **kw))
    for kind in (DOUBLE_IDS, FIXED_IDS):
        ids = [i for i in kind if victim in (POOL[i].dst.rounding, POOL[i].dst.overflow)]
        with pytest.raises(AssertionError, match="differ from ac_fixed.h") as info:
            check_cases(driver, *_bulk(ids, BULK_SEED + 3))
        assert "trigc.fixed ->" in str(info.value) and "ac_fixed.h ->" in str(info.value)
    ids = {i for i, k in enumerate(ARITH) if victim in (k.dst.rounding, k.dst.overflow)}
    cases = [c for c in arith_cases(ARITH, BULK_SEED + 4, PER_ARITH_KERNEL) if c[0] in ids]
    with pytest.raises(AssertionError, match="arithmetic results differ"):
        check_arith(driver, ARITH, ARITH_BASE, cases)


# ---- behaviour ac shares with trigc --------------------------------------------------

def test_sat_sym_one_bit_signed(driver):
    """ac_fixed<1,I,true,Q,AC_SAT_SYM> keeps -1 LSB for negative inputs (its underflow
    check is ``W > 1 ? ... : true`` and the negative saturation value then ORs in 1),
    exactly like ap_fixed and trigc."""
    ids = [i for i, k in enumerate(POOL) if k.dst.signed and k.dst.width == 1
           and k.dst.overflow is Overflow.SAT_SYM]
    assert len(ids) >= 2 * len(Rounding)
    kernel_ids, inputs = [], []
    for i in ids:
        k = POOL[i]
        f = k.dst.frac_bits
        if k.src is None:
            vals = [ldexp(m, -f - 2) for m in (-16, -5, -4, -3, -2, -1, 1, 2, 4)] + [-1e-300]
        else:
            vals = sorted({clamp(v, k.src) for v in (k.src.min_raw, -1, 0, 1, k.src.max_raw)})
        kernel_ids += [i] * len(vals)
        inputs += vals
    check_cases(driver, kernel_ids, inputs)


def test_subnormal_doubles_are_exact(driver):
    """ap_fixed.h turns 5e-324 into 32767 for ap_fixed<16,-1050,AP_RND,AP_SAT>; ac_fixed.h
    (like trigc) rounds the exact value, 2**-8 LSB, to 0."""
    kid = next(i for i in DOUBLE_IDS if str(POOL[i].dst) == "fixed<16,-1050,RND,SAT>")
    xs = [5e-324, -5e-324, 2 ** -1067, 3 * 2 ** -1067, 2 ** -1066, -(2 ** -1060), 1e-310]
    got, want = CHECK.run(driver, [kid] * len(xs), xs)
    assert list(got) == list(want) == [0, 0, 1, 2, 1, -64, 32767]


# ---- the known divergences -----------------------------------------------------------

def _trn_underflow_kernels() -> list[int]:
    return [i for i in DOUBLE_IDS if POOL[i].dst.rounding is Rounding.TRN
            and (POOL[i].dst.signed or POOL[i].dst.overflow is Overflow.WRAP)
            and POOL[i].dst.frac_bits - 32 * storage_words(POOL[i].dst) < 0]


def test_divergence_double_underflow(driver):
    """Divergence 1: -2**e * 2**(32N - F) is -1 LSB for e = -1074, but 0 for e = -1075."""
    ids = _trn_underflow_kernels()
    assert len(ids) >= 20
    kernel_ids, xs = [], []
    for i in ids:
        t = POOL[i].dst
        room = 32 * storage_words(t) - t.frac_bits
        kernel_ids += [i, i]
        xs += [-ldexp(1, -1074 + room), -ldexp(1, -1075 + room)]
    got, want = CHECK.run(driver, kernel_ids, xs)  # want holds the documented ac result
    trigc = [int(fixed.quantize([x], POOL[i].dst)[0]) for i, x in zip(kernel_ids, xs)]
    assert list(got) == list(want)
    assert list(got[0::2]) == trigc[0::2]  # the last value that survives the scaling: agree
    assert all(g == 0 != t for g, t in zip(got[1::2], trigc[1::2]))  # underflow: diverge
    t = FixedType.parse("fixed<8,4>")
    assert double_divergence(t, -5e-324) == 0 and int(fixed.quantize([-5e-324], t)[0]) == -1


def test_divergence_double_overflow_wrap(driver):
    """Divergence 2: with AC_WRAP, a double whose scaled value overflows gives an
    unspecified result; the largest one that does not overflow agrees with trigc."""
    ids = [i for i in DOUBLE_IDS if POOL[i].dst.overflow is Overflow.WRAP
           and math.isinf(ac_scaled_double(-1.7976931348623157e308, POOL[i].dst))]
    assert len(ids) >= 5
    kernel_ids, xs = [], []
    for i in ids:
        t = POOL[i].dst
        edge = ldexp((1 << 53) - 1, 1024 - 53 + 32 * storage_words(t) - t.frac_bits)
        assert math.isfinite(ac_scaled_double(edge, t))
        assert math.isinf(ac_scaled_double(math.nextafter(edge, math.inf), t))
        kernel_ids += [i] * 4
        xs += [edge, -edge, math.nextafter(edge, math.inf), -1e308]
    got, _ = CHECK.run(driver, kernel_ids, xs)
    trigc = [int(fixed.quantize([x], POOL[i].dst)[0]) for i, x in zip(kernel_ids, xs)]
    assert [g for j, g in enumerate(got) if j % 4 < 2] == [t for j, t in enumerate(trigc)
                                                            if j % 4 < 2]
    assert any(g != t for j, (g, t) in enumerate(zip(got, trigc)) if j % 4 >= 2)


def test_divergence_rounding_carry(driver):
    """Divergence 3 on the CARRY_PAIRS: all source bits set, rounding up."""
    ids = [len(POOL) + j for j in range(len(CARRY_KERNELS))]
    got, want = CHECK.run(driver, ids, [k.src.max_raw for k in CARRY_KERNELS])
    trigc = [int(fixed.requantize([k.src.max_raw], k.src.frac_bits, k.dst)[0])
             for k in CARRY_KERNELS]
    assert list(got) == list(want)
    diverging = [g != t for g, t in zip(got, trigc)]
    assert diverging == [True] * 4 + [False] * 5
    assert [g for g, d in zip(got, diverging) if d] == [0] * 4
    assert [t for t, d in zip(trigc, diverging) if d] == [k.dst.max_raw for k in
                                                           CARRY_KERNELS[:4]]
    # one below the all-ones source: no carry out, ac and trigc saturate alike
    got, want = CHECK.run(driver, ids, [k.src.max_raw - (1 << (k.src.frac_bits -
                                        k.dst.frac_bits)) for k in CARRY_KERNELS])
    assert list(got) == list(want)


def test_divergence_sat_zero_minimum(driver):
    """Divergence 4: min - k/4 LSB on signed 32-bit AC_SAT_ZERO types."""
    ids = [i for i in DOUBLE_IDS if POOL[i].dst.signed and POOL[i].dst.width == 32
           and str(POOL[i].dst) in EXTRA_TYPES[-8:]]
    assert len(ids) >= 8
    kernel_ids, xs = [], []
    for i in ids:
        t = POOL[i].dst
        kernel_ids += [i] * 5
        xs += [ldexp(4 * t.min_raw + m, -t.frac_bits - 2) for m in (-3, -2, -1, 0, 1)]
    got, want = CHECK.run(driver, kernel_ids, xs)
    trigc = [int(fixed.quantize([x], POOL[i].dst)[0]) for i, x in zip(kernel_ids, xs)]
    assert list(got) == list(want)
    rounded_to_min = [x < POOL[i].dst.min_value and t == POOL[i].dst.min_raw
                      and POOL[i].dst.overflow is Overflow.SAT_ZERO
                      for i, x, t in zip(kernel_ids, xs, trigc)]
    assert sum(rounded_to_min) >= 8
    for g, t, diverges in zip(got, trigc, rounded_to_min):
        assert (g, t) == ((0, t) if diverges else (t, t))


def test_quantize_just_below_half_lsb(driver):
    """ac_fixed.h rounds the doubles nearest below +-0.5 LSB to 0, in every round-to-
    nearest mode; so must trigc.quantize."""
    ids = [i for i in DOUBLE_IDS if POOL[i].dst.rounding.name.startswith("RND")
           and POOL[i].dst.width <= 50 and abs(POOL[i].dst.frac_bits) < 1000]
    kernel_ids = [i for i in ids for _ in range(2)]
    xs = [sign * ldexp(1, -POOL[i].dst.frac_bits) * (0.5 - 2.0**-54)
          for i in ids for sign in (1, -1)]
    got, _ = CHECK.run(driver, kernel_ids, xs)
    assert set(got) == {0}
    trigc = [int(fixed.quantize([x], POOL[i].dst)[0]) for i, x in zip(kernel_ids, xs)]
    assert trigc == list(got)


def test_divergence_sat_sym_source_minimum(driver):
    """Divergence 5: a SAT_SYM source holding its minimum, on MODED_PAIRS."""
    ids = [MODED_BASE + j for j in range(len(MODED_KERNELS))]
    for kid, k in zip(ids, MODED_KERNELS):
        raws = [k.src.min_raw, k.src.min_raw + 1, -1, 0, k.src.max_raw]
        bits = driver.run(np.array([kid] * len(raws)),
                          np.array([r & (1 << 64) - 1 for r in raws], dtype=np.uint64))[:, 0]
        got = [signed_bits(int(b), k.dst.width, k.dst.signed) for b in bits]
        trigc = [int(v) for v in fixed.requantize(raws, k.src.frac_bits, k.dst)]
        diverges = (k.src.overflow is k.dst.overflow is Overflow.SAT_SYM
                    and k.src.integer_bits == k.dst.integer_bits
                    and k.src.frac_bits <= k.dst.frac_bits)
        assert diverges == (k in MODED_KERNELS[:2])
        # ac keeps the minimum (shifted to the destination's grid); trigc gives -max
        ac_min = k.src.min_raw << (k.dst.frac_bits - k.src.frac_bits) if diverges else None
        assert got == ([ac_min] + trigc[1:] if diverges else trigc), (str(k.src), str(k.dst))
        assert not diverges or trigc[0] == -k.dst.max_raw

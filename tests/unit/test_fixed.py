"""trigc.fixed: FixedType, parsing, exact result types and ap_fixed rounding/overflow,
checked against an independent Fraction implementation (tests/unit/reference.py)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from tests.unit.reference import (
    holds, min_frac, narrowest_type, narrowest_width, ref_assign, ref_assign_scaled, ref_overflow,
    ref_round, val,
)
from trigc import PrecisionError
from trigc.fixed import (
    FixedType, Overflow, Rounding, accum_type, add_type, assign_ratio, constant_type,
    mul_type, quantize, requantize, sub_type, to_cpp, to_float,
)

SETTINGS = settings(max_examples=250, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
ROUNDINGS = list(Rounding)
OVERFLOWS = list(Overflow)


@st.composite
def fixed_types(draw, max_width=24, min_int=-8, max_int=24, modes=True):
    signed = draw(st.booleans())
    width = draw(st.integers(1, max_width))
    integer = draw(st.integers(min_int, max_int))
    if not modes:
        return FixedType(signed, width, integer)
    rounding = draw(st.sampled_from(ROUNDINGS))
    overflows = OVERFLOWS if signed else [o for o in OVERFLOWS if o is not Overflow.WRAP_SM]
    overflow = draw(st.sampled_from(overflows))
    return FixedType(signed, width, integer, rounding, overflow)


# ---- FixedType validation and derived facts -------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    (dict(signed=True, width=0, integer_bits=0), "Width must be a positive integer"),
    (dict(signed=False, width=-4, integer_bits=0), "Width must be a positive integer"),
    (dict(signed=True, width=8.0, integer_bits=4), "Width must be a positive integer"),
    (dict(signed=True, width=1025, integer_bits=4), "exceeds the supported maximum"),
    (dict(signed=True, width=8, integer_bits=2.5), "Integer bits must be an integer"),
    (dict(signed=False, width=8, integer_bits=4, overflow=Overflow.WRAP_SM),
     "AP_WRAP_SM needs a signed type"),
])
def test_fixed_type_rejects_invalid(kwargs, message):
    with pytest.raises(PrecisionError, match=message):
        FixedType(**kwargs)


def test_fixed_type_rejects_unknown_mode_with_precision_error():
    with pytest.raises(PrecisionError):
        FixedType(True, 8, 4, "AP_NOPE")


def test_fixed_type_accepts_mode_strings_and_extremes():
    t = FixedType(True, 8, 3, "AP_RND", "AP_SAT")
    assert t.rounding is Rounding.RND and t.overflow is Overflow.SAT
    assert FixedType(True, 1024, 0).width == 1024
    assert FixedType(True, 8, 4, overflow=Overflow.WRAP_SM).overflow is Overflow.WRAP_SM


@pytest.mark.parametrize("t, lo, hi, lsb", [
    (FixedType(True, 8, 3), -128, 127, 2.0**-5),
    (FixedType(False, 8, 3), 0, 255, 2.0**-5),
    (FixedType(True, 1, 1), -1, 0, 1.0),
    (FixedType(False, 4, 8), 0, 15, 16.0),       # integer bits beyond the width
    (FixedType(True, 4, -2), -8, 7, 2.0**-6),    # negative integer bits
])
def test_derived_facts(t, lo, hi, lsb):
    assert (t.min_raw, t.max_raw, t.lsb) == (lo, hi, lsb)
    assert t.frac_bits == t.width - t.integer_bits
    assert t.min_value == lo * lsb and t.max_value == hi * lsb
    assert t.raw_dtype is np.int64
    assert FixedType(True, 63, 0).raw_dtype is object
    m = t.with_modes(Rounding.RND_CONV)
    assert m.rounding is Rounding.RND_CONV and m.overflow is t.overflow and m.width == t.width


# ---- parse / str / to_cpp ---------------------------------------------------------------

@SETTINGS
@given(fixed_types(max_width=200, min_int=-40, max_int=300))
def test_parse_round_trips_str_and_cpp(t):
    assert FixedType.parse(str(t)) == t
    assert FixedType.parse(to_cpp(t)) == t
    assert FixedType.parse(f"  {str(t).replace(',', ' , ')}  ") == t


@pytest.mark.parametrize("text, expected", [
    ("fixed<16,6>", FixedType(True, 16, 6)),
    ("ufixed<8,0,RND,SAT>", FixedType(False, 8, 0, Rounding.RND, Overflow.SAT)),
    ("ap_fixed<16,6,AP_RND_CONV,AP_SAT_SYM>",
     FixedType(True, 16, 6, Rounding.RND_CONV, Overflow.SAT_SYM)),
    ("ap_ufixed<4,-2>", FixedType(False, 4, -2)),
    ("fixed<8,12,rnd_zero,wrap_sm>", FixedType(True, 8, 12, Rounding.RND_ZERO, Overflow.WRAP_SM)),
    ("fixed<8,3,TRN_ZERO>", FixedType(True, 8, 3, Rounding.TRN_ZERO)),
    ("int<8>", FixedType(True, 8, 8)),
    ("uint<4>", FixedType(False, 4, 4)),
    ("ap_int<5>", FixedType(True, 5, 5)),
])
def test_parse_examples(text, expected):
    assert FixedType.parse(text) == expected


@pytest.mark.parametrize("text, message", [
    ("", "Cannot parse fixed-point type"),
    ("float<16,6>", "Cannot parse fixed-point type ''float"),
    ("fixed<16,6", "write e.g. 'fixed<16,6>'"),
    ("fixed<a,b>", "Cannot parse"),
    ("fixed<16,6,RND,SAT,WRAP>", "Cannot parse"),
    ("fixed<16>", "needs both width and integer bits"),
    ("int<8,3>", "int<W> takes one parameter"),
    ("fixed<16,6,ROUND>", "unknown mode 'ROUND'.*RND_CONV"),
    ("fixed<16,6,RND,CLAMP>", "unknown mode 'CLAMP'.*SAT_SYM"),
    ("fixed<16,6,SAT>", "unknown mode 'SAT'"),
    ("fixed<0,0>", "Width must be a positive integer"),
    ("ufixed<8,2,TRN,WRAP_SM>", "AP_WRAP_SM needs a signed type"),
])
def test_parse_rejects_garbage_helpfully(text, message):
    with pytest.raises(PrecisionError, match=message.replace("''", "'")):
        FixedType.parse(text)


@pytest.mark.parametrize("t, cpp, text", [
    (FixedType(True, 16, 6), "ap_fixed<16,6>", "fixed<16,6>"),
    (FixedType(False, 8, 0), "ap_ufixed<8,0>", "ufixed<8,0>"),
    (FixedType(True, 8, 3, Rounding.TRN, Overflow.SAT), "ap_fixed<8,3,AP_TRN,AP_SAT>",
     "fixed<8,3,TRN,SAT>"),
    (FixedType(False, 10, -2, Rounding.RND_CONV), "ap_ufixed<10,-2,AP_RND_CONV,AP_WRAP>",
     "ufixed<10,-2,RND_CONV,WRAP>"),
    (FixedType(True, 4, 9, Rounding.RND_MIN_INF, Overflow.WRAP_SM),
     "ap_fixed<4,9,AP_RND_MIN_INF,AP_WRAP_SM>", "fixed<4,9,RND_MIN_INF,WRAP_SM>"),
])
def test_to_cpp_and_str_spelling(t, cpp, text):
    assert to_cpp(t) == cpp
    assert str(t) == text


# ---- for_raw_range and the exact result types ---------------------------------------------

big_ints = st.integers(-(2**70), 2**70)


@SETTINGS
@given(big_ints, big_ints, st.integers(-20, 40))
@example(0, 0, 0)
@example(-1, 0, 3)
@example(0, 1, 0)
@example(-128, 127, 5)
@example(-129, 127, 5)
@example(-128, 128, 5)
def test_for_raw_range_is_narrowest(a, b, frac):
    lo, hi = min(a, b), max(a, b)
    t = FixedType.for_raw_range(lo, hi, frac)
    assert t.frac_bits == frac
    assert t.min_raw <= lo and hi <= t.max_raw
    assert (t.signed, t.width) == narrowest_width(lo, hi)
    if t.width > 1:
        narrower = FixedType(t.signed, t.width - 1, t.integer_bits - 1)
        assert not (narrower.min_raw <= lo and hi <= narrower.max_raw)


@pytest.mark.parametrize("lo, hi, width", [(-1, -1, 1), (-2, -2, 2), (-8, -8, 4)])
def test_for_raw_range_all_negative_is_narrowest(lo, hi, width):
    assert narrowest_width(lo, hi) == (True, width)
    assert FixedType.for_raw_range(lo, hi, 0).width == width


def test_for_raw_range_modes_and_errors():
    t = FixedType.for_raw_range(-3, 5, 2, rounding=Rounding.RND, overflow=Overflow.SAT)
    assert t == FixedType(True, 4, 2, Rounding.RND, Overflow.SAT)
    with pytest.raises(PrecisionError, match="Empty range"):
        FixedType.for_raw_range(3, 2, 0)


def corners(t: FixedType) -> list[Fraction]:
    return [val(t.min_raw, t.frac_bits), val(t.max_raw, t.frac_bits)]


def assert_narrowest_for(result: FixedType, values: list[Fraction], must_hold=None):
    """``result`` holds ``values`` exactly (and ``must_hold``) and no narrower type does."""
    for v in values + (must_hold or []):
        assert holds(result, v), (result, v)
    best = narrowest_type(values + (must_hold or []))
    assert result.frac_bits == best.frac_bits
    assert (result.signed, result.width) == (best.signed, best.width)


small_types = fixed_types(max_width=20, min_int=-10, max_int=20, modes=False)


@SETTINGS
@given(small_types, small_types)
def test_add_and_sub_types_hold_every_corner_and_are_minimal(a, b):
    lsb = [val(1, a.frac_bits) if a.max_raw >= 1 else -val(1, a.frac_bits),
           val(1, b.frac_bits) if b.max_raw >= 1 else -val(1, b.frac_bits)]
    sums = [x + y for x in corners(a) for y in corners(b)]
    diffs = [x - y for x in corners(a) for y in corners(b)]
    # the lowest bits are reached too (x + 0, 0 - y): they fix the fractional bits
    assert_narrowest_for(add_type(a, b), sums, must_hold=lsb)
    assert_narrowest_for(sub_type(a, b), diffs, must_hold=[lsb[0], -lsb[1]])


@SETTINGS
@given(small_types, small_types)
def test_mul_type_holds_every_corner_and_is_minimal(a, b):
    prods = [x * y for x in corners(a) for y in corners(b)]
    one_a = 1 if a.max_raw >= 1 else -1
    one_b = 1 if b.max_raw >= 1 else -1
    lsb_product = val(one_a * one_b, a.frac_bits + b.frac_bits)
    assert_narrowest_for(mul_type(a, b), prods, must_hold=[lsb_product])


@SETTINGS
@given(small_types, st.integers(1, 1000))
def test_accum_type_holds_every_sum_and_is_minimal(t, n):
    r = accum_type(t, n)
    assert r.frac_bits == t.frac_bits
    lo, hi = t.min_raw * n, t.max_raw * n
    assert r.min_raw <= lo and hi <= r.max_raw
    assert (r.signed, r.width) == narrowest_width(lo, hi)


def test_accum_type_rejects_empty_sums():
    with pytest.raises(PrecisionError, match="Cannot accumulate 0 terms"):
        accum_type(FixedType(True, 8, 4), 0)


# ---- overflow_bits -----------------------------------------------------------------------

def _needed_extra_bits(t: FixedType, lo: int, hi: int, frac: int) -> int:
    """Fewest integer bits to add to ``t`` (same signedness, grid, modes) so that the
    rounded range fits, by search."""
    for k in range(0, 200):
        wider = FixedType(t.signed, t.width + k, t.integer_bits + k, t.rounding, Overflow.SAT)
        lo_q = ref_round(val(lo, frac) * Fraction(2) ** t.frac_bits, t.rounding)
        hi_q = ref_round(val(hi, frac) * Fraction(2) ** t.frac_bits, t.rounding)
        if wider.min_raw <= lo_q and hi_q <= wider.max_raw:
            return k
    raise AssertionError("no width found")


@st.composite
def overflow_cases(draw):
    t = draw(fixed_types(max_width=16, min_int=-4, max_int=16))
    frac = draw(st.integers(-4, 20))
    a, b = draw(st.integers(-(2**24), 2**24)), draw(st.integers(-(2**24), 2**24))
    return t, min(a, b), max(a, b), frac


@SETTINGS
@given(overflow_cases())
def test_overflow_bits_counts_missing_bits_when_signedness_matches(case):
    t, lo, hi, frac = case
    if not t.signed:
        lo = max(lo, 0)  # an unsigned type can never hold negatives: not a width question
        hi = max(hi, lo)
    assert t.overflow_bits(lo, hi, frac) == _needed_extra_bits(t, lo, hi, frac)


def test_overflow_bits_signed_type_non_negative_range():
    t = FixedType(True, 6, 6)  # holds [-32, 31]
    # [0, 127] needs fixed<8,8>: two more integer bits; fixed<7,7> still overflows at 64
    assert _needed_extra_bits(t, 0, 127, 0) == 2
    assert t.overflow_bits(0, 127, 0) == 2


def test_overflow_bits_rounding_up_to_the_top_overflows():
    t = FixedType(False, 4, 4, Rounding.RND)  # [0, 15]
    assert t.overflow_bits(0, 15, 0) == 0
    # 15.5 rounds (RND) to 16: one more bit needed although the floor fits
    assert t.overflow_bits(0, 31, 1) == 1
    assert t.with_modes(rounding=Rounding.TRN).overflow_bits(0, 31, 1) == 0


# ---- rounding and overflow: assign_ratio, requantize, quantize ---------------------------

@st.composite
def ratio_cases(draw):
    t = draw(fixed_types(max_width=12, min_int=-4, max_int=14))
    den = draw(st.one_of(st.sampled_from([1, 2, 4, 8, 3, 6, 10]), st.integers(1, 5000)))
    # bias toward exact ties and values near the saturation boundaries
    k = draw(st.integers(-(2**16), 2**16))
    num = draw(st.one_of(
        st.integers(-(2**40), 2**40),
        st.just(k * den + den // 2) if den % 2 == 0 else st.just(k * den),
        st.just(t.max_raw * den + draw(st.integers(-den, den))),
        st.just(t.min_raw * den + draw(st.integers(-den, den))),
    ))
    return t, num, den


@settings(max_examples=600, deadline=None)
@given(ratio_cases())
@example((FixedType(True, 4, 4, Rounding.RND_CONV, Overflow.WRAP_SM), 17, 2))
@example((FixedType(True, 4, 4, Rounding.RND, Overflow.SAT_SYM), -17, 2))
@example((FixedType(False, 4, 4, Rounding.RND_INF, Overflow.SAT_ZERO), 31, 2))
@example((FixedType(True, 3, 3, Rounding.TRN_ZERO, Overflow.WRAP_SM), -41, 4))
def test_assign_ratio_matches_fraction_reference(case):
    t, num, den = case
    got = assign_ratio(np.array([num]), den, t)
    assert int(got[0]) == ref_assign_scaled(Fraction(num, den), t)


@pytest.mark.parametrize("rounding", ROUNDINGS)
@pytest.mark.parametrize("overflow", OVERFLOWS)
def test_assign_ratio_every_mode_on_a_dense_grid(rounding, overflow):
    """All 7 x 5 mode pairs, every tie and both saturation edges, vectorised with a
    per-element denominator."""
    t = FixedType(True, 4, 3, rounding, overflow)  # raw [-8, 7], frac 1
    nums = np.arange(-80, 81, dtype=np.int64)
    dens = np.array([1, 2, 3, 4, 6, 8], dtype=np.int64)
    num, den = np.meshgrid(nums, dens, indexing="ij")
    got = assign_ratio(num, den, t)
    want = np.array([[ref_assign_scaled(Fraction(int(n), int(d)), t) for n, d in zip(rn, rd)]
                     for rn, rd in zip(num, den)])
    np.testing.assert_array_equal(got, want)
    if overflow is not Overflow.WRAP_SM:
        u = FixedType(False, 4, 3, rounding, overflow)
        got = assign_ratio(num, den, u)
        want = np.array([[ref_assign_scaled(Fraction(int(n), int(d)), u) for n, d in zip(rn, rd)]
                         for rn, rd in zip(num, den)])
        np.testing.assert_array_equal(got, want)


def test_assign_ratio_int64_near_the_top():
    t = FixedType(True, 70, 70)
    got = assign_ratio(np.array([2**61 + 3], dtype=np.int64), 1, t)
    assert int(got[0]) == 2**61 + 3


def test_assign_ratio_big_integers():
    t = FixedType(True, 80, 70, Rounding.RND_CONV, Overflow.SAT)
    num = np.array([3 * 2**90 + 1, -(2**100), 2**70 + 3, -(2**75) - 11], dtype=object)
    got = assign_ratio(num, 7, t)
    assert [int(v) for v in got] == [ref_assign_scaled(Fraction(int(n), 7), t) for n in num]


@st.composite
def requant_cases(draw):
    n = draw(st.integers(1, 6))
    dst = draw(fixed_types(max_width=70, min_int=-6, max_int=70))
    raws = draw(st.lists(st.integers(-(2**40), 2**40), min_size=n, max_size=n))
    fracs = draw(st.lists(st.integers(-10, 50), min_size=n, max_size=n))
    # WRAP_SM wider than 64 bits: test_wrap_sm_wider_than_64_bits
    assume(not (dst.overflow is Overflow.WRAP_SM and dst.width > 64))
    return dst, raws, fracs


@SETTINGS
@given(requant_cases())
def test_requantize_per_element_frac_equals_scalar_calls_and_reference(case):
    dst, raws, fracs = case
    arr = np.array(raws, dtype=np.int64)
    got = requantize(arr, np.array(fracs), dst)
    scalar = [int(requantize(np.array([r], dtype=np.int64), f, dst)[0])
              for r, f in zip(raws, fracs)]
    assert [int(v) for v in got] == scalar
    assert scalar == [ref_assign(val(r, f), dst) for r, f in zip(raws, fracs)]
    # wrap=False: the rounded value before any overflow handling
    pre = requantize(arr, np.array(fracs), dst, wrap=False)
    assert [int(v) for v in pre] == [
        ref_round(val(r, f) * Fraction(2) ** dst.frac_bits, dst.rounding)
        for r, f in zip(raws, fracs)]


@SETTINGS
@given(fixed_types(max_width=40, min_int=-8, max_int=40),
       st.lists(st.integers(-(2**100), 2**100), min_size=1, max_size=5), st.integers(-30, 90))
def test_requantize_object_arrays(dst, raws, frac):
    assume(not (dst.overflow is Overflow.WRAP_SM and dst.width > 64))
    got = requantize(np.array(raws, dtype=object), frac, dst)
    assert [int(v) for v in got] == [ref_assign(val(r, frac), dst) for r in raws]


@pytest.mark.parametrize("width", [65, 80])
def test_wrap_sm_wider_than_64_bits(width):
    t = FixedType(True, width, 10, overflow=Overflow.WRAP_SM)
    assert [int(v) for v in requantize(np.array([0, 5]), 0, t)] == [0, 5 << (width - 10)]
    assert int(quantize([1.5], t)[0]) == 3 << (width - 11)


def test_requantize_rejects_float_raw():
    with pytest.raises(PrecisionError, match="must be integers"):
        requantize(np.array([1.5]), 0, FixedType(True, 8, 8))


floats = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    st.integers(-(2**20), 2**20).map(lambda k: k / 64.0),   # on-grid and tie values
    st.integers(-(2**20), 2**20).map(lambda k: (k + 0.5) / 32.0),
    st.floats(-1e-12, 1e-12),
)


@SETTINGS
@given(fixed_types(max_width=40, min_int=-8, max_int=30), st.lists(floats, min_size=1,
                                                                     max_size=5))
@example(FixedType(True, 8, 8, Rounding.RND_CONV), [0.5, 1.5, 2.5, -0.5, -1.5])
@example(FixedType(True, 8, 8, Rounding.RND_ZERO), [0.5, -0.5, 1e-300, -1e-300])
def test_quantize_matches_reference(t, xs):
    got = quantize(np.array(xs), t)
    assert [int(v) for v in got] == [ref_assign(Fraction(x), t) for x in xs]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_quantize_rejects_nan_and_inf(bad):
    with pytest.raises(PrecisionError, match="NaN or infinite"):
        quantize(np.array([0.0, bad]), FixedType(True, 8, 4))


def test_to_float_exact():
    np.testing.assert_array_equal(to_float(np.array([-3, 5]), FixedType(True, 8, 6)),
                                  [-0.75, 1.25])
    np.testing.assert_array_equal(to_float(np.array([3], dtype=object), -2), [12.0])


# ---- constant_type --------------------------------------------------------------------------

@SETTINGS
@given(st.lists(st.tuples(st.integers(-(2**12), 2**12), st.integers(-8, 8)),
                min_size=1, max_size=6))
@example([(0, 0)])
@example([(3, 0), (-1, 0)])
@example([(-3, 0), (1, 0)])
@example([(8, 0), (16, 0)])
def test_constant_type_is_narrowest_exact(pairs):
    xs = np.array([k * 2.0**e for k, e in pairs])
    # one repeated negative value: test_for_raw_range_all_negative_is_narrowest
    assume(not (np.all(xs == xs[0]) and xs[0] < 0))
    t, raw = constant_type(xs)
    assert all(holds(t, Fraction(float(x))) for x in xs)
    np.testing.assert_array_equal(to_float(raw, t), xs)
    np.testing.assert_array_equal(raw, quantize(xs, t))
    if np.any(xs != 0):
        best = narrowest_type([Fraction(float(x)) for x in xs])
        assert (t.signed, t.width, t.frac_bits) == (best.signed, best.width, best.frac_bits)
    else:
        assert t == FixedType(False, 1, 1)
    assert min_frac([Fraction(float(x)) for x in xs]) <= t.frac_bits


def test_constant_type_examples_and_errors():
    t, raw = constant_type(np.array([[0.75, -3.0], [8.0, 0.0]]))
    assert t == FixedType(True, 7, 5) and raw.shape == (2, 2)
    t, raw = constant_type(np.array([8.0, 16.0]))
    assert t == FixedType(False, 2, 5) and list(raw) == [1, 2]
    with pytest.raises(PrecisionError, match="NaN or infinite"):
        constant_type(np.array([1.0, np.nan]))
    with pytest.raises(PrecisionError, match="needs 41 bits to be exact"):
        constant_type(np.array([1.0, 2.0**-40]))
    with pytest.raises(PrecisionError, match="more than 32"):
        constant_type(np.array([0.1]))  # float64 0.1 has a 55-bit dyadic expansion
    t, _ = constant_type(np.array([0.1]), max_width=64)
    assert holds(t, Fraction(0.1))


def test_reference_self_check():
    """The reference rounding itself, on hand-worked ties."""
    ties = [Fraction(5, 2), Fraction(-5, 2), Fraction(7, 2), Fraction(-7, 2)]
    expect = {
        Rounding.TRN: [2, -3, 3, -4], Rounding.TRN_ZERO: [2, -2, 3, -3],
        Rounding.RND: [3, -2, 4, -3], Rounding.RND_ZERO: [2, -2, 3, -3],
        Rounding.RND_MIN_INF: [2, -3, 3, -4], Rounding.RND_INF: [3, -3, 4, -4],
        Rounding.RND_CONV: [2, -2, 4, -4],
    }
    for mode, want in expect.items():
        assert [ref_round(v, mode) for v in ties] == want, mode
    assert ref_overflow(-5, -5, FixedType(True, 1, 1, overflow=Overflow.SAT_SYM)) == -1
    assert ref_overflow(-5, -5, FixedType(True, 3, 3, overflow=Overflow.SAT_SYM)) == -3
    assert ref_overflow(-4, -4, FixedType(True, 3, 3, overflow=Overflow.SAT_SYM)) == -3
    t = FixedType(True, 4, 4, overflow=Overflow.WRAP_SM)
    # 9 = 0b01001: wraps to -7 (0b1001); first dropped bit 0 != sign 1 -> ~ -> 0b0110 = 6
    assert ref_overflow(9, 9, t) == 6

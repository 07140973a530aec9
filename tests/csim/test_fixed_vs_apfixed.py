"""Bit-exactness of ``trigc.fixed`` against the real Xilinx ``ap_fixed.h``.

Two conversions are compared, case by case, with exact integer equality of the
raw result bits:

(a) ``T y = (double)x;``            against ``quantize([x], T)``
(b) ``Src s = raw; T y; y = s;``     against ``requantize([raw], Src.frac_bits, T)``

Types are C++ template arguments, so a seeded pool of destination types (the full
7 rounding x 5 overflow x signed/unsigned matrix, each with negative, zero,
inside and beyond-width integer bits, plus random widths 1..64) is compiled
once per session into one driver program: a table of conversion kernels that
reads (kernel id, payload) batches on stdin and writes the raw results.
Values come from a seeded bulk generator (edge cases around every type's LSB
and saturation boundaries plus random magnitudes) and from hypothesis. The pool and
driver protocol (``fixed_driver_util.py``) and the value generators
(``fixed_values_util.py``) are shared with ``test_fixed_vs_acfixed.py``.

The driver is built with ``-DNDEBUG``: ``ap_fixed_base::operator=`` evaluates
``op.V.get_bit(F2 - F - 1)`` even when that index lies beyond the source width
(the result is then discarded in favour of the sign bit), and the
``assert`` inside ``ap_private::get_bit`` would abort the program for every
assignment whose source lies entirely below the destination's rounding bit.

Not covered on purpose: types with more than ~1000 fractional bits. ap_fixed.h's
double constructor decodes subnormal doubles as if they were normal (implicit
leading 1, exponent -1023), so e.g. ``ap_fixed<16,-1050,AP_RND,AP_SAT> y = 5e-324``
saturates to 32767 although the exact value, 2**-8 LSB, rounds to 0; only types
whose LSB lies below about 2**-1000 can tell. The pool asserts it stays far away from them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixed_driver_util import (ConversionCheck, Library, assert_pool_covers, build_pool,
                               start_driver)
from fixed_values_util import bulk_cases, clamp, double_cases, fixed_cases, ldexp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trigc.fixed as fixed
from trigc.csim.headers import ap_types_dir
from trigc.fixed import FixedType, Overflow, Rounding, to_cpp

pytestmark = pytest.mark.csim

POOL_SEED = 20240611
BULK_SEED = 7
PER_KERNEL = 220

AP = Library(name="ap_fixed.h", spell=to_cpp, mode_prefix="AP_", include_dir=ap_types_dir(),
             driver_dir=Path(__file__).parent / "apfixed_driver", header="apfixed_driver.h",
             fn_type="uint64_t (*conv_fn)(uint64_t)")

EXTRA_TYPES = (
    "fixed<16,6>", "fixed<18,8,RND,SAT>", "ufixed<8,0,RND_CONV,SAT>", "fixed<1,1>",
    "ufixed<1,1>", "fixed<64,64,RND,SAT>", "ufixed<64,0,RND_INF,SAT_SYM>",
    "fixed<64,-30,RND_CONV,WRAP_SM>", "fixed<8,80,RND_ZERO,SAT_ZERO>",
    "ufixed<53,-11,RND_MIN_INF,WRAP>", "fixed<2,-1,TRN_ZERO,SAT_SYM>",
    "fixed<2,2,RND,SAT_SYM>", "fixed<3,-150,RND_CONV,SAT>", "ufixed<7,180,RND_INF,SAT>",
)
POOL = build_pool(POOL_SEED, Overflow, EXTRA_TYPES)
DOUBLE_IDS = [i for i, k in enumerate(POOL) if k.src is None]
FIXED_IDS = [i for i, k in enumerate(POOL) if k.src is not None]
CHECK = ConversionCheck(POOL, AP)
check_cases = CHECK.check


def _bulk(ids: list[int], seed: int):
    return bulk_cases(POOL, ids, seed, PER_KERNEL)


@pytest.fixture(scope="session")
def driver(tmp_path_factory):
    drv = start_driver(tmp_path_factory, AP, [k.cpp_entry(AP) for k in POOL])
    yield drv
    drv.close()


# ---- the tests -----------------------------------------------------------------------

def test_pool_covers_mode_matrix():
    assert_pool_covers(POOL, Overflow)
    # ap_fixed.h mis-decodes subnormal doubles; keep far away from types that could see them
    assert max(abs(k.dst.frac_bits) for k in POOL) < 900


def test_double_to_fixed_bulk(driver):
    ids, inputs = _bulk(DOUBLE_IDS, BULK_SEED)
    assert check_cases(driver, ids, inputs) >= 50_000


def test_fixed_to_fixed_bulk(driver):
    ids, inputs = _bulk(FIXED_IDS, BULK_SEED + 1)
    assert check_cases(driver, ids, inputs) >= 50_000


# hypothesis: each example is a batch of cases sent to the running driver at once

HYPOTHESIS = settings(max_examples=100, deadline=None, database=None, print_blob=True,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@HYPOTHESIS
@given(batch=st.lists(double_cases(POOL, DOUBLE_IDS), min_size=100, max_size=400))
def test_double_to_fixed_hypothesis(driver, batch):
    check_cases(driver, [k for k, _ in batch], [x for _, x in batch])


@HYPOTHESIS
@given(batch=st.lists(fixed_cases(POOL, FIXED_IDS), min_size=100, max_size=400))
def test_fixed_to_fixed_hypothesis(driver, batch):
    check_cases(driver, [k for k, _ in batch], [v for _, v in batch])


# ---- the harness must be able to fail ------------------------------------------------

SABOTAGE = {
    "rnd_conv_as_rnd": (Rounding.RND_CONV, {"rounding": Rounding.RND}),
    "trn_zero_as_trn": (Rounding.TRN_ZERO, {"rounding": Rounding.TRN}),
    "rnd_min_inf_as_rnd_zero": (Rounding.RND_MIN_INF, {"rounding": Rounding.RND_ZERO}),
    "sat_sym_as_sat": (Overflow.SAT_SYM, {"overflow": Overflow.SAT}),
    "wrap_sm_as_wrap": (Overflow.WRAP_SM, {"overflow": Overflow.WRAP}),
}


@pytest.mark.parametrize("sabotage", sorted(SABOTAGE))
def test_harness_detects_wrong_mode(driver, monkeypatch, sabotage):
    """Make trigc.fixed use a wrong mode for one mode's types: the comparison must fail."""
    victim, swap = SABOTAGE[sabotage]

    def wrong(t: FixedType) -> FixedType:
        return t.with_modes(**swap) if victim in (t.rounding, t.overflow) else t

    real_quantize, real_requantize = fixed.quantize, fixed.requantize
    monkeypatch.setattr(fixed, "quantize", lambda x, dst, **kw: real_quantize(x, wrong(dst), **kw))
    monkeypatch.setattr(fixed, "requantize", lambda raw, frac, dst, **kw: real_requantize(
        raw, frac, wrong(dst), **kw))
    ids = [i for i, k in enumerate(POOL) if victim in (k.dst.rounding, k.dst.overflow)]
    kernel_ids, inputs = _bulk(ids, BULK_SEED + 2)
    with pytest.raises(AssertionError, match="differ from ap_fixed.h") as info:
        check_cases(driver, kernel_ids, inputs)
    # the report names the conversion, the input and both results
    assert "trigc.fixed ->" in str(info.value) and "ap_fixed.h ->" in str(info.value)


# ---- regressions ---------------------------------------------------------------------

def test_sat_sym_one_bit_signed(driver):
    """ap_fixed<1,I,Q,AP_SAT_SYM> keeps -1 LSB for negative inputs (its SAT_SYM underflow
    check is `_AP_W > 1 ? V[W-2:0] == 0 : true`, and overflow_adjust then writes V = 1);
    there is no symmetric range in one signed bit, so it behaves like AP_SAT."""
    ids = [i for i, k in enumerate(POOL) if k.dst.signed and k.dst.width == 1
           and k.dst.overflow is Overflow.SAT_SYM]
    assert len(ids) == 2 * len(Rounding)
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

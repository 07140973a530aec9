"""Operator models: CSD digits, multiplier binding, DSP tiling, ROMs, assignment cost."""

import pytest

from trigc.estimate import arith
from trigc.fixed import FixedType, Overflow, Rounding

X16 = FixedType(True, 16, 6)


@pytest.mark.parametrize("value, digits", [(0, 0), (1, 1), (-8, 1), (3, 2), (7, 2), (5, 2),
                                           (21, 3), (53, 4), (-53, 4), (0b1011, 3)])
def test_csd_digits(value, digits):
    assert arith.csd_digits(value) == digits


@pytest.mark.parametrize("value, bits", [(0, 0), (64, 1), (48, 2), (20, 3), (53, 6), (-44, 4)])
def test_significant_bits_drop_trailing_zeros(value, bits):
    assert arith.significant_bits(value) == bits


def test_power_of_two_weight_is_a_free_shift():
    assert arith.const_mult(X16, -32) == arith.SHIFT


def test_two_set_bits_is_one_lut_adder_of_the_product_width():
    cost = arith.const_mult(X16, 48)  # 0b11 << 4: x * 3 = (x << 2) - x
    assert (cost.kind, cost.dsp, cost.lut) == ("lut", 0, 16 + 2 + 1)
    assert cost.delay_ns == pytest.approx(arith.add_delay(19))


def test_wide_constant_uses_one_dsp():
    cost = arith.const_mult(X16, 53)
    assert (cost.kind, cost.dsp, cost.lut) == ("dsp", 1, 0)
    assert cost.delay_ns == arith.T_DSP_NS


def test_narrow_product_stays_in_luts():
    # 6-bit activations times a 4-significant-bit weight: 10 <= 13 bits
    cost = arith.const_mult(FixedType(False, 6, 3), 13)
    assert cost.kind == "lut" and cost.lut == (arith.csd_digits(13) - 1) * (6 + 4 + 1)


@pytest.mark.parametrize("a, b, tiles", [(16, 16, 1), (27, 18, 1), (18, 27, 1), (28, 18, 2),
                                         (32, 32, 4), (17, 40, 2)])
def test_dsp_tiles(a, b, tiles):
    assert arith.dsp_tiles(a, b) == tiles


def test_variable_multiplier_binding():
    small = arith.var_mult(FixedType(False, 6, 3), FixedType(True, 5, 1))
    assert small.kind == "lut" and small.lut == 36  # ceil(1.2 * 6 * 5)
    big = arith.var_mult(X16, X16)
    assert (big.kind, big.dsp) == ("dsp", 1)
    # ap_ufixed<27> needs 28 signed bits: 28 x 27 is two 18 x 27 tiles
    assert arith.var_mult(FixedType(False, 27, 0), FixedType(True, 27, 0)).dsp == 2


def test_rom_small_in_luts_large_in_bram():
    small = arith.rom_cost(4, 10, 3)
    assert (small.lut, small.bram, small.cycles) == (30, 0, 0)
    big = arith.rom_cost(1024, 18, 5)  # 1Kx18 fits one BRAM_18K; 2 reads per block
    assert (big.lut, big.bram, big.cycles) == (0, 3, 1)
    assert arith.rom_cost(1024, 19, 1).bram == 2


def test_exact_assignment_is_free_rounding_and_saturation_cost():
    acc = FixedType(True, 29, 9)
    assert arith.cast_cost(acc, acc) == arith.Cost(0, 0.0)
    wrap = arith.cast_cost(acc, FixedType(True, 16, 6))  # AP_TRN, AP_WRAP: drop bits
    assert wrap.lut == 0
    rnd_sat = arith.cast_cost(acc, FixedType(True, 16, 6, Rounding.RND_CONV, Overflow.SAT))
    assert rnd_sat.lut > 17 and rnd_sat.delay_ns > arith.add_delay(17)


def test_clock_budget_uses_vitis_default_uncertainty():
    assert arith.budget_ns(5.0) == pytest.approx(3.65)

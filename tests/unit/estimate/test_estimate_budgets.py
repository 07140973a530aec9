"""Budgets: parsing, overrides, violations with their amounts, layers and hints."""

import pytest

from tests.unit.estimate.models import dense_4x2
from trigc.errors import BudgetError, ConfigError
from trigc.estimate import Budgets, check, enforce, estimate
from trigc.estimate.datapath import Resources
from trigc.estimate.devices import lookup
from trigc.estimate.summary import Estimate, LayerEstimate


def test_from_dict_validates():
    b = Budgets.from_dict({"latency_ns": 100, "dsp": 500.0, "lut_pct": 12.5})
    assert (b.latency_ns, b.dsp, b.lut_pct) == (100.0, 500, 12.5)
    with pytest.raises(ConfigError, match=r"Unknown budget\(s\) \['dsps'\]; budgets are"):
        Budgets.from_dict({"dsps": 3})
    with pytest.raises(ConfigError, match="'ii' must be positive"):
        Budgets.from_dict({"ii": 0})
    with pytest.raises(ConfigError, match="'dsp' must be a whole number"):
        Budgets.from_dict({"dsp": 1.5})
    with pytest.raises(ConfigError, match="'ff_pct' is a percentage"):
        Budgets.from_dict({"ff_pct": 150})
    with pytest.raises(ConfigError, match="'lut' must be a number"):
        Budgets.from_dict({"lut": "many"})


def test_override_keeps_stored_budgets_and_to_json_roundtrips():
    stored = Budgets(latency_ns=100, dsp=500)
    merged = stored.override(dsp=200, lut=None, ii=1)
    assert merged == Budgets(latency_ns=100, dsp=200, ii=1)
    assert Budgets.from_dict(merged.to_json()) == merged
    assert not Budgets() and merged


def test_fitting_design_has_no_violations():
    est = estimate(dense_4x2())
    assert check(est, Budgets(latency_ns=10, latency_cycles=2, ii=1, dsp=2, lut=90)) == []
    enforce(est, Budgets(dsp_pct=1))


def _layer(name, op, reuse, dsp, lut=0, cycles=1, critical=True, **detail):
    return LayerEstimate(name, name, op, reuse, reuse, 0, cycles, cycles, critical,
                         Resources(dsp=dsp, lut=lut), detail)


def _estimate(layers, latency=10):
    total = Resources()
    for layer in layers:
        total = total + layer.resources
    return Estimate("m", lookup("VU9P"), "xcvu9p-flga2104-2L-e", 5.0, tuple(layers),
                    latency, max(la.ii for la in layers), total)


def test_dsp_violation_names_amount_layers_and_reuse_hint():
    big = _layer("dense_big", "Dense", 1, 1000, nnz=1000, var_mult_kind="dsp",
                 dsp_per_mult=1)
    small = _layer("dense_small", "Dense", 1, 200, nnz=200, var_mult_kind="dsp",
                   dsp_per_mult=1)
    (v,) = check(_estimate([big, small]), Budgets(dsp=700))
    assert (v.budget, v.value, v.limit, v.over, v.unit) == ("dsp", 1200, 700, 500, "DSP")
    assert v.top_layers == (("dense_big", 1000), ("dense_small", 200))
    # dense_big must drop to 500: reuse 2 gives ceil(1000 / 2) = 500
    assert "raise the reuse factor of layer 'dense_big' from 1 to 2" in v.hint
    assert "about 500 DSPs instead of 1,000" in v.hint
    assert "every Dense/Conv layer reuse factor 2 (about 600 DSPs" in v.hint
    with pytest.raises(BudgetError, match=r"over budget dsp: 1,200 DSP > 700 DSP \(over by "
                                          r"500, \+71%\); largest: dense_big 1,000"):
        enforce(_estimate([big, small]), Budgets(dsp=700))


def test_percentage_budget_and_lut_hint_names_types():
    layer = _layer("fc", "Dense", 1, 0, lut=50_000, input_type="fixed<16,6>",
                   weight_type="fixed<11,1>", accum_type="fixed<29,9>", lut_products=900)
    (v,) = check(_estimate([layer]), Budgets(lut=60_000, lut_pct=1))
    assert v.budget == "lut_pct" and v.limit == pytest.approx(11_822.4)
    assert "narrow the types of layer 'fc' (input fixed<16,6>, weights fixed<11,1>, " \
           "accumulator fixed<29,9>)" in v.hint


def test_latency_and_ii_violations():
    slow = _layer("dense_r8", "Dense", 8, 10, cycles=12)
    fast = _layer("relu", "Relu", 1, 0, cycles=1)
    est = _estimate([slow, fast], latency=13)
    by_name = {v.budget: v for v in check(est, Budgets(latency_ns=50, latency_cycles=10,
                                                       ii=4))}
    assert by_name["latency_ns"].value == 65 and by_name["latency_ns"].over == 15
    assert by_name["latency_ns"].top_layers[0] == ("dense_r8", 60.0)
    assert "lower the reuse factor of layer 'dense_r8' (now 8; its reuse loop adds 7" \
        in by_name["latency_cycles"].hint
    assert by_name["ii"].top_layers == (("dense_r8", 8),)
    assert "to at most 4" in by_name["ii"].hint


def test_bram_hint_for_reuse_roms():
    layer = LayerEstimate("fc", "fc", "Dense", 256, 256, 0, 260, 260, True,
                          Resources(bram=64), {"rom": "BRAM"})
    (v,) = check(_estimate([layer]), Budgets(bram=10))
    assert "lower the reuse factor of layer 'fc' from 256 to at most 128" in v.hint

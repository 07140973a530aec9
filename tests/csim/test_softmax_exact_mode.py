"""The exact softmax mode (trigc.ops.softmax), end to end: compiled to a Vitis
(ap_fixed) and a Catapult (ac_fixed) project, the g++ C-sim equals the emulator
on every bit; the emulator (which runs the exact mode on its interpreter) is within
one output LSB of the float64 softmax, and almost always its correctly rounded
value; the Verilog backend refuses the mode by name; the estimator costs it."""

import sys
from pathlib import Path

import numpy as np
import pytest

import trigc
from trigc.config import check_config
from trigc.emulator import fast
from trigc.frontends.qonnx_builder import quantized_mlp
from trigc.ir.ops import Op

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers.qonnx_models import Builder  # noqa: E402


def softmax_model(n_cls=5, bits=16, frac=10):
    """Logits quantized to fixed<bits, bits - frac>, then Softmax."""
    b = Builder("sm")
    x = b.quant("x", 2.0**-frac, bits, signed=True)
    y = b.node("Softmax", [x], axis=-1, name="softmax/Softmax")
    return b.model({"x": (1, n_cls)}, y, (1, n_cls))


def float_softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def logits(n, n_cls=5, frac=10, seed=0):
    """Random logits and adversarial rows: ties, one-hot, near-equal pairs, a tail
    far below the maximum, and the range's ends."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 4, (n, n_cls))
    k = n // 8
    x[:k] = x[:k, :1]  # every class equal
    x[k:2 * k, 1:] = x[k:2 * k, :1] - rng.uniform(0, 30, (k, 1))  # one clear winner
    x[2 * k:3 * k, 1] = x[2 * k:3 * k, 0] - rng.integers(0, 8, k) / 2**frac
    x[3 * k:3 * k + 4] = [[31.999, -32] + [0] * (n_cls - 2)] * 4
    return np.clip(np.round(x * 2**frac) / 2**frac, -32, 32 - 2**-frac)


def softmax_node(graph):
    return next(n for n in graph.nodes if n.op is Op.SOFTMAX)


@pytest.mark.csim
@pytest.mark.parametrize("backend", ["vitis", "catapult"], ids=["ap_fixed", "ac_fixed"])
def test_exact_mode_csim_equals_emulator(tmp_path, backend):
    x = logits(4000)
    project = trigc.compile(softmax_model(), tmp_path / backend, backend=backend,
                            softmax="exact", tb_inputs=x[:50])
    assert softmax_node(project.graph).attrs.mode == "exact"
    result = project.compare(x)
    assert result.ok, result
    y = project.csim(x)
    lsb = project.graph.outputs[0].type.lsb
    assert np.max(np.abs(y - float_softmax(x))) <= lsb


@pytest.mark.csim
def test_exact_mode_in_a_model_csim(tmp_path):
    model = quantized_mlp(sizes=(16, 12, 5), seed=7, softmax=True)
    x = np.random.default_rng(1).normal(0, 3, (2000, 16))
    project = trigc.compile(model, tmp_path / "mlp", config={"softmax": "exact"})
    result = project.compare(x)
    assert result.ok, result


def test_exact_mode_within_one_lsb_of_float64():
    """100k random and adversarial events: never more than one LSB from the float64
    softmax, within the proved bound, and correctly rounded in all but a few."""
    from trigc.ops.softmax import exact_error_bound

    graph = trigc.load(softmax_model(), softmax="exact")
    node = softmax_node(graph)
    out = node.output.type
    x = logits(100_000, seed=2)
    y = trigc.emulate(graph, x, raw=True)
    exact = float_softmax(x) * 2.0**out.frac_bits
    err = np.abs(y - exact)
    assert err.max() <= exact_error_bound(node.attrs, 5, out) / out.lsb < 0.501
    assert np.mean(y != np.round(exact)) < 1e-4  # ties and near-ties only


def test_emulator_falls_back_to_the_interpreter():
    graph = trigc.load(softmax_model(), softmax="exact")
    assert "exact softmax" in fast.unsupported_reason(graph)
    x = logits(500, seed=3)
    np.testing.assert_array_equal(trigc.emulate(graph, x, raw=True, engine="auto"),
                                  trigc.emulate(graph, x, raw=True, engine="interpreter"))


def test_modes_by_layer_and_errors():
    graph = trigc.load(softmax_model(), softmax={"softmax": "exact"})
    assert softmax_node(graph).attrs.mode == "exact"
    assert softmax_node(trigc.load(softmax_model())).attrs.mode == "lut"
    with pytest.raises(trigc.ConfigError, match="not Softmax layers"):
        trigc.load(softmax_model(), softmax={"dense": "exact"})
    with pytest.raises(trigc.ConfigError, match="softmax mode"):
        trigc.load(softmax_model(), softmax="fast")
    with pytest.raises(trigc.ConfigError, match="softmax mode"):
        check_config({"softmax": {"softmax": 3}})


def test_verilog_refuses_exact_mode(tmp_path):
    with pytest.raises(trigc.UnsupportedOpError, match="layer 'softmax'.*softmax='lut'"):
        trigc.compile(softmax_model(), tmp_path / "v", backend="verilog", softmax="exact")


def test_estimate_costs_both_modes(tmp_path):
    totals = {}
    for mode in ("lut", "exact"):
        graph = trigc.load(softmax_model(), softmax=mode)
        project = trigc.compile(graph, tmp_path / mode)
        totals[mode] = project.estimate().total
    assert totals["exact"].lut > totals["lut"].lut

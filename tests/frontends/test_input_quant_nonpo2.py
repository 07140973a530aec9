"""A QONNX ``Quant`` with a non-power-of-two scale on the model input, once the user
gives the input the type trigc's own error advises (``precision={'x': 'fixed<16,6>'}``).

It used to crash with a raw ``AttributeError: 'int' object has no attribute 'dtype'``
inside precision inference: shifting a 0-d object array (an exact denominator wider
than int64) gave a bare Python int. The "deep" model below is exactly that case (its
accumulators are 58 and 87 bits wide). Each model is checked three ways: an
independent reference in exact rational arithmetic (``fractions.Fraction``; it
shares no code with trigc), the emulator's interpreter and fast C kernel, and the
g++ C-sim of the generated firmware, on the same events.
"""

from __future__ import annotations

import shutil
from fractions import Fraction

import numpy as np
import pytest

import trigc
from trigc.frontends.qonnx_builder import QonnxBuilder

IN_SCALE, W_SCALE, OUT_SCALE = 0.0123, 0.0371, 0.0567  # none a power of two
ADVISED = {"x": "fixed<16,6>"}  # what trigc's error message proposes, verbatim
N_EVENTS = 300


def _weights(seed: int, layers: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 1, (4, 4)).astype(np.float32) for _ in range(layers)]


def _model(layers: int, seed: int = 0):
    b = QonnxBuilder(f"nonpo2_{layers}")
    x = b.quant("x", IN_SCALE, 8, name="inq/Quant")
    for i, w in enumerate(_weights(seed, layers)):
        wq = b.quant(b.const(w, "w"), W_SCALE, 6, narrow=True)
        x = b.node("MatMul", [x, wq], name=f"fc{i}/MatMul")
    x = b.quant(x, OUT_SCALE, 8, name="out/Quant")
    return b.model({"x": (1, 4)}, x, (1, 4))


def _quant(v: Fraction, scale: Fraction, lo: int, hi: int) -> Fraction:
    """QONNX Quant, ROUND (half to even), zero point 0: scale * clip(round(v / s))."""
    return scale * min(max(round(v / scale), lo), hi)


def _reference(x: np.ndarray, layers: int, seed: int = 0) -> np.ndarray:
    """The model in exact rationals, from the float32 values the model stores."""
    s_in, s_w, s_out = (Fraction(float(np.float32(s))) for s in (IN_SCALE, W_SCALE,
                                                                    OUT_SCALE))
    ws = [[[_quant(Fraction(float(v)), s_w, -31, 31) for v in row] for row in w]
          for w in _weights(seed, layers)]
    # the firmware input is fixed<16,6> (AP_TRN, AP_WRAP): feed values it holds
    out = np.empty(x.shape, dtype=np.float64)
    for e, row in enumerate(x):
        h = [_quant(Fraction(float(v)), s_in, -128, 127) for v in row]
        for w in ws:
            h = [sum(h[i] * w[i][j] for i in range(4)) for j in range(4)]
        out[e] = [float(_quant(v, s_out, -128, 127)) for v in h]
    return out


def _events(seed: int) -> np.ndarray:
    """Values on fixed<16,6>'s grid (so the input type holds them exactly), many of
    them on or next to the input Quant's rounding ties."""
    rng = np.random.default_rng(seed)
    ties = (rng.integers(-140, 140, (N_EVENTS, 4)) + 0.5) * np.float32(IN_SCALE)
    ties = np.round(ties * 2**10) / 2**10
    uniform = rng.integers(-2**11, 2**11, (N_EVENTS, 4)) * 2.0**-10
    return np.where(rng.random((N_EVENTS, 4)) < 0.5, ties, uniform)


@pytest.fixture(scope="module", params=[1, 2], ids=["shallow", "deep"])
def compiled(request):
    layers = request.param
    return layers, trigc.load(_model(layers), precision=ADVISED)


def test_compiles_with_the_advised_type_only(compiled):
    """Without a type: the typed error with its advice; with it: compiled."""
    layers, graph = compiled
    with pytest.raises(trigc.PrecisionError, match=r"Model input 'x'.*precision=\{'x'"):
        trigc.load(_model(layers))
    assert str(graph.inputs[0].type) == "fixed<16,6>"


def test_emulator_equals_exact_reference(compiled):
    layers, graph = compiled
    x = _events(layers)
    ref = _reference(x, layers)
    got = trigc.emulate(graph, x, engine="interpreter")
    np.testing.assert_array_equal(got, ref)
    assert len(np.unique(ref)) >= 20, "too few distinct outputs to discriminate"


def test_fast_emulator_equals_interpreter(compiled):
    """The fast C kernel gives the same bits; where a tensor is wider than int64
    (the deep model's 87-bit accumulator) it says so, typed, instead."""
    layers, graph = compiled
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler for the fast emulator")
    x = _events(layers + 10)
    slow = trigc.emulate(graph, x, engine="interpreter", raw=True)
    if layers == 1:
        np.testing.assert_array_equal(trigc.emulate(graph, x, engine="fast", raw=True), slow)
    else:
        with pytest.raises(trigc.UnsupportedOpError, match="wider than int64.*interpreter"):
            trigc.emulate(graph, x, engine="fast")


@pytest.mark.csim
def test_csim_equals_emulator(compiled, tmp_path):
    layers, graph = compiled
    result = trigc.compile(graph, tmp_path / "prj").compare(_events(layers + 20))
    assert result.ok, str(result)

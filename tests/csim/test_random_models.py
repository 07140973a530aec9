"""Randomly generated small QONNX models: the qonnx reference (numpy), trigc's
emulator (the interpreter and its fast path, the C kernel of trigc.emulator.fast),
the g++ C-sim of the generated firmware (Vitis ap_fixed and Catapult ac_fixed) and
the Verilator simulation of the generated RTL agree bit for bit (the emulator is the
hub: each test compares it with the qonnx reference, then with one implementation).
The same models, re-typed with every rounding and overflow mode and with 40-64-bit
tensors, compare the interpreter, the fast path and both C-sims (Catapult refuses
AP_WRAP_SM by layer)."""

import copy
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import trigc
import trigc.rtlsim
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from trigc.frontends.qonnx_builder import QonnxBuilder

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers.qonnx_models import qonnx_execute
from helpers.retype import retype
from trigc.emulator import emulate, fast
from trigc.errors import PrecisionError
from trigc.fixed import Overflow

MODES = ["ROUND", "FLOOR", "DOWN", "HALF_UP", "HALF_DOWN"]


@st.composite
def models(draw):
    """(model, input shape, reuse) for a random conv-or-dense stack."""
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    b = QonnxBuilder("random")
    conv = draw(st.booleans())
    in_shape = (2, 6) if conv else (draw(st.integers(2, 10)),)
    x = b.quant("x", 2.0 ** -draw(st.integers(0, 5)), draw(st.integers(3, 10)),
                rounding=draw(st.sampled_from(MODES)))
    width = in_shape[0]
    if conv:
        k = draw(st.integers(1, 3))
        out_ch = draw(st.integers(1, 4))
        w = b.quant(b.const(rng.normal(0, 0.5, (out_ch, 2, k))), 2.0 ** -draw(st.integers(2, 5)),
                    draw(st.integers(2, 8)), narrow=True)
        stride = draw(st.integers(1, 2))
        x = b.node("Conv", [x, w], kernel_shape=[k], pads=[k // 2, (k - 1) // 2],
                   strides=[stride])
        x = b.quant(x, 2.0 ** -draw(st.integers(0, 4)), draw(st.integers(3, 10)),
                    rounding=draw(st.sampled_from(MODES)))
        x = b.node("Flatten", [x], axis=1)
        width = out_ch * ((in_shape[1] - 1) // stride + 1)  # 'same'-style padding k - 1
    n_dense = draw(st.integers(1, 3))
    for i in range(n_dense):
        n_out = draw(st.integers(1, 8))
        n_in = width
        scale = 2.0 ** rng.integers(-5, -1, n_out) if draw(st.booleans()) else 2.0**-3
        w = b.quant(b.const(rng.normal(0, 0.6, (n_in, n_out))), scale, draw(st.integers(2, 8)),
                    narrow=draw(st.booleans()))
        x = b.node("MatMul", [x, w])
        x = b.node("Add", [x, b.quant(b.const(rng.normal(0, 0.3, n_out)), 2.0**-5, 8)])
        activation = draw(st.sampled_from(["", "Relu", "Abs"]))
        if activation:
            x = b.node(activation, [x])
        signed = not activation
        x = b.quant(x, 2.0 ** -draw(st.integers(0, 5)), draw(st.integers(2, 12)), signed=signed,
                    rounding=draw(st.sampled_from(MODES)))
        width = n_out
    model = b.model({"x": (1, *in_shape)}, x, (1, width))
    return model, in_shape, draw(st.integers(1, 3))


@pytest.mark.csim
@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=True)
@given(models())
def test_random_model_three_way(tmp_path_factory, case):
    model, in_shape, reuse = case
    rng = np.random.default_rng(1)
    x = rng.normal(0, 4, (400, *in_shape)).astype(np.float32)
    ref = qonnx_execute(copy.deepcopy(model), x).astype(np.float64)
    graph = trigc.load(model)
    np.testing.assert_array_equal(trigc.emulate(graph, x), ref)
    np.testing.assert_array_equal(emulate(graph, x, engine="fast"), ref)
    linear = graph.find(trigc.ir.Op.DENSE) + graph.find(trigc.ir.Op.CONV)
    reuse = min([reuse] + [max(int(np.count_nonzero(n.inputs[1].raw)), 1) for n in linear])
    for backend in ("vitis", "catapult"):  # ap_fixed.h and ac_fixed.h
        project = trigc.compile(graph, tmp_path_factory.mktemp("rnd") / "p", reuse=reuse,
                                backend=backend)
        result = project.compare(x)
        assert result.ok, f"{backend}: {result}"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator is not installed")
@settings(max_examples=7, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=True)
@given(models())
def test_random_model_verilog(tmp_path_factory, monkeypatch, case):
    """The same models through the Verilog backend: Verilator at II 1 equals the
    emulator on every output bit, on the qonnx-checked inputs and on random events
    over the input type's whole range, at the scheduled latency."""
    model, in_shape, _ = case
    x = np.random.default_rng(1).normal(0, 4, (400, *in_shape)).astype(np.float32)
    ref = qonnx_execute(copy.deepcopy(model), x).astype(np.float64)
    graph = trigc.load(model)
    np.testing.assert_array_equal(trigc.emulate(graph, x), ref)
    monkeypatch.setenv("TRIGC_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "rtl-cache"))
    project = trigc.compile(graph, tmp_path_factory.mktemp("rnd_v") / "p", backend="verilog",
                            clock_ns=5.0)
    result = trigc.rtlsim.run(project.path, x)
    assert result.ok and result.exact == 400, str(result)
    result = trigc.rtlsim.run(project.path, n=2000, seed=5)
    assert result.ok and result.exact == 2000, str(result)


@pytest.mark.csim
@pytest.mark.slow
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=True, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(models(), st.integers(0, 6), st.booleans())
def test_random_model_every_mode_four_way(tmp_path_factory, case, seed, wide):
    """Interpreter == fast path == C-sim on the random models re-typed so that every
    tensor rounds and overflows, with each rounding and overflow mode in turn, or with
    40-64-bit tensors (the fast path falls back to the interpreter beyond 62 bits)."""
    model, in_shape, _ = case
    x = np.random.default_rng(seed).normal(0, 6, (300, *in_shape))
    graph = trigc.load(model)
    retype(graph, seed, wide=wide)
    want = emulate(graph, x, raw=True, engine="interpreter")
    if fast.unsupported_reason(graph) is None:
        np.testing.assert_array_equal(emulate(graph, x, raw=True, engine="fast"), want)
    else:
        assert wide, fast.unsupported_reason(graph)
    project = trigc.compile(graph, tmp_path_factory.mktemp("rnd_modes") / "p")
    result = project.compare(x)
    assert result.ok, f"{result}\n{graph}"
    np.testing.assert_array_equal(project.csim(x, raw=True), want)
    # Catapult (ac_fixed.h): every mode but AP_WRAP_SM, which it refuses by layer
    sign_magnitude = [n for n in graph.nodes if n.output.type.overflow is Overflow.WRAP_SM]
    if sign_magnitude:
        with pytest.raises(PrecisionError, match="AP_WRAP_SM"):
            trigc.compile(graph, tmp_path_factory.mktemp("rnd_ac") / "p", backend="catapult")
        return
    catapult = trigc.compile(graph, tmp_path_factory.mktemp("rnd_ac") / "p", backend="catapult")
    np.testing.assert_array_equal(catapult.csim(x, raw=True), want)


@pytest.mark.csim
@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=True)
@given(models())
def test_random_model_stream(tmp_path_factory, case):
    """The same random models through ``--io stream`` (the conv ones: zero padding,
    a strided 1-D window, the flattening gather, Dense on one word), at their reuse
    factor: the stream C-sim's scheduler equals the emulator, and its measured
    latency is the plan's."""
    model, in_shape, reuse = case
    x = np.random.default_rng(2).normal(0, 4, (300, *in_shape)).astype(np.float32)
    ref = qonnx_execute(copy.deepcopy(model), x).astype(np.float64)
    graph = trigc.load(model)
    np.testing.assert_array_equal(trigc.emulate(graph, x), ref)
    linear = graph.find(trigc.ir.Op.DENSE) + graph.find(trigc.ir.Op.CONV)
    reuse = min([reuse] + [max(int(np.count_nonzero(n.inputs[1].raw)), 1) for n in linear])
    project = trigc.compile(graph, tmp_path_factory.mktemp("rnd_s") / "p", reuse=reuse,
                            io="stream")
    result = project.compare(x)
    assert result.ok, f"{result}\n{graph}"
    assert project.stream_run(x).latency == project.meta["latency_cycles"]

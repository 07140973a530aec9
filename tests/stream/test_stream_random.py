"""Random 2-D conv nets in both io modes: qonnx's executor == trigc's emulator ==
the io-parallel C-sim == the io-stream C-sim, bit for bit.

The generator draws the image size, channels, kernels, strides, paddings, depthwise
convs, max/average pooling (with padding and count_include_pad), an optional
residual branch (clone + Add) and a head (global pooling, or Flatten + Dense), with
random reuse factors; the stream design's measured latency must equal its plan."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import pytest
import trigc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers.qonnx_models import Builder, qonnx_execute  # noqa: E402

MODES = ["ROUND", "FLOOR", "HALF_UP"]


def _out(size, k, s, pad):
    return (size + pad - k) // s + 1


@st.composite
def conv_nets(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    b = Builder("random_conv")
    h, w = draw(st.integers(4, 9)), draw(st.integers(4, 9))
    c = draw(st.integers(1, 3))
    in_shape = (c, h, w)
    x = b.quant("x", 2.0 ** -draw(st.integers(2, 5)), draw(st.integers(4, 9)),
                rounding=draw(st.sampled_from(MODES)))
    for layer in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["conv", "conv", "depthwise", "maxpool", "avgpool"]))
        k = (draw(st.integers(1, min(3, h))), draw(st.integers(1, min(3, w))))
        s = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
        pads = [draw(st.integers(0, k[0] - 1)), draw(st.integers(0, k[1] - 1)),
                draw(st.integers(0, k[0] - 1)), draw(st.integers(0, k[1] - 1))]
        name = f"l{layer}"
        if kind in ("conv", "depthwise"):
            c_out = c if kind == "depthwise" else draw(st.integers(1, 4))
            group = c if kind == "depthwise" else 1
            wt = b.quant(b.const(rng.normal(0, 0.5, (c_out, c // group, *k))),
                         2.0 ** -draw(st.integers(2, 5)), draw(st.integers(2, 6)), narrow=True)
            ins = [x, wt]
            if draw(st.booleans()):
                ins.append(b.quant(b.const(rng.normal(0, 0.3, c_out)), 2.0**-5, 8))
            y = b.node("Conv", ins, name=f"{name}/Conv", kernel_shape=list(k),
                       strides=list(s), pads=pads, group=group)
            c = c_out
        elif kind == "maxpool":
            pads = [min(p, kk // 2) for p, kk in zip(pads, (*k, *k))]  # ONNX: pad < kernel
            y = b.node("MaxPool", [x], name=f"{name}/Pool", kernel_shape=list(k),
                       strides=list(s), pads=pads)
        else:
            y = b.node("AveragePool", [x], name=f"{name}/Pool", kernel_shape=list(k),
                       strides=list(s), pads=pads,
                       count_include_pad=int(draw(st.booleans())))
        h = _out(h, k[0], s[0], pads[0] + pads[2])
        w = _out(w, k[1], s[1], pads[1] + pads[3])
        if draw(st.booleans()):
            y = b.node("Relu", [y], name=f"{name}/Relu")
        x = b.quant(y, 2.0 ** -draw(st.integers(1, 4)), draw(st.integers(3, 9)),
                    signed=True, rounding=draw(st.sampled_from(MODES)))
    if draw(st.booleans()):  # a residual branch: 1x1 conv beside the identity
        wt = b.quant(b.const(rng.normal(0, 0.5, (c, c, 1, 1))), 2.0**-3, 4, narrow=True)
        r = b.quant(b.node("Conv", [x, wt], name="res/Conv", kernel_shape=[1, 1]), 2.0**-3, 8)
        x = b.quant(b.node("Add", [x, r], name="res/Add"), 2.0**-3, 9)
    if draw(st.booleans()):
        y = b.node(draw(st.sampled_from(["GlobalAveragePool", "GlobalMaxPool"])), [x],
                   name="head/Pool")
        y = b.node("Flatten", [y], name="head/Flatten", axis=1)
        n = c
    else:
        y = b.node("Flatten", [x], name="head/Flatten", axis=1)
        n = c * h * w
    n_out = draw(st.integers(1, 4))
    wt = b.quant(b.const(rng.normal(0, 0.4, (n, n_out))), 2.0**-4, 6, narrow=True)
    y = b.node("MatMul", [y, wt], name="fc/MatMul")
    out = b.quant(y, 2.0**-3, 12)
    return b.model({"x": (1, *in_shape)}, out, (1, n_out)), in_shape, draw(st.integers(1, 4))


@pytest.mark.csim
@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=True)
@given(conv_nets())
def test_random_conv_net_both_io_modes(tmp_path_factory, case):
    model, in_shape, reuse = case
    x = np.random.default_rng(5).normal(0, 3, (200, *in_shape)).astype(np.float32)
    ref = qonnx_execute(copy.deepcopy(model), x).astype(np.float64)
    graph = trigc.load(model)
    np.testing.assert_array_equal(trigc.emulate(graph, x), ref)
    linear = graph.find(trigc.ir.Op.DENSE) + graph.find(trigc.ir.Op.CONV)
    reuse = min([reuse] + [max(int(np.count_nonzero(n.inputs[1].raw)), 1) for n in linear])
    for io in ("parallel", "stream"):
        project = trigc.compile(graph, tmp_path_factory.mktemp(f"rc_{io}") / "p",
                                reuse=reuse, io=io)
        result = project.compare(x)
        assert result.ok, f"io {io}: {result}\n{graph}"
    run = project.stream_run(x)
    assert run.latency == project.meta["latency_cycles"]

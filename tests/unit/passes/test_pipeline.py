"""PIPELINE on small QONNX imports: every pass keeps the IR valid, the result is
final, and a second run of each pass changes nothing."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.graphs import Onnx
from trigc.frontends.onnx_import import import_onnx
from trigc.frontends.qonnx_builder import quantized_mlp
from trigc.ir import Op, verify
from trigc.ir.ops import IMPORT_OPS
from trigc.passes import PIPELINE, infer_precision, run_pipeline


def small_convnet():
    rng = np.random.default_rng(0)
    b = Onnx("convnet")
    x = b.quant("x", 2.0**-4, 8, name="inp/Quant")
    w1 = b.quant(b.const(rng.normal(0, 0.4, (4, 2, 3, 3))), 2.0**-4, 6, narrow=True)
    h = b.node("Conv", [x, w1, b.const(rng.normal(0, 0.1, 4))], name="conv1/Conv",
               pads=[1, 1, 1, 1], kernel_shape=[3, 3])
    h = b.node("BatchNormalization",
               [h, b.const(rng.uniform(0.5, 1.5, 4)), b.const(rng.normal(0, 0.1, 4)),
                b.const(rng.normal(0, 0.1, 4)), b.const(rng.uniform(0.5, 2, 4))],
               name="bn1/BatchNormalization")
    h = b.node("Relu", [h], name="relu1/Relu")
    h = b.quant(h, 2.0**-3, 6, signed=False, name="relu1/Quant")
    h = b.node("MaxPool", [h], name="pool/MaxPool", kernel_shape=[2, 2], strides=[2, 2])
    wd = b.quant(b.const(rng.normal(0, 0.4, (4, 1, 3, 3))), 2.0**-4, 6, narrow=True)
    h = b.node("Conv", [h, wd], name="dw/Conv", group=4, kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    h = b.quant(h, 2.0**-4, 8, name="dw/Quant")
    h = b.node("AveragePool", [h], name="avg/AveragePool", kernel_shape=[2, 2], strides=[2, 2])
    h = b.node("Flatten", [h], name="flatten/Flatten", axis=1)
    wf = b.quant(b.const(rng.normal(0, 0.3, (3, 16))), 2.0**-5, 6, narrow=True)
    h = b.node("Gemm", [h, wf, b.const(rng.normal(0, 0.1, 3))], name="fc/Gemm", transB=1)
    out = b.quant(h, 2.0**-4, 10, name="fc/Quant")
    return b.model({"x": (1, 2, 8, 8)}, out, (1, 3))


MODELS = {
    "mlp": lambda: quantized_mlp(sizes=(6, 8, 4), softmax=False),
    "mlp_softmax": lambda: quantized_mlp(sizes=(6, 8, 4), softmax=True, per_channel=True),
    "convnet": small_convnet,
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_each_pass_keeps_ir_valid_and_is_idempotent(name):
    g = import_onnx(MODELS[name]())
    verify(g)
    for p in PIPELINE:
        p(g)
        verify(g)
    verify(g, final=True)
    assert not any(n.op in IMPORT_OPS for n in g.nodes)
    for p in PIPELINE:
        changed = p(g)
        verify(g)
        assert changed is (p is infer_precision), p.__name__
    verify(g, final=True)
    x = g.inputs[0]
    xs = np.random.default_rng(1).normal(0, 2, (4, *x.shape))
    y = g(xs)
    assert y.shape == (4, *g.outputs[0].shape) and np.all(np.isfinite(y))


def test_run_pipeline_on_convnet_layout():
    g = run_pipeline(import_onnx(small_convnet()), check=True)
    ops = [n.op for n in g.nodes]
    assert ops.count(Op.TRANSPOSE) == 2  # the model's own boundaries: input, before Flatten
    assert Op.BATCHNORM not in ops and ops.count(Op.CONV) == 2
    assert all(n.attrs.channels_last for n in g.nodes if n.op in (Op.CONV, Op.MAXPOOL,
                                                                 Op.AVGPOOL))

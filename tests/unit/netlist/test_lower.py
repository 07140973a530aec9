"""trigc.netlist.lower: every final op lowered to netlist nodes equals the emulator
bit for bit (``trigc.netlist.evaluate`` is the netlist's reference semantics; the
Verilog tests prove the emitted RTL equal to it)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import trigc
from trigc.emulator import emulate
from trigc.fixed import to_float
from trigc.ir.ops import Op
from trigc.netlist import Kind, evaluate
from trigc.netlist.lower import RULES, lower
from trigc.ops import FINAL_OPS

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from helpers.qonnx_models import (  # noqa: E402
    Builder, concat_mlp, conv_branches, convnet, convnet_exact, mlp, residual_mlp,
)

REPO = Path(__file__).resolve().parents[3]
IN_SCALE, IN_BITS = 2.0**-4, 8


def random_raw_inputs(graph, n: int, seed: int = 0):
    """Raw inputs uniform over each input type, their exact float values, and the
    packed (events, elements) matrix the netlist takes."""
    rng = np.random.default_rng(seed)
    raws = []
    for t in graph.inputs:
        full = rng.integers(t.type.min_raw, t.type.max_raw + 1, size=(n, *t.shape))
        # events at full scale, 1/4 and 1/16 of it, with 0%, 50% or 90% zeros: noise at
        # full scale saturates deep models, and trigger data is often sparse
        axes = (n,) + (1,) * len(t.shape)
        shrink = rng.choice([0, 2, 4], size=axes)
        keep = rng.random((n, *t.shape)) >= rng.choice([0.0, 0.5, 0.9], size=axes)
        raws.append(np.where(keep, full >> shrink, 0))
    floats = [to_float(r, t.type) for r, t in zip(raws, graph.inputs)]
    return floats, np.concatenate([r.reshape(n, -1) for r in raws], axis=1)


def assert_lowering_exact(graph, n: int = 400):
    net = lower(graph)
    floats, packed = random_raw_inputs(graph, n)
    expected = emulate(graph, *floats, raw=True)
    expected = expected if isinstance(expected, list) else [expected]
    flat = np.concatenate([e.reshape(n, -1) for e in expected], axis=1)
    got = evaluate(net, packed)
    assert got.shape == flat.shape
    bad = np.argwhere(got != flat)
    assert bad.size == 0, f"first mismatch at event/output {bad[0]}: {got[tuple(bad[0])]} " \
                          f"vs emulator {flat[tuple(bad[0])]}"
    # the emulator's outputs are not all one value: the comparison discriminates
    assert len(np.unique(flat.astype(np.float64))) > 4
    return net


def _unary(op: str, **attrs):
    def build():
        rng = np.random.default_rng(3)
        b = Builder(op.lower())
        x = b.quant("x", IN_SCALE, IN_BITS)
        w = b.quant(b.const(rng.normal(0, 0.5, (8, 8))), 2.0**-4, 6)
        h = b.node("MatMul", [x, w])
        h = b.node(op, [h], **attrs, name=f"act/{op}")
        h = b.quant(h, 2.0**-5, 8, name="act/Quant", rounding="ROUND")
        return b.model({"x": (1, 8)}, h, (1, 8))
    return build


def _clip():
    b = Builder("clip")
    x = b.quant("x", IN_SCALE, IN_BITS)
    h = b.node("Clip", [x, b.const(-1.5), b.const(2.25)], name="clip/Clip")
    return b.model({"x": (1, 8)}, b.quant(h, 2.0**-3, 6), (1, 8))


def _binary(op: str, constant: float | None):
    def build():
        b = Builder(op.lower())
        x = b.quant("x", IN_SCALE, IN_BITS)
        other = b.const(np.full(8, constant)) if constant is not None else \
            b.quant(b.node("Relu", [x]), 2.0**-2, 5, signed=False)
        h = b.node(op, [x, other], name=f"op/{op}")
        return b.model({"x": (1, 8)}, b.quant(h, 2.0**-4, 10, rounding="HALF_DOWN"), (1, 8))
    return build


def _pool(op: str, **attrs):
    def build():
        b = Builder(op.lower())
        x = b.quant("x", 2.0**-3, 7)
        h = b.node(op, [x], **attrs, name=f"pool/{op}")
        shape = {"GlobalAveragePool": (1, 3, 1, 1), "GlobalMaxPool": (1, 3, 1, 1)}.get(
            op, (1, 3, 3, 3) if attrs.get("strides") == [2, 2] else (1, 3, 5, 5))
        return b.model({"x": (1, 3, 5, 5)}, b.quant(h, 2.0**-4, 9), shape)
    return build


def _lut(fn: str):
    def build():
        b = Builder("lut")
        x = b.quant("x", IN_SCALE, IN_BITS)
        h = b.node(fn, [x], name=f"act/{fn}")
        return b.model({"x": (1, 8)}, b.quant(h, 2.0**-7, 8, signed=fn == "Tanh"), (1, 8))
    return build


def _resize():
    """Nearest upsampling by 2 x 3 (ONNX Resize, as torch's nn.Upsample exports it)."""
    b = Builder("resize")
    x = b.quant("x", 2.0**-3, 7)
    scales = b.const(np.array([1, 1, 2, 3], dtype=np.float32), "scales")
    h = b.node("Resize", [x, "", scales], mode="nearest", nearest_mode="floor",
               coordinate_transformation_mode="asymmetric", name="up/Resize")
    return b.model({"x": (1, 3, 5, 5)}, b.quant(h, 2.0**-4, 9), (1, 3, 10, 15))


MODELS = {
    "mlp": lambda: mlp(),
    "mlp_softmax": lambda: mlp(softmax=True),
    "convnet_2d_avg3": lambda: convnet(dims=2, avg_kernel=3),
    "convnet_1d": lambda: convnet(dims=1),
    "convnet_exact": lambda: convnet_exact(),
    "residual_add": lambda: residual_mlp(),
    "concat": lambda: concat_mlp(),
    "conv_branches": lambda: conv_branches(),
    "leaky_0.1": _unary("LeakyRelu", alpha=0.1),
    "leaky_neg": _unary("LeakyRelu", alpha=-0.375),
    "abs": _unary("Abs"),
    "sigmoid": _lut("Sigmoid"),
    "tanh": _lut("Tanh"),
    "selu": _unary("Selu"),
    "clip": _clip,
    "add_const": _binary("Add", 0.6875),
    "sub_runtime": _binary("Sub", None),
    "mul_runtime": _binary("Mul", None),
    "mul_const": _binary("Mul", -0.8125),
    "div_const_3": _binary("Div", 3.0),
    "div_const_neg_po2": _binary("Div", -0.25),
    "maxpool_pad": _pool("MaxPool", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    "avgpool_pad_3x3": _pool("AveragePool", kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                             count_include_pad=0),
    "avgpool_2x2": _pool("AveragePool", kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1]),
    "global_avg": _pool("GlobalAveragePool"),
    "global_max": _pool("GlobalMaxPool"),
    "resize": _resize,
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_lowering_equals_the_emulator(name):
    assert_lowering_exact(trigc.load(MODELS[name]()))


REFERENCE = ["jet_tagger_qkeras", "jet_tagger_brevitas", "conv_tagger", "anomaly_ae"]


@pytest.mark.parametrize("model", REFERENCE)
def test_reference_models_lower_exactly(model):
    net = assert_lowering_exact(trigc.load(REPO / "models" / model / f"{model}.onnx"), n=1000)
    kinds = {n.kind for n in net.nodes}
    assert Kind.MUL not in kinds or model == "anomaly_ae"  # constant weights: no multiplier


def test_every_final_op_has_a_lowering_rule():
    assert set(RULES) == set(FINAL_OPS)


def test_models_cover_every_final_op():
    seen = set()
    for build in MODELS.values():
        seen |= {n.op for n in trigc.load(build()).nodes}
    assert FINAL_OPS - seen <= {Op.SIGN, Op.RELU}, FINAL_OPS - seen  # below


def test_layers_are_attributed():
    g = trigc.load(mlp())
    net = lower(g)
    names = {n.name for n in g.nodes}
    assert {n.layer for n in net.nodes if n.kind not in (Kind.INPUT, Kind.CONST)} <= names | {
        "output"}


def test_relu_and_sign_nodes():
    """Relu and Sign usually fold into casts; here they stand alone (hand-built IR)."""
    from tests.unit.graphs import graph, inp, node, outputs
    from trigc.fixed import FixedType

    g = graph("relu_sign")
    x = inp(g, "x", (8,), FixedType.parse("fixed<8,4>"))
    r = node(g, Op.RELU, [x], type=FixedType.parse("ufixed<7,3>"), name="relu")
    s = node(g, Op.SIGN, [x], type=FixedType.parse("fixed<2,2>"), name="sign")
    outputs(g, r, s)
    assert_lowering_exact(g)

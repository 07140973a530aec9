"""ONNX ``Resize`` (mode 'nearest', integer scale factors on the spatial axes) as pure
wiring (``Op.RESIZE``: output pixel ``o`` copies input pixel ``o // factor``).

Each graph runs against a numpy reference (``np.repeat``; exact) and onnxruntime
(exact: nearest upsampling copies values), through the emulator (interpreter and
fast path), the g++ C-sim (a gather with a constant index table) and the Verilog
netlist (wires). The coordinate modes accepted are those whose ONNX formulas map
``o`` to ``o // factor``, checked here against onnxruntime itself; every other variant
is refused with a typed one-line error naming the node and the fix."""

from __future__ import annotations

import io
import itertools
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import trigc
from trigc.emulator import emulate, fast
from trigc.errors import UnsupportedOpError
from trigc.frontends.onnx_import import _nearest_sources
from trigc.ir.ops import Op
from trigc.netlist import evaluate
from trigc.netlist.lower import lower

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from helpers.qonnx_models import Builder, qonnx_execute  # noqa: E402

IN_SCALE, IN_BITS = 2.0**-3, 6
FIX = "use mode='nearest' with an integer scale_factor, or ConvTranspose"


def _init(b: Builder, value, dtype, base: str) -> str:
    name = b._fresh(base)
    b.initializers.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
    return name


def resize_graph(in_shape=(1, 2, 3, 4), scales=(1, 1, 2, 3), sizes=None, name="up/Resize",
                 **attrs):
    """x -> Quant -> Resize (scales, or sizes when given)."""
    attrs = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric",
             "nearest_mode": "floor", **attrs}
    b = Builder("resize")
    x = b.quant("x", IN_SCALE, IN_BITS)
    if sizes is not None:
        ins = [x, "", "", _init(b, sizes, np.int64, "sizes")]
        out_shape = tuple(sizes)
    else:
        ins = [x, "", _init(b, scales, np.float32, "scales")]
        out_shape = tuple(int(round(d * s)) for d, s in zip(in_shape, scales))
    y = b.node("Resize", ins, name=name, **attrs)
    return b.model({"x": in_shape}, y, out_shape)


def conv_resize_conv():
    """A decoder-like block: Conv -> Relu -> Quant -> Resize x2 -> Conv -> Quant."""
    rng = np.random.default_rng(4)
    b = Builder("decoder")
    x = b.quant("x", IN_SCALE, IN_BITS)
    w1 = b.quant(b.const(rng.normal(0, 0.5, (3, 2, 3, 3))), 2.0**-4, 6)
    h = b.node("Conv", [x, w1], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="enc/Conv")
    h = b.quant(b.node("Relu", [h], name="enc/Relu"), 2.0**-3, 6, signed=False,
                name="enc/Quant")
    h = b.node("Resize", [h, "", _init(b, [1, 1, 2, 2], np.float32, "scales")],
               mode="nearest", coordinate_transformation_mode="asymmetric",
               nearest_mode="floor", name="up/Resize")
    w2 = b.quant(b.const(rng.normal(0, 0.5, (2, 3, 3, 3))), 2.0**-4, 6)
    h = b.node("Conv", [h, w2], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="dec/Conv")
    y = b.quant(h, 2.0**-5, 12, name="dec/Quant")
    return b.model({"x": (1, 2, 4, 4)}, y, (1, 2, 8, 8))


def _q(x):
    lo, hi = -(1 << (IN_BITS - 1)), (1 << (IN_BITS - 1)) - 1
    return np.clip(np.round(x / IN_SCALE), lo, hi) * IN_SCALE


def reference(x, factors):
    y = _q(x.astype(np.float64))
    for axis, f in enumerate(factors, start=2):
        y = np.repeat(y, f, axis=axis)
    return y


def _ort_resize(x, in_shape, scales=None, sizes=None, **attrs):
    """onnxruntime's float Resize alone (the model's Quant removed)."""
    import onnxruntime as ort

    inits, ins = [], ["x", ""]
    if sizes is not None:
        ins += ["", "sizes"]
        sizes = (len(x), *sizes[1:])
        inits.append(numpy_helper.from_array(np.asarray(sizes, np.int64), "sizes"))
    else:
        ins.append("scales")
        inits.append(numpy_helper.from_array(np.asarray(scales, np.float32), "scales"))
    node = helper.make_node("Resize", ins, ["y"], mode="nearest", **attrs)
    g = helper.make_graph([node], "r", [helper.make_tensor_value_info("x", 1, None)],
                          [helper.make_tensor_value_info("y", 1, None)], inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x.astype(np.float32)})[0].astype(np.float64)


def _netlist(graph, x):
    t = graph.inputs[0]
    raw = np.asarray(emulate(graph, x, raw=True, engine="interpreter"))
    x_raw = np.clip(np.round(x.astype(np.float64) * 2.0**t.type.frac_bits),
                    t.type.min_raw, t.type.max_raw).astype(np.int64)
    got = evaluate(lower(graph), x_raw.reshape(len(x), -1))
    return got.reshape(raw.shape), raw


def _all_agree(graph, x, want, tmp_path):
    got = trigc.emulate(graph, x, engine="interpreter")
    np.testing.assert_array_equal(got, want)
    if fast.compiler() is not None:
        assert fast.unsupported_reason(graph) is None
        np.testing.assert_array_equal(trigc.emulate(graph, x, engine="fast"), want)
    net, raw = _netlist(graph, x)
    np.testing.assert_array_equal(net, raw)
    if shutil.which("g++") is not None:
        project = trigc.compile(graph, tmp_path / "prj")
        result = project.compare(x[:100])
        assert result.ok, str(result)
        est = project.estimate()
        (layer,) = [e for e in est.layers if e.op == "Resize"]
        assert layer.resources.lut == 0 and layer.resources.dsp == 0  # wiring only


CASES = {  # name: (input shape, scales or None, sizes or None, attributes)
    "torch_2x2": ((1, 2, 3, 4), (1, 1, 2, 2), None, {}),
    "onnx_defaults_2x3": ((1, 2, 3, 4), (1, 1, 2, 3), None,
                          {"coordinate_transformation_mode": "half_pixel",
                           "nearest_mode": "round_prefer_floor"}),
    "sizes_3x1": ((1, 3, 2, 5), None, (1, 3, 6, 5), {}),
    "pytorch_half_pixel_1d_x4": ((1, 2, 5), (1, 1, 4), None,
                                 {"coordinate_transformation_mode": "pytorch_half_pixel",
                                  "nearest_mode": "round_prefer_ceil"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_nearest_upsampling_is_exact_everywhere(case, tmp_path):
    in_shape, scales, sizes, attrs = CASES[case]
    graph = trigc.load(resize_graph(in_shape, scales or (1,) * len(in_shape), sizes, **attrs))
    (node,) = [n for n in graph.nodes if n.op is Op.RESIZE]
    factors = tuple(int(o // i) for i, o in zip(in_shape[2:],
                                                 (sizes or [d * s for d, s in
                                                            zip(in_shape, scales)])[2:]))
    assert node.attrs.factors == factors and node.attrs.channels_last
    x = np.random.default_rng(0).normal(0, 2, (200, *in_shape[1:])).astype(np.float32)
    want = reference(x, factors)
    _all_agree(graph, x, want, tmp_path)
    ort_attrs = {"coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor",
                 **attrs}
    np.testing.assert_array_equal(
        _ort_resize(_q(x.astype(np.float64)), in_shape, scales, sizes, **ort_attrs), want)


def test_between_convolutions_it_runs_channels_last_without_transposes(tmp_path):
    model = conv_resize_conv()
    graph = trigc.load(model)
    ops = [n.op for n in graph.nodes]
    # only the model's own channels-first boundaries keep a transpose
    assert ops.count(Op.TRANSPOSE) == 2 and ops[0] is ops[-1] is Op.TRANSPOSE
    x = np.random.default_rng(1).normal(0, 2, (150, 2, 4, 4)).astype(np.float32)
    _all_agree(graph, x, qonnx_execute(model, x).astype(np.float64), tmp_path)


def test_torch_upsample_export(tmp_path):
    torch = pytest.importorskip("torch")
    net = torch.nn.Upsample(scale_factor=2, mode="nearest")
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, torch.zeros(1, 2, 3, 4), buf, opset_version=13, dynamo=False,
                          input_names=["x"], dynamic_axes={"x": {0: "N"}})
    model = onnx.load_from_string(buf.getvalue())
    (node,) = [n for n in model.graph.node if n.op_type == "Resize"]
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    assert attrs["coordinate_transformation_mode"] == b"asymmetric"
    assert attrs["nearest_mode"] == b"floor"
    graph = trigc.load(model, precision={"input": "fixed<6,3,RND_CONV,SAT>"})
    assert [n.attrs.factors for n in graph.nodes if n.op is Op.RESIZE] == [(2, 2)]
    x = np.random.default_rng(2).normal(0, 2, (100, 2, 3, 4)).astype(np.float32)
    xq = _q(x.astype(np.float64))
    with torch.no_grad():
        want = net(torch.from_numpy(xq)).numpy()
    _all_agree(graph, x, want, tmp_path)


@pytest.mark.parametrize("coord,nearest", itertools.product(
    ["asymmetric", "half_pixel", "pytorch_half_pixel", "align_corners",
     "tf_half_pixel_for_nn"],
    ["floor", "ceil", "round_prefer_floor", "round_prefer_ceil"]))
def test_accepted_mappings_are_onnxruntimes(coord, nearest):
    """The importer's formulas give onnxruntime's source pixel for every coordinate and
    nearest mode, factors 2 and 3; it accepts exactly those equal to o // factor."""
    n_in = 4
    for f in (2, 3):
        x = np.arange(n_in, dtype=np.float64).reshape(1, 1, n_in)
        got = _ort_resize(x, x.shape, (1, 1, f), coordinate_transformation_mode=coord,
                          nearest_mode=nearest).ravel().astype(np.int64)
        np.testing.assert_array_equal(_nearest_sources(coord, nearest, n_in, f), got)
    accepted = (coord, nearest) in {("asymmetric", "floor"), ("tf_half_pixel_for_nn", "floor")} \
        or coord in ("half_pixel", "pytorch_half_pixel") and nearest.startswith("round")
    builds = [resize_graph((1, 2, 4), (1, 1, f), coordinate_transformation_mode=coord,
                           nearest_mode=nearest) for f in (2, 3)]
    if accepted:
        for m in builds:
            trigc.load(m)
    else:
        with pytest.raises(UnsupportedOpError, match=r"up/Resize.*does not copy input pixel"):
            for m in builds:
                trigc.load(m)


@pytest.mark.parametrize("kwargs,message", [
    ({"mode": "linear"}, r"mode 'linear' is not supported"),
    ({"mode": "cubic"}, r"mode 'cubic' is not supported"),
    ({"scales": (1, 1, 0.5, 0.5)}, r"scale 0\.5 on axis 2 is down-sampling"),
    ({"scales": (1, 1, 1.5, 2)}, r"scale 1\.5 on axis 2 is a non-integer factor"),
    ({"scales": (1, 2, 2, 2)}, r"scales \[1\.0, 2\.0, 2\.0, 2\.0\] resize the batch or channel axis"),
])
def test_unsupported_variants_are_refused_by_name(kwargs, message):
    with pytest.raises(UnsupportedOpError, match=r"Node 'up/Resize' \(Resize\): " + message
                       + ".*" + FIX.replace("(", r"\(").replace(")", r"\)")):
        trigc.load(resize_graph(**kwargs))

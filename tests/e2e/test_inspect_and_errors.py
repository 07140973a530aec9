"""The printed IR, the soundness of the inferred types, and trigc's typed errors."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import trigc
from trigc.emulator import assign
from trigc.ops import OPS, Value
from trigc.fixed import FixedType, Overflow, quantize, requantize
from trigc.ir.ops import Op
from helpers.qonnx_models import Builder, convnet_exact, mlp, qonnx_execute
from e2e_util import exact_execute
from e2e_util import MLP_SHAPE, quant_inputs


# ---- the printed IR ---------------------------------------------------------------

def _shape(shape) -> str:
    return "[" + "x".join(str(d) for d in shape) + "]"


def check_printed(graph) -> str:
    """Every input, node and output has a line; every tensor is printed with its
    shape and its final type; no '?' (untyped) remains."""
    text = str(graph)
    lines = text.splitlines()
    assert lines[0] == f"graph {graph.name}"
    assert len(lines) == 1 + len(graph.inputs) + len(graph.nodes) + len(graph.outputs)
    assert ":?" not in text
    body = lines[1 + len(graph.inputs):1 + len(graph.inputs) + len(graph.nodes)]
    for t, line in zip(graph.inputs, lines[1:]):
        assert line.strip() == f"input  {t.name}{_shape(t.shape)}:{t.type}"
    for node, line in zip(graph.nodes, body):
        assert line.strip().startswith(f"{node.name}: {node.op.value}("), line
        for t in (*node.inputs, *node.outputs):
            kind = "const " if t.is_constant else ""
            assert f"{kind}{t.name}{_shape(t.shape)}:{t.type}" in line, (t.name, line)
        if node.source and node.source != node.name:
            assert line.endswith(f"# {node.source}")
        if getattr(node.attrs, "accum_type", None) is not None:
            assert f"accum_type={node.attrs.accum_type}" in line
    for t, line in zip(graph.outputs, lines[-len(graph.outputs):]):
        assert line.strip() == f"output {t.name}{_shape(t.shape)}:{t.type}"
    return text


def test_print_mlp():
    graph = trigc.load(mlp())
    text = check_printed(graph)
    # Relu -> unsigned saturating Quant is one Cast (relu_into_cast)
    assert [n.op for n in graph.nodes] == [Op.DENSE, Op.CAST] * 3 + [Op.DENSE]
    assert "input  x[16]:fixed<8,4,RND_CONV,SAT>" in text
    for i in range(4):
        assert f"# dense_{i}" in text


def test_print_convnet():
    graph = trigc.load(convnet_exact())
    check_printed(graph)
    ops = {n.op for n in graph.nodes}
    assert {Op.CONV, Op.MAXPOOL, Op.AVGPOOL, Op.DENSE, Op.RESHAPE, Op.TRANSPOSE} <= ops


@pytest.mark.slow
def test_print_brevitas_mlp(brevitas_mlp):
    _, path = brevitas_mlp
    check_printed(trigc.load(path))


# ---- the inferred types hold their values -----------------------------------------

def dense_bounds(node) -> tuple[int, int, int]:
    """Independent exact bounds (lo_raw, hi_raw, frac) of a Dense's accumulator,
    from its input type's range and its constant weights and bias."""
    x, w, *rest = node.inputs
    w_raw = quantize(w.value, w.type).astype(object)
    frac = x.type.frac_bits + w.type.frac_bits
    lo_x, hi_x = x.type.min_raw, x.type.max_raw
    hi = np.maximum(lo_x * w_raw, hi_x * w_raw).sum(axis=0)
    lo = np.minimum(lo_x * w_raw, hi_x * w_raw).sum(axis=0)
    if rest:
        b = rest[0]
        b_raw = quantize(b.value, b.type).astype(object)
        if b.type.frac_bits > frac:
            shift = b.type.frac_bits - frac
            lo, hi, frac = lo * (1 << shift), hi * (1 << shift), b.type.frac_bits
            b_aligned = b_raw
        else:
            b_aligned = b_raw * (1 << (frac - b.type.frac_bits))
        lo, hi = lo + b_aligned, hi + b_aligned
    return int(lo.min()), int(hi.max()), frac


def trace_exact(graph, x):
    """Run the graph node by node; yield (node, exact result, assigned raw)."""
    env = {id(t): Value(t.raw, t.type.frac_bits) for t in graph.tensors.values()
           if t.is_constant}
    (inp,) = graph.inputs
    env[id(inp)] = Value(quantize(x, inp.type), inp.type.frac_bits)
    for node in graph.nodes:
        exact = OPS[node.op].kernel(node, [env[id(t)] for t in node.inputs])
        out = node.output
        raw = assign(exact, out.type)
        env[id(out)] = Value(raw, out.type.frac_bits)
        yield node, exact, raw


def extreme_inputs(graph, n=400, seed=0):
    """Inputs at the input type's limits (all max, all min, random sign patterns of
    the limits) plus tie-heavy random values."""
    (inp,) = graph.inputs
    t = inp.type
    lo, hi = t.min_value, t.max_value
    rng = np.random.default_rng(seed)
    corners = np.where(rng.integers(0, 2, (n, *inp.shape)) == 1, hi, lo)
    rest = quant_inputs(inp.shape, t.lsb, t.width, t.signed, n=n, seed=seed)
    return np.concatenate([np.full((1, *inp.shape), hi), np.full((1, *inp.shape), lo),
                           corners, rest]).astype(np.float64)


@pytest.mark.slow
def test_brevitas_mlp_types_hold_their_bounds(brevitas_mlp):
    """Statically: every Dense accumulator type is exactly the narrowest type that
    holds the independently computed worst case (input type range x weights + bias),
    on a grid fine enough for every product; every non-saturating Dense output is at
    least as wide as its accumulator.

    Dynamically: on extreme and random inputs, no tensor of a wrapping (inferred)
    type ever overflows or loses a fractional bit."""
    _, path = brevitas_mlp
    graph = trigc.load(path)
    dense = graph.find(Op.DENSE)
    assert len(dense) == 4
    for node in dense:
        accum = node.attrs.accum_type
        lo, hi, frac = dense_bounds(node)
        assert accum == FixedType.for_raw_range(lo, hi, frac), (node.name, accum)
        out = node.output.type
        assert out.overflow is Overflow.WRAP  # nothing saturates a Dense here
        assert out.integer_bits >= accum.integer_bits, (node.name, out, accum)
        assert out.frac_bits >= accum.frac_bits, (node.name, out, accum)

    checked = 0
    for node, exact, raw in trace_exact(graph, extreme_inputs(graph)):
        t = node.output.type
        if t.overflow is not Overflow.WRAP:
            continue  # a Quant's saturation is part of the model
        assert exact.den is None and t.frac_bits >= exact.frac, node.name
        unwrapped = requantize(np.asarray(exact.raw), exact.frac, t, wrap=False)
        np.testing.assert_array_equal(unwrapped, raw, err_msg=f"{node.name} overflows {t}")
        assert raw.min() >= t.min_raw and raw.max() <= t.max_raw
        checked += 1
    assert checked == 4


# ---- errors -------------------------------------------------------------------------

def small_model(first="Relu", **quant_kw):
    b = Builder("small")
    x = b.quant("x", 2.0**-4, 8, **quant_kw)
    h = b.node(first, [x], name=f"layer1/{first}")
    return b.model({"x": (1, 8)}, h, (1, 8))


def test_unsupported_op_names_the_node():
    with pytest.raises(trigc.UnsupportedOpError, match=r"Node 'gelu/Erf'.*'Erf'"):
        b = Builder("erf")
        x = b.quant("x", 2.0**-4, 8)
        h = b.node("Erf", [x], name="gelu/Erf")
        trigc.load(b.model({"x": (1, 8)}, h, (1, 8)))


@pytest.mark.parametrize("dims", [("N", "D"), (1, "D"), ("N", 8, "T")])
def test_dynamic_non_batch_shape(dims):
    b = Builder("dyn")
    x = b.quant("x", 2.0**-4, 8)
    h = b.node("Relu", [x], name="act/Relu")
    with pytest.raises(trigc.ModelError, match=r"'x' has dynamic shape.*only the first"):
        trigc.load(b.model({"x": dims}, h, dims))


def test_dynamic_batch_is_fine():
    b = Builder("dyn_batch")
    x = b.quant("x", 2.0**-4, 8)
    h = b.node("Relu", [x], name="act/Relu")
    graph = trigc.load(b.model({"x": ("N", 8)}, h, ("N", 8)))
    assert graph.inputs[0].shape == (8,)


def test_missing_file(tmp_path):
    with pytest.raises(trigc.ModelError, match="does not exist"):
        trigc.load(tmp_path / "no_such_model.onnx")


@pytest.mark.parametrize("data", [
    b"garbage bytes \x00\xff\x13",
    bytes(range(256)),
    b"\x08\x07" + b"\xff" * 50,
], ids=["text", "all_bytes", "truncated_varint"])
def test_garbage_file(tmp_path, data):
    path = tmp_path / "garbage.onnx"
    path.write_bytes(data)
    with pytest.raises(trigc.ModelError, match="not a valid ONNX file: it is truncated or corrupt"):
        trigc.load(path)


def test_empty_file(tmp_path):
    """An empty file parses as an empty protobuf: still a ModelError."""
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    with pytest.raises(trigc.ModelError):
        trigc.load(path)


def test_not_a_model():
    with pytest.raises(trigc.ModelError, match="Expected an ONNX ModelProto"):
        trigc.load({"not": "a model"})


def test_ceil_rounding_on_an_activation():
    b = Builder("ceil")
    x = b.quant("x", 2.0**-4, 8)
    h = b.quant(b.node("Relu", [x], name="act/Relu"), 2.0**-3, 6, rounding="CEIL",
                name="act/Quant")
    with pytest.raises(trigc.UnsupportedOpError, match=r"layer 'act'.*'CEIL'"):
        trigc.load(b.model({"x": (1, 8)}, h, (1, 8)))


def test_ceil_rounding_on_weights_is_folded():
    """On constant weights any QONNX rounding mode is fine: it is folded away."""
    rng = np.random.default_rng(0)
    b = Builder("ceil_w")
    x = b.quant("x", 2.0**-4, 8)
    w = b.quant(b.const(rng.normal(0, 0.5, (8, 4))), 2.0**-4, 6, rounding="CEIL")
    model = b.model({"x": (1, 8)}, b.node("MatMul", [x, w], name="fc/MatMul"), (1, 4))
    x_in = quant_inputs((8,), 2.0**-4, 8)
    np.testing.assert_array_equal(trigc.emulate(trigc.load(model), x_in),
                                  qonnx_execute(model, x_in))


def unquantized_input_model():
    rng = np.random.default_rng(1)
    b = Builder("float_input")
    w = b.quant(b.const(rng.normal(0, 0.5, (8, 4))), 2.0**-4, 6, narrow=True)
    h = b.node("MatMul", ["x", w], name="fc/MatMul")
    h = b.quant(b.node("Relu", [h], name="act/Relu"), 2.0**-6, 12, signed=False,
                name="act/Quant")
    return b.model({"x": (1, 8)}, h, (1, 4))


@pytest.mark.parametrize("key", ["input", "x"])
def test_unquantized_input_needs_a_precision(key):
    model = unquantized_input_model()
    with pytest.raises(trigc.PrecisionError, match=r"Model input 'x' .*has no fixed-point type.*precision="):
        trigc.load(model)
    graph = trigc.load(model, precision={key: "fixed<16,6>"})
    assert graph.inputs[0].type == FixedType.parse("fixed<16,6>")
    # inputs that fixed<16,6> holds exactly: the result is then exact
    x_in = (np.random.default_rng(2).integers(-2**15, 2**15, (2000, 8)) * 2.0**-10)
    x_in = x_in.astype(np.float32)
    np.testing.assert_array_equal(trigc.emulate(graph, x_in), qonnx_execute(model, x_in))


def test_non_power_of_two_input_quant_needs_a_precision():
    """An input Quant with a non-power-of-two scale (or a zero point) is lowered to
    a rescale chain, which cannot be the input's type: the input needs a type."""
    b = Builder("np2_input")
    x = b.quant("x", 0.0123, 8, zp=3.0)
    model = b.model({"x": (1, 8)}, b.node("Relu", [x], name="act/Relu"), (1, 8))
    with pytest.raises(trigc.PrecisionError, match="'x'"):
        trigc.load(model)
    graph = trigc.load(model, precision={"input": "fixed<16,8,RND_CONV,SAT>"})
    x_in = (np.random.default_rng(3).integers(-2**15, 2**15, (2000, 8)) * 2.0**-8)
    got = trigc.emulate(graph, x_in.astype(np.float32))
    # exact semantics: the Quant in rational arithmetic with the stored float32
    # scale, then Relu (e2e_util.exact_execute); trigc must equal it
    exact, decisions = exact_execute(model, x_in.astype(np.float32))
    np.testing.assert_array_equal(got, exact)
    assert len(np.unique(exact)) >= 16
    # the float32 reference rounds x / 0.0123 and the rescale to float32 (see
    # test_qonnx_exact.test_non_power_of_two_scale_and_zero_point); measured
    # separately: here no input lands within float32 rounding of a tie, so only the
    # rescale differs (a few float32 roundings: relative 2**-22)
    ref = qonnx_execute(model, x_in.astype(np.float32))
    np.testing.assert_allclose(ref, exact, rtol=2.0**-22, atol=0)


def test_unknown_precision_key():
    with pytest.raises(trigc.ConfigError, match=r"\['dense_9'\].*known layers"):
        trigc.load(mlp(), precision={"dense_9": "fixed<16,6>"})


def test_invalid_precision_value():
    with pytest.raises(trigc.PrecisionError, match="needs both width and integer bits"):
        trigc.load(mlp(), precision={"dense_0": "fixed<16>"})
    with pytest.raises(trigc.ConfigError, match="must be a FixedType or a string"):
        trigc.load(mlp(), precision={"dense_0": 16})


def test_too_narrow_override_is_reported(caplog):
    """dense_0's accumulator is fixed<15,7>: fixed<6,2> lacks 5 integer bits."""
    with caplog.at_level(logging.WARNING):
        graph = trigc.load(mlp(), precision={"dense_0": "fixed<6,2>"})
    (report,) = graph.precision_report
    assert report.layer == "dense_0"
    assert report.needed_bits == 5
    assert report.type == FixedType.parse("fixed<6,2>")
    assert "layer 'dense_0'" in str(report) and "5 more integer bit(s)" in str(report)
    assert any("dense_0" in r.getMessage() for r in caplog.records)
    (dense0,) = [n for n in graph.nodes if n.source == "dense_0"]
    assert dense0.output.type == FixedType.parse("fixed<6,2>")
    assert f"{dense0.output.name}[64]:fixed<6,2>" in str(graph)


def test_wide_enough_override_is_not_reported():
    graph = trigc.load(mlp(), precision={"dense_0": "fixed<20,10>"})
    assert graph.precision_report == []
    x_in = quant_inputs(MLP_SHAPE, 2.0**-4, 8)
    np.testing.assert_array_equal(trigc.emulate(graph, x_in), qonnx_execute(mlp(), x_in))


@pytest.mark.slow
def test_too_narrow_override_on_brevitas_layer(brevitas_mlp):
    """The default (dynamo) export names nodes 'node_linear', 'node_linear_1', ...;
    trigc names layers after the torch module path recorded in the node metadata,
    and overrides use those names."""
    _, path = brevitas_mlp
    dense = trigc.load(path).find(Op.DENSE)[1]
    assert not dense.source.startswith("node_")
    graph = trigc.load(path, precision={dense.name: "fixed<6,2>"})
    (report,) = graph.precision_report
    assert report.layer == dense.source and report.needed_bits >= 1
    assert f"layer '{dense.source}'" in str(report)

"""The emulator's fast path (trigc.emulator.fast, a C kernel per graph) equals the
interpreter bit for bit: every final op, on its own tiny model, under output types
of every rounding and overflow mode (narrowed so that they round and overflow) and
widened to 40-64 bits; plus the fallback to the interpreter (logged once), the
input-quantization corner cases and the build cache."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import numpy as np
import pytest

import trigc
from trigc.emulator import emulate, fast
from trigc.errors import PrecisionError, UnsupportedOpError
from trigc.fixed import FixedType, Overflow, Rounding
from trigc.ir.ops import Op, ReshapeAttrs
from trigc.ops import FINAL_OPS

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from helpers.qonnx_models import (  # noqa: E402
    Builder, concat_mlp, conv_branches, convnet, convnet_exact, mlp, residual_mlp,
)
from helpers.retype import retype  # noqa: E402
from tests.unit.graphs import const, graph, inp, node, outputs  # noqa: E402

pytestmark = pytest.mark.skipif(fast.compiler() is None, reason="no C compiler")


def _one_op(op: str, inputs: str = "x", shape=(1, 8), out_shape=None, signed=True,
            **attrs):
    """A model of one ONNX op between two Quant nodes; ``inputs``: "x" (one),
    "xc" (x and a constant), "xx" (x and a ReLU of x)."""
    constant = attrs.pop("constant", None)

    def build():
        rng = np.random.default_rng(len(op))
        b = Builder(op.lower())
        x = b.quant("x", 2.0**-4, 8)
        if op.startswith("Dense"):
            w = b.quant(b.const(rng.normal(0, 0.5, (shape[1], 6))), 2.0**-4, 6)
            x = b.node("MatMul", [x, w])
            ins = [x]
        elif inputs == "xc":
            ins = [x, b.const(np.full(shape[1:], constant))]
        elif inputs == "clip":
            ins = [x, b.const(-1.5), b.const(2.25)]
        elif inputs == "xx":
            ins = [x, b.quant(b.node("Relu", [x]), 2.0**-2, 5, signed=False)]
        else:
            ins = [x]
        if op.startswith("Dense"):
            h = b.node(op[5:], ins, **attrs) if op != "Dense" else x
        else:
            h = b.node(op, ins, **attrs)
        h = b.quant(h, 2.0**-5, 10, signed=signed, rounding="HALF_DOWN")
        return b.model({"x": shape}, h, out_shape or ((1, 6) if op.startswith("Dense")
                                                      else shape))
    return build


def _resize():
    """Nearest upsampling by 2 x 3 (ONNX Resize, as torch's nn.Upsample exports it)."""
    b = Builder("resize")
    x = b.quant("x", 2.0**-3, 7)
    scales = b.const(np.array([1, 1, 2, 3], dtype=np.float32), "scales")
    h = b.node("Resize", [x, "", scales], mode="nearest", nearest_mode="floor",
               coordinate_transformation_mode="asymmetric", name="up/Resize")
    return b.model({"x": (1, 3, 5, 5)}, b.quant(h, 2.0**-4, 9), (1, 3, 10, 15))


POOL_IN = (1, 3, 5, 5)
MODELS = {
    "mlp": lambda: mlp(),
    "mlp_softmax": lambda: mlp(softmax=True),
    "mlp_per_channel": lambda: mlp(per_channel=True),
    "convnet_2d": lambda: convnet(dims=2, avg_kernel=3),
    "convnet_1d": lambda: convnet(dims=1),
    "convnet_exact": lambda: convnet_exact(),
    "residual": lambda: residual_mlp(),
    "concat": lambda: concat_mlp(),
    "conv_branches": lambda: conv_branches(),
    "dense": _one_op("Dense"),
    "dense_sigmoid": _one_op("DenseSigmoid", signed=False),
    "dense_tanh": _one_op("DenseTanh"),
    "dense_selu": _one_op("DenseSelu"),
    "leaky": _one_op("LeakyRelu", alpha=0.1),
    "leaky_negative": _one_op("LeakyRelu", alpha=-0.375),
    "abs": _one_op("Abs"),
    "clip": _one_op("Clip", "clip"),
    "add_const": _one_op("Add", "xc", constant=0.6875),
    "sub_runtime": _one_op("Sub", "xx"),
    "mul_runtime": _one_op("Mul", "xx"),
    "mul_const": _one_op("Mul", "xc", constant=-0.8125),
    "div_3": _one_op("Div", "xc", constant=3.0),
    "div_neg_po2": _one_op("Div", "xc", constant=-0.25),
    "maxpool_pad": _one_op("MaxPool", shape=POOL_IN, kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    "avgpool_pad": _one_op("AveragePool", shape=POOL_IN, kernel_shape=[3, 3],
                           pads=[1, 1, 1, 1], count_include_pad=0),
    "avgpool_2x2": _one_op("AveragePool", shape=POOL_IN, out_shape=(1, 3, 3, 3),
                           kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1]),
    "global_avg": _one_op("GlobalAveragePool", shape=POOL_IN, out_shape=(1, 3, 1, 1)),
    "global_max": _one_op("GlobalMaxPool", shape=POOL_IN, out_shape=(1, 3, 1, 1)),
    "resize": _resize,
}


def relu_sign_graph():
    """Relu and Sign usually fold into casts: hand-built here."""
    g = graph("relu_sign")
    x = inp(g, "x", (8,), FixedType.parse("fixed<8,4>"))
    r = node(g, Op.RELU, [x], type=FixedType.parse("ufixed<7,3>"), name="relu")
    s = node(g, Op.SIGN, [x], type=FixedType.parse("fixed<2,2>"), name="sign")
    m = node(g, Op.MUL, [r, const(g, np.linspace(-2, 2, 8), "k", FixedType.parse("fixed<6,3>"))],
             type=FixedType.parse("fixed<12,6,RND,SAT_SYM>"), name="mul")
    return outputs(g, r, s, m)


def load(name: str):
    return relu_sign_graph() if name == "relu_sign" else trigc.load(MODELS[name]())


def inputs_for(g, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    xs = []
    for t in g.inputs:
        span = max(abs(t.type.min_value), abs(t.type.max_value)) * 1.3
        x = rng.uniform(-span, span, (n, *t.shape))
        x[: n // 4] = np.round(x[: n // 4] * 2**t.type.frac_bits * 2) / 2**(t.type.frac_bits + 1)
        x[n // 4: n // 3] = 0  # ties and zeros
        xs.append(x)
    return xs


def assert_engines_equal(g, n: int = 300, seed: int = 0):
    xs = inputs_for(g, n, seed)
    want = emulate(g, *xs, raw=True, engine="interpreter")
    got = emulate(g, *xs, raw=True, engine="fast")
    want, got = (w if isinstance(w, list) else [w] for w in (want, got))
    for w, o in zip(want, got):
        assert w.shape == o.shape
        bad = np.argwhere(np.asarray(w) != np.asarray(o))
        assert bad.size == 0, f"first mismatch at {bad[0]}: fast {o[tuple(bad[0])]} vs " \
                              f"interpreter {w[tuple(bad[0])]}"
    floats = emulate(g, *xs, engine="fast")
    floats_ref = emulate(g, *xs, engine="interpreter")
    for w, o in zip(*(f if isinstance(f, list) else [f] for f in (floats_ref, floats))):
        np.testing.assert_array_equal(o, w)


NAMES = sorted(MODELS) + ["relu_sign"]


@pytest.mark.parametrize("name", NAMES)
def test_fast_path_equals_interpreter(name):
    g = load(name)
    assert fast.unsupported_reason(g) is None
    assert_engines_equal(g)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", NAMES)
def test_every_rounding_and_overflow_mode(name, seed):
    g = load(name)
    retype(g, seed, wide=False)
    assert fast.unsupported_reason(g) is None
    assert_engines_equal(g, seed=seed)


@pytest.mark.parametrize("name", NAMES)
def test_wide_types_up_to_64_bits(name):
    """40-64-bit tensors: int64 and double accumulators, or the interpreter where a
    value needs more than 62 bits (either way, the same bits)."""
    g = load(name)
    retype(g, 5, wide=True)
    if fast.unsupported_reason(g) is None:
        assert_engines_equal(g)
    else:
        xs = inputs_for(g, 50)
        np.testing.assert_array_equal(
            emulate(g, *xs, raw=True, engine="auto")[0] if len(g.outputs) > 1 else
            emulate(g, *xs, raw=True, engine="auto"),
            emulate(g, *xs, raw=True, engine="interpreter")[0] if len(g.outputs) > 1 else
            emulate(g, *xs, raw=True, engine="interpreter"))


def test_models_cover_every_final_op():
    seen = set()
    for name in NAMES:
        seen |= {n.op for n in load(name).nodes}
    assert FINAL_OPS - seen == set()


def test_wide_inputs_take_the_raw_path():
    """An input type over 50 bits is quantized by numpy (trigc.fixed.quantize), then
    loaded raw by the kernel."""
    g = graph("wide_in")
    x = inp(g, "x", (4,), FixedType(True, 60, 20, Rounding.RND_INF, Overflow.SAT))
    y = node(g, Op.CAST, [x], type=FixedType(True, 30, 10, Rounding.RND_CONV, Overflow.WRAP))
    outputs(g, y)
    assert not fast.generate(g)[1]["float_inputs"]
    assert_engines_equal(g)


def test_huge_and_non_finite_inputs():
    g = trigc.load(MODELS["mlp"]())
    x = inputs_for(g, 200)[0]
    x[3, 2], x[7, 0], x[9, 5] = 1e300, -3e17, 2.0**60
    np.testing.assert_array_equal(emulate(g, x, raw=True, engine="fast"),
                                  emulate(g, x, raw=True, engine="interpreter"))
    x[11, 1] = np.nan
    for engine in ("fast", "interpreter"):
        with pytest.raises(PrecisionError, match="NaN"):
            emulate(g, x, engine=engine)


def test_one_event_without_batch_axis_and_empty_batches():
    g = trigc.load(MODELS["mlp"]())
    x = inputs_for(g, 5)[0]
    np.testing.assert_array_equal(emulate(g, x[0], engine="fast"),
                                  emulate(g, x[0], engine="interpreter"))
    assert emulate(g, x[:0], engine="fast").shape == (0, 5)


def test_worker_count_does_not_change_the_result():
    g = trigc.load(MODELS["convnet_2d"]())
    xs = inputs_for(g, 1000)
    ref = emulate(g, *xs, raw=True, engine="fast", workers=1)
    for workers in (2, 3, 7):
        np.testing.assert_array_equal(emulate(g, *xs, raw=True, engine="fast",
                                              workers=workers), ref)


def over_64_bits():
    g = graph("too_wide")
    x = inp(g, "x", (3,), FixedType.parse("fixed<8,4>"))
    y = node(g, Op.CAST, [x], type=FixedType(True, 70, 30), name="wide")
    return outputs(g, node(g, Op.CAST, [y], type=FixedType.parse("fixed<9,5>"), name="back"))


def test_unsupported_graph_falls_back_and_logs_once(caplog):
    g = over_64_bits()
    x = np.linspace(-9, 9, 3 * 40).reshape(40, 3)
    with caplog.at_level(logging.INFO, logger="trigc.emulator.fast"):
        for _ in range(3):
            out = emulate(g, x, raw=True, engine="auto")
    np.testing.assert_array_equal(out, emulate(g, x, raw=True, engine="interpreter"))
    notes = [r for r in caplog.records if "falls back to the interpreter" in r.getMessage()]
    assert len(notes) == 1 and "wider than int64" in notes[0].getMessage()
    with pytest.raises(UnsupportedOpError, match="no fast emulator path.*interpreter"):
        emulate(g, x, engine="fast")


def test_unknown_engine():
    with pytest.raises(trigc.ConfigError, match="Unknown emulator engine"):
        emulate(over_64_bits(), np.zeros((1, 3)), engine="numpy")


def test_changed_graph_gets_a_new_kernel():
    g = relu_sign_graph()
    x = np.linspace(-9, 9, 8 * 70).reshape(70, 8)
    emulate(g, x, engine="fast")
    g.nodes[0].output.type = FixedType(False, 5, 2, Rounding.RND, Overflow.WRAP)
    np.testing.assert_array_equal(emulate(g, x, raw=True, engine="fast")[0],
                                  emulate(g, x, raw=True, engine="interpreter")[0])


def test_cache_key_covers_compiler_flags_and_host_cpu(monkeypatch, tmp_path):
    monkeypatch.setenv("TRIGC_CACHE_DIR", str(tmp_path))
    src = fast.generate(relu_sign_graph())[0]
    first = fast.artifact_path(src, "gcc")
    monkeypatch.setattr(fast, "CFLAGS", [*fast.CFLAGS, "-DX"])
    assert fast.artifact_path(src, "gcc") != first
    monkeypatch.setattr(fast, "CFLAGS", fast.CFLAGS[:-1])
    monkeypatch.setattr(fast, "_host_identity", lambda cc: "another CPU")
    assert fast.artifact_path(src, "gcc") != first


def test_damaged_cache_entry_is_rebuilt(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("TRIGC_CACHE_DIR", str(tmp_path))
    src = fast.generate(relu_sign_graph())[0]
    cc = fast.compiler()
    path = fast.build(src, cc)
    path.write_bytes(path.read_bytes()[:100])
    with caplog.at_level(logging.WARNING):
        again = fast.build(src, cc)
    assert again == path and "corrupted" in caplog.text
    assert len(path.read_bytes()) > 100


def test_sat_sym_maps_the_most_negative_value_whatever_the_batch():
    """ap_fixed's AP_SAT_SYM maps -2**(W-1) to -max even when the format does not
    change; the interpreter once skipped that when no value of the batch was out of
    range (the fast path found it)."""
    g = graph("sat_sym")
    x = inp(g, "x", (2,), FixedType(True, 4, 4, Rounding.TRN, Overflow.SAT))
    y = node(g, Op.RESHAPE, [x], ReshapeAttrs((2,)), type=FixedType(True, 4, 4, Rounding.TRN,
                                                                     Overflow.SAT_SYM))
    outputs(g, y)
    batch = np.array([[-8.0, 3.0]])
    for engine in ("interpreter", "fast"):
        np.testing.assert_array_equal(emulate(g, batch, raw=True, engine=engine), [[-7, 3]])


def test_every_final_op_has_a_c_emitter():
    from trigc.emulator.fastops import EMITTERS

    assert set(EMITTERS) == set(FINAL_OPS)


@pytest.mark.parametrize("name", ["mlp", "mlp_softmax", "dense_tanh", "residual", "concat"])
def test_float_accumulation_where_the_cpu_has_no_vnni(name, monkeypatch):
    """On a CPU without AVX-512 VNNI, 8-bit Dense layers accumulate in float32 FMAs:
    that kernel equals the interpreter too (here: the VNNI check patched off)."""
    from trigc.emulator import fastops

    monkeypatch.setattr(fastops, "host_has_vnni", lambda: False)  # as imported there
    g = load(name)
    src, meta = fast.generate(g)
    assert not meta["vnni"] and "vf32" in src
    assert_engines_equal(g)
    retype(g, 3)
    assert_engines_equal(g, seed=3)


def test_vnni_where_the_cpu_has_it():
    from trigc.emulator import fastops

    if not fastops.host_has_vnni():
        pytest.skip("this CPU has no AVX-512 VNNI")
    assert fast.generate(load("mlp"))[1]["vnni"]


@pytest.mark.parametrize("rounding", list(Rounding))
def test_input_rounding_near_half_points(rounding):
    """Inputs just below, at and above half an LSB (0.5 - 2**-54 must not round up),
    both signs, for every rounding mode: the kernel's quantization equals
    trigc.fixed.quantize."""
    g = graph("halves")
    t = FixedType(True, 10, 6, rounding, Overflow.SAT)
    x = inp(g, "x", (8,), t)
    outputs(g, node(g, Op.CAST, [x], type=FixedType(True, 12, 8)))
    lsb = 2.0**-t.frac_bits
    halves = np.array([0.5 - 2**-54, 0.5, 0.5 + 2**-52, 1.5, 2.5, 1.5 - 2**-52, 3.5, 0.0])
    values = np.concatenate([halves, -halves]) * lsb
    batch = np.stack([values[:8], values[8:]] * 40)
    np.testing.assert_array_equal(emulate(g, batch, raw=True, engine="fast"),
                                  emulate(g, batch, raw=True, engine="interpreter"))


def test_compiler_version_is_remembered_per_binary(tmp_path, monkeypatch):
    """`cc --version` runs once per compiler binary, not once per process; a changed
    binary (another size or modification time) is asked again."""
    monkeypatch.setenv("TRIGC_CACHE_DIR", str(tmp_path / "cache"))
    cc = tmp_path / "fakecc"
    cc.write_text("#!/bin/sh\necho \"fakecc 1.0\" >> \"$0.calls\"\necho 'fakecc 1.0'\n")
    cc.chmod(0o755)
    calls = tmp_path / "fakecc.calls"
    assert fast._compiler_version(str(cc)) == "fakecc 1.0"
    assert fast._compiler_version(str(cc)) == "fakecc 1.0"
    assert calls.read_text().count("\n") == 1
    cc.write_text(cc.read_text().replace("1.0", "2.0"))
    os.utime(cc, ns=(cc.stat().st_atime_ns, cc.stat().st_mtime_ns + 10**9))
    assert fast._compiler_version(str(cc)) == "fakecc 2.0"
    assert calls.read_text().count("\n") == 2

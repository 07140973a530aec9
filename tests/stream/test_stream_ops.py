"""Every stream process, three ways: qonnx's executor (numpy reference), trigc's
emulator and the g++ C-sim of the ``--io stream`` design (its cycle scheduler, and
for some the Vitis-style sequential DATAFLOW testbench through hls_stream.h).

Each case is a tiny QONNX model around one op; the stream design must equal the
emulator on every bit, and the emulator must equal qonnx. The C-sim's measured
latency must equal the plan's schedule (trigc.plans.stream.schedule)."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import pytest
import trigc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers.qonnx_models import Builder, conv_branches, convnet, qonnx_execute  # noqa: E402
from trigc.plans.stream import schedule, stream_plan  # noqa: E402

pytestmark = pytest.mark.csim


def _conv(b, x, rng, c_in, c_out, k, name, **attrs):
    w = b.quant(b.const(rng.normal(0, 0.5, (c_out, c_in // attrs.get("group", 1), *k))),
                2.0**-4, 6, narrow=True)
    bias = b.const(rng.normal(0, 0.2, c_out))
    return b.node("Conv", [x, w, bias], name=f"{name}/Conv", kernel_shape=list(k), **attrs)


def case(op: str):
    """(model, input shape) of one op's tiny model: input (C, H, W) channels-first."""
    rng = np.random.default_rng(abs(hash(op)) % 1000)
    b = Builder(f"op_{op}")
    c, h, w = 3, 7, 6
    x = b.quant("x", 2.0**-4, 8)
    shape = (c, h, w)
    if op == "conv_same":  # zeropad + window (stride 1)
        y = _conv(b, x, rng, c, 4, (3, 3), "c", pads=[1, 1, 1, 1])
    elif op == "conv_stride_pad":  # asymmetric padding, stride 2, non-square kernel
        y = _conv(b, x, rng, c, 5, (3, 2), "c", pads=[1, 0, 2, 1], strides=[2, 2])
    elif op == "conv_depthwise":
        y = _conv(b, x, rng, c, c, (3, 3), "c", group=c, pads=[1, 1, 1, 1])
    elif op == "conv1d":
        shape = (c, 11)
        y = _conv(b, x, rng, c, 4, (3,), "c", pads=[2, 0], strides=[2])
    elif op == "maxpool_pad":  # padding inside the window: ignored by the max
        y = b.node("MaxPool", [x], name="p", kernel_shape=[3, 3], strides=[2, 2],
                   pads=[1, 1, 1, 1])
    elif op == "avgpool_excl":
        y = b.node("AveragePool", [x], name="p", kernel_shape=[3, 3], strides=[2, 2],
                   pads=[1, 1, 1, 1], count_include_pad=0)
    elif op == "avgpool_incl":
        y = b.node("AveragePool", [x], name="p", kernel_shape=[2, 3], strides=[1, 2],
                   pads=[1, 0, 0, 1], count_include_pad=1)
    elif op == "global_avg":
        y = b.node("GlobalAveragePool", [x], name="g")
        y = b.node("Flatten", [y], name="f", axis=1)
    elif op == "global_max":
        y = b.node("GlobalMaxPool", [x], name="g")
        y = b.node("Flatten", [y], name="f", axis=1)
    elif op == "flatten_dense":  # gather (Transpose + Reshape) and a Dense on one word
        y = b.node("Flatten", [x], name="f", axis=1)
        wf = b.quant(b.const(rng.normal(0, 0.3, (c * h * w, 5))), 2.0**-5, 6, narrow=True)
        y = b.node("MatMul", [y, wf], name="d")
    elif op in ("relu", "sigmoid", "tanh", "leaky"):
        y = _conv(b, x, rng, c, 4, (1, 1), "c")
        y = {"relu": lambda v: b.node("Relu", [v], name="a"),
             "sigmoid": lambda v: b.node("Sigmoid", [v], name="a"),
             "tanh": lambda v: b.node("Tanh", [v], name="a"),
             "leaky": lambda v: b.node("LeakyRelu", [v], name="a", alpha=0.125)}[op](y)
    elif op == "softmax_channels":
        y = _conv(b, x, rng, c, 4, (1, 1), "c")
        y = b.quant(y, 2.0**-3, 8)
        y = b.node("Transpose", [y], name="t", perm=[0, 2, 3, 1])
        y = b.node("Softmax", [y], name="s", axis=-1)
    elif op in ("add", "sub", "mul"):  # clone + binary of two branches
        a = _conv(b, x, rng, c, 4, (3, 3), "a", pads=[1, 1, 1, 1])
        d = _conv(b, x, rng, c, 4, (1, 1), "d")
        y = b.node(op.capitalize(), [b.quant(a, 2.0**-3, 7), b.quant(d, 2.0**-3, 6)], name="j")
    elif op == "concat":
        a = _conv(b, x, rng, c, 2, (3, 3), "a", pads=[1, 1, 1, 1])
        d = _conv(b, x, rng, c, 3, (1, 1), "d")
        y = b.node("Concat", [b.quant(a, 2.0**-3, 7), b.quant(d, 2.0**-3, 6)], name="j",
                   axis=1)
    elif op == "const_mul":  # per-channel constant (BatchNorm-like scale)
        y = _conv(b, x, rng, c, 4, (1, 1), "c")
        y = b.node("Mul", [y, b.const(2.0 ** rng.integers(-2, 2, (1, 4, 1, 1)))], name="m")
    else:
        raise ValueError(op)
    out = b.quant(y, 2.0**-4, 9, name="out/Quant")
    probe = b.model({"x": (1, *shape)}, out, (1,))  # the output shape, as trigc infers it
    out_shape = trigc.load(probe).outputs[0].shape
    return b.model({"x": (1, *shape)}, out, (1, *out_shape)), shape


OPS = ["conv_same", "conv_stride_pad", "conv_depthwise", "conv1d", "maxpool_pad",
       "avgpool_excl", "avgpool_incl", "global_avg", "global_max", "flatten_dense", "relu",
       "sigmoid", "tanh", "leaky", "softmax_channels", "add", "sub", "mul", "concat",
       "const_mul"]


LUT_OPS = ("sigmoid", "tanh", "softmax_channels")


def _inputs(shape, n=200, seed=3):
    return np.random.default_rng(seed).normal(0, 3, (n, *shape)).astype(np.float32)


def check_stream(graph, x, path, reuse=1, testbench=False):
    """Emulator == stream C-sim (scheduler) on every bit; the measured latency is the
    plan's; the DATAFLOW testbench agrees when asked."""
    project = trigc.compile(graph, path, io="stream", reuse=reuse)
    assert project.meta["io_mode"] == "stream"
    result = project.compare(x)
    assert result.ok, str(result)
    run = project.stream_run(x)
    np.testing.assert_array_equal(
        run.out, np.concatenate([np.asarray(r).reshape(len(x), -1) for r in
                                 ([trigc.emulate(graph, x, raw=True)]
                                  if len(graph.outputs) == 1 else
                                  trigc.emulate(graph, x, raw=True))], axis=1))
    sched = schedule(stream_plan(graph, project_options(project)))
    assert run.latency == sched.latency == project.meta["latency_cycles"]
    depth = {s["name"]: s["depth"] for s in project.meta["streams"]}
    assert all(run.peaks[k] <= depth[k] for k in depth)
    if testbench:
        code, out = project.run_testbench()
        assert code == 0, out
    return project, run


def project_options(project):
    from trigc.target import BuildOptions
    return BuildOptions.from_json(project.meta["settings"])


@pytest.mark.parametrize("op", OPS)
def test_stream_op_three_way(tmp_path, op):
    model, shape = case(op)
    x = _inputs(shape)
    ref = qonnx_execute(copy.deepcopy(model), x).astype(np.float64)
    graph = trigc.load(model)
    got = trigc.emulate(graph, x).reshape(ref.shape)
    if op in LUT_OPS:
        # the table ops are approximations by design (trigc.ops.lut, ops.softmax: their
        # own bounds are tested there); qonnx evaluates them in float32
        np.testing.assert_allclose(got, ref, atol=2.0**-3)
    else:
        np.testing.assert_array_equal(got, ref)
    check_stream(graph, x, tmp_path / "p", testbench=op in ("conv_same", "add", "global_avg"))


@pytest.mark.parametrize("dims", [1, 2])
def test_stream_convnet(tmp_path, dims):
    """Conv, BatchNorm folded, ReLU, MaxPool, depthwise Conv, AveragePool, Flatten,
    Gemm; reuse 3 on every Conv/Dense (II 3 per step)."""
    model = convnet(seed=dims, dims=dims)
    shape = (2,) + (8,) * dims
    x = _inputs(shape, 300)
    ref = qonnx_execute(copy.deepcopy(model), x).astype(np.float64)
    graph = trigc.load(model)
    np.testing.assert_array_equal(trigc.emulate(graph, x).reshape(ref.shape), ref)
    _, run1 = check_stream(graph, x, tmp_path / "r1")
    _, run3 = check_stream(graph, x, tmp_path / "r3", reuse=3)
    assert run3.ii > run1.ii  # reuse trades throughput for multipliers


def test_stream_branches_and_deadlock(tmp_path):
    """Concat and a residual Add of conv branches: exact with the safe default depths
    and with the sized ones; a too-shallow FIFO on the residual branch is a deadlock
    that names the stream (never a hang)."""
    model = conv_branches(seed=4)
    x = _inputs((2, 5, 5), 120)
    ref = qonnx_execute(copy.deepcopy(model), x).astype(np.float64)
    graph = trigc.load(model)
    np.testing.assert_array_equal(trigc.emulate(graph, x).reshape(ref.shape), ref)
    project, _ = check_stream(graph, x, tmp_path / "p")
    streams = {s["name"]: s for s in project.meta["streams"]}
    clones = [k for k in streams if k.endswith("_c") or "_c_" in k]
    assert clones, streams.keys()
    sizing = project.size_fifos(x)
    sized = trigc.Project(project.path)
    assert sized.compare(x).ok
    depth = {s["name"]: s["depth"] for s in sized.meta["streams"]}
    assert sizing.bits(2) < sizing.bits(1)
    # the residual branch must hold the words the 3x3 conv path is still waiting for
    deep = max((k for k in depth if not streams[k]["port"]), key=lambda k: depth[k])
    assert depth[deep] > 2
    lib = sized._library()
    flat = x.reshape(len(x), -1).astype(np.float64)
    with pytest.raises(trigc.csim.build.StreamDeadlock, match=f"'{deep}' \\(depth 2\\)"):
        lib.run_stream(flat, depths={deep: 2})

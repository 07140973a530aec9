"""Shared helpers of the end-to-end tests: tie-heavy inputs, running trigc and the
qonnx reference side by side, and exact (rational) references for the cases where
the reference's own float32 arithmetic is not exact."""

from __future__ import annotations

import copy
import math
from fractions import Fraction

import numpy as np
import onnx
from onnx import numpy_helper

import trigc
from helpers.qonnx_models import qonnx_execute

N_SAMPLES = 2000
MLP_SHAPE = (16,)  # per-sample input shapes of the Brevitas models
CONV_SHAPE = (2, 8, 8)


def quant_inputs(shape, scale, bits, signed=True, n=N_SAMPLES, seed=0) -> np.ndarray:
    """float32 inputs for a model whose input Quant is (scale, bits, signed), every
    element drawn from one of four populations:

    * 30 % uniform over the representable range widened by half its span on each
      side (so beyond saturation in both directions);
    * 40 % exactly on a rounding tie of the input Quant: (k + 1/2) * scale, with k
      also a little beyond the integer range;
    * 20 % exactly on the grid, k * scale;
    * 10 % extremes: +-1e4, 0, -0.0 and four times the negative limit.
    """
    rng = np.random.default_rng(seed)
    lo = -(1 << (bits - 1)) if signed else 0
    hi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
    size = (n, *shape)
    span = (hi - lo) * scale
    uniform = rng.uniform(lo * scale - span / 2, hi * scale + span / 2, size)
    ties = (rng.integers(lo - 4, hi + 4, size) + 0.5) * scale
    grid = rng.integers(lo - 4, hi + 4, size) * scale
    extremes = rng.choice([-1e4, 1e4, 4.0 * (lo - 1) * scale, 0.0, -0.0], size)
    pick = rng.integers(0, 10, size)
    x = np.where(pick < 3, uniform, np.where(pick < 7, ties, np.where(pick < 9, grid,
                                                                          extremes)))
    return x.astype(np.float32)


def input_quant_params(model: onnx.ModelProto) -> tuple[float, int, bool]:
    """(scale, bits, signed) of the Quant that reads the model's first input."""
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    consts = {}
    for node in model.graph.node:
        if node.op_type == "Constant":
            consts[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    inits.update(consts)
    x = model.graph.input[0].name
    for node in model.graph.node:
        if node.op_type == "Quant" and node.input[0] == x:
            signed = next((a.i for a in node.attribute if a.name == "signed"), 1)
            return (float(inits[node.input[1]]), int(inits[node.input[3]]), bool(signed))
    raise AssertionError("the model's input does not feed a Quant node")


CSIM_EVENTS = 300


def assert_csim_matches(graph, x: np.ndarray) -> None:
    """Third leg of the three-way check: the generated C++ (g++ against ap_fixed.h)
    equals the emulator bit for bit on (a prefix of) ``x``, layer by layer."""
    import shutil
    import tempfile

    if shutil.which("g++") is None:
        return
    tmp = tempfile.mkdtemp(prefix="trigc_e2e_")
    try:
        project = trigc.compile(graph, f"{tmp}/prj")
        result = project.compare(x[:CSIM_EVENTS])
        assert result.ok, str(result)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_both(model: onnx.ModelProto, x: np.ndarray, csim: bool = True, **load_kw):
    """Compile ``model`` with trigc and run it and the qonnx reference on ``x``; unless
    ``csim=False``, also prove the generated C++ equal to the emulator.

    Returns (graph, trigc output float64, reference output float64)."""
    graph = trigc.load(model, **load_kw)
    got = trigc.emulate(graph, x)
    ref = qonnx_execute(model, x).astype(np.float64)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    if csim:
        assert_csim_matches(graph, x)
    return graph, got, ref


def assert_exact(model: onnx.ModelProto, x: np.ndarray, csim: bool = True, **load_kw):
    """Three-way exact: the qonnx reference (numpy), trigc's emulator and the g++
    C-sim of the generated firmware agree bit for bit; returns the graph."""
    graph, got, ref = run_both(model, x, csim=csim, **load_kw)
    np.testing.assert_array_equal(got, ref)
    return graph


def batch_agnostic(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of an exported model that the qonnx reference can run on a batch.

    torch's dynamo exporter writes every intermediate shape with batch 1 and bakes
    ``Reshape`` targets like (1, 64); both only pin the batch size. We drop the
    value_info and make a leading 1 of a constant Reshape target -1."""
    m = copy.deepcopy(model)
    del m.graph.value_info[:]
    inits = {i.name: i for i in m.graph.initializer}
    for node in m.graph.node:
        if node.op_type == "Reshape" and node.input[1] in inits:
            init = inits[node.input[1]]
            shape = numpy_helper.to_array(init).copy()
            if shape.size and shape[0] == 1:
                shape[0] = -1
                init.CopyFrom(numpy_helper.from_array(shape.astype(np.int64), init.name))
    return m


# ---- exact (rational) QONNX Quant ---------------------------------------------

def _round_fraction(y: Fraction, mode: str) -> int:
    if mode in ("ROUND", "HALF_EVEN"):
        return round(y)  # Fraction rounds half to even
    if mode == "FLOOR":
        return math.floor(y)
    if mode == "DOWN":
        return math.trunc(y)
    sign = -1 if y < 0 else 1
    if mode == "HALF_UP":
        return sign * math.floor(abs(y) + Fraction(1, 2))
    if mode == "HALF_DOWN":
        return sign * math.ceil(abs(y) - Fraction(1, 2))
    raise ValueError(mode)


def int_range(signed: bool, narrow: bool, bits: int) -> tuple[int, int]:
    if signed:
        return -(1 << (bits - 1)) + int(narrow), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1 - int(narrow)


def exact_quant(x, scale, zp, bits, signed=True, narrow=False, mode="ROUND") -> np.ndarray:
    """QONNX Quant in exact rational arithmetic (no float rounding anywhere).

    ``x`` (float64, exact), ``scale`` and ``zp`` broadcast against each other; the
    scale is taken as the float32 value the model stores. The result is returned
    as float64, exact whenever it fits in 53 bits (it does for every test here)."""
    x = np.asarray(x, dtype=np.float64)
    scale = np.broadcast_to(np.asarray(scale, dtype=np.float32).astype(np.float64), x.shape)
    zp = np.broadcast_to(np.asarray(zp, dtype=np.float64), x.shape)
    lo, hi = int_range(signed, narrow, bits)
    out = np.empty(x.shape, dtype=np.float64)
    for idx in np.ndindex(x.shape):
        s, z = Fraction(scale[idx]), Fraction(zp[idx])
        y = Fraction(x[idx]) / s + z
        q = _round_fraction(min(max(y, Fraction(lo)), Fraction(hi)), mode)
        r = (q - z) * s
        out[idx] = float(r)
        assert Fraction(out[idx]) == r, "exact result does not fit in float64"
    return out


def distance_to_critical(y: np.ndarray, mode: str) -> np.ndarray:
    """Distance of real values ``y`` (float64) to the nearest point where ``mode``
    changes its result: half-integers for round-to-nearest modes, integers for
    FLOOR / DOWN."""
    if mode in ("FLOOR", "DOWN"):
        return np.abs(y - np.round(y))
    return np.abs(y - (np.floor(y) + 0.5))

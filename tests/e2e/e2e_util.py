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
from onnx.reference import ReferenceEvaluator
from onnx.reference.op_run import OpRun

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


# ---- exact float64 evaluation of a QONNX graph ---------------------------------

# A float64 operation rounds by at most 2**-53 of its result; the graphs evaluated
# here chain a few dozen of them on values below 2**12, so the float64 value of a
# Quant's y = x / scale + zp is within 2**-30 * max(1, |y|) of the exact real value
# with a margin of more than 2**10. A rounding decision taken on a y at least that far
# from every critical point (a half-integer for round-to-nearest modes, an integer
# for FLOOR/DOWN...) is therefore the exact decision, whatever float64 did before.
DECISION_MARGIN = 2.0**-30
_CRITICAL_AT_INTEGERS = ("FLOOR", "CEIL", "DOWN", "UP")
# QONNX's rounding modes, written out here rather than taken from trigc.quantizers so
# that the reference shares no code with the compiler under test
_ROUNDING = {
    "ROUND": np.round, "HALF_EVEN": np.round,  # numpy rounds half to even
    "FLOOR": np.floor, "CEIL": np.ceil, "DOWN": np.trunc,
    "UP": lambda y: np.sign(y) * np.ceil(np.abs(y)),
    "HALF_UP": lambda y: np.sign(y) * np.floor(np.abs(y) + 0.5),
    "HALF_DOWN": lambda y: np.sign(y) * np.ceil(np.abs(y) - 0.5),
}


def _critical_distance(y: np.ndarray, mode: str) -> np.ndarray:
    if mode in _CRITICAL_AT_INTEGERS:
        return np.abs(y - np.round(y))
    return np.abs(y - (np.floor(y) + 0.5))


def _is_power_of_two(v: np.ndarray) -> bool:
    m, _ = np.frexp(np.asarray(v, dtype=np.float64))
    return bool(np.all(np.abs(m) == 0.5))


class _ExactQuantBase(OpRun):
    """QONNX ``Quant`` on float64 values that are exact: in float64 (exact) for a
    power-of-two scale and integer zero point, in rational arithmetic otherwise.

    Each call records, under the node's name in ``decisions``, how many rounding
    decisions were taken on a y exactly on a critical point ("at") and how many
    within DECISION_MARGIN of one but not on it ("near"): a "near" decision (or an
    "at" one on a y that float64 may have rounded) would not be proven exact."""

    op_domain = "qonnx.custom_op.general"
    decisions: dict = {}

    def _run(self, x, scale, zero_point, bits, signed=None, narrow=None,
             rounding_mode=None):
        signed = 1 if signed is None else int(signed)
        narrow = 0 if narrow is None else int(narrow)
        mode = rounding_mode or "ROUND"
        if isinstance(mode, bytes):
            mode = mode.decode()
        x = np.asarray(x, dtype=np.float64)
        scale = np.asarray(scale, dtype=np.float64)
        zp = np.asarray(zero_point, dtype=np.float64)
        n_bits = int(np.asarray(bits))
        lo, hi = int_range(bool(signed), bool(narrow), n_bits)
        if n_bits == 1 and signed:
            y = x / scale + zp
            out = (np.where(y >= 0, 1.0, -1.0) - zp) * scale
        elif _is_power_of_two(scale) and np.all(zp == np.round(zp)):
            y = np.clip(x / scale + zp, lo, hi)
            out = (_ROUNDING[mode](y) - zp) * scale
        else:
            y = np.clip(x / scale + zp, lo, hi)  # for the decision record only
            out = exact_quant(x, scale, zp, n_bits, bool(signed), bool(narrow), mode)
        d = _critical_distance(y, mode)
        at = int(np.sum(d == 0)) if n_bits > 1 or not signed else 0
        near = int(np.sum((d > 0) & (d < DECISION_MARGIN * np.maximum(1.0, np.abs(y)))))
        prev = self.decisions.get(self.onnx_node.name, (0, 0))
        self.decisions[self.onnx_node.name] = (prev[0] + at, prev[1] + near)
        return (out.astype(np.float64),)


class Quant(_ExactQuantBase):
    pass


class BipolarQuant(OpRun):
    op_domain = "qonnx.custom_op.general"

    def _run(self, x, scale):
        x = np.asarray(x, dtype=np.float64)
        return ((np.where(x >= 0, 1.0, -1.0) * np.asarray(scale, np.float64)),)


def batchnorm_as_float32_affine(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``model`` whose BatchNormalization nodes are replaced by the affine
    map trigc implements (see passes/fold_batchnorm.py): y = x * scale + shift with
    scale = f32(gamma / sqrt(var + eps)) and shift = f32(beta - mean * scale), each
    computed in float64 from the stored float32 parameters and rounded to float32
    once, as the framework would store folded parameters. (The BatchNorms are
    assumed to have the rank of the model's input, as in the conv nets here.)"""
    m = copy.deepcopy(model)
    rank = len(m.graph.input[0].type.tensor_type.shape.dim)
    inits = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in m.graph.initializer}
    nodes = []
    for node in m.graph.node:
        if node.op_type != "BatchNormalization":
            nodes.append(node)
            continue
        gamma, beta, mean, var = (inits[n] for n in node.input[1:5])
        eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
        scale = (gamma / np.sqrt(var + np.float64(np.float32(eps)))).astype(np.float32)
        shift = (beta - mean * scale.astype(np.float64)).astype(np.float32)
        bshape = (-1,) + (1,) * (rank - 2)
        s_name, t_name, mid = (f"{node.name}_scale", f"{node.name}_shift",
                               f"{node.output[0]}_scaled")
        m.graph.initializer.extend([
            numpy_helper.from_array(scale.reshape(bshape), s_name),
            numpy_helper.from_array(shift.reshape(bshape), t_name)])
        nodes.append(onnx.helper.make_node("Mul", [node.input[0], s_name], [mid],
                                           name=f"{node.name}_Mul"))
        nodes.append(onnx.helper.make_node("Add", [mid, t_name], [node.output[0]],
                                           name=f"{node.name}_Add"))
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    return m


def exact_execute(model: onnx.ModelProto, x: np.ndarray, intermediates=()
                  ) -> tuple[np.ndarray, dict]:
    """The model's real-number semantics, evaluated in float64 with
    onnx.reference.ReferenceEvaluator (pure numpy) and the exact Quant above:
    float initializers and the input are widened to float64 (exactly), so standard
    ops round only where float64 cannot hold their result.

    Returns (output float64, decisions {Quant node: (at, near)}), or with
    ``intermediates`` (tensor names) (output, decisions, {name: value}); the caller proves
    the result exact by checking ``decisions`` (no "near" anywhere; no "at" on a
    Quant whose input float64 may have rounded) and, where it matters, the float64
    sums against ``fractions.Fraction``."""
    m = copy.deepcopy(model)
    for init in m.graph.initializer:
        a = numpy_helper.to_array(init)
        if a.dtype.kind == "f":
            init.CopyFrom(numpy_helper.from_array(a.astype(np.float64), init.name))
    for node in m.graph.node:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value":
                    a = numpy_helper.to_array(attr.t)
                    if a.dtype.kind == "f":
                        attr.t.CopyFrom(numpy_helper.from_array(a.astype(np.float64)))
                elif attr.name == "value_float":
                    t = numpy_helper.from_array(np.asarray(attr.f, np.float64))
                    node.ClearField("attribute")
                    node.attribute.extend([onnx.helper.make_attribute("value", t)])
                    break
    for vi in list(m.graph.input) + list(m.graph.output):
        vi.type.tensor_type.elem_type = onnx.TensorProto.DOUBLE
        vi.type.tensor_type.shape.dim[0].dim_value = x.shape[0]
    del m.graph.value_info[:]
    _ExactQuantBase.decisions = {}
    sess = ReferenceEvaluator(m, new_ops=[Quant, BipolarQuant])
    names = [m.graph.output[0].name, *intermediates]
    out, *inter = sess.run(names, {m.graph.input[0].name: x.astype(np.float64)})
    decisions = dict(_ExactQuantBase.decisions)
    if intermediates:
        return np.asarray(out, np.float64), decisions, dict(zip(intermediates, inter))
    return np.asarray(out, dtype=np.float64), decisions


def framework_deviation(got_exact: np.ndarray, ref: np.ndarray, lsb: float) -> dict:
    """How far the float32 framework reference is from the exact evaluation."""
    diff = np.abs(np.asarray(ref, np.float64) - got_exact)
    return {"fraction": float(np.mean(diff > 0)), "count": int(np.sum(diff > 0)),
            "max_lsb": float(diff.max() / lsb), "size": int(diff.size)}

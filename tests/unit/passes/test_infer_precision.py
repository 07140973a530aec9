"""infer_precision: inferred types never overflow and are minimal.

For random small Dense / Conv / Add / Sub / Mul graphs, the graph is emulated on the
corner inputs that reach each output's exact extremes; every emulated value must
equal an exact Fraction computation (so nothing overflowed or rounded), and the
inferred type must be the narrowest type holding the reached range at the
fewest fractional bits the values need."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.unit.graphs import const, graph, inp, node, outputs
from tests.unit.reference import (
    conv_ref, fractions_of, min_frac, narrowest_width, ref_assign, val, vals,
)
from trigc import PrecisionError
from trigc.fixed import FixedType, Overflow, Rounding, quantize
from trigc.ir import Op, verify
from trigc.ir.ops import (
    CastAttrs, ClipAttrs, ConcatAttrs, ConvAttrs, DenseAttrs, LeakyReluAttrs, LutAttrs, PoolAttrs,
    SoftmaxAttrs,
)
from trigc.passes import infer_precision
from trigc.passes.infer_precision import DEFAULT_LUT_TYPES

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
RNG = np.random.default_rng(7)


@st.composite
def in_types(draw, max_width=8):
    signed = draw(st.booleans())
    width = draw(st.integers(1, max_width))
    return FixedType(signed, width, draw(st.integers(-3, width + 3)))


@st.composite
def dyadic_arrays(draw, shape, max_int=31, fracs=(-2, 5)):
    """Random integers at one random power-of-two grid, with at least one non-zero."""
    e = draw(st.integers(*fracs))
    n = int(np.prod(shape))
    ks = draw(st.lists(st.integers(-max_int, max_int), min_size=n, max_size=n))
    assume(any(ks))
    return np.array(ks, dtype=np.float64).reshape(shape) * 2.0**-e


def raw_to_float(raw, t: FixedType) -> np.ndarray:
    return np.asarray(raw, dtype=np.float64) * 2.0**-t.frac_bits


def emulate_exact(g, inputs_raw):
    """Emulate on raw corner inputs; returns the output type and exact output values."""
    floats = [raw_to_float(r, t.type) for r, t in zip(inputs_raw, g.inputs)]
    raw = g(*floats, raw=True)
    t = g.outputs[0].type
    return t, vals(raw, t.frac_bits)


def assert_minimal(t: FixedType, values: np.ndarray, needed_frac: int):
    """``t`` is the narrowest type with ``needed_frac`` fractional bits holding the range
    [min(values), max(values)] (which the corner inputs reached)."""
    lo, hi = min(values.flat), max(values.flat)
    assert t.frac_bits == needed_frac, (t, needed_frac)
    scale = Fraction(2) ** t.frac_bits
    lo_raw, hi_raw = lo * scale, hi * scale
    assert lo_raw.denominator == 1 and hi_raw.denominator == 1
    assert (t.signed, t.width) == narrowest_width(int(lo_raw), int(hi_raw)), (t, lo, hi)
    if t.width > 1:
        narrower = FixedType(t.signed, t.width - 1, t.integer_bits - 1)
        assert not (narrower.min_raw <= lo_raw and hi_raw <= narrower.max_raw)


def lsb_value(t: FixedType) -> Fraction:
    """A reachable value of magnitude one LSB (raw 1, or -1 for 1-bit signed)."""
    return val(1 if t.max_raw >= 1 else -1, t.frac_bits)


# ---- linear ops: Dense and Conv ------------------------------------------------------

def linear_corners(a_mat: np.ndarray, tx: FixedType, n_random: int = 3) -> np.ndarray:
    """Raw input vectors: all-min, all-max, and for each output row the inputs that
    maximise and minimise it (by weight sign), plus a few random ones."""
    n_in = a_mat.shape[1]
    rows = [np.full(n_in, tx.min_raw), np.full(n_in, tx.max_raw)]
    for r in a_mat:
        pos = np.array([c > 0 for c in r])
        rows.append(np.where(pos, tx.max_raw, tx.min_raw))
        rows.append(np.where(pos, tx.min_raw, tx.max_raw))
    rows += [RNG.integers(tx.min_raw, tx.max_raw + 1, n_in) for _ in range(n_random)]
    return np.array(rows, dtype=np.int64)


def check_linear(g, tx: FixedType, forward, in_shape, bias_values, weight_values):
    """``forward(x_fracs)`` is the exact reference on one sample (object array in,
    object array out); it is linear in x plus the bias.

    Minimal means: the fractional bits are those the weights and bias need (on an
    input of one LSB), and no narrower width holds the reached range."""
    n_in = int(np.prod(in_shape))
    zero = np.zeros(in_shape, dtype=object)
    base = forward(zero).ravel()  # the bias part
    cols = []
    for i in range(n_in):
        e = np.zeros(n_in, dtype=object)
        e[i] = Fraction(1)
        cols.append(forward(e.reshape(in_shape)).ravel() - base)
    a_mat = np.array(cols, dtype=object).T  # (n_out_elems, n_in)
    corners = linear_corners(a_mat, tx)
    infer_precision(g)
    verify(g, final=True)
    t, got = emulate_exact(g, [corners.reshape(-1, *in_shape)])
    want = np.array([forward(vals(c, tx.frac_bits).reshape(in_shape)) for c in corners])
    np.testing.assert_array_equal(got, want)  # no overflow, no rounding
    reachable = list(bias_values) + [lsb_value(tx) * c for c in a_mat.flat if c != 0]
    if not any(reachable):  # e.g. every non-zero weight only ever meets padding: y == 0
        assert t.width == 1
        return t
    # (a weight that only ever meets padding still sets the grid: it is part of the
    # weight tensor's type, so take the fractional bits over all weights)
    needed = min_frac(list(bias_values) + [lsb_value(tx) * Fraction(float(w))
                                           for w in np.ravel(weight_values) if w != 0])
    assert needed >= min_frac(reachable)
    assert_minimal(t, got, needed)
    return t


@st.composite
def dense_cases(draw):
    tx = draw(in_types())
    n_in, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    w = draw(dyadic_arrays((n_in, n_out)))
    b = draw(st.one_of(st.none(), dyadic_arrays((n_out,), max_int=63, fracs=(-2, 8))))
    return tx, w, b


@SETTINGS
@given(dense_cases())
def test_dense_type_never_overflows_and_is_minimal(case):
    tx, w, b = case
    n_in, n_out = w.shape
    g = graph()
    x = inp(g, "x", (n_in,), tx)
    ins = [x, const(g, w, "w")] + ([const(g, b, "b")] if b is not None else [])
    y = node(g, Op.DENSE, ins, DenseAttrs(n_in, n_out), shape=(n_out,), name="fc", out="y")
    outputs(g, y)
    wf, bf = fractions_of(w), (fractions_of(b) if b is not None else None)

    def forward(xv):
        out = xv @ wf
        return out + bf if bf is not None else out
    t = check_linear(g, tx, forward, (n_in,), [] if b is None else list(bf), w)
    assert g.nodes[0].attrs.accum_type == t


@st.composite
def conv_cases(draw):
    tx = draw(in_types(max_width=6))
    length = draw(st.integers(2, 5))
    groups = draw(st.sampled_from([1, 2]))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    k = draw(st.integers(1, min(3, length)))
    stride = draw(st.integers(1, 2))
    pads = (draw(st.integers(0, k - 1)), draw(st.integers(0, k - 1)))
    w = draw(dyadic_arrays((k, c_in // groups, c_out), max_int=15))
    b = draw(st.one_of(st.none(), dyadic_arrays((c_out,), max_int=31, fracs=(-1, 6))))
    return tx, length, c_in, c_out, k, stride, pads, groups, w, b


@SETTINGS
@given(conv_cases())
def test_conv_type_never_overflows_and_is_minimal(case):
    tx, length, c_in, c_out, k, stride, pads, groups, w, b = case
    out_len = (length + sum(pads) - k) // stride + 1
    g = graph()
    x = inp(g, "x", (length, c_in), tx)
    ins = [x, const(g, w, "w")] + ([const(g, b, "b")] if b is not None else [])
    attrs = ConvAttrs((k,), (stride,), pads, groups, channels_last=True)
    y = node(g, Op.CONV, ins, attrs, shape=(out_len, c_out), name="conv", out="y")
    outputs(g, y)
    wf, bf = fractions_of(w), (fractions_of(b) if b is not None else None)

    def forward(xv):
        return conv_ref(xv[None], wf, bf, (stride,), pads, groups)[0]
    t = check_linear(g, tx, forward, (length, c_in), [] if b is None else list(bf), w)
    assert g.nodes[0].attrs.accum_type == t


# ---- element-wise ops ---------------------------------------------------------------------

@st.composite
def binary_cases(draw):
    op = draw(st.sampled_from([Op.ADD, Op.SUB, Op.MUL]))
    ta = draw(in_types())
    second = draw(st.sampled_from(["input", "const"]))
    tb = draw(in_types()) if second == "input" else None
    c = draw(dyadic_arrays((3,), max_int=63, fracs=(-3, 6))) if second == "const" else None
    return op, ta, tb, c


@SETTINGS
@given(binary_cases())
def test_elementwise_type_never_overflows_and_is_minimal(case):
    op, ta, tb, c = case
    g = graph()
    a = inp(g, "a", (3,), ta)
    if tb is not None:
        b = inp(g, "b", (3,), tb)
    else:
        b = const(g, c, "c")
    outputs(g, node(g, op, [a, b], name="op", out="y"))
    infer_precision(g)
    verify(g, final=True)
    fn = {Op.ADD: lambda u, v: u + v, Op.SUB: lambda u, v: u - v, Op.MUL: lambda u, v: u * v}[op]
    ends_a = [ta.min_raw, ta.max_raw]
    if tb is not None:
        ends_b = [tb.min_raw, tb.max_raw]
        pairs = [(p, q) for p in ends_a for q in ends_b]
        a_raw = np.array([[p] * 3 for p, _ in pairs])
        b_raw = np.array([[q] * 3 for _, q in pairs])
        t, got = emulate_exact(g, [a_raw, b_raw])
        want = fn(vals(a_raw, ta.frac_bits), vals(b_raw, tb.frac_bits))
        la, lb = lsb_value(ta), lsb_value(tb)
        needed = min_frac([la * lb] if op is Op.MUL else [la, lb])
    else:
        a_raw = np.array([[p] * 3 for p in ends_a])
        t, got = emulate_exact(g, [a_raw])
        cf = fractions_of(c)
        want = fn(vals(a_raw, ta.frac_bits), cf[None])
        la = lsb_value(ta)
        needed = min_frac([la * v for v in cf] if op is Op.MUL
                          else [la] + list(cf) + [v + la for v in cf])
    np.testing.assert_array_equal(got, want)
    assert_minimal(t, got, needed)


@SETTINGS
@given(in_types(), dyadic_arrays((4, 3), max_int=7), dyadic_arrays((3, 2), max_int=7),
       dyadic_arrays((3,), max_int=15, fracs=(-1, 4)))
def test_chain_never_overflows(tx, w1, w2, c):
    """x -> Dense -> Relu -> Mul(c) -> Dense -> Add(x-branch Dense) -> Sub: every
    emulated value is exact (interval bounds over-approximate, never under)."""
    g = graph()
    x = inp(g, "x", (4,), tx)
    h = node(g, Op.DENSE, [x, const(g, w1, "w1")], DenseAttrs(4, 3), shape=(3,), out="h")
    r = node(g, Op.RELU, [h], out="r")
    m = node(g, Op.MUL, [r, const(g, c, "c")], out="m")
    d = node(g, Op.DENSE, [m, const(g, w2, "w2")], DenseAttrs(3, 2), shape=(2,), out="d")
    s = node(g, Op.DENSE, [x, const(g, w1[:, :2], "w3")], DenseAttrs(4, 2), shape=(2,),
             out="s")
    a = node(g, Op.ADD, [d, s], out="a")
    y = node(g, Op.SUB, [a, d], out="y")
    outputs(g, y, a)
    infer_precision(g)
    verify(g, final=True)
    corners = np.concatenate([
        np.array(list(itertools.product([tx.min_raw, tx.max_raw], repeat=4))),
        RNG.integers(tx.min_raw, tx.max_raw + 1, (20, 4))])
    got_y, got_a = g(raw_to_float(corners, tx), raw=True)
    xv = vals(corners, tx.frac_bits)
    hv = xv @ fractions_of(w1)
    dv = (np.maximum(hv, 0) * fractions_of(c)[None]) @ fractions_of(w2)
    av = dv + xv @ fractions_of(w1[:, :2])
    np.testing.assert_array_equal(vals(got_a, a.type.frac_bits), av)
    np.testing.assert_array_equal(vals(got_y, y.type.frac_bits), av - dv)


UNARY_CASES = [
    (Op.RELU, None, lambda v: max(v, 0)),
    (Op.LEAKY_RELU, LeakyReluAttrs(0.25), lambda v: v if v >= 0 else v / 4),
    (Op.LEAKY_RELU, LeakyReluAttrs(-0.5), lambda v: v if v >= 0 else -v / 2),
    (Op.LEAKY_RELU, LeakyReluAttrs(1.5), lambda v: v if v >= 0 else v * Fraction(3, 2)),
    (Op.CLIP, ClipAttrs(-0.75, 2.5), lambda v: min(max(v, Fraction(-3, 4)), Fraction(5, 2))),
    (Op.CLIP, ClipAttrs(None, 0.0), lambda v: min(v, 0)),
    (Op.SIGN, None, lambda v: 1 if v >= 0 else -1),
]


@pytest.mark.parametrize("op, attrs, fn", UNARY_CASES)
@pytest.mark.parametrize("tx", [FixedType(True, 6, 3), FixedType(False, 5, 1),
                                FixedType(True, 4, 6)])
def test_unary_ops_are_exact_over_every_input(op, attrs, fn, tx):
    g = graph()
    x = inp(g, "x", (1,), tx)
    outputs(g, node(g, op, [x], attrs, name="u", out="y"))
    infer_precision(g)
    verify(g, final=True)
    raws = np.arange(tx.min_raw, tx.max_raw + 1)[:, None]
    t, got = emulate_exact(g, [raws])
    want = np.array([[Fraction(fn(val(r, tx.frac_bits)))] for r in raws[:, 0]], dtype=object)
    np.testing.assert_array_equal(got, want)
    lo, hi = min(want.flat), max(want.flat)
    scale = Fraction(2) ** t.frac_bits
    if lo != hi:
        assert (t.signed, t.width) == narrowest_width(int(lo * scale), int(hi * scale))


def test_pools_and_concat_are_exact_and_minimal():
    tx = FixedType(True, 5, 2)
    ty = FixedType(False, 4, 1)
    g = graph()
    x = inp(g, "x", (4, 2), tx)
    z = inp(g, "z", (2, 2), ty)
    m = node(g, Op.MAXPOOL, [x], PoolAttrs((2,), (2,), (0, 1), channels_last=True),
             shape=(2, 2), out="m")
    y = node(g, Op.CONCAT, [m, z], ConcatAttrs(0), shape=(4, 2), out="y")
    outputs(g, y)
    infer_precision(g)
    verify(g, final=True)
    assert m.type == tx
    corners = [(a, b) for a in (tx.min_raw, tx.max_raw) for b in (ty.min_raw, ty.max_raw)]
    xr = np.array([np.full((4, 2), a) for a, _ in corners])
    zr = np.array([np.full((2, 2), b) for _, b in corners])
    t, got = emulate_exact(g, [xr, zr])
    want = np.concatenate([vals(xr[:, ::2], tx.frac_bits), vals(zr, ty.frac_bits)], axis=1)
    np.testing.assert_array_equal(got, want)
    assert_minimal(t, got, max(tx.frac_bits, ty.frac_bits))


# ---- overrides and the precision report ------------------------------------------------

def relu_dense_graph(x_type=FixedType(True, 6, 3)):
    g = graph()
    x = inp(g, "x", (3,), x_type)
    w = const(g, [[1.0, -0.5], [0.25, 2.0], [-1.0, 1.5]], "w")
    y = node(g, Op.DENSE, [x, w], DenseAttrs(3, 2), shape=(2,), name="fc", out="y",
             source="dense_1")
    return outputs(g, y)


@pytest.mark.parametrize("key", ["y", "fc", "dense_1"])
@pytest.mark.parametrize("k", [-2, 0, 1, 2, 4])
def test_override_reports_missing_bits(key, k):
    exact = relu_dense_graph()
    infer_precision(exact)
    t = exact.outputs[0].type  # the minimal type
    assert exact.precision_report == []
    over = FixedType(t.signed, t.width - k, t.integer_bits - k, Rounding.TRN, Overflow.SAT)
    g = relu_dense_graph()
    g.precision_overrides = {key: over}
    infer_precision(g)
    verify(g, final=True)
    assert g.outputs[0].type == over
    if k <= 0:
        assert g.precision_report == []
    else:
        (rep,) = g.precision_report
        assert rep.needed_bits == k
        assert (rep.layer, rep.op, rep.tensor, rep.type) == ("dense_1", "Dense", "y", over)
        assert f"needs {k} more integer bit" in str(rep) and "dense_1" in str(rep)
    # the emulator saturates into the override exactly like ap_fixed
    xs = raw_to_float(np.array([[-32, 31, -32], [31, -32, 31], [5, 6, 7]]), g.inputs[0].type)
    raw = g(xs, raw=True)
    want = [[ref_assign(v, over) for v in row]
            for row in (fractions_of(xs) @ fractions_of(g.tensors["w"].value))]
    np.testing.assert_array_equal(raw, want)


def test_override_with_coarser_grid_counts_rounding_overflow():
    g = relu_dense_graph()
    infer_precision(g)
    lo = g.outputs[0].type
    g = relu_dense_graph()
    # one fractional bit fewer, RND: the top of the range may round up past the maximum
    over = FixedType(lo.signed, lo.width - 1, lo.integer_bits, Rounding.RND, Overflow.SAT)
    g.precision_overrides = {"y": over}
    infer_precision(g)
    w = g.tensors["w"].value
    tx = g.inputs[0].type
    hi = max(sum(max(tx.min_value * w[i, j], tx.max_value * w[i, j]) for i in range(3))
             for j in range(2))
    hi_q = math.floor(Fraction(hi) * 2**over.frac_bits + Fraction(1, 2))
    report = g.precision_report
    assert bool(report) == (hi_q > over.max_raw)


def _relu_override_graph():
    g = graph()
    x = inp(g, "x", (1,), FixedType(True, 8, 8))  # [-128, 127]
    outputs(g, node(g, Op.RELU, [x], name="r", out="a"))  # [0, 127]
    g.precision_overrides = {"a": FixedType(True, 6, 6, overflow=Overflow.SAT)}  # [-32, 31]
    return g


def test_override_report_for_signed_type_on_non_negative_range():
    g = _relu_override_graph()
    infer_precision(g)
    (rep,) = g.precision_report
    assert rep.needed_bits == 2


def _sat_zero_graph():
    g = graph()
    x = inp(g, "x", (1,), FixedType(True, 8, 8))  # [-128, 127]
    a = node(g, Op.RELU, [x], name="r", out="a")
    y = node(g, Op.ADD, [a, const(g, 1.0, "one")], name="inc", out="y")
    outputs(g, y)
    g.precision_overrides = {"a": FixedType(True, 6, 6, Rounding.TRN, Overflow.SAT_ZERO)}
    return g


def test_sat_zero_override_keeps_downstream_exact():
    g = _sat_zero_graph()
    infer_precision(g)
    verify(g, final=True)
    # a = relu(5) = 5 fits [-32, 31]; y = 6. Inferred y type: ufixed<1,1> -> wraps to 0
    np.testing.assert_array_equal(g(np.array([[5.0], [100.0]])), [[6.0], [1.0]])


# ---- inputs, casts, constants ------------------------------------------------------------

def test_input_type_from_overrides_and_missing_type_error():
    g = graph()
    x = inp(g, "x", (2,))
    outputs(g, node(g, Op.RELU, [x], out="y"))
    with pytest.raises(PrecisionError, match="Model input 'x'.* has no fixed-point type.*"
                       "precision=\\{'x': 'fixed<16,6>'\\}"):
        infer_precision(g)
    g.precision_overrides = {"input": FixedType(True, 8, 2)}
    infer_precision(g)
    assert x.type == FixedType(True, 8, 2) and g.outputs[0].type == FixedType(False, 7, 1)
    g.precision_overrides = {"x": FixedType(False, 4, 4), "input": FixedType(True, 8, 2)}
    infer_precision(g)
    assert x.type == FixedType(False, 4, 4)


@pytest.mark.parametrize("rounding", list(Rounding))
def test_cast_with_grid_only_derives_integer_bits(rounding):
    tx = FixedType(True, 8, 4)
    g = graph()
    x = inp(g, "x", (256,), tx)
    outputs(g, node(g, Op.CAST, [x], CastAttrs(frac_bits=1, rounding=rounding), out="y"))
    infer_precision(g)
    verify(g, final=True)
    t = g.outputs[0].type
    assert t.frac_bits == 1 and t.rounding is rounding
    raws = np.arange(tx.min_raw, tx.max_raw + 1)
    got = g(raw_to_float(raws[None], tx), raw=True)[0]
    scaled = [Fraction(int(r), 2**3) for r in raws]  # frac 4 -> frac 1
    from tests.unit.reference import ref_round
    want = [ref_round(v, rounding) for v in scaled]
    np.testing.assert_array_equal(got, want)  # never overflows
    assert (t.signed, t.width) == narrowest_width(min(want), max(want))


def test_inexact_constant_is_rounded_to_48_bits():
    g = graph()
    x = inp(g, "x", (1,), FixedType(True, 8, 4))
    c = const(g, 0.1, "c")
    outputs(g, node(g, Op.MUL, [x, c], out="y"))
    infer_precision(g)
    verify(g, final=True)
    assert c.type.width == 48 and c.type.rounding is Rounding.RND_CONV
    assert abs(float(c.value) - 0.1) < 2**-46 and float(c.value) != 0.1


def test_types_are_stable_on_a_second_run():
    g = relu_dense_graph()
    infer_precision(g)
    before = {n: t.type for n, t in g.tensors.items()}
    assert infer_precision(g) is True
    assert {n: t.type for n, t in g.tensors.items()} == before


# ---- pools, LUTs, softmax, division ---------------------------------------------------------

def test_avgpool_power_of_two_window_is_exact():
    tx = FixedType(True, 6, 2)
    g = graph()
    x = inp(g, "x", (4, 4, 1), tx)
    outputs(g, node(g, Op.AVGPOOL, [x], PoolAttrs((2, 2), (2, 2), (0, 0, 0, 0),
                                                  channels_last=True), shape=(2, 2, 1), out="y"))
    infer_precision(g)
    t = g.outputs[0].type
    assert t == FixedType(True, 8, 2)  # sum of 4 needs 2 more bits, /4 adds 2 fraction bits
    assert g.nodes[0].attrs.accum_type == FixedType(True, 8, 4)
    xs = np.stack([np.full((4, 4, 1), tx.min_value), np.full((4, 4, 1), tx.max_value),
                   RNG.integers(-32, 32, (4, 4, 1)) / 16])
    got = g(xs)
    want = xs.reshape(3, 2, 2, 2, 2, 1).mean(axis=(2, 4))
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("op, fn", [(Op.SIGMOID, "sigmoid"), (Op.TANH, "tanh")])
@pytest.mark.parametrize("tx", [FixedType(True, 8, 5), FixedType(True, 12, 8)])
def test_lut_table_is_exact_per_input(op, fn, tx):
    """One table entry per input value (fixed<8,5>), or per value inside the range where
    the function still changes at the output precision (fixed<12,8>: the table is
    clipped there, and is still exact for every input)."""
    n = 2**tx.width
    g = graph()
    x = inp(g, "x", (n,), tx)
    outputs(g, node(g, op, [x], LutAttrs(fn), name="act", out="y"))
    infer_precision(g)
    verify(g, final=True)
    a = g.nodes[0].attrs
    t = DEFAULT_LUT_TYPES[fn]
    assert g.outputs[0].type == t and a.table_type == t and a.shift == 0 and a.exact
    assert len(a.table) <= 1024
    xs = raw_to_float(np.arange(tx.min_raw, tx.max_raw + 1)[None], tx)
    f = {"sigmoid": lambda v: 1 / (1 + np.exp(-v)), "tanh": np.tanh}[fn]
    np.testing.assert_array_equal(g(xs, raw=True), quantize(f(xs), t))


def test_lut_with_coarse_table_and_override():
    tx = FixedType(True, 16, 6)
    out_t = FixedType(False, 8, 0, Rounding.RND_CONV, Overflow.SAT)
    g = graph()
    x = inp(g, "x", (1,), tx)
    outputs(g, node(g, Op.SIGMOID, [x], LutAttrs("sigmoid", table_size=64), name="act",
                    out="y"))
    g.precision_overrides = {"act": out_t}
    infer_precision(g)
    verify(g, final=True)
    a = g.nodes[0].attrs
    assert len(a.table) <= 64 and a.shift > 0 and not a.exact and a.table_type == out_t
    xs = np.linspace(-31, 31, 621)[:, None]
    err = np.abs(g(xs) - 1 / (1 + np.exp(-xs)))
    assert err.max() < 0.1


def test_softmax_tables_and_values():
    tx = FixedType(True, 8, 3)
    g = graph()
    x = inp(g, "x", (5,), tx)
    outputs(g, node(g, Op.SOFTMAX, [x], SoftmaxAttrs(), name="sm", out="y"))
    infer_precision(g)
    verify(g, final=True)
    a = g.nodes[0].attrs
    assert a.exp_lut is not None and a.inv_lut is not None and a.sum_type is not None
    xs = RNG.integers(-128, 128, (50, 5)) / 32
    got = g(xs)
    e = np.exp(xs - xs.max(axis=1, keepdims=True))
    np.testing.assert_allclose(got, e / e.sum(axis=1, keepdims=True), atol=2e-2)


def test_division_by_non_power_of_two_rounds_once():
    tx = FixedType(True, 8, 8)
    g = graph()
    x = inp(g, "x", (1,), tx)
    outputs(g, node(g, Op.DIV, [x, const(g, 3.0, "three")], out="y"))
    infer_precision(g)
    verify(g, final=True)
    t = g.outputs[0].type
    assert t.rounding is Rounding.RND_CONV and t.frac_bits >= 8
    raws = np.arange(-128, 128)[:, None]
    got = g(raws.astype(float), raw=True)
    want = [[ref_assign(Fraction(int(r), 3), t)] for r in raws[:, 0]]
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("divisor", [3.0, 0.1])
def test_division_type_has_no_unused_integer_bits(divisor):
    tx = FixedType(True, 8, 8)
    g = graph()
    x = inp(g, "x", (1,), tx)
    c = const(g, divisor, "d")
    outputs(g, node(g, Op.DIV, [x, c], out="y"))
    infer_precision(g)
    t = g.outputs[0].type
    d = Fraction(float(c.value))
    lo = ref_assign(Fraction(-128) / d, t.with_modes(overflow=Overflow.SAT))
    hi = ref_assign(Fraction(127) / d, t.with_modes(overflow=Overflow.SAT))
    assert (t.signed, t.width) == narrowest_width(lo, hi)

"""Every op's kernel (``trigc.ops.OPS[op].kernel``) against an independent reference (Python ints, Fractions and
explicit loops in tests/unit/reference.py), exactly; then the emulator's assignment of
that exact result to output types of every rounding and overflow mode."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.graphs import conv_out_shape, graph, inp, node, outputs
from tests.unit.reference import (
    conv_ref, lut_index_ref, pool_ref, ref_assign_array, to_int_array, val, vals,
)
from trigc import PrecisionError
from trigc.ops import OPS, Exact, Value, assign
from trigc.fixed import FixedType, Overflow, Rounding
from trigc.ir import Op
from trigc.ir.ops import (
    ClipAttrs, ConcatAttrs, ConvAttrs, DenseAttrs, GlobalPoolAttrs, LeakyReluAttrs, LutAttrs,
    PoolAttrs, ReshapeAttrs, ResizeAttrs, SoftmaxAttrs, TransposeAttrs,
)

RNG = np.random.default_rng(6)
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Output types covering every rounding and every overflow mode, narrow enough that the
# random data overflows them, plus one wide type that holds everything exactly.
OUT_TYPES = [
    FixedType(True, 40, 20, Rounding.RND_CONV, Overflow.SAT),
    FixedType(True, 6, 3, Rounding.TRN, Overflow.WRAP),
    FixedType(False, 5, 2, Rounding.RND, Overflow.SAT),
    FixedType(True, 5, 1, Rounding.RND_ZERO, Overflow.WRAP_SM),
    FixedType(True, 7, 4, Rounding.RND_MIN_INF, Overflow.SAT_SYM),
    FixedType(True, 6, 2, Rounding.TRN_ZERO, Overflow.SAT_ZERO),
    FixedType(False, 9, 9, Rounding.RND_INF, Overflow.WRAP),
    FixedType(True, 12, -2, Rounding.RND_CONV, Overflow.SAT),
]


def exact_values(r: Exact) -> np.ndarray:
    """The real values of a kernel result as Fractions."""
    raw = np.asarray(r.raw)
    out = vals(raw, r.frac)
    if r.den is not None:
        den = np.broadcast_to(np.asarray(r.den), raw.shape)
        for idx in np.ndindex(raw.shape):
            out[idx] = out[idx] / int(den[idx])
    return out


def check(n, args, want, types=OUT_TYPES):
    """Kernel result equals ``want`` (object array of exact values) and assigns like
    the reference to every type in ``types``."""
    r = OPS[n.op].kernel(n, args)
    got = exact_values(r)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    for t in types:
        np.testing.assert_array_equal(to_int_array(assign(r, t)), ref_assign_array(want, t),
                                      err_msg=str(t))
    return r


def rand_raw(shape, bits=8, signed=True):
    lo = -(2 ** (bits - 1)) if signed else 0
    hi = 2 ** (bits - 1) if signed else 2**bits
    return RNG.integers(lo, hi, shape).astype(np.int64)


def single(op, attrs, in_shapes, out_shape=None):
    """A graph with one node reading tensors of the given per-sample shapes."""
    g = graph()
    ins = [inp(g, f"x{i}", s) for i, s in enumerate(in_shapes)]
    y = node(g, op, ins, attrs, shape=out_shape, name="n", out="y")
    outputs(g, y)
    return g.nodes[0]


# ---- Cast, elementwise ---------------------------------------------------------------

@SETTINGS
@given(st.lists(st.integers(-(2**30), 2**30), min_size=1, max_size=8), st.integers(-8, 30),
       st.sampled_from(OUT_TYPES))
def test_cast(raws, frac, t):
    n = single(Op.CAST, None, [(len(raws),)])
    x = np.array([raws], dtype=np.int64)
    check(n, [Value(x, frac)], vals(x, frac), [t])


@pytest.mark.parametrize("op", [Op.ADD, Op.SUB, Op.MUL])
@pytest.mark.parametrize("fa, fb", [(0, 0), (3, -2), (-4, 6), (10, 10)])
def test_elementwise_two_activations(op, fa, fb):
    n = single(op, None, [(3, 4), (3, 4)])
    a, b = rand_raw((2, 3, 4), 10), rand_raw((2, 3, 4), 10)
    va, vb = vals(a, fa), vals(b, fb)
    want = {Op.ADD: va + vb, Op.SUB: va - vb, Op.MUL: va * vb}[op]
    check(n, [Value(a, fa), Value(b, fb)], want)


@pytest.mark.parametrize("op", [Op.ADD, Op.SUB, Op.MUL])
@pytest.mark.parametrize("cshape", [(), (4,), (3, 1), (1, 4)])
def test_elementwise_with_broadcast_constant(op, cshape):
    n = single(op, None, [(3, 4), (3, 4)])
    a = rand_raw((2, 3, 4), 9)
    c = rand_raw(cshape, 6)
    want = {Op.ADD: np.add, Op.SUB: np.subtract, Op.MUL: np.multiply}[op](vals(a, 2),
                                                                          vals(c, 5))
    check(n, [Value(a, 2), Value(c, 5)], want)


WIDE = FixedType(True, 200, 100)  # holds every wide result below exactly


@pytest.mark.parametrize("op", [Op.ADD, Op.SUB, Op.MUL, Op.MAXPOOL, Op.AVGPOOL,
                                Op.LEAKY_RELU, Op.CLIP, Op.CONCAT])
def test_wide_values_stay_exact(op):
    """Raw values near int64's limit, grids 40 bits apart: every kernel must switch to
    Python ints instead of wrapping."""
    a = np.array([[2**61 - 1, -(2**61), 12345, -1]], dtype=np.int64)
    b = np.array([[2**40 + 7, -(2**40), -3, 2**50]], dtype=np.int64)
    va, vb = vals(a, 0), vals(b, 40)
    if op in (Op.ADD, Op.SUB, Op.MUL):
        n = single(op, None, [(4,), (4,)])
        want = {Op.ADD: va + vb, Op.SUB: va - vb, Op.MUL: va * vb}[op]
        check(n, [Value(a, 0), Value(b, 40)], want, [WIDE])
    elif op is Op.CONCAT:
        n = single(op, ConcatAttrs(0), [(4,), (4,)], (8,))
        check(n, [Value(a, 0), Value(b, 40)], np.concatenate([va, vb], axis=1), [WIDE])
    elif op is Op.LEAKY_RELU:
        n = single(op, LeakyReluAttrs(0.3125), [(4,)])
        want = np.where(a < 0, va * Fraction(5, 16), va)
        check(n, [Value(a, 0)], want, [WIDE])
    elif op is Op.CLIP:
        n = single(op, ClipAttrs(-(2.0**60), 2.0**-20), [(4,)])
        want = np.array([[min(max(v, Fraction(-(2**60))), Fraction(1, 2**20)) for v in va[0]]],
                        dtype=object)
        check(n, [Value(a, 0)], want, [WIDE])
    else:
        x = np.array([[[2**61 - 1], [2**61 - 2], [-(2**61)], [2**61 - 3]]], dtype=np.int64)
        attrs = PoolAttrs((2,), (2,), (0, 0), channels_last=True)
        n = single(op, attrs, [(4, 1)], (2, 1))
        want = pool_ref(vals(x, 0), (2,), (2,), (0, 0), "max" if op is Op.MAXPOOL else "avg")
        check(n, [Value(x, 0)], want, [WIDE])


@pytest.mark.parametrize("divisor_frac", [0, 3, -2])
def test_div_by_constants(divisor_frac):
    n = single(Op.DIV, None, [(6,), (6,)])
    x = rand_raw((4, 6), 12)
    c = np.array([3, -3, 4, -8, 7, 1], dtype=np.int64)  # signs, powers of two, odd
    want = vals(x, 5) / vals(c, divisor_frac)
    r = check(n, [Value(x, 5), Value(c, divisor_frac)], want)
    assert np.all(np.asarray(r.den) > 0)  # the sign goes to the numerator


@SETTINGS
@given(st.integers(-(2**20), 2**20), st.integers(1, 1000), st.integers(-10, 10),
       st.integers(-10, 10), st.sampled_from(OUT_TYPES))
def test_div_scalar_property(xr, cr, xf, cf, t):
    n = single(Op.DIV, None, [(1,), (1,)])
    x, c = np.array([[xr]]), np.array([cr])
    check(n, [Value(x, xf), Value(c, cf)], vals(x, xf) / vals(c, cf), [t])


# ---- Dense and Conv ---------------------------------------------------------------------

@st.composite
def dense_cases(draw):
    n_in, n_out, batch = draw(st.integers(1, 5)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
    bits = draw(st.sampled_from([4, 12, 30]))  # 30: past float64's exact range
    xf, wf = draw(st.integers(-4, 10)), draw(st.integers(-4, 10))
    x = np.array(draw(st.lists(st.integers(-(2**bits), 2**bits), min_size=n_in * batch,
                               max_size=n_in * batch))).reshape(batch, n_in)
    w = np.array(draw(st.lists(st.integers(-(2**bits), 2**bits), min_size=n_in * n_out,
                               max_size=n_in * n_out))).reshape(n_in, n_out)
    bias = draw(st.booleans())
    b = np.array(draw(st.lists(st.integers(-(2**12), 2**12), min_size=n_out,
                               max_size=n_out))) if bias else None
    bf = draw(st.integers(-4, 25))
    return x, xf, w, wf, b, bf


@SETTINGS
@given(dense_cases(), st.sampled_from(OUT_TYPES))
def test_dense(case, t):
    x, xf, w, wf, b, bf = case
    n_in, n_out = w.shape
    n = single(Op.DENSE, DenseAttrs(n_in, n_out), [(n_in,)], (n_out,))
    want = np.empty((x.shape[0], n_out), dtype=object)
    for bi, j in itertools.product(range(x.shape[0]), range(n_out)):
        acc = sum(int(x[bi, i]) * int(w[i, j]) for i in range(n_in))
        v = val(acc, xf + wf)
        want[bi, j] = v + (val(b[j], bf) if b is not None else 0)
    args = [Value(x.astype(np.int64), xf), Value(w.astype(np.int64), wf)]
    if b is not None:
        args.append(Value(b.astype(np.int64), bf))
    check(n, args, want, [t, OUT_TYPES[0]])


def test_dense_bias_alignment_does_not_wrap_int64():
    """Regression: _linear aligned the products to a finer bias grid with an unchecked
    int64 left shift (a 48-bit bias such as 0.1 has 47 fractional bits)."""
    n = single(Op.DENSE, DenseAttrs(1, 1), [(1,)], (1,))
    x = np.array([[4095]])                       # ufixed<12,12>
    w = np.array([[5]])                          # 40.0 as a constant: raw 5, frac -3
    b_raw = round(0.1 * 2**47)                   # 0.1 rounded to 48 bits: frac 47
    want = np.array([[val(4095 * 5, -3) + val(b_raw, 47)]], dtype=object)
    check(n, [Value(x, 0), Value(w, -3), Value(np.array([b_raw]), 47)], want, [])


def test_dense_object_path():
    n = single(Op.DENSE, DenseAttrs(3, 2), [(3,)], (2,))
    x = np.array([[2**40, -(2**40), 3]], dtype=object)
    w = np.array([[2**30, 1], [2**30 - 1, -1], [5, 7]], dtype=object)
    want = np.array([[val(2**40 * 2**30 - 2**40 * (2**30 - 1) + 15, 3),
                      val(2**40 + 2**40 + 21, 3)]], dtype=object)
    check(n, [Value(x, 1), Value(w, 2)], want, [FixedType(True, 80, 70), OUT_TYPES[1]])


CONV_CASES = [
    # spatial, c_in, c_out, kernel, strides, pads, groups, bias
    ((7,), 2, 3, (3,), (1,), (1, 1), 1, True),
    ((8,), 2, 2, (2,), (2,), (0, 1), 1, False),
    ((5, 5), 2, 4, (3, 3), (1, 1), (1, 1, 1, 1), 1, True),
    ((6, 5), 3, 2, (2, 3), (2, 1), (0, 1, 1, 0), 1, True),
    ((5, 5), 4, 4, (3, 3), (1, 1), (1, 1, 1, 1), 4, True),    # depthwise
    ((6, 6), 4, 8, (3, 3), (2, 2), (1, 0, 1, 0), 4, False),   # depthwise, multiplier 2
    ((4, 4), 4, 6, (1, 1), (1, 1), (0, 0, 0, 0), 2, True),    # grouped 1x1
    ((6,), 6, 3, (3,), (3,), (2, 2), 3, True),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: f"{c[0]}-g{c[6]}-s{c[4]}")
@pytest.mark.parametrize("fracs", [(3, 4, 2), (0, -2, 9)])
def test_conv(case, fracs):
    spatial, c_in, c_out, kernel, strides, pads, groups, bias = case
    xf, wf, bf = fracs
    out_sp = conv_out_shape(spatial, kernel, strides, pads)
    n = single(Op.CONV, ConvAttrs(kernel, strides, pads, groups, channels_last=True),
               [(*spatial, c_in)], (*out_sp, c_out))
    x = rand_raw((2, *spatial, c_in), 8)
    w = rand_raw((*kernel, c_in // groups, c_out), 6)
    b = rand_raw((c_out,), 10) if bias else None
    want = conv_ref(vals(x, xf), vals(w, wf), None if b is None else vals(b, bf), strides, pads,
                    groups)
    args = [Value(x, xf), Value(w, wf)] + ([Value(b, bf)] if bias else [])
    check(n, args, want)


def test_conv_wide_values_use_exact_integers():
    n = single(Op.CONV, ConvAttrs((2,), (1,), (0, 0), 1, channels_last=True), [(3, 1)], (2, 1))
    x = np.array([[[2**35], [-(2**35)], [2**35 - 1]]], dtype=np.int64)
    w = np.array([[[2**20]], [[3]]], dtype=np.int64)
    want = conv_ref(vals(x, 0), vals(w, 0), None, (1,), (0, 0), 1)
    check(n, [Value(x, 0), Value(w, 0)], want, [FixedType(True, 64, 64)])


# ---- activations -----------------------------------------------------------------------

def test_relu_and_sign():
    x = rand_raw((3, 5), 8)
    x[0, :3] = [0, -1, 1]
    n = single(Op.RELU, None, [(5,)])
    check(n, [Value(x, 3)], vals(np.maximum(x, 0), 3))
    n = single(Op.SIGN, None, [(5,)])
    check(n, [Value(x, 3)], vals(np.where(x >= 0, 1, -1), 0))


def test_abs_is_exact_at_the_most_negative_value():
    x = rand_raw((3, 5), 8)
    x[0, :4] = [0, -1, 1, -128]
    n = single(Op.ABS, None, [(5,)])
    check(n, [Value(x, 3)], vals(np.abs(x), 3))
    wide = np.array([[-2**63, 2**63 - 1]], dtype=np.int64)
    check(single(Op.ABS, None, [(2,)]), [Value(wide, 0)],
          np.array([[Fraction(2**63), Fraction(2**63 - 1)]], dtype=object), types=[])


@pytest.mark.parametrize("alpha", [0.125, 0.3125, -0.5, 1.5, 0.0])
def test_leaky_relu(alpha):
    n = single(Op.LEAKY_RELU, LeakyReluAttrs(alpha), [(6,)])
    x = rand_raw((3, 6), 9)
    vx = vals(x, 4)
    want = np.where(x < 0, vx * Fraction(alpha), vx)
    check(n, [Value(x, 4)], want)


def test_leaky_relu_with_inexact_alpha_is_a_clear_error():
    n = single(Op.LEAKY_RELU, LeakyReluAttrs(0.1), [(2,)])
    with pytest.raises(PrecisionError, match="0.1 is not exactly representable in 48 bits"):
        OPS[Op.LEAKY_RELU].kernel(n, [Value(np.array([[1, -1]]), 0)])


@pytest.mark.parametrize("low, high", [(None, 2.5), (-1.25, None), (-0.0625, 0.75),
                                       (None, None), (-64.0, 128.0)])
def test_clip(low, high):
    n = single(Op.CLIP, ClipAttrs(low, high), [(8,)])
    x = rand_raw((3, 8), 8)
    vx = vals(x, 3)
    lo = Fraction(low) if low is not None else None
    hi = Fraction(high) if high is not None else None
    want = np.empty(vx.shape, dtype=object)
    for idx in np.ndindex(vx.shape):
        v = vx[idx]
        if lo is not None:
            v = max(v, lo)
        if hi is not None:
            v = min(v, hi)
        want[idx] = v
    check(n, [Value(x, 3)], want)


def lut_attrs(function, entries, index_low, shift, table_type, exact=False):
    lo = table_type.min_raw
    hi = table_type.max_raw
    table = RNG.integers(lo, hi + 1, entries).astype(np.int64)
    return LutAttrs(function, entries, index_low, shift, table, table_type, exact)


@pytest.mark.parametrize("op, fn", [(Op.SIGMOID, "sigmoid"), (Op.TANH, "tanh"),
                                    (Op.SELU, "selu")])
@pytest.mark.parametrize("entries, index_low, shift", [(1, 0, 0), (17, -5, 0), (33, -300, 3),
                                                        (8, 100, 5), (64, -64, 1)])
def test_lut_lookup_matches_docstring_formula(op, fn, entries, index_low, shift):
    tt = FixedType(op is not Op.SIGMOID, 10, 1)
    a = lut_attrs(fn, entries, index_low, shift, tt)
    n = single(op, a, [(50,)])
    span = entries << shift
    x = RNG.integers(index_low - span - 10, index_low + 2 * span + 10, (4, 50))
    x[0, :4] = [index_low, index_low - 1, index_low + span - 1, index_low + span]
    want = np.empty(x.shape, dtype=object)
    for idx in np.ndindex(x.shape):
        want[idx] = val(a.table[lut_index_ref(x[idx], index_low, shift, entries)], tt.frac_bits)
    check(n, [Value(x, 6)], want, [tt, OUT_TYPES[1]])


def test_lut_without_table_is_an_error():
    n = single(Op.SIGMOID, LutAttrs("sigmoid"), [(2,)])
    with pytest.raises(Exception, match="lookup table not built"):
        OPS[Op.SIGMOID].kernel(n, [Value(np.array([[0, 1]]), 0)])


@pytest.mark.parametrize("shape", [(5,), (3, 4)])
def test_softmax_lookup_chain(shape):
    exp_t = FixedType(False, 12, 1)
    inv_t = FixedType(False, 10, 2)
    exp_lut = lut_attrs("exp", 40, -120, 2, exp_t)
    inv_lut = lut_attrs("inv", 50, 0, 9, inv_t)
    a = SoftmaxAttrs(exp_lut=exp_lut, inv_lut=inv_lut)
    n = single(Op.SOFTMAX, a, [shape])
    x = rand_raw((2, *shape), 8)
    want = np.empty(x.shape, dtype=object)
    for lead in np.ndindex(x.shape[:-1]):
        row = [int(v) for v in x[lead]]
        top = max(row)
        e = [int(exp_lut.table[lut_index_ref(v - top, -120, 2, 40)]) for v in row]
        s = sum(e)
        inv = int(inv_lut.table[lut_index_ref(s, 0, 9, 50)])
        for k, ek in enumerate(e):
            want[(*lead, k)] = val(ek * inv, exp_t.frac_bits + inv_t.frac_bits)
    check(n, [Value(x, 3)], want)


# ---- pooling -------------------------------------------------------------------------------

POOL_CASES = [
    # spatial, kernel, strides, pads
    ((7,), (2,), (2,), (0, 1)),
    ((6,), (3,), (1,), (1, 1)),
    ((5, 5), (2, 2), (2, 2), (0, 0, 1, 1)),
    ((5, 6), (3, 3), (2, 1), (1, 1, 1, 1)),
    ((4, 4), (3, 2), (1, 2), (2, 0, 0, 1)),
]


@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: f"{c[0]}-k{c[1]}-p{c[3]}")
def test_maxpool(case):
    spatial, kernel, strides, pads = case
    out_sp = conv_out_shape(spatial, kernel, strides, pads)
    n = single(Op.MAXPOOL, PoolAttrs(kernel, strides, pads, channels_last=True),
               [(*spatial, 3)], (*out_sp, 3))
    x = rand_raw((2, *spatial, 3), 8)
    x[0] = -100 - np.abs(x[0])  # all negative: the padding must never win
    want = pool_ref(vals(x, 2), kernel, strides, pads, "max")
    check(n, [Value(x, 2)], want)


@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: f"{c[0]}-k{c[1]}-p{c[3]}")
@pytest.mark.parametrize("include_pad", [False, True])
def test_avgpool(case, include_pad):
    spatial, kernel, strides, pads = case
    out_sp = conv_out_shape(spatial, kernel, strides, pads)
    n = single(Op.AVGPOOL, PoolAttrs(kernel, strides, pads, include_pad, channels_last=True),
               [(*spatial, 2)], (*out_sp, 2))
    x = rand_raw((2, *spatial, 2), 8)
    want = pool_ref(vals(x, 4), kernel, strides, pads, "avg", include_pad)
    check(n, [Value(x, 4)], want)


@pytest.mark.parametrize("spatial", [(5,), (3, 4)])
def test_global_pools_values(spatial):
    x = rand_raw((2, *spatial, 3), 8)
    axes = tuple(range(1, 1 + len(spatial)))
    vx = vals(x, 3)
    count = math.prod(spatial)
    n = single(Op.GLOBAL_MAXPOOL, GlobalPoolAttrs(channels_last=True), [(*spatial, 3)])
    r = OPS[Op.GLOBAL_MAXPOOL].kernel(n, [Value(x, 3)])
    want = vx.max(axis=axes)
    np.testing.assert_array_equal(exact_values(r).reshape(want.shape), want)
    n = single(Op.GLOBAL_AVGPOOL, GlobalPoolAttrs(channels_last=True), [(*spatial, 3)])
    r = OPS[Op.GLOBAL_AVGPOOL].kernel(n, [Value(x, 3)])
    want = vx.sum(axis=axes) / count
    np.testing.assert_array_equal(exact_values(r).reshape(want.shape), want)
    for t in OUT_TYPES:
        np.testing.assert_array_equal(to_int_array(assign(r, t)).reshape(want.shape),
                                      ref_assign_array(want, t))


# ---- layout ----------------------------------------------------------------------------------

def test_reshape_transpose_concat():
    x = rand_raw((2, 3, 4), 8)
    n = single(Op.RESHAPE, ReshapeAttrs((12,)), [(3, 4)], (12,))
    check(n, [Value(x, 1)], vals(x.reshape(2, 12), 1))
    n = single(Op.TRANSPOSE, TransposeAttrs((1, 0)), [(3, 4)], (4, 3))
    check(n, [Value(x, 1)], vals(np.transpose(x, (0, 2, 1)), 1))
    y = rand_raw((2, 3, 2), 8)
    n = single(Op.CONCAT, ConcatAttrs(1), [(3, 4), (3, 2)], (3, 6))
    want = np.concatenate([vals(x, 1), vals(y, 5)], axis=2)
    check(n, [Value(x, 1), Value(y, 5)], want)
    n = single(Op.CONCAT, ConcatAttrs(0), [(3, 4), (3, 4)], (6, 4))
    z = rand_raw((2, 3, 4), 8)
    check(n, [Value(x, -1), Value(z, 2)], np.concatenate([vals(x, -1), vals(z, 2)], axis=1))


# ---- every kernel returns the shape the IR declares ------------------------------------------

def _shape_cases():
    t = FixedType(False, 8, 1)
    lut = LutAttrs("sigmoid", 4, 0, 0, np.arange(4), t)
    sm = SoftmaxAttrs(exp_lut=LutAttrs("exp", 4, -3, 0, np.arange(4), t),
                      inv_lut=LutAttrs("inv", 4, 0, 4, np.arange(4), t))
    conv = ConvAttrs((3, 3), (2, 2), (1, 1, 1, 1), 1, channels_last=True)
    pool = PoolAttrs((2, 2), (2, 2), (0, 0, 0, 0), channels_last=True)
    gp = GlobalPoolAttrs(channels_last=True)
    # op, attrs, input shapes (after to_channels_last), output shape, constants
    return {
        Op.CAST: (None, [(2, 3)], (2, 3), []),
        Op.DENSE: (DenseAttrs(3, 4), [(3,)], (4,), [np.ones((3, 4))]),
        Op.CONV: (conv, [(5, 5, 2)], (3, 3, 4), [np.ones((3, 3, 2, 4))]),
        Op.ADD: (None, [(2, 3)], (2, 3), [np.ones(3)]),
        Op.SUB: (None, [(2, 3)], (2, 3), [np.ones(3)]),
        Op.MUL: (None, [(2, 3)], (2, 3), [np.ones(3)]),
        Op.DIV: (None, [(2, 3)], (2, 3), [np.full(3, 3)]),
        Op.RELU: (None, [(2, 3)], (2, 3), []),
        Op.LEAKY_RELU: (LeakyReluAttrs(0.25), [(2, 3)], (2, 3), []),
        Op.CLIP: (ClipAttrs(0.0, 1.0), [(2, 3)], (2, 3), []),
        Op.SIGN: (None, [(2, 3)], (2, 3), []),
        Op.ABS: (None, [(2, 3)], (2, 3), []),
        Op.SIGMOID: (lut, [(2, 3)], (2, 3), []),
        Op.TANH: (lut, [(2, 3)], (2, 3), []),
        Op.SELU: (lut, [(2, 3)], (2, 3), []),
        Op.SOFTMAX: (sm, [(2, 3)], (2, 3), []),
        Op.MAXPOOL: (pool, [(4, 4, 2)], (2, 2, 2), []),
        Op.AVGPOOL: (pool, [(4, 4, 2)], (2, 2, 2), []),
        Op.GLOBAL_AVGPOOL: (gp, [(4, 4, 2)], (1, 1, 2), []),  # ONNX keeps the spatial dims
        Op.GLOBAL_MAXPOOL: (gp, [(4, 4, 2)], (1, 1, 2), []),
        Op.RESHAPE: (ReshapeAttrs((6,)), [(2, 3)], (6,), []),
        Op.TRANSPOSE: (TransposeAttrs((1, 0)), [(2, 3)], (3, 2), []),
        Op.CONCAT: (ConcatAttrs(1), [(2, 3), (2, 3)], (2, 6), []),
        Op.RESIZE: (ResizeAttrs((2, 3), channels_last=True), [(2, 3, 4)], (4, 9, 4), []),
    }


@pytest.mark.parametrize("op", list(OPS))
def test_kernel_output_shape_matches_ir_shape(op):
    """(Regression for the global pools, which used to drop the spatial axes.)"""
    attrs, in_shapes, out_shape, consts = _shape_cases()[op]
    n = single(op, attrs, in_shapes, out_shape)
    args = [Value(np.ones((2, *s), dtype=np.int64), 0) for s in in_shapes]
    args += [Value(np.asarray(c, dtype=np.int64), 0) for c in consts]
    r = OPS[op].kernel(n, args)
    assert np.shape(r.raw) == (2, *n.output.shape)


def test_every_op_has_a_shape_case():
    assert set(_shape_cases()) == set(OPS)

"""trigc.emulator: run / emulate / assign around the kernels."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.graphs import const, graph, inp, node, outputs
from tests.unit.reference import ref_assign, to_int_array
from fractions import Fraction
from trigc import IRError, ModelError
from trigc.emulator import assign, constant_values, emulate, run
from trigc.ops import Exact
from trigc.fixed import FixedType, Overflow, Rounding
from trigc.ir import Op, verify

X = FixedType(True, 8, 4, Rounding.RND_CONV, Overflow.SAT)


def two_output_graph():
    g = graph()
    x = inp(g, "x", (3,), X)
    a = node(g, Op.MUL, [x, const(g, 0.5, "half", FixedType(False, 1, 0))], out="a",
             type=FixedType(True, 9, 4))
    b = node(g, Op.RELU, [x], out="b", type=FixedType(False, 7, 3, Rounding.TRN, Overflow.SAT))
    outputs(g, a, b)
    verify(g, final=True)
    return g


def test_inputs_are_quantized_with_the_input_type():
    g = two_output_graph()
    xs = np.array([[0.03125, -0.09375, 100.0], [-100.0, 1.5, 7.96875]])
    a, b = emulate(g, xs)
    # RND_CONV to 1/16: 0.03125 -> 0 (tie to even), -0.09375 -> -0.125; SAT at +-8
    xq = np.array([[0.0, -0.125, 127 / 16], [-8.0, 1.5, 8.0 - 1 / 16]])
    np.testing.assert_array_equal(a, xq * 0.5)
    np.testing.assert_array_equal(b, np.minimum(np.maximum(xq, 0), 127 / 8))
    ra, rb = emulate(g, xs, raw=True)
    np.testing.assert_array_equal(ra, (xq * 0.5 * 32).astype(int))
    assert ra.dtype == np.int64


def test_single_sample_without_batch_axis():
    g = two_output_graph()
    a, _ = g(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(a, [[0.5, 1.0, 1.5]])


def test_errors():
    g = two_output_graph()
    with pytest.raises(ModelError, match=r"expects shape \(N, 3\), got \(2, 4\)"):
        emulate(g, np.zeros((2, 4)))
    with pytest.raises(ModelError, match="Model has 1 inputs, got 2"):
        emulate(g, np.zeros((1, 3)), np.zeros((1, 3)))
    g.inputs[0].type = None
    with pytest.raises(IRError, match="has no type; run the compiler pipeline first"):
        emulate(g, np.zeros((1, 3)))
    g = two_output_graph()
    from trigc import PrecisionError
    with pytest.raises(PrecisionError, match="NaN"):
        emulate(g, np.array([[np.nan, 0, 0]]))


def test_run_returns_every_value():
    g = two_output_graph()
    env = run(g, [np.array([[1.0, 2.0, 3.0]])])
    assert set(env) >= {id(t) for t in g.tensors.values()}
    half = env[id(g.tensors["half"])]
    assert (half.frac, int(half.raw)) == (1, 1)
    np.testing.assert_array_equal(env[id(g.outputs[0])].raw, [[16, 32, 48]])
    consts = constant_values(g)
    assert set(consts) == {id(g.tensors["half"])}


@pytest.mark.parametrize("t", [FixedType(True, 8, 4), FixedType(False, 4, 4, Rounding.RND,
                                                                  Overflow.SAT),
                               FixedType(True, 70, 10)])
def test_assign_plain_and_ratio(t):
    raw = np.array([[-300, -17, 0, 5, 17, 300]], dtype=np.int64)
    for frac in (2, 4, 7, 9):
        got = assign(Exact(raw, frac), t)
        want = [ref_assign(Fraction(int(r), 2**frac), t) for r in raw[0]]
        np.testing.assert_array_equal(to_int_array(got)[0], want)
        for den in (3, np.array([1, 2, 3, 4, 5, 6])):
            got = assign(Exact(raw, frac, den), t)
            dens = np.broadcast_to(den, raw.shape)[0]
            want = [ref_assign(Fraction(int(r), 2**frac * int(d)), t)
                    for r, d in zip(raw[0], dens)]
            np.testing.assert_array_equal(to_int_array(got)[0], want)


def test_assign_fast_path_returns_in_range_values_unchanged():
    raw = np.array([1, -2, 3], dtype=np.int64)
    assert assign(Exact(raw, 4), FixedType(True, 8, 4)) is raw
    out = assign(Exact(np.array([1, 2], dtype=object), 4), FixedType(True, 8, 4))
    assert [int(v) for v in out] == [1, 2]


def test_assign_of_wide_division_does_not_wrap_int64():
    """Regression: assign used to shift an int64 numerator left by up to 61 bits
    unchecked, wrapping silently (e.g. Div by 0.1 on a 16-bit input)."""
    t = FixedType(True, 70, 10)  # frac 60: the numerator -300 at frac 2 is shifted by 58
    got = assign(Exact(np.array([-300]), 2, 3), t)
    assert int(got[0]) == ref_assign(Fraction(-300, 4 * 3), t) == -100 * 2**58

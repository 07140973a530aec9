"""trigc.netlist.cmvm: constant matrix times vector as shift-adds is exact (against
``x @ w`` in Python ints), costs nothing for zeros and powers of two, shares common
subexpressions, and its own cost and delay agree with the netlist's model."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import trigc
from hypothesis import given, settings
from hypothesis import strategies as st
from trigc.errors import IRError
from trigc.fixed import FixedType
from trigc.netlist import Kind, Netlist, evaluate, schedule
from trigc.netlist.cmvm import Program, csd, solve
from trigc.netlist.timing import adder_bits

REPO = Path(__file__).resolve().parents[3]
ADDERS = (Kind.ADD, Kind.SUB, Kind.NEG)


def build(w, types: list[FixedType], **options) -> tuple[Netlist, Program, list[int]]:
    """Solve ``w`` for inputs of ``types`` and apply it to fresh netlist inputs."""
    net = Netlist()
    x = [net.input(t) for t in types]
    program = solve(w, [(net[i].lo, net[i].hi, net[i].exp) for i in x], **options)
    net.outputs = program.apply(net, x)
    return net, program, x


def random_inputs(types: list[FixedType], n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cols = []
    for t in types:
        col = [int(v) for v in rng.integers(t.min_raw, t.max_raw + 1, size=n)]
        col[0], col[1] = t.min_raw, t.max_raw  # the interval's corners
        cols.append(col)
    return np.array(cols, dtype=object).T


def assert_exact(net: Netlist, w, types: list[FixedType], n: int = 40) -> None:
    """Real values equal, compared as raw integers on the finest exponent involved."""
    x = random_inputs(types, n)
    in_exps = [net[i].exp for i in net.inputs]
    out_exps = [net[o].exp for o in net.outputs]
    base = min(in_exps + out_exps)
    scaled_x = np.array([[v << (e - base) for v, e in zip(row, in_exps)] for row in x],
                        dtype=object)
    got = evaluate(net, x)
    got = np.array([[v << (e - base) for v, e in zip(row, out_exps)] for row in got],
                   dtype=object)
    np.testing.assert_equal(got, scaled_x.dot(np.asarray(w, dtype=object)))


def live_adders(net: Netlist) -> list:
    live = net.live()
    return [n for n in net.nodes if live[n.id] and n.kind in ADDERS]


# ---- recoding -------------------------------------------------------------------------

@given(st.integers(-(1 << 40), 1 << 40))
def test_csd_is_exact_and_canonical(value):
    digits = csd(value)
    assert sum(sign << shift for shift, sign in digits) == value
    shifts = [s for s, _ in digits]
    assert all(b - a >= 2 for a, b in pairwise(shifts))  # no adjacent digits


# ---- exactness ------------------------------------------------------------------------

weights = st.one_of(
    st.just(0),
    st.integers(0, 20).flatmap(lambda k: st.sampled_from([1 << k, -(1 << k)])),
    st.integers(-64, 64),
    st.integers(-(1 << 20), 1 << 20),
)
types = st.builds(FixedType, st.booleans(), st.integers(1, 10), st.integers(-3, 8))


@st.composite
def problems(draw):
    n_in = draw(st.integers(1, 6))
    n_out = draw(st.integers(1, 6))
    w = np.array([[draw(weights) for _ in range(n_out)] for _ in range(n_in)], dtype=object)
    if draw(st.booleans()):
        w[:, draw(st.integers(0, n_out - 1))] = 0  # an all-zero column
    if draw(st.booleans()):
        w = w.astype(np.int64)  # numpy ints as well as Python ints
    return w, [draw(types) for _ in range(n_in)], draw(st.sampled_from([None, 3, 5]))


@settings(max_examples=120, deadline=None)
@given(problems())
def test_random_matrices_are_exact(problem):
    w, in_types, dsp_digits = problem
    net, _, _ = build(w, in_types, dsp_digits=dsp_digits)
    assert_exact(net, w, in_types)
    zero = net.const(0)
    for j in range(w.shape[1]):
        if not np.any(w[:, j]):
            assert net.outputs[j] == zero


def test_single_row_and_wide_weights_are_exact():
    w = np.array([[(1 << 20) - 1, -(1 << 19) + 3, 0, 1 << 20, -1, 12345]], dtype=object)
    in_types = [FixedType(True, 9, 3)]
    net, _, _ = build(w, in_types)
    assert_exact(net, w, in_types)


def test_program_is_reusable_on_other_signals():
    """A Conv applies one program at every pixel: any signals of the same bounds."""
    w = np.array([[3, 5, -7], [6, 0, 9], [-11, 13, 1]])
    t = FixedType(True, 6, 2)
    net = Netlist()
    pixels = [[net.input(t) for _ in range(3)] for _ in range(2)]
    program = solve(w, [(net[i].lo, net[i].hi, net[i].exp) for i in pixels[0]])
    net.outputs = program.apply(net, pixels[0]) + program.apply(net, pixels[1])
    assert program.apply(net, pixels[0]) == net.outputs[:3]  # hash-consed: no new nodes
    x = random_inputs([t] * 6, 30)
    expected = np.hstack([x[:, :3].dot(w.astype(object)), x[:, 3:].dot(w.astype(object))])
    np.testing.assert_equal(evaluate(net, x), expected)


def test_wrong_number_of_inputs_is_refused():
    program = solve(np.array([[1, 2], [3, 4]]), [(0, 7, 0)] * 2)
    with pytest.raises(IRError, match="takes 2 inputs, got 3"):
        program.apply(Netlist(), [0, 1, 2])
    with pytest.raises(IRError, match=r"\(2, n\) matrix"):
        solve(np.array([1, 2]), [(0, 7, 0)] * 2)


# ---- cost -----------------------------------------------------------------------------

def test_zero_weights_cost_nothing():
    in_types = [FixedType(True, 8, 4)] * 3
    net, program, _ = build(np.zeros((3, 4), dtype=np.int64), in_types)
    assert live_adders(net) == [] and program.adders == 0 and program.cost == 0
    assert set(net.outputs) == {net.const(0)}


def test_powers_of_two_are_wires():
    w = np.array([[1, 0, 8], [0, 4, 0], [0, 0, 0]])
    in_types = [FixedType(False, 6, 0)] * 3
    net, program, _ = build(w, in_types)
    assert live_adders(net) == [] and program.adders == 0
    assert [net[o].kind for o in net.outputs] == [Kind.INPUT, Kind.SHIFT, Kind.SHIFT]
    assert_exact(net, w, in_types)


def test_a_column_of_signed_powers_of_two_needs_one_adder_per_extra_term():
    w = np.array([[4], [-2], [0], [16]])
    in_types = [FixedType(True, 6, 2)] * 4
    net, program, _ = build(w, in_types)
    assert len(live_adders(net)) == program.adders == 2
    assert_exact(net, w, in_types)


def test_sharing_beats_plain_recoding():
    """Every column holds the same two-input pattern (3*x0 + 5*x1, shifted and signed
    differently): it is built once."""
    rng = np.random.default_rng(1)
    base = np.array([3, 5])
    cols = [base * (1 << int(s)) * int(g) for s, g in
            zip(rng.integers(0, 4, 12), rng.choice([-1, 1], 12))]
    w = np.stack(cols, axis=1)
    w = np.vstack([w, rng.integers(-20, 20, size=(2, 12))])
    in_types = [FixedType(True, 8, 4)] * 4
    net, program, _ = build(w, in_types)
    no_sharing = sum(max(sum(len(csd(v)) for v in w[:, j]) - 1, 0) for j in range(12))
    assert program.adders < 0.75 * no_sharing
    assert_exact(net, w, in_types)


def test_own_cost_and_delay_agree_with_the_netlist_model():
    rng = np.random.default_rng(2)
    w = rng.integers(-40, 40, size=(10, 7))
    in_types = [FixedType(bool(i % 2), 4 + i % 5, i % 3) for i in range(10)]
    net, program, _ = build(w, in_types)
    adders = live_adders(net)
    assert program.adders == len(adders)
    assert program.cost == sum(adder_bits(net, n) for n in adders)
    arrival = schedule(net, None).arrival
    assert program.latency_ns == pytest.approx(max(arrival[o] for o in net.outputs))


def test_sharing_adds_no_adder_level():
    """With no extra depth allowed, no column is deeper than the deepest column's
    balanced tree of its digits would be."""
    rng = np.random.default_rng(3)
    w = rng.integers(-32, 32, size=(24, 16))
    program = solve(w, [(0, 63, -6)] * 24)
    most = max(sum(len(csd(v)) for v in w[:, j]) for j in range(16))
    assert program.depth <= (most - 1).bit_length()


# ---- the reference model ----------------------------------------------------------------

def test_jet_tagger_fc1_is_exact():
    graph = trigc.load(str(REPO / "models/jet_tagger_qkeras/jet_tagger_qkeras.onnx"))
    node = next(n for n in graph.nodes if n.op.value == "Dense")
    w, t = node.inputs[1].raw, node.inputs[0].type
    net, program, _ = build(w, [t] * w.shape[0])
    assert_exact(net, w, [t] * w.shape[0], n=64)
    assert program.adders == len(live_adders(net))

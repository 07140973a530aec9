"""The softmax error bounds of trigc.ops.softmax, checked against the float64
softmax on exhaustive and adversarial logits.

lut mode: the measured error never exceeds ``lut_error_bound`` (derived from the
built tables), and the bound is tight to within a factor of 2 (1.01 to 1.51 here).
exact mode: the chunked exp is within (2m - 1) 2^-(G+1) of exp on every input of
its range (exhaustive), the chunk tables are the correctly rounded exp values, and
the output is within ``exact_error_bound`` (< 0.501 LSB) of the float64 softmax.
"""

import sys
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import trigc
from trigc.ir.ops import Op
from trigc.ops.softmax import (build_exp_chunks, exact_error_bound, exp_chunked,
                               lut_error_bound, lut_error_terms)

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from helpers.qonnx_models import Builder  # noqa: E402

# (classes, logit bits, logit fraction bits): fixed<16,6>, then the logits of the QKeras
# and Brevitas jet taggers in models/ (fixed<15,4>, fixed<14,7>)
TYPES = [(5, 16, 10), (5, 15, 11), (5, 14, 7), (5, 12, 6), (5, 8, 3), (3, 16, 10), (5, 18, 12)]
TIGHTNESS = 2.0  # the bound is at most this many times the worst error found (1.01-1.51)


def softmax_graph(n_cls, bits, frac, mode="lut"):
    b = Builder("sm")
    x = b.quant("x", 2.0**-frac, bits, signed=True)
    y = b.node("Softmax", [x], axis=-1, name="softmax/Softmax")
    graph = trigc.load(b.model({"x": (1, n_cls)}, y, (1, n_cls)), softmax=mode)
    return graph, next(n for n in graph.nodes if n.op is Op.SOFTMAX)


def float_softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def adversarial(n_cls, bits, frac):
    """Every difference d from the maximum (down to -20), for k tied maxima and j
    more classes at d, the rest at the bottom of the range: this sweeps every exp
    table bucket against every inverse table bucket the sum reaches."""
    low = -2.0**(bits - frac - 1)
    d = np.arange(max(low, -20.0) * 2**frac, 1) / 2**frac
    rows = []
    for k in range(1, n_cls):
        for j in range(n_cls - k):
            x = np.full((len(d), n_cls), low)
            x[:, :k] = 0
            x[:, k:k + 1 + j] = d[:, None]
            rows.append(x)
    return np.concatenate(rows)


@pytest.mark.parametrize("n_cls,bits,frac", TYPES)
def test_lut_bound_holds_and_is_tight(n_cls, bits, frac):
    graph, node = softmax_graph(n_cls, bits, frac)
    rng = np.random.default_rng(bits)
    random = np.round(rng.normal(0, 3, (20_000, n_cls)) * 2**frac) / 2**frac
    x = np.concatenate([adversarial(n_cls, bits, frac),
                        np.clip(random, -2.0**(bits - frac - 1), 2.0**(bits - frac - 1))])
    err = np.max(np.abs(trigc.emulate(graph, x) - float_softmax(x)))
    bound = lut_error_bound(node.attrs, n_cls, frac, node.output.type)
    assert err <= bound <= TIGHTNESS * err, (err, bound)


def test_lut_bound_for_the_jet_taggers_types():
    """fixed<16,6> logits, 5 classes, the default table types: 5.66e-3 (371 LSB of
    ufixed<17,1>), dominated by the exp table's sampling (2^4 inputs per entry) and
    the inverse table's (2^9 sums per entry), not 2^-9."""
    _, node = softmax_graph(5, 16, 10)
    terms = lut_error_terms(node.attrs, 5, 10, node.output.type)
    assert node.attrs.exp_lut.shift == 4 and node.attrs.inv_lut.shift == 9
    assert sum(terms.values()) == pytest.approx(5.658e-3, rel=1e-3)
    assert terms["exp_sampling"] == pytest.approx(15 / 2**12, rel=0.02)
    assert terms["inv_sampling"] == pytest.approx(2**-9, rel=0.01)


@pytest.mark.parametrize("spread,frac", [(2**16, 10), (2**17 - 1, 12), (300, 4)])
def test_chunked_exp_is_within_u_everywhere(spread, frac):
    """Exhaustive over r in [0, spread]: |e 2^-G - exp(-r 2^-frac)| <= (2m-1) 2^-(G+1)."""
    shifts, sizes, table = build_exp_chunks(spread, frac)
    _, node = softmax_graph(2, 16, 10, "exact")
    a = node.attrs.__class__(mode="exact", exp_bits=30, exp_shifts=shifts,
                             exp_sizes=sizes, exp_table=table)
    r = np.arange(spread + 1, dtype=np.int64)
    e = exp_chunked(r, a)
    err = np.abs(e * 2.0**-30 - np.exp(-r * 2.0**-frac))
    u = (2 * len(shifts) - 1) * 2.0**-31
    assert e[0] == 2**30 and err.max() <= u
    assert err.max() > u / 8  # the bound is not loose by more than 8x


def test_chunk_tables_are_correctly_rounded():
    shifts, sizes, table = build_exp_chunks(2**16, 10)
    assert shifts == (0, 10) and sizes == (1024, 23) and table[-1] == 0
    offsets = np.cumsum((0,) + sizes)
    with localcontext() as ctx:
        ctx.prec = 50
        for j, shift in enumerate(shifts):
            for c in (0, 1, 7, sizes[j] // 2, sizes[j] - 2):
                exact = (-(Decimal(c) * Decimal(2) ** (shift - 10))).exp() * 2**30
                assert abs(Decimal(int(table[offsets[j] + c])) - exact) <= Decimal("0.5")


@pytest.mark.parametrize("n_cls,bits,frac", [(5, 16, 10), (3, 12, 6)])
def test_exact_mode_within_its_bound(n_cls, bits, frac):
    graph, node = softmax_graph(n_cls, bits, frac, "exact")
    out = node.output.type
    x = adversarial(n_cls, bits, frac)
    y = trigc.emulate(graph, x, raw=True)
    err = np.max(np.abs(y - float_softmax(x) * 2.0**out.frac_bits))
    bound = exact_error_bound(node.attrs, n_cls, out) / out.lsb
    assert err <= bound < 0.501


def test_exact_mode_against_rationals():
    """A few rows against exact rational arithmetic: y is e / sum(e) rounded half to
    even on the output grid, with e the chunked exp (no float in the reference)."""
    graph, node = softmax_graph(5, 16, 10, "exact")
    x = np.array([[0, 0, 0, 0, 0], [1.5, -2.25, 0.5, 3.0, -31.0], [31.999, -32, 0, 1, 2]])
    raw = np.round(x * 1024).astype(np.int64)
    y = trigc.emulate(graph, x, raw=True)
    a = node.attrs
    for row, got in zip(raw, y):
        e = [int(v) for v in exp_chunked(row.max() - row, a)]
        for ei, yi in zip(e, got):
            q = Fraction(ei, sum(e)) * 2**16
            assert int(yi) == round(q)  # Python's round is half to even, as RND_CONV

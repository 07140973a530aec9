"""trigc_dense.h against trigc.ops.linear.dense, bit for bit.

Latency form (reuse 1) and reuse form (reuse 2, 4, a reuse that leaves a partial
last round, a reuse above the non-zero count), pruned matrices, every rounding and
overflow mode of res_T among the cases, a bias finer than the products, >64-bit
accumulators, and an accumulator so tight that partial sums wrap."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pytest
from kharness import LIBS, build_cases, ctype, dense_struct, fx, node, random_raw, reference

from trigc.ops import Value
from trigc.ops.linear import dense
from trigc.fixed import FixedType
from trigc.ir.ops import DenseAttrs, Op

pytestmark = pytest.mark.csim

N_SAMPLES = 300


@dataclass(frozen=True)
class DenseCase:
    name: str
    x_t: str
    w_t: str
    b_t: str
    res_t: str
    n_in: int
    n_out: int
    density: float = 0.6
    reuse: int = 1
    order: str = "row"  # order of the stored non-zeros: row, col or random
    x_range: tuple[int, int] | None = None  # raw input range (default: the whole type)
    n_nonzero: int | None = None  # exact non-zero count instead of a density
    cancelling: bool = False  # rows 2k+1 = -(rows 2k): large partial sums, small totals
    seed: int = 0

    @property
    def types(self):
        return fx(self.x_t), fx(self.w_t), fx(self.b_t), fx(self.res_t)

    def rng(self, salt: str) -> np.random.Generator:
        return np.random.default_rng([zlib.crc32(self.name.encode()), self.seed,
                                      zlib.crc32(salt.encode())])

    def weights(self):
        x_t, w_t, b_t, _ = self.types
        rng = self.rng("weights")
        w = random_raw(rng, w_t, (self.n_in, self.n_out), edge_fraction=0.2)
        w[w == 0] = 1
        if self.n_nonzero is not None:
            keep = np.zeros(w.size, dtype=bool)
            keep[rng.choice(w.size, self.n_nonzero, replace=False)] = True
            w = np.where(keep.reshape(w.shape), w, 0)
        else:
            w = np.where(rng.random(w.shape) < self.density, w, 0)
            if not w.any():
                w[0, 0] = 1
        if self.cancelling:
            w = np.maximum(w, -w_t.max_raw)  # keep -w inside weight_t
            w[1::2] = -w[0::2]
        b = random_raw(rng, b_t, (self.n_out,), edge_fraction=0.2)
        return w, b

    def x_bounds(self):
        x_t = self.types[0]
        return self.x_range or (x_t.min_raw, x_t.max_raw)

    def accum_t(self) -> FixedType:
        """The exact accumulator: holds every final sum for inputs in x_bounds()."""
        x_t, w_t, b_t, _ = self.types
        w, b = self.weights()
        frac = max(x_t.frac_bits + w_t.frac_bits, b_t.frac_bits)
        lo_x, hi_x = self.x_bounds()
        wo, bo = w.astype(object), b.astype(object)
        prod_shift = frac - x_t.frac_bits - w_t.frac_bits
        lo = (np.minimum(wo * lo_x, wo * hi_x).sum(axis=0) << prod_shift) + \
            (bo << (frac - b_t.frac_bits))
        hi = (np.maximum(wo * lo_x, wo * hi_x).sum(axis=0) << prod_shift) + \
            (bo << (frac - b_t.frac_bits))
        return FixedType.for_raw_range(int(min(lo)), int(max(hi)), frac)

    def inputs(self):
        lo, hi = self.x_bounds()
        return random_raw(self.rng("inputs"), self.types[0], (N_SAMPLES, self.n_in), lo, hi)

    def nonzero_order(self):
        w, _ = self.weights()
        rows, cols = np.nonzero(w)
        if self.order == "row":
            return None
        if self.order == "col":
            return np.lexsort((rows, cols))
        return self.rng("order").permutation(len(rows))

    def cpp(self):
        x_t, w_t, b_t, res_t = self.types
        w, b = self.weights()
        decls = dense_struct("cfg", w, w_t, b, b_t, self.accum_t(), self.reuse,
                             self.nonzero_order())
        decls += f"typedef {ctype(x_t)} data_t;\ntypedef {ctype(res_t)} res_t;\n"
        body = (f"    kh::run1<data_t, res_t>({self.n_in}, {self.n_out}, "
                f"&trigc::dense<data_t, res_t, cfg>);")
        return decls, body

    def expected(self, x):
        x_t, w_t, b_t, res_t = self.types
        w, b = self.weights()
        n = node(Op.DENSE, DenseAttrs(self.n_in, self.n_out, self.accum_t()))
        exact = dense(n, [Value(x, x_t.frac_bits), Value(w, w_t.frac_bits),
                          Value(b, b_t.frac_bits)])
        return reference(exact, res_t)


BASE = dict(x_t="fixed<8,3>", w_t="fixed<6,1>", b_t="fixed<8,2>", n_in=7, n_out=5)
TEN_NZ = dict(x_t="fixed<8,3>", w_t="fixed<6,1>", b_t="fixed<8,2>", n_in=6, n_out=4,
              n_nonzero=10)
CASES = [
    DenseCase("latency", res_t="fixed<10,4,RND_CONV,SAT>", **BASE),
    DenseCase("reuse2", res_t="fixed<7,2,RND,WRAP>", reuse=2, **BASE),
    DenseCase("reuse4", res_t="fixed<9,3,TRN_ZERO,SAT_SYM>", reuse=4, **BASE),
    DenseCase("reuse4_partial", res_t="fixed<8,3,RND_ZERO,SAT_ZERO>", reuse=4, **TEN_NZ),
    DenseCase("reuse3_partial_col", res_t="fixed<8,3,RND_INF,SAT>", reuse=3, order="col",
              **TEN_NZ),
    DenseCase("reuse13_idle", res_t="fixed<12,5,RND_MIN_INF,WRAP_SM>", reuse=13, **TEN_NZ),
    DenseCase("reuse10_exact", res_t="fixed<6,1,TRN,WRAP_SM>", reuse=10, order="random",
              **TEN_NZ),
    DenseCase("unsigned_in", x_t="ufixed<6,2>", w_t="fixed<5,0>", b_t="fixed<10,3>",
              res_t="ufixed<8,3,RND_INF,SAT>", n_in=9, n_out=3, reuse=3, order="random"),
    DenseCase("unsigned_out_wrap", x_t="ufixed<6,2>", w_t="ufixed<4,1>", b_t="ufixed<6,4>",
              res_t="ufixed<6,3,RND_CONV,WRAP>", n_in=5, n_out=4),
    DenseCase("bias_finer", x_t="fixed<6,3>", w_t="fixed<4,2>", b_t="fixed<12,2>",
              res_t="fixed<14,4,RND_CONV,SAT>", n_in=5, n_out=3),
    DenseCase("bias_finer_reuse2", x_t="fixed<6,3>", w_t="fixed<4,2>", b_t="fixed<12,2>",
              res_t="fixed<9,4,RND,SAT_SYM>", n_in=5, n_out=3, reuse=2),
    DenseCase("tight_wrap", x_t="ufixed<8,4>", w_t="fixed<6,2>", b_t="fixed<4,2>",
              res_t="fixed<16,8,RND_CONV,SAT>", n_in=6, n_out=2, density=1.0,
              x_range=(200, 255), cancelling=True),
    DenseCase("tight_wrap_reuse3", x_t="ufixed<8,4>", w_t="fixed<6,2>", b_t="fixed<4,2>",
              res_t="fixed<10,5,RND,WRAP>", n_in=6, n_out=2, density=1.0, reuse=3,
              order="random", x_range=(200, 255), cancelling=True),
    DenseCase("wide_accum", x_t="fixed<32,12>", w_t="fixed<24,2>", b_t="fixed<40,10>",
              res_t="fixed<48,16,RND,SAT>", n_in=12, n_out=6, density=0.5),
    DenseCase("wide_accum_reuse5", x_t="fixed<32,12>", w_t="fixed<24,2>", b_t="fixed<40,10>",
              res_t="fixed<20,10,RND_ZERO,WRAP>", n_in=12, n_out=6, density=0.5, reuse=5),
    DenseCase("pruned_16x8", x_t="fixed<10,4>", w_t="fixed<8,1>", b_t="fixed<10,3>",
              res_t="fixed<12,5,RND_CONV,SAT>", n_in=16, n_out=8, density=0.25, reuse=5,
              order="col"),
    DenseCase("single_nonzero", res_t="fixed<8,4,RND,SAT>", x_t="fixed<8,3>",
              w_t="fixed<6,1>", b_t="fixed<8,2>", n_in=3, n_out=2, n_nonzero=1),
    DenseCase("single_nonzero_reuse2", res_t="fixed<8,4,RND,SAT>", x_t="fixed<8,3>",
              w_t="fixed<6,1>", b_t="fixed<8,2>", n_in=3, n_out=2, n_nonzero=1, reuse=2),
    DenseCase("ternary_int", x_t="int<8>", w_t="fixed<2,2>", b_t="int<4>",
              res_t="fixed<9,9,TRN,SAT>", n_in=10, n_out=4, density=0.7),
]


@pytest.fixture(scope="module", params=LIBS)
def program(request, tmp_path_factory):
    return build_cases(tmp_path_factory, "dense", CASES, request.param)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_dense(program, case):
    x = case.inputs()
    got = program.run(case.name, [x], case.n_out)
    np.testing.assert_array_equal(got, case.expected(x))


def test_tight_accumulator_really_wraps():
    """The tight cases are meaningful only if some partial sum leaves accum_t."""
    for case in (c for c in CASES if c.name.startswith("tight_wrap")):
        acc = case.accum_t()
        w, b = case.weights()
        x = case.inputs()
        x_t, w_t, b_t, _ = case.types
        partial = (b << (acc.frac_bits - b_t.frac_bits))[None, :].repeat(len(x), 0)
        shift = acc.frac_bits - x_t.frac_bits - w_t.frac_bits
        outside = False
        for i, j in zip(*np.nonzero(w)):
            partial[:, j] += (x[:, i] * w[i, j]) << shift
            outside |= bool(((partial < acc.min_raw) | (partial > acc.max_raw)).any())
        assert outside, f"{case.name}: accum_t {acc} never overflows; the case tests nothing"

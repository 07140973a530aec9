"""trigc_lut.h (lut, softmax) against trigc.ops.lut, bit for bit.

Tables indexed with and without a shift, index ranges that clamp at both ends,
and softmax with exp / inverse tables built the way precision inference would,
including a result type that overflows at probability 1."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pytest
from kharness import (LIBS, build_cases, check_range, ctype, fx, node, random_raw, raw_list,
                      reference)

from trigc.ops import Value
from trigc.ops import lut as K
from trigc.fixed import FixedType, accum_type, quantize, sub_type
from trigc.ir.ops import LutAttrs, Op, SoftmaxAttrs

pytestmark = pytest.mark.csim

N_SAMPLES = 300


def _rng(*salt):
    return np.random.default_rng([zlib.crc32(str(s).encode()) for s in salt])


def _table(fn, t: FixedType, in_frac: int, index_low: int, shift: int, n: int) -> np.ndarray:
    """fn sampled at the middle of each index bucket, quantized to t."""
    raw_mid = index_low + (np.arange(n) << shift) + ((1 << shift) >> 1)
    return quantize(fn(np.ldexp(raw_mid.astype(np.float64), -in_frac)), t)


@dataclass(frozen=True)
class LutCase:
    name: str
    x_t: str
    res_t: str
    index_low: int
    shift: int
    n_table: int
    function: str = "sigmoid"  # sigmoid, tanh or random

    def attrs(self) -> LutAttrs:
        x_t, res_t = fx(self.x_t), fx(self.res_t)
        if self.function == "random":
            table = random_raw(_rng(self.name), res_t, (self.n_table,))
        else:
            fn = (lambda v: 1 / (1 + np.exp(-v))) if self.function == "sigmoid" else np.tanh
            table = _table(fn, res_t, x_t.frac_bits, self.index_low, self.shift, self.n_table)
        check_range(table, res_t, self.name)
        return LutAttrs(self.function, self.n_table, self.index_low, self.shift, table, res_t)

    def cpp(self):
        a = self.attrs()
        decls = f"""
typedef {ctype(fx(self.x_t))} data_t;
typedef {ctype(fx(self.res_t))} res_t;
struct cfg {{
    static const unsigned n = 6, n_table = {self.n_table};
    static const long long index_low = {self.index_low}LL;
    static const unsigned shift = {self.shift};
    static const long long table[{self.n_table}];
}};
const long long cfg::table[{self.n_table}] = {raw_list("res_t", a.table)};
"""
        return decls, "    kh::run1<data_t, res_t>(6, 6, &trigc::lut<data_t, res_t, cfg>);"

    def n_out(self):
        return 6

    def inputs(self):
        return [random_raw(_rng(self.name, "x"), fx(self.x_t), (N_SAMPLES, 6))]

    def expected(self, x):
        exact = K.lut(node(Op.SIGMOID, self.attrs()), [Value(x, fx(self.x_t).frac_bits)])
        return reference(exact, fx(self.res_t))


@dataclass(frozen=True)
class SoftmaxCase:
    name: str
    x_t: str
    res_t: str
    n_rows: int
    n_cls: int
    exp_t: str
    exp_low: int
    exp_shift: int
    n_exp: int
    inv_t: str
    inv_low: int
    inv_shift: int
    n_inv: int

    def attrs(self) -> SoftmaxAttrs:
        x_t, exp_t, inv_t = fx(self.x_t), fx(self.exp_t), fx(self.inv_t)
        exp_table = _table(np.exp, exp_t, x_t.frac_bits, self.exp_low, self.exp_shift,
                           self.n_exp)
        sum_t = accum_type(exp_t, self.n_cls)
        with np.errstate(divide="ignore"):
            inv_table = _table(lambda s: np.where(s > 0, 1 / np.maximum(s, 1e-300), 0), inv_t,
                               sum_t.frac_bits, self.inv_low, self.inv_shift, self.n_inv)
        inv_table = np.minimum(inv_table, inv_t.max_raw)
        exp_lut = LutAttrs("exp", self.n_exp, self.exp_low, self.exp_shift, exp_table, exp_t)
        inv_lut = LutAttrs("inv", self.n_inv, self.inv_low, self.inv_shift, inv_table, inv_t)
        return SoftmaxAttrs(-1, self.n_exp, exp_lut, inv_lut, sub_type(x_t, x_t), sum_t)

    def cpp(self):
        a = self.attrs()
        decls = f"""
typedef {ctype(fx(self.x_t))} data_t;
typedef {ctype(fx(self.res_t))} res_t;
struct cfg {{
    static const unsigned n_rows = {self.n_rows}, n_cls = {self.n_cls};
    typedef {ctype(a.diff_type)} diff_t;
    typedef {ctype(a.exp_lut.table_type)} exp_t;
    typedef {ctype(a.sum_type)} sum_t;
    typedef {ctype(a.inv_lut.table_type)} inv_t;
    static const long long exp_index_low = {self.exp_low}LL;
    static const unsigned exp_shift = {self.exp_shift}, n_exp = {self.n_exp};
    static const long long exp_table[{self.n_exp}];
    static const long long inv_index_low = {self.inv_low}LL;
    static const unsigned inv_shift = {self.inv_shift}, n_inv = {self.n_inv};
    static const long long inv_table[{self.n_inv}];
}};
const long long cfg::exp_table[{self.n_exp}] = {raw_list("cfg::exp_t", a.exp_lut.table)};
const long long cfg::inv_table[{self.n_inv}] = {raw_list("cfg::inv_t", a.inv_lut.table)};
"""
        n = self.n_rows * self.n_cls
        return decls, f"    kh::run1<data_t, res_t>({n}, {n}, &trigc::softmax<data_t, res_t, cfg>);"

    def n_out(self):
        return self.n_rows * self.n_cls

    def inputs(self):
        x = random_raw(_rng(self.name), fx(self.x_t), (N_SAMPLES, self.n_rows * self.n_cls))
        x[:20] = x[:20, :1]  # rows of equal logits (ties for the max)
        return [x]

    def expected(self, x):
        exact = K.softmax(node(Op.SOFTMAX, self.attrs()),
                          [Value(x.reshape(len(x), self.n_rows, self.n_cls),
                                   fx(self.x_t).frac_bits)])
        return reference(exact, fx(self.res_t)).reshape(len(x), -1)


CASES = [
    LutCase("sigmoid_full_range", "fixed<10,4>", "ufixed<8,0>", -512, 4, 64),
    LutCase("random_clamped_both_ends", "fixed<8,3>", "fixed<8,2,RND,SAT>", -40, 1, 32,
            "random"),
    LutCase("tanh_no_shift_unsigned_in", "ufixed<6,2>", "fixed<9,1>", 10, 0, 20, "tanh"),
    LutCase("sigmoid_wide_in", "fixed<16,6>", "ufixed<10,0,RND_CONV,SAT>", -32768, 7, 512),
    SoftmaxCase("softmax_2x5", "fixed<10,4>", "ufixed<8,0,RND,SAT>", 2, 5,
                exp_t="ufixed<10,1>", exp_low=-1024, exp_shift=2, n_exp=256,
                inv_t="ufixed<10,1>", inv_low=512, inv_shift=3, n_inv=256),
    SoftmaxCase("softmax_3x4_unsigned", "ufixed<8,4>", "ufixed<10,1,RND_CONV,SAT>", 3, 4,
                exp_t="ufixed<12,1>", exp_low=-256, exp_shift=0, n_exp=256,
                inv_t="ufixed<12,2>", inv_low=1024, inv_shift=4, n_inv=128),
    SoftmaxCase("softmax_1x10_wrap", "fixed<8,3>", "fixed<9,1,TRN,WRAP>", 1, 10,
                exp_t="ufixed<8,1>", exp_low=-256, exp_shift=1, n_exp=128,
                inv_t="ufixed<9,1>", inv_low=0, inv_shift=5, n_inv=64),
]


@pytest.fixture(scope="module", params=LIBS)
def program(request, tmp_path_factory):
    return build_cases(tmp_path_factory, "lut", CASES, request.param)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_lut(program, case):
    inputs = case.inputs()
    got = program.run(case.name, inputs, case.n_out())
    np.testing.assert_array_equal(got, case.expected(*inputs))

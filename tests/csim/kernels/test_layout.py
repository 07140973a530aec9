"""trigc_layout.h (gather, concat2) against the emulator's transpose and concat."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pytest
from kharness import (LIBS, bool_list, build_cases, ctype, fx, node, random_raw, reference,
                      uint_list)

from trigc.ops import Value
from trigc.ops import layout as K
from trigc.ir.ops import ConcatAttrs, Op, TransposeAttrs

pytestmark = pytest.mark.csim

N_SAMPLES = 200


def _rng(*salt):
    return np.random.default_rng([zlib.crc32(str(s).encode()) for s in salt])


@dataclass(frozen=True)
class TransposeCase:
    name: str
    shape: tuple[int, ...]
    perm: tuple[int, ...]
    x_t: str
    res_t: str

    def index(self):
        return np.arange(int(np.prod(self.shape))).reshape(self.shape).transpose(self.perm).ravel()

    def cpp(self):
        n = int(np.prod(self.shape))
        decls = f"""
typedef {ctype(fx(self.x_t))} data_t;
typedef {ctype(fx(self.res_t))} res_t;
struct cfg {{
    static const unsigned n_in = {n}, n_out = {n};
    static const unsigned index[{n}];
}};
const unsigned cfg::index[{n}] = {uint_list(self.index())};
"""
        return decls, f"    kh::run1<data_t, res_t>({n}, {n}, &trigc::gather<data_t, res_t, cfg>);"

    def n_out(self):
        return int(np.prod(self.shape))

    def inputs(self):
        return [random_raw(_rng(self.name), fx(self.x_t), (N_SAMPLES, self.n_out()))]

    def expected(self, x):
        exact = K.transpose(node(Op.TRANSPOSE, TransposeAttrs(self.perm)),
                            [Value(x.reshape(len(x), *self.shape), fx(self.x_t).frac_bits)])
        return reference(exact, fx(self.res_t)).reshape(len(x), -1)


@dataclass(frozen=True)
class ConcatCase:
    name: str
    a_shape: tuple[int, ...]
    b_shape: tuple[int, ...]
    axis: int
    a_t: str
    b_t: str
    res_t: str

    def plan(self):
        na, nb = int(np.prod(self.a_shape)), int(np.prod(self.b_shape))
        ia = np.arange(na).reshape(self.a_shape)
        ib = np.arange(nb).reshape(self.b_shape)
        index = np.concatenate([ia, ib], axis=self.axis).ravel()
        from_b = np.concatenate([np.zeros(self.a_shape, bool), np.ones(self.b_shape, bool)],
                                axis=self.axis).ravel()
        return na, nb, index, from_b

    def cpp(self):
        na, nb, index, from_b = self.plan()
        n = len(index)
        decls = f"""
typedef {ctype(fx(self.a_t))} a_t;
typedef {ctype(fx(self.b_t))} b_t;
typedef {ctype(fx(self.res_t))} res_t;
struct cfg {{
    static const unsigned n_a = {na}, n_b = {nb}, n_out = {n};
    static const bool from_b[{n}];
    static const unsigned index[{n}];
}};
const bool cfg::from_b[{n}] = {bool_list(from_b)};
const unsigned cfg::index[{n}] = {uint_list(index)};
"""
        body = (f"    kh::run2<a_t, b_t, res_t>({na}, {nb}, {n}, "
                f"&trigc::concat2<a_t, b_t, res_t, cfg>);")
        return decls, body

    def n_out(self):
        return len(self.plan()[2])

    def inputs(self):
        rng = _rng(self.name)
        na, nb, _, _ = self.plan()
        return [random_raw(rng, fx(self.a_t), (N_SAMPLES, na)),
                random_raw(rng, fx(self.b_t), (N_SAMPLES, nb))]

    def expected(self, a, b):
        exact = K.concat(node(Op.CONCAT, ConcatAttrs(self.axis)),
                         [Value(a.reshape(len(a), *self.a_shape), fx(self.a_t).frac_bits),
                          Value(b.reshape(len(b), *self.b_shape), fx(self.b_t).frac_bits)])
        return reference(exact, fx(self.res_t)).reshape(len(a), -1)


CASES = [
    TransposeCase("transpose_3d", (2, 3, 4), (2, 0, 1), "fixed<8,3>", "fixed<8,3>"),
    TransposeCase("transpose_2d_narrowing", (3, 5), (1, 0), "fixed<10,3>",
                  "fixed<6,2,RND_CONV,SAT>"),
    TransposeCase("transpose_4d_unsigned", (2, 2, 3, 2), (0, 3, 1, 2), "ufixed<7,2>",
                  "ufixed<5,1,RND,WRAP>"),
    ConcatCase("concat_last_axis", (2, 3), (2, 4), 1, "fixed<8,3>", "ufixed<6,1>",
               "fixed<9,4,RND,SAT>"),
    ConcatCase("concat_first_axis_wrap", (1, 4), (3, 4), 0, "fixed<6,2>", "fixed<7,1>",
               "ufixed<5,2,RND_CONV,WRAP>"),
    ConcatCase("concat_middle_axis", (2, 1, 3), (2, 2, 3), 1, "fixed<8,4>", "fixed<8,4>",
               "fixed<8,4>"),
]


@pytest.fixture(scope="module", params=LIBS)
def program(request, tmp_path_factory):
    return build_cases(tmp_path_factory, "layout", CASES, request.param)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_layout(program, case):
    inputs = case.inputs()
    got = program.run(case.name, inputs, case.n_out())
    np.testing.assert_array_equal(got, case.expected(*inputs))

"""trigc_pool.h against trigc.ops.pool (maxpool, avgpool, global pools).

Strides, symmetric and asymmetric padding (max ignores it, also for all-negative
inputs), average pooling with count_include_pad both ways (divisors that differ
per position), 1-D pools, and result types with every rounding mode among the
cases and finer or coarser grids than the input."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pytest
from kharness import LIBS, build_cases, ctype, fx, node, random_raw, reference

from trigc.ops import Value
from trigc.ops.pool import avgpool, global_avgpool, global_maxpool, maxpool
from trigc.fixed import accum_type
from trigc.ir.ops import GlobalPoolAttrs, Op, PoolAttrs

pytestmark = pytest.mark.csim

N_SAMPLES = 150


@dataclass(frozen=True)
class PoolCase:
    name: str
    kind: str  # max, avg, gmax, gavg
    in_shape: tuple[int, ...]  # (H, W, C) or (W, C)
    res_t: str
    kernel: tuple[int, ...] = ()
    strides: tuple[int, ...] = ()
    pads: tuple[int, ...] = ()
    count_include_pad: bool = False
    x_t: str = "fixed<8,3>"
    x_range: tuple[int, int] | None = None

    @property
    def nd(self):
        return len(self.in_shape) - 1

    def rng(self, salt):
        return np.random.default_rng([zlib.crc32(self.name.encode()), zlib.crc32(salt.encode())])

    def out_spatial(self):
        sp = self.in_shape[:-1]
        return tuple((sp[i] + self.pads[i] + self.pads[i + self.nd] - self.kernel[i])
                     // self.strides[i] + 1 for i in range(self.nd))

    def accum_t(self):
        n = int(np.prod(self.kernel)) if self.kernel else int(np.prod(self.in_shape[:-1]))
        return accum_type(fx(self.x_t), n)

    def n_out(self):
        c = self.in_shape[-1]
        return c if self.kind.startswith("g") else int(np.prod(self.out_spatial())) * c

    def cpp(self):
        x_t, res_t = fx(self.x_t), fx(self.res_t)
        c = self.in_shape[-1]
        types = f"typedef {ctype(x_t)} data_t;\ntypedef {ctype(res_t)} res_t;\n"
        if self.kind.startswith("g"):
            n_sp = int(np.prod(self.in_shape[:-1]))
            decls = f"""
struct cfg {{
    static const unsigned n_spatial = {n_sp}, n_chan = {c};
    typedef {ctype(self.accum_t())} accum_t;
}};
""" + types
            fn = "global_maxpool" if self.kind == "gmax" else "global_avgpool"
            body = (f"    kh::run1<data_t, res_t>({n_sp * c}, {c}, "
                    f"&trigc::{fn}<data_t, res_t, cfg>);")
            return decls, body
        if self.nd == 2:
            (in_h, in_w, _), (out_h, out_w) = self.in_shape, self.out_spatial()
            (ph, pw), (sh, sw) = self.kernel, self.strides
            pt, pl = self.pads[0], self.pads[1]
        else:
            (in_w, _), (out_w,), (pw,), (sw,) = (self.in_shape, self.out_spatial(),
                                                 self.kernel, self.strides)
            in_h = out_h = ph = sh = 1
            pt, pl = 0, self.pads[0]
        decls = f"""
struct cfg {{
    static const unsigned in_h = {in_h}, in_w = {in_w}, n_chan = {c};
    static const unsigned out_h = {out_h}, out_w = {out_w};
    static const unsigned pool_h = {ph}, pool_w = {pw}, stride_h = {sh}, stride_w = {sw};
    static const unsigned pad_top = {pt}, pad_left = {pl};
    static const bool count_include_pad = {str(self.count_include_pad).lower()};
    typedef {ctype(self.accum_t())} accum_t;
}};
""" + types
        fn = "maxpool2d" if self.kind == "max" else "avgpool2d"
        body = (f"    kh::run1<data_t, res_t>({in_h * in_w * c}, {self.n_out()}, "
                f"&trigc::{fn}<data_t, res_t, cfg>);")
        return decls, body

    def inputs(self):
        x_t = fx(self.x_t)
        lo, hi = self.x_range or (x_t.min_raw, x_t.max_raw)
        return random_raw(self.rng("inputs"), x_t, (N_SAMPLES, *self.in_shape), lo, hi)

    def expected(self, x):
        x_t, res_t = fx(self.x_t), fx(self.res_t)
        v = [Value(x, x_t.frac_bits)]
        if self.kind.startswith("g"):
            fn = global_maxpool if self.kind == "gmax" else global_avgpool
            exact = fn(node(Op.GLOBAL_AVGPOOL, GlobalPoolAttrs(self.accum_t(), True)), v)
        else:
            attrs = PoolAttrs(self.kernel, self.strides, self.pads, self.count_include_pad,
                              self.accum_t(), channels_last=True)
            fn = maxpool if self.kind == "max" else avgpool
            exact = fn(node(Op.MAXPOOL if self.kind == "max" else Op.AVGPOOL, attrs), v)
        return reference(exact, res_t).reshape(len(x), -1)


CASES = [
    PoolCase("max_2x2_s2", "max", (4, 4, 3), "fixed<8,3>", (2, 2), (2, 2), (0, 0, 0, 0)),
    PoolCase("max_3x3_s2_pad", "max", (5, 5, 2), "fixed<5,1,RND,SAT>", (3, 3), (2, 2),
             (1, 1, 1, 1), x_t="fixed<6,2>"),
    PoolCase("max_asym_pad_negative", "max", (4, 5, 2), "fixed<6,2>", (2, 3), (1, 2),
             (1, 0, 0, 1), x_range=(-128, -1)),
    PoolCase("max1d_pad_negative", "max", (9, 2), "fixed<7,3,RND_CONV,SAT>", (3,), (2,), (1, 1),
             x_range=(-128, -3)),
    PoolCase("avg_2x2_s2", "avg", (4, 4, 2), "fixed<8,3,RND_CONV,SAT>", (2, 2), (2, 2),
             (0, 0, 0, 0)),
    PoolCase("avg_3x3_pad_incl", "avg", (4, 4, 2), "fixed<9,3,RND,SAT>", (3, 3), (1, 1),
             (1, 1, 1, 1), count_include_pad=True),
    PoolCase("avg_3x3_pad_excl", "avg", (4, 4, 2), "fixed<10,4,RND_CONV,WRAP>", (3, 3), (1, 1),
             (1, 1, 1, 1), count_include_pad=False),
    PoolCase("avg_asym_excl_unsigned", "avg", (5, 6, 1), "ufixed<8,2,RND_INF,SAT>", (2, 3),
             (2, 2), (0, 1, 1, 1), x_t="ufixed<8,3>"),
    PoolCase("avg_asym_incl_narrow", "avg", (5, 6, 2), "fixed<5,1,RND_MIN_INF,SAT_ZERO>",
             (2, 3), (2, 2), (0, 1, 1, 1), count_include_pad=True),
    PoolCase("avg1d_excl", "avg", (7, 3), "fixed<8,2,TRN_ZERO,SAT_SYM>", (3,), (2,), (1, 1)),
    PoolCase("avg1d_incl", "avg", (7, 3), "fixed<7,2,RND_ZERO,WRAP_SM>", (3,), (2,), (1, 1),
             count_include_pad=True),
    PoolCase("avg_finer_grid", "avg", (3, 3, 2), "fixed<16,4,RND_CONV,SAT>", (3, 3), (1, 1),
             (1, 1, 1, 1)),
    PoolCase("gmax", "gmax", (2, 3, 4), "fixed<7,3,RND,SAT>"),
    PoolCase("gavg_6", "gavg", (2, 3, 4), "fixed<10,3,RND_CONV,SAT>"),
    PoolCase("gavg1d_10", "gavg", (10, 3), "fixed<7,2,RND_MIN_INF,WRAP>"),
    PoolCase("gavg_16_unsigned", "gavg", (4, 4, 2), "ufixed<12,4,RND,SAT>", x_t="ufixed<9,4>"),
]


@pytest.fixture(scope="module", params=LIBS)
def program(request, tmp_path_factory):
    return build_cases(tmp_path_factory, "pool", CASES, request.param)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_pool(program, case):
    x = case.inputs()
    got = program.run(case.name, [x.reshape(len(x), -1)], case.n_out())
    np.testing.assert_array_equal(got, case.expected(x))

"""trigc_conv.h against trigc.ops.linear.conv, bit for bit.

2-D and 1-D convolutions with strides, symmetric and asymmetric zero padding,
grouped and depthwise weights (block-diagonal dense configs whose off-block
zeros are skipped), pruned weights, and reuse 1 / >1 (incl. a partial last round)
in the per-position dense config."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pytest
from kharness import LIBS, build_cases, ctype, dense_struct, fx, node, random_raw, reference

from trigc.ops import Value
from trigc.ops.linear import conv
from trigc.fixed import FixedType
from trigc.ir.ops import ConvAttrs, Op

pytestmark = pytest.mark.csim

N_SAMPLES = 120


@dataclass(frozen=True)
class ConvCase:
    name: str
    in_shape: tuple[int, ...]  # (H, W, C) or (W, C) for 1-D
    n_filt: int
    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    pads: tuple[int, ...]  # ONNX order: begins then ends
    res_t: str
    groups: int = 1
    reuse: int = 1
    density: float = 1.0
    x_t: str = "fixed<8,3>"
    w_t: str = "fixed<6,1>"
    b_t: str = "fixed<8,2>"

    @property
    def nd(self):
        return len(self.kernel)

    @property
    def types(self):
        return fx(self.x_t), fx(self.w_t), fx(self.b_t), fx(self.res_t)

    def rng(self, salt):
        return np.random.default_rng([zlib.crc32(self.name.encode()), zlib.crc32(salt.encode())])

    def out_spatial(self):
        sp = self.in_shape[:-1]
        return tuple((sp[i] + self.pads[i] + self.pads[i + self.nd] - self.kernel[i])
                     // self.strides[i] + 1 for i in range(self.nd))

    def weights(self):
        """Grouped weights (*kernel, C/groups, n_filt) and bias."""
        _, w_t, b_t, _ = self.types
        rng = self.rng("weights")
        c = self.in_shape[-1]
        shape = (*self.kernel, c // self.groups, self.n_filt)
        w = random_raw(rng, w_t, shape, edge_fraction=0.2)
        w[w == 0] = 1
        w = np.where(rng.random(shape) < self.density, w, 0)
        w.flat[0] = w.flat[0] or 1
        b = random_raw(rng, b_t, (self.n_filt,), edge_fraction=0.2)
        return w, b

    def dense_matrix(self):
        """Block-diagonal (kh*kw*C, n_filt) matrix of the per-position dense kernel."""
        w, _ = self.weights()
        c = self.in_shape[-1]
        cg, og = c // self.groups, self.n_filt // self.groups
        full = np.zeros((*self.kernel, c, self.n_filt), dtype=np.int64)
        for g in range(self.groups):
            full[..., g * cg:(g + 1) * cg, g * og:(g + 1) * og] = w[..., g * og:(g + 1) * og]
        return full.reshape(-1, self.n_filt)

    def accum_t(self) -> FixedType:
        x_t, w_t, b_t, _ = self.types
        _, b = self.weights()
        m = self.dense_matrix().astype(object)
        frac = max(x_t.frac_bits + w_t.frac_bits, b_t.frac_bits)
        ps, bs = frac - x_t.frac_bits - w_t.frac_bits, frac - b_t.frac_bits
        lo_terms = np.minimum(m * x_t.min_raw, m * x_t.max_raw).sum(axis=0)
        hi_terms = np.maximum(m * x_t.min_raw, m * x_t.max_raw).sum(axis=0)
        bo = b.astype(object) << bs
        return FixedType.for_raw_range(int(min((lo_terms << ps) + bo)),
                                       int(max((hi_terms << ps) + bo)), frac)

    def cpp(self):
        x_t, w_t, b_t, res_t = self.types
        _, b = self.weights()
        if self.nd == 2:
            (in_h, in_w, c), (out_h, out_w) = self.in_shape, self.out_spatial()
            (kh, kw), (sh, sw) = self.kernel, self.strides
            pt, pl = self.pads[0], self.pads[1]
        else:
            (in_w, c), (out_w,), (kw,), (sw,) = (self.in_shape, self.out_spatial(),
                                                 self.kernel, self.strides)
            in_h = out_h = kh = sh = 1
            pt, pl = 0, self.pads[0]
        decls = dense_struct("mult_cfg", self.dense_matrix(), w_t, b, b_t, self.accum_t(),
                             self.reuse)
        decls += f"""
struct cfg {{
    static const unsigned in_h = {in_h}, in_w = {in_w}, n_chan = {c};
    static const unsigned out_h = {out_h}, out_w = {out_w}, n_filt = {self.n_filt};
    static const unsigned kernel_h = {kh}, kernel_w = {kw}, stride_h = {sh}, stride_w = {sw};
    static const unsigned pad_top = {pt}, pad_left = {pl};
    typedef mult_cfg mult_config;
}};
typedef {ctype(x_t)} data_t;
typedef {ctype(res_t)} res_t;
"""
        body = (f"    kh::run1<data_t, res_t>({in_h * in_w * c}, "
                f"{out_h * out_w * self.n_filt}, &trigc::conv2d<data_t, res_t, cfg>);")
        return decls, body

    def n_out(self):
        return int(np.prod(self.out_spatial())) * self.n_filt

    def inputs(self):
        return random_raw(self.rng("inputs"), self.types[0], (N_SAMPLES, *self.in_shape))

    def expected(self, x):
        x_t, w_t, b_t, res_t = self.types
        w, b = self.weights()
        attrs = ConvAttrs(self.kernel, self.strides, self.pads, self.groups, self.accum_t(),
                          channels_last=True)
        exact = conv(node(Op.CONV, attrs), [Value(x, x_t.frac_bits), Value(w, w_t.frac_bits),
                                            Value(b, b_t.frac_bits)])
        return reference(exact, res_t).reshape(len(x), -1)


CASES = [
    ConvCase("same_3x3", (5, 5, 2), 3, (3, 3), (1, 1), (1, 1, 1, 1),
             res_t="fixed<10,4,RND_CONV,SAT>"),
    ConvCase("stride2_asym_pad_pruned", (6, 7, 2), 3, (2, 3), (2, 2), (1, 0, 0, 2),
             res_t="fixed<9,4,RND,WRAP>", density=0.6),
    ConvCase("grouped_reuse3", (4, 4, 4), 4, (2, 2), (1, 1), (0, 0, 0, 0),
             res_t="fixed<9,3,TRN_ZERO,SAT_SYM>", groups=2, reuse=3),
    ConvCase("depthwise", (5, 5, 3), 3, (3, 3), (1, 1), (1, 1, 1, 1),
             res_t="fixed<10,4,RND_INF,SAT>", groups=3),
    ConvCase("depthwise_x2_stride2", (5, 6, 2), 4, (3, 3), (2, 2), (1, 1, 1, 1),
             res_t="ufixed<8,3,RND_MIN_INF,SAT_ZERO>", groups=2, x_t="ufixed<7,3>", reuse=2),
    ConvCase("pointwise", (3, 3, 4), 5, (1, 1), (1, 1), (0, 0, 0, 0),
             res_t="fixed<8,3,RND_ZERO,SAT>", density=0.5),
    ConvCase("conv1d_stride2_pad", (9, 2), 3, (3,), (2,), (1, 1),
             res_t="fixed<8,3,RND_CONV,WRAP_SM>", reuse=2),
    ConvCase("conv1d_valid_pruned_reuse4", (8, 3), 2, (4,), (1,), (0, 0),
             res_t="fixed<12,6,TRN,SAT>", reuse=4, density=0.5),
    ConvCase("conv1d_depthwise_pad_right", (7, 3), 3, (2,), (1,), (0, 2),
             res_t="fixed<9,4,RND,SAT>", groups=3),
]


@pytest.fixture(scope="module", params=LIBS)
def program(request, tmp_path_factory):
    return build_cases(tmp_path_factory, "conv", CASES, request.param)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_conv(program, case):
    x = case.inputs()
    got = program.run(case.name, [x.reshape(len(x), -1)], case.n_out())
    np.testing.assert_array_equal(got, case.expected(x))

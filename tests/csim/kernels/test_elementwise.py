"""trigc_elementwise.h against the kernels of trigc.ops.elementwise, bit for bit.

add / sub / mul on mixed signed, unsigned and differently gridded operands;
div_const with divisors of both signs and fractional divisors; cast, relu,
leaky_relu (alpha of both signs, below and above one), clip (either bound, both,
low > high, bounds finer than the input), sign and abs_value (|min| exact, unsigned
inputs), each into result types with rounding and overflow modes that matter."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pytest
from kharness import LIBS, build_cases, ctype, fx, node, random_raw, raw_list, reference

from trigc.ops import Value
from trigc.ops import elementwise as K
from trigc.fixed import FixedType, constant_type
from trigc.ir.ops import ClipAttrs, LeakyReluAttrs, Op

pytestmark = pytest.mark.csim

N_SAMPLES = 400
N = 8  # elements per sample


def _rng(*salt):
    return np.random.default_rng([zlib.crc32(str(s).encode()) for s in salt])


def _from_raw(cpp_type: str, raw) -> str:
    return f"trigc::from_raw<{cpp_type}>({int(raw)}LL)"


@dataclass(frozen=True)
class Binary:
    name: str
    op: str  # add, sub, mul
    a_t: str
    b_t: str
    res_t: str

    def cpp(self):
        decls = (f"struct cfg {{ static const unsigned n = {N}; }};\n"
                 f"typedef {ctype(fx(self.a_t))} a_t;\ntypedef {ctype(fx(self.b_t))} b_t;\n"
                 f"typedef {ctype(fx(self.res_t))} res_t;\n")
        body = (f"    kh::run2<a_t, b_t, res_t>({N}, {N}, {N}, "
                f"&trigc::{self.op}<a_t, b_t, res_t, cfg>);")
        return decls, body

    def inputs(self):
        rng = _rng(self.name)
        return [random_raw(rng, fx(self.a_t), (N_SAMPLES, N)),
                random_raw(rng, fx(self.b_t), (N_SAMPLES, N))]

    def expected(self, a, b):
        fn = {"add": K.add, "sub": K.sub, "mul": K.mul}[self.op]
        op = {"add": Op.ADD, "sub": Op.SUB, "mul": Op.MUL}[self.op]
        exact = fn(node(op), [Value(a, fx(self.a_t).frac_bits),
                              Value(b, fx(self.b_t).frac_bits)])
        return reference(exact, fx(self.res_t))


@dataclass(frozen=True)
class Unary:
    """cast, relu, sign, abs_value, leaky_relu (param = alpha), clip (param =
    (low, high)), div_const (param = divisors)."""

    name: str
    op: str
    x_t: str
    res_t: str
    param: object = None

    def _const(self, values) -> tuple[FixedType, np.ndarray]:
        return constant_type(np.asarray(values, dtype=np.float64), max_width=48)

    def cpp(self):
        x_t, res_t = fx(self.x_t), fx(self.res_t)
        extra = ""
        if self.op == "leaky_relu":
            t, raw = self._const([self.param])
            extra = (f"    typedef {ctype(t)} alpha_t;\n"
                     f"    static alpha_t alpha() {{ return {_from_raw('alpha_t', raw[0])}; }}\n")
        elif self.op == "clip":
            low, high = self.param
            present = [v for v in (low, high) if v is not None]
            t, raw = self._const(present)
            raws = iter(raw)
            lo_raw = next(raws) if low is not None else 0
            hi_raw = next(raws) if high is not None else 0
            extra = (f"    static const bool has_low = {str(low is not None).lower()};\n"
                     f"    static const bool has_high = {str(high is not None).lower()};\n"
                     f"    typedef {ctype(t)} bound_t;\n"
                     f"    static bound_t low() {{ return {_from_raw('bound_t', lo_raw)}; }}\n"
                     f"    static bound_t high() {{ return {_from_raw('bound_t', hi_raw)}; }}\n")
        defs = ""
        if self.op == "div_const":
            t, raw = self._const(self.param)
            extra = f"    typedef {ctype(t)} const_t;\n    static const long long divisor[{N}];\n"
            defs = f"const long long cfg::divisor[{N}] = {raw_list('cfg::const_t', raw)};\n"
        decls = (f"struct cfg {{\n    static const unsigned n = {N};\n{extra}}};\n{defs}"
                 f"typedef {ctype(x_t)} data_t;\ntypedef {ctype(res_t)} res_t;\n")
        body = f"    kh::run1<data_t, res_t>({N}, {N}, &trigc::{self.op}<data_t, res_t, cfg>);"
        return decls, body

    def inputs(self):
        return [random_raw(_rng(self.name), fx(self.x_t), (N_SAMPLES, N))]

    def expected(self, x):
        v = Value(x, fx(self.x_t).frac_bits)
        if self.op == "leaky_relu":
            exact = K.leaky_relu(node(Op.LEAKY_RELU, LeakyReluAttrs(self.param)), [v])
        elif self.op == "clip":
            exact = K.clip(node(Op.CLIP, ClipAttrs(*self.param)), [v])
        elif self.op == "div_const":
            t, raw = self._const(self.param)
            exact = K.div(node(Op.DIV), [v, Value(raw, t.frac_bits)])
        else:
            fn = {"cast": K.cast, "relu": K.relu, "sign": K.sign, "abs_value": K.absolute}
            ops = {"cast": Op.CAST, "relu": Op.RELU, "sign": Op.SIGN, "abs_value": Op.ABS}
            exact = fn[self.op](node(ops[self.op]), [v])
        return reference(exact, fx(self.res_t))


CASES = [
    Binary("add_mixed_sign", "add", "fixed<8,3>", "ufixed<6,2>", "fixed<7,3,RND,SAT>"),
    Binary("add_grids_wrap", "add", "fixed<10,2>", "fixed<6,5>", "fixed<8,4,RND_CONV,WRAP>"),
    Binary("sub_unsigned", "sub", "ufixed<6,2>", "ufixed<8,5>", "fixed<8,4,TRN_ZERO,SAT_SYM>"),
    Binary("sub_to_ufixed", "sub", "fixed<7,3>", "fixed<7,2>", "ufixed<6,3,RND,SAT_ZERO>"),
    Binary("mul_signed", "mul", "fixed<8,3>", "fixed<6,1>", "fixed<8,2,RND_INF,SAT>"),
    Binary("mul_mixed_wrap_sm", "mul", "ufixed<7,2>", "fixed<6,3>",
           "fixed<10,3,RND_MIN_INF,WRAP_SM>"),
    Binary("mul_wide", "mul", "fixed<32,10>", "fixed<30,4>", "fixed<40,12,RND_CONV,SAT>"),
    Unary("div_mixed", "div_const", "fixed<10,4>", "fixed<12,4,RND_CONV,SAT>",
          (3, -0.75, 5.5, -1, 0.125, -7, 12, 0.3125)),
    Unary("div_unsigned_x", "div_const", "ufixed<8,3>", "fixed<10,2,RND,WRAP>",
          (-3, 6, -0.5, 10, 1, -1, 9, -11)),
    Unary("div_trn_coarse", "div_const", "fixed<12,6>", "fixed<6,4>",
          (7, -7, 3, -3, 0.375, -0.375, 100, -100)),
    Unary("div_rnd_zero_fine", "div_const", "fixed<9,5>", "fixed<16,2,RND_ZERO,SAT>",
          (6, -6, 10, -10, 0.75, 24, -0.1875, 2)),
    Unary("cast_round_sat", "cast", "fixed<12,4>", "fixed<6,2,RND_CONV,SAT>"),
    Unary("cast_to_ufixed_wrap", "cast", "fixed<12,4>", "ufixed<5,1,RND,WRAP>"),
    Unary("cast_neg_int_bits", "cast", "fixed<12,1>", "fixed<6,-1,RND_INF,SAT_SYM>"),
    Unary("relu_exact", "relu", "fixed<8,3>", "ufixed<7,3>"),
    Unary("relu_round", "relu", "fixed<8,3>", "ufixed<4,1,RND,SAT>"),
    Unary("leaky_small", "leaky_relu", "fixed<8,3>", "fixed<10,3,RND_CONV,SAT>", 0.1875),
    Unary("leaky_big_wrap", "leaky_relu", "fixed<8,3>", "fixed<8,3,RND,WRAP>", 1.5),
    Unary("leaky_negative", "leaky_relu", "fixed<8,3>", "fixed<8,3,RND_ZERO,SAT>", -0.25),
    Unary("clip_both", "clip", "fixed<8,3>", "fixed<8,3>", (-1.5, 2.25)),
    Unary("clip_low", "clip", "fixed<8,3>", "ufixed<6,2,RND,SAT>", (0.375, None)),
    Unary("clip_high", "clip", "fixed<8,3>", "fixed<7,3,RND_MIN_INF,SAT>", (None, 1.75)),
    Unary("clip_low_above_high", "clip", "fixed<8,3>", "fixed<8,3>", (2.0, 1.0)),
    Unary("clip_fine_bounds", "clip", "fixed<8,3>", "fixed<7,2,RND_CONV,SAT>",
          (-0.1015625, 0.8984375)),
    Unary("sign_exact", "sign", "fixed<6,2>", "fixed<2,2>"),
    Unary("sign_unsigned_res", "sign", "fixed<6,2>", "ufixed<2,2,TRN,SAT>"),
    Unary("sign_saturating", "sign", "fixed<6,2>", "fixed<4,-1,RND,SAT>"),
    Unary("abs_exact", "abs_value", "fixed<8,3>", "ufixed<8,3>"),
    Unary("abs_min_wraps", "abs_value", "fixed<8,3>", "fixed<8,3>"),
    Unary("abs_min_saturates", "abs_value", "fixed<8,3>", "fixed<8,3,RND,SAT>"),
    Unary("abs_round_coarse", "abs_value", "fixed<10,4>", "ufixed<5,3,RND_CONV,SAT>"),
    Unary("abs_unsigned_input", "abs_value", "ufixed<7,2>", "ufixed<6,2,TRN_ZERO,WRAP>"),
    Unary("abs_wide", "abs_value", "fixed<40,12>", "ufixed<40,12>"),
]


@pytest.fixture(scope="module", params=LIBS)
def program(request, tmp_path_factory):
    return build_cases(tmp_path_factory, "elementwise", CASES, request.param)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_elementwise(program, case):
    inputs = case.inputs()
    got = program.run(case.name, inputs, N)
    np.testing.assert_array_equal(got, case.expected(*inputs))

"""trigc.ops: every Op is covered by every table (IR attributes, the ops layer, the
Vitis backend, the estimator), the traits agree with the attributes, the bounds
rules of the unary element-wise ops enclose their kernels, and attribute constants
get one exact type."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from trigc.backends.vitis.config import CONFIG_FOR
from trigc.errors import PrecisionError
from trigc.estimate.resources import MODELS
from trigc.fixed import FixedType
from trigc.ir.graph import Node
from trigc.ir.ops import (
    ATTRS_FOR, IMPORT_OPS, ClipAttrs, LeakyReluAttrs, LutAttrs, Op, SoftmaxAttrs,
)
from trigc.ops import FINAL_OPS, OPS, OpDef, Traits, Value, op_def, ops_where
from trigc.ops.constants import CONSTANT_MAX_WIDTH, clip_bounds, leaky_alpha, scalar_constant


def _node(op: Op, attrs=None) -> Node:
    return Node(op, [], [], ATTRS_FOR[op]() if attrs is None else attrs, "n")


@pytest.mark.parametrize("op", list(Op), ids=lambda op: op.name)
def test_every_op_is_in_every_table(op):
    assert dataclasses.is_dataclass(ATTRS_FOR[op])
    assert ATTRS_FOR[op].__dataclass_params__.frozen
    if op in IMPORT_OPS:
        assert op not in OPS and op not in CONFIG_FOR and op not in MODELS
        return
    d = OPS[op]
    assert isinstance(d, OpDef) and d.op is op and d.attrs is ATTRS_FOR[op]
    assert isinstance(d.traits, Traits)
    assert callable(d.kernel) and callable(d.bounds)
    assert op in CONFIG_FOR, f"no Vitis config for {op.value}"
    assert op in MODELS or d.traits.cost is not None, f"no estimator model for {op.value}"


def test_final_ops_are_exactly_the_table():
    assert set(OPS) == FINAL_OPS == set(Op) - IMPORT_OPS


def test_op_def_refuses_import_ops():
    with pytest.raises(Exception, match="import op .* run the pass pipeline"):
        op_def(_node(Op.MATMUL))


@pytest.mark.parametrize("op", sorted(FINAL_OPS, key=lambda o: o.name), ids=lambda o: o.name)
def test_traits_agree_with_attributes(op):
    t = OPS[op].traits
    fields = {f.name for f in dataclasses.fields(ATTRS_FOR[op])}
    assert not t.accumulates or "accum_type" in fields
    assert t.spatial == ("channels_last" in fields)
    assert t.lut == (ATTRS_FOR[op] in (LutAttrs, SoftmaxAttrs))
    assert not (t.layout and t.elementwise)
    if t.cost is not None:
        assert t.elementwise and t.unary


def test_trait_queries_name_the_sets_passes_used():
    assert ops_where(elementwise=True, unary=True) >= {
        Op.CAST, Op.RELU, Op.LEAKY_RELU, Op.CLIP, Op.SIGN, Op.SIGMOID, Op.TANH}
    assert ops_where(elementwise=True, unary=False) == {Op.ADD, Op.SUB, Op.MUL, Op.DIV}
    assert ops_where(layout=True) == {Op.RESHAPE, Op.TRANSPOSE, Op.CONCAT, Op.RESIZE}
    assert ops_where(accumulates=True) == {Op.DENSE, Op.CONV, Op.AVGPOOL, Op.GLOBAL_AVGPOOL}
    assert ops_where(spatial=True) == {Op.CONV, Op.MAXPOOL, Op.AVGPOOL, Op.GLOBAL_AVGPOOL,
                                       Op.GLOBAL_MAXPOOL, Op.RESIZE}


UNARY_NODES = [
    (Op.CAST, None), (Op.RELU, None), (Op.SIGN, None), (Op.ABS, None),
    (Op.LEAKY_RELU, LeakyReluAttrs(0.125)), (Op.LEAKY_RELU, LeakyReluAttrs(-1.5)),
    (Op.CLIP, ClipAttrs(-0.75, 1.25)), (Op.CLIP, ClipAttrs(None, -0.5)),
]


@pytest.mark.parametrize("op, attrs", UNARY_NODES, ids=lambda v: getattr(v, "name", ""))
def test_unary_bounds_rules_enclose_the_kernel(op, attrs):
    rng = np.random.default_rng(3)
    n = _node(op, attrs)
    d = OPS[op]
    lo = rng.integers(-40, 40, size=200)
    hi = lo + rng.integers(0, 30, size=200)
    frac = 3
    low, high = d.bounds(n, lambda a: d.kernel(n, a), [Value(lo[None], frac)],
                         [Value(hi[None], frac)])
    assert low.frac == high.frac
    for _ in range(20):
        x = lo + (rng.random(200) * (hi - lo + 1)).astype(np.int64).clip(0, hi - lo)
        r = d.kernel(n, [Value(x[None], frac)])
        got = np.asarray(r.raw) << (low.frac - r.frac)
        assert np.all(low.raw <= got) and np.all(got <= high.raw)


def test_scalar_constants_are_narrowest_exact():
    n = _node(Op.LEAKY_RELU, LeakyReluAttrs(0.1875))
    alpha = leaky_alpha(n)
    assert alpha.type == FixedType(False, 2, -2) and int(alpha.raw) == 3
    assert alpha.value == Value(alpha.raw, 4)
    with pytest.raises(PrecisionError, match=rf"0\.1 is not exactly representable in "
                                             rf"{CONSTANT_MAX_WIDTH} bits"):
        scalar_constant(n, 0.1)


@pytest.mark.parametrize("low, high", [(-1.5, 2.25), (0.375, None), (None, 1.75), (2.0, 1.0),
                                       (-0.1015625, 0.8984375), (0.0, 6.0)])
def test_clip_bounds_share_one_type(low, high):
    b = clip_bounds(_node(Op.CLIP, ClipAttrs(low, high)))
    present = [v for v in (low, high) if v is not None]
    for v, c in ((low, b.low), (high, b.high)):
        assert (c is None) == (v is None)
        if c is not None:
            assert int(c.raw) * 2.0**-c.type.frac_bits == v
            assert b.type.frac_bits >= c.type.frac_bits
    raws = [round(v * 2**b.type.frac_bits) for v in present]
    assert b.type == FixedType.for_raw_range(min(raws), max(raws), b.type.frac_bits)
    assert clip_bounds(_node(Op.CLIP, ClipAttrs(None, None))).type is None


def test_importer_handlers_are_one_explicit_table():
    """Every ``_op_*`` method of the ONNX importer is in HANDLERS (no dispatch by a
    name built from a string) and the supported-ops message lists exactly those."""
    from trigc.frontends import onnx_import

    methods = {n.removeprefix("_op_") for n in vars(onnx_import._Importer)
               if n.startswith("_op_")}
    assert set(onnx_import.HANDLERS) == methods
    assert onnx_import.SUPPORTED.split(", ") == list(onnx_import.HANDLERS)

"""Schedule and cost model on hand-checked layers (numbers worked out in comments)."""

import numpy as np
import pytest

from tests.unit.estimate.models import dense_4x2
from trigc.errors import ConfigError, UnsupportedOpError
from trigc.estimate import estimate
from trigc.estimate.datapath import DSP, LOGIC, LOOP, PathOp
from trigc.estimate.latency import Time, walk
from trigc.estimate.resources import datapath_for
from trigc.fixed import FixedType
from trigc.ir import Graph, Op
from trigc.ir.ops import ConvAttrs, PoolAttrs


def test_dense_4x2_reuse1_products_and_tree():
    dp = datapath_for(dense_4x2().nodes[0], 1)
    d = dp.detail
    assert (d["shift_products"], d["lut_products"], d["dsp_products"]) == (2, 2, 2)
    assert d["tree_depth"] == 2  # output 0: 3 products + bias = 4 terms
    assert dp.resources.dsp == 2
    # LUT multipliers: 48 = 0b11<<4 and 20 = 0b101<<2, one adder each of 16+sig+1 bits:
    # 19 + 20. Trees (binary adder bits): out 0 (4 terms) 2x25 + 1x26, out 1 (3 terms)
    # 1x25 + 1x26 = 127; one first-level adder of out 1 runs in a DSP post-adder (-25):
    # 102, halved by ternary adders: 51. Total 39 + 51.
    assert dp.resources.lut == 90
    assert [op.label for op in dp.ops] == ["multiply (DSP48E2)", "adder tree level 1",
                                           "adder tree level 2"]


def test_dense_4x2_reuse1_schedule_at_200mhz():
    est = estimate(dense_4x2(), {"clock_ns": 5})
    fc = est.layers[0]
    # budget 3.65 ns: DSP 2.6 + level 1 (25 bits, 0.85) = 3.45 fit in cycle 0; level 2
    # does not. The boundary moves back before level 1 (96 bits of LUT/shift products
    # instead of 100 partial-sum bits); cycle 1 holds both levels, then the output
    # register (2 x 26 bits): 2 cycles, 96 + 52 FFs.
    assert (est.latency_cycles, est.ii, est.latency_ns) == (2, 1, 10.0)
    assert fc.stages == ("cycle 1: adder tree level 1",)
    assert fc.resources.ff == 96 + 52
    assert est.total.dsp == 2 and est.total.bram == 0


def test_dense_4x2_slow_clock_is_one_cycle():
    est = estimate(dense_4x2(), {"clock_ns": 10})  # 7.3 ns of logic per cycle: all fits
    assert est.latency_cycles == 1 and est.layers[0].stages == ()


def test_dense_4x2_reuse2():
    est = estimate(dense_4x2(), {"clock_ns": 5, "default_reuse": 2})
    fc = est.layers[0]
    # 6 non-zeros / reuse 2 = 3 variable 16x8 multipliers, one DSP each
    assert (est.ii, fc.resources.dsp, fc.detail["n_mult"]) == (2, 3, 3)
    # LUT: ROMs 3 x (depth 2 -> 8 LUTs) + input 2:1 muxes 3 x 8 + 3 adders of 26 bits
    # halved (39) + loop control 16 = 103
    assert fc.resources.lut == 103
    # cycle 1 call register; ROM, mux, DSP (3.5 ns); accumulate (2 levels) in cycle 2;
    # one more iteration: cycle 3; loop exit register: done at the start of cycle 4
    assert est.latency_cycles == 4
    assert fc.stages == ("cycle 1: call (non-inlined reuse kernel)",
                         "cycle 2: accumulate level 1", "cycle 4: loop exit")
    # FF: inputs at the call (64) + exit register (52) + accumulators (52) + control (16)
    assert fc.resources.ff == 64 + 52 + 52 + 16


def test_reuse_factor_validation():
    with pytest.raises(UnsupportedOpError, match="reuse factor 7 is invalid.*between 1 and 6"):
        estimate(dense_4x2(), {"default_reuse": 7})
    with pytest.raises(ConfigError, match="unknown layers \\['nope'\\]"):
        estimate(dense_4x2(), {"reuse": {"nope": 2}})
    with pytest.raises(ConfigError, match="clock period is -1 ns; trigc targets clocks from 1 ns"):
        estimate(dense_4x2(), {"clock_ns": -1})
    est = estimate(dense_4x2(), {"reuse": {"fc": 3}})
    assert est.ii == 3 and est.layers[0].reuse == 3


def test_walk_chains_splits_and_pipelines_dsp():
    ops = [PathOp("a", LOGIC, 2.0, live_bits=10), PathOp("b", LOGIC, 2.0, live_bits=20),
           PathOp("m", DSP, 5.0, live_bits=0), PathOp("loop", LOOP, cycles=3)]
    end, ff, stages = walk(Time(0, 0.0), 8, ops, budget=3.0)
    # a fits (2.0); b does not: register 10 bits, cycle 1 at 2.0; the 5 ns multiply
    # starts cycle 2 in its input registers and uses 2 DSP stages (free): cycle 3
    # at 2.5 ns; the loop adds 3 cycles
    assert end == Time(6, 2.5)
    assert ff == 10
    assert [s.cycle for s in stages] == [1, 2, 3]


def _graph_1d(op, attrs, x_shape, y_shape, x_t, y_t, weights=None):
    g = Graph("g")
    x = g.add_tensor("x", x_shape, x_t)
    g.inputs.append(x)
    ins = [x]
    if weights is not None:
        ins.append(g.add_constant("w", weights, FixedType(True, 8, 2)))
    y = g.add_tensor("y", y_shape, y_t)
    g.add_node(op, ins, [y], attrs, name="layer")
    g.outputs = [y]
    return g


def test_conv_padding_products_vanish_at_reuse1():
    # 1-D conv, 5 positions, kernel 3, pad 1, 1->1 channel, all weights 0.828125 (DSP):
    # 3 products per interior position, 2 at each edge: 3*3 + 2*2 = 13 DSPs
    w = np.full((3, 1, 1), 0.828125)
    attrs = ConvAttrs((3,), (1,), (1, 1), accum_type=FixedType(True, 28, 10),
                      channels_last=True)
    g = _graph_1d(Op.CONV, attrs, (5, 1), (5, 1), FixedType(True, 16, 6),
                  FixedType(True, 28, 10), w)
    est = estimate(g)
    assert est.total.dsp == 13
    assert est.layers[0].detail["positions"] == 5
    # at reuse 3 every position has its own kernel over the full window: 5 x 1 multiplier
    assert estimate(g, {"default_reuse": 3}).total.dsp == 5


def test_maxpool_is_a_compare_chain():
    attrs = PoolAttrs((4,), (4,), (0, 0), channels_last=True)
    t = FixedType(True, 10, 4)
    g = _graph_1d(Op.MAXPOOL, attrs, (8, 2), (2, 2), t, t)
    dp = datapath_for(g.nodes[0])
    # 4 outputs x 3 compare-selects x (5 compare + 5 mux LUTs)
    assert dp.resources.lut == 4 * 3 * 10
    assert len(dp.ops) == 3 and dp.resources.dsp == 0


def test_import_ops_are_rejected():
    g = Graph("g")
    x = g.add_tensor("x", (2,), FixedType(True, 8, 4))
    g.inputs.append(x)
    w = g.add_constant("w", np.ones((2, 2)))
    y = g.add_tensor("y", (2,))
    g.add_node(Op.MATMUL, [x, w], [y], name="mm")
    g.outputs = [y]
    with pytest.raises(UnsupportedOpError, match="no model for MatMul.*final IR"):
        estimate(g)

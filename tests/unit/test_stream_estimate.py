"""The io_stream estimate (trigc.estimate.stream) and compare_io, on the conv tagger and
a small hand-built conv graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trigc.api import load
from trigc.estimate import compare_io, estimate, estimate_stream
from trigc.estimate import Resources, memory
from trigc.fixed import FixedType
from trigc.ir import Graph, Op
from trigc.ir.ops import ConvAttrs, PoolAttrs
from trigc.plans.stream import schedule, stream_plan
from trigc.target import BuildOptions

ROOT = Path(__file__).resolve().parents[2]
CONV_TAGGER = ROOT / "models" / "conv_tagger" / "conv_tagger.onnx"
STREAM = {"io_mode": "stream"}


@pytest.fixture(scope="module")
def tagger() -> Graph:
    return load(str(CONV_TAGGER))


def small_conv() -> Graph:
    """x[8x8x2] -> Conv 3x3 pad 1 (4 channels, 8-bit weights on 10-bit inputs: DSP
    products) -> MaxPool 2x2 -> Conv 3x3 no pad (3 channels)."""
    rng = np.random.default_rng(7)
    x_t, w_t, acc = FixedType(False, 10, 2), FixedType(True, 8, 2), FixedType(True, 24, 10)
    g = Graph("small_conv")
    x = g.add_tensor("x", (8, 8, 2), x_t)
    g.inputs.append(x)
    w1 = g.add_constant("w1", rng.integers(-120, 120, (3, 3, 2, 4)) / 64.0, w_t)
    c1 = g.add_tensor("c1", (8, 8, 4), acc)
    g.add_node(Op.CONV, [x, w1], [c1], ConvAttrs((3, 3), (1, 1), (1, 1, 1, 1),
                                                 accum_type=acc, channels_last=True),
               name="conv1")
    p1 = g.add_tensor("p1", (4, 4, 4), acc)
    g.add_node(Op.MAXPOOL, [c1], [p1], PoolAttrs((2, 2), (2, 2), (0, 0, 0, 0),
                                                 channels_last=True), name="pool1")
    w2 = g.add_constant("w2", rng.integers(-120, 120, (3, 3, 4, 3)) / 64.0, w_t)
    acc2 = FixedType(True, 40, 18)
    c2 = g.add_tensor("c2", (2, 2, 3), acc2)
    g.add_node(Op.CONV, [p1, w2], [c2], ConvAttrs((3, 3), (1, 1), (0, 0, 0, 0),
                                                  accum_type=acc2, channels_last=True),
               name="conv2")
    g.outputs = [c2]
    return g


GRAPHS = {"tagger": None, "small_conv": small_conv}


@pytest.fixture(params=sorted(GRAPHS))
def model(request, tagger) -> Graph:
    return tagger if request.param == "tagger" else GRAPHS[request.param]()


def _convs(g: Graph) -> dict[str, int]:
    return {n.name: 4 for n in g.nodes if n.op is Op.CONV}


def test_stream_estimate_is_dispatched_and_matches_the_schedule(model):
    est = estimate(model, STREAM)
    options = BuildOptions(io_mode="stream")
    sp = stream_plan(model, options)
    sched = schedule(sp)
    assert est.ii == sched.ii
    # the pipeline depths only add to the plan's latency
    assert sched.latency <= est.latency_cycles <= sched.latency + 10 * len(sp.processes)
    assert [layer.name for layer in est.layers] == [p.name for p in sp.processes]
    kinds = {layer.detail["kind"] for layer in est.layers}
    assert {"window", "zeropad"} <= kinds
    assert est.total == sum((la.resources for la in est.layers), type(est.total)())
    same = estimate_stream(model, options)
    assert same.total == est.total and same.latency_cycles == est.latency_cycles


def test_every_process_has_a_layer_with_its_memories(tagger):
    est = estimate(tagger, STREAM)
    sp = stream_plan(tagger, BuildOptions(io_mode="stream"))
    by_name = {layer.name: layer for layer in est.layers}
    ports = set(sp.inputs) | set(sp.outputs)
    fifos = {}
    for p in sp.processes:
        layer = by_name[p.name]
        assert layer.ii == p.steps * p.ii
        if p.kind == "window":
            assert layer.detail["line buffer"]["bits"] > 0
        if p.kind == "gather":
            assert layer.detail["image_buffer_in_ff"] > 0
        fifos.update({k[len("fifo "):]: v for k, v in layer.detail.items()
                      if k.startswith("fifo ")})
    assert set(fifos) == set(sp.streams) - ports
    depths = sp.depths()
    assert all(fifos[s]["depth"] == depths[s] for s in fifos)


def test_stream_is_much_smaller_than_parallel(tagger):
    par = estimate(tagger)
    stream = estimate(tagger, STREAM)
    # measured 2026-12-05: parallel 218,087 LUT / stream 27,507 LUT (ratio 7.9); the
    # bound 4 leaves a margin for model changes while still catching a stream design
    # that instantiates a kernel per pixel
    assert par.total.lut > 4 * stream.total.lut
    assert par.total.ff > 4 * stream.total.ff
    assert stream.ii > par.ii and stream.latency_cycles > par.latency_cycles


def test_small_conv_stream_vs_parallel():
    g = small_conv()
    par, stream = estimate(g), estimate(g, STREAM)
    # measured 2026-12-05: parallel 2,943 DSP / 41,477 LUT, stream 133 DSP / 2,968 LUT; a
    # stream design has one window kernel per Conv instead of one per output position
    # (64 and 4 of them here), so at least 3x fewer DSPs and LUTs is a loose bound
    assert stream.total.dsp > 0
    assert par.total.dsp > 3 * stream.total.dsp
    assert par.total.lut > 3 * stream.total.lut


def test_reuse_shares_the_window_multipliers_and_raises_ii(model):
    base = estimate(model, STREAM)
    reused = estimate(model, {**STREAM, "reuse": _convs(model)})
    assert reused.ii > base.ii
    assert reused.ii == schedule(stream_plan(model, BuildOptions(io_mode="stream",
                                                                 reuse=_convs(model)))).ii
    conv = [la for la in reused.layers if la.op == "Conv"]
    assert conv and all(la.reuse == 4 for la in conv)
    # one reuse kernel per Conv: ceil(nnz / 4) multipliers, not one per output position
    assert all(la.detail["n_mult"] == -(-la.detail["nnz"] // 4) for la in conv)


def test_reuse_lowers_dsp_of_the_small_conv():
    g = small_conv()
    base, reused = estimate(g, STREAM), estimate(g, {**STREAM, "reuse": _convs(g)})
    assert reused.total.dsp < base.total.dsp


def test_reuse_lowers_the_tagger_registers(tagger):
    # The tagger's 6-bit constant products are shift-adds (nearly free) at reuse 1; at
    # reuse 4 they become variable multipliers (conv1: DSPs, conv2: ~44-LUT ones), so
    # its LUTs rise, as in the io_parallel model; the pipeline registers shrink.
    base = estimate(tagger, STREAM)
    reused = estimate(tagger, {**STREAM, "reuse": _convs(tagger)})
    assert reused.total.ff < base.total.ff
    conv1 = {la.name: la for la in reused.layers}["conv1_Conv"]
    assert conv1.resources.lut < {la.name: la for la in base.layers}["conv1_Conv"].resources.lut


def test_deeper_fifos_cost_more_memory(tagger):
    sp = stream_plan(tagger, BuildOptions(io_mode="stream"))
    internal = [s for s in sp.streams if s not in set(sp.inputs) | set(sp.outputs)]
    base = estimate(tagger, STREAM)
    deep = estimate(tagger, {**STREAM, "fifo_depths": {s: 2048 for s in internal}})
    shallow = estimate(tagger, {**STREAM, "fifo_depths": {s: 2 for s in internal}})
    assert deep.total.bram > base.total.bram > shallow.total.bram == 0
    # in LUTs (SRL), too: the narrow x_t stream (8 bits) stays below 1 Kbit up to 128
    lut = [estimate(tagger, {**STREAM, "fifo_depths": {"x_t": d}}).total.lut
           for d in (2, 64, 128)]
    assert lut[0] < lut[1] < lut[2]
    # the depths change the memories only, never the schedule
    assert deep.ii == base.ii == shallow.ii


def test_unknown_fifo_name_is_an_error(tagger):
    with pytest.raises(ValueError, match="unknown streams"):
        estimate(tagger, {**STREAM, "fifo_depths": {"no_such_stream": 8}})


def test_memory_mapping_rule():
    # small: one SRL32 LUT per bit of width per 32 words; large: BRAM_18K by aspect
    assert memory.storage(32, 32) == ("srl", Resources(lut=32))
    assert memory.storage(64, 16)[1].lut == 32
    assert memory.storage(64, 128) == ("bram", Resources(bram=4))  # 512x36 each
    assert memory.storage(1024, 18) == ("bram", Resources(bram=1))
    assert memory.fifo(2, 8).kind == "srl"
    assert memory.fifo(2, 2048).kind == "srl"  # depth <= 2: SRL at any width
    assert memory.fifo(3, 2048).kind == "bram" and memory.buffer("b", 2, 2048).kind == "bram"
    assert memory.fifo(4096, 8).resources.bram == 2


def test_compare_io_table_and_json(tagger):
    data, table = compare_io(tagger, None)
    assert "io_parallel" in table and "io_stream" in table
    par, stream = estimate(tagger), estimate(tagger, STREAM)
    assert data["parallel"]["lut"] == par.total.lut
    assert data["stream"]["lut"] == stream.total.lut
    assert data["stream"]["ii"] == stream.ii
    assert data["ratio"]["lut"] == pytest.approx(par.total.lut / stream.total.lut, rel=1e-3)
    assert f"{stream.total.lut:,}" in table and f"{par.total.lut:,}" in table
    # the settings' own io mode does not matter
    again, _ = compare_io(tagger, STREAM)
    assert again == data


def test_stream_ii_budget_hint_speaks_of_steps(tagger):
    from trigc.estimate import Budgets, check

    est = estimate(tagger, STREAM)
    (v,) = check(est, Budgets(ii=est.ii - 1))
    assert v.budget == "ii" and "steps x reuse" in v.hint
    # the throughput bottleneck is marked critical
    assert any(la.critical and la.ii == est.ii for la in est.layers)

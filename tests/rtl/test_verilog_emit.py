"""The Verilog backend against ``trigc.netlist.evaluate``, bit for bit.

Hand-built netlists cover every node kind (every CAST rounding x overflow mode,
narrowing and widening, signed and unsigned; ROM clamps; DIVC by odd, even and
power-of-two constants). Verilator is the proof: all designs share one testbench
and one build (a build costs seconds); iverilog repeats the runs under both a
pipelined and a combinational schedule. Every design also passes
``verilator --lint-only -Wall``, Yosys ``hierarchy -check`` and ``iverilog -g2005``.
"""

from __future__ import annotations

import json
import re
from itertools import product

import pytest
from emit_sim import check, have, lint, make_case, run
from trigc.backends.verilog import render
from trigc.backends.verilog.exprs import _reciprocal
from trigc.errors import ConfigError
from trigc.fixed import FixedType, Overflow, Rounding
from trigc.netlist import Netlist, Rom, schedule

needs_tools = pytest.mark.skipif(
    not all(have(t) for t in ("verilator", "yosys", "iverilog", "vvp")),
    reason="needs verilator, yosys and iverilog")

F = FixedType


def _out(net: Netlist, i: int, wider: int = 0) -> None:
    """Output node ``i`` in the narrowest type holding it (``wider`` extra MSBs)."""
    n = net[i]
    t = F.for_raw_range(n.lo, n.hi, -n.exp)
    net.output(i, F(t.signed, t.width + wider, t.integer_bits + wider))


def arith_net() -> Netlist:
    """Every kind but CAST/DIVC, operands on different grids, constants, clamps."""
    net = Netlist()
    net.layer = "input/quant"
    a = net.input(F(True, 8, 3))
    b = net.input(F(False, 6, 2))
    c = net.input(F(True, 5, 5))
    d = net.input(F(False, 3, 3))
    e = net.input(F(True, 10, 2))
    net.layer = "dense_1/MatMul"
    s1 = net.add(a, b)
    s2 = net.sub(a, b)  # finer minuend: LSBs pass through
    s3 = net.sub(b, a)  # finer subtrahend: full width
    s4 = net.add(b, net.const(3, 4))
    s5 = net.sub(net.const(-5, 1), e)
    s6 = net.add(s1, net.shift(c, 4))
    s7 = net.sub(s6, net.shift(s3, -2))
    net.layer = "act/relu:0"
    ng = [net.neg(a), net.neg(d), net.neg(s7)]
    mx = [net.max(a, b), net.min(a, net.shift(c, 1)), net.max(b, d), net.min(e, s2),
          net.max(a, net.const(3, -2)), net.min(s6, net.const(-7, -1))]
    m = [net.mul(a, c), net.mul(d, b), net.mul(s1, e), net.mul(e, e)]
    sel = [net.select(c, s1, s2), net.select(e, net.shift(d, -5), a),
           net.select(s3, m[0], a)]
    net.layer = "lut"
    roms = [net.rom(a, Rom(tuple(range(-5, 11)), -20, 2), 0),  # both clamps, aligned
            net.rom(e, Rom((9, -3, 4, 0, 7, 1, -8), 5, 1), -2),  # unaligned low
            net.rom(d, Rom(tuple(3 * i - 11 for i in range(8)), 0, 0), 1),  # exact fit
            net.rom(b, Rom(tuple((i * 37) % 101 for i in range(100)), -3, 0), 0),
            net.rom(m[0], Rom(tuple(range(40, 0, -1)), -600, 5), 0)]
    always_max = net.cast(net.add(b, net.const(1, 7)), F(False, 3, 3, overflow=Overflow.SAT))
    for i in (s1, s2, s3, s4, s5, s6, s7, *ng, *mx, *m, *sel, *roms, always_max,
              net.shift(s1, 3)):
        _out(net, i)
    _out(net, a, wider=4)  # sign-extended
    _out(net, d, wider=3)  # zero-extended
    net.output(b, F(True, 9, 5))  # unsigned into a wider signed field
    net.output(net.const(5), F(True, 4, 4))
    return net


CAST_TARGETS = [  # (source index, signed, width, integer_bits)
    (0, True, 5, 2),    # narrowing: drop 3 LSBs, overflow
    (0, True, 8, 0),    # appending zeros, overflow
    (0, True, 3, 8),    # dropping more bits than the source has
    (0, False, 4, 2),   # signed into unsigned
    (1, False, 4, 1),   # unsigned narrowing
    (1, True, 4, 2),    # unsigned into signed
    (1, True, 12, 5),   # widening that always fits
]


def cast_net() -> Netlist:
    net = Netlist()
    net.layer = "casts"
    srcs = [net.input(F(True, 10, 4)), net.input(F(False, 9, 3))]
    net.layer = "requant"
    mid = net.add(srcs[0], net.shift(srcs[1], 0))  # a computed source, too
    srcs.append(mid)
    for (k, signed, width, integer), q, o in product(CAST_TARGETS, Rounding, Overflow):
        if o is Overflow.WRAP_SM and not signed:
            continue
        t = F(signed, width, integer, q, o)
        net.output(net.cast(srcs[k], t), t)
    for q, o in product(Rounding, (Overflow.SAT, Overflow.SAT_SYM, Overflow.WRAP_SM)):
        t = F(True, 6, 3, q, o)
        net.output(net.cast(mid, t), t)
    return net


def divc_net() -> Netlist:
    net = Netlist()
    net.layer = "avgpool"
    sa = net.input(F(True, 8, 3))
    ua = net.input(F(False, 7, 7))
    mid = net.add(sa, ua)  # a computed source: the divisions sit in a later stage
    modes = list(Rounding)
    count = 0
    for den in (1, 2, 3, 4, 5, 6, 7, 10, 12, 96, 255):
        for src, signed, frac in ((sa, True, 2), (sa, True, 5), (sa, True, 9),
                                  (ua, False, 0), (ua, False, 3), (ua, True, 2),
                                  (mid, True, 3)):
            int_bits = {sa: 5, ua: 8, mid: 9}[src]
            t = F(signed, int_bits + frac, int_bits, modes[count % len(modes)])
            count += 1
            net.output(net.divc(src, den, t), t)
    return net


NETS = {"arith": (arith_net, 1.2), "casts": (cast_net, None), "divc": (divc_net, 1.0)}


def _render(net, sched, top, **kw):
    return render(net, sched, top, clock_ns=4.0,
                  input_names=[f"x{i}" for i in range(len(net.inputs))],
                  output_names=[f"y{i}" for i in range(len(net.outputs))],
                  source="hand-built.onnx", **kw)


def _case(name: str, stage_ns, events: int = 300):
    net = NETS[name][0]()
    sched = schedule(net, stage_ns)
    top = f"emit_{name}_{'comb' if stage_ns is None else 'pipe'}"
    return make_case(net, sched, _render(net, sched, top), top, events,
                     seed=len(name))


@pytest.fixture(scope="module")
def verilator_runs(tmp_path_factory):
    cases = [_case(name, stage_ns) for name, (_, stage_ns) in NETS.items()]
    lines = run(cases, tmp_path_factory.mktemp("verilator"), "verilator")
    return {case.top: (case, lines[case.top]) for case in cases}


@needs_tools
@pytest.mark.parametrize("name", list(NETS))
def test_verilator_matches_evaluate(verilator_runs, name):
    stage_ns = NETS[name][1]
    case, lines = verilator_runs[f"emit_{name}_{'comb' if stage_ns is None else 'pipe'}"]
    if stage_ns is not None:
        assert case.sched.latency >= 2, "the test schedule should have registers"
    assert check(case, lines) == 300


@needs_tools
@pytest.mark.parametrize("stage_ns", [None, 0.9, 2.0])
def test_iverilog_matches_evaluate(tmp_path, stage_ns):
    cases = [_case(name, stage_ns, events=200) for name in NETS]
    lines = run(cases, tmp_path, "iverilog")
    for case in cases:
        assert check(case, lines[case.top]) == 200


@needs_tools
@pytest.mark.parametrize("stage_ns", [None, 1.0])
@pytest.mark.parametrize("name", list(NETS))
def test_lint_clean(tmp_path, name, stage_ns):
    net = NETS[name][0]()
    files = _render(net, schedule(net, stage_ns), "lint_top")
    lint(files, "lint_top", tmp_path)


def test_pipeline_structure():
    net = arith_net()
    sched = schedule(net, 1.2)
    text = _render(net, sched, "emit_arith")["rtl/emit_arith.v"]
    modules = re.findall(r"^module (\w+)", text, re.MULTILINE)
    assert modules == ["emit_arith_dense_1_MatMul", "emit_arith_act_relu_0",
                       "emit_arith_lut", "emit_arith"]
    assert "in_q <= in_data;" in text
    assert f"out_valid <= valid_q[{sched.last_stage}];" in text
    assert "readmemh" not in text and "initial" not in text
    # data registers have no reset: only the valid pipeline sits under `if (rst)`
    assert text.count("if (rst)") == 1
    # each delayed signal has exactly one register chain
    regs = re.findall(r"(n\d+_d\d+) <=", text)
    assert len(regs) == len(set(regs)) and regs


def test_combinational_schedule_has_latency_one():
    net = cast_net()
    sched = schedule(net, None)
    text = _render(net, sched, "comb")["rtl/comb.v"]
    assert sched.latency == 1
    assert "valid_q <= in_valid;" in text and "_d1" not in text


def test_hostile_names(tmp_path):
    net = Netlist()
    net.layer = 'dense */ `define x\n"evil" \u00e9'
    a = net.input(F(True, 6, 2))
    b = net.input(F(True, 6, 2))
    net.layer = "module"
    s = net.add(a, b)
    net.layer = ""
    _out(net, net.neg(s))
    sched = schedule(net, 1.0)
    files = render(net, sched, "top */ endmodule", clock_ns=3.3,
                   input_names=["in\n$x", "{b}"], output_names=["y */ <b>"],
                   source="evil\n.onnx")
    top = json.loads(files["port_map.json"])["top"]
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", top)
    for path, text in files.items():
        assert text.isascii() and all(c.isprintable() or c == "\n" for c in text), path
        for bad in ("*/ `", "$x", "\u00e9", "<b>", "{b}"):
            assert bad not in text, (path, bad)
    if have("verilator") and have("yosys") and have("iverilog"):
        lint(files, top, tmp_path)


def test_port_map_readme_and_scripts():
    net = arith_net()
    sched = schedule(net, 1.2)
    files = _render(net, sched, "emit_arith", part="xcvu9p-flga2104-2L-e")
    assert set(files) == {"rtl/emit_arith.v", "port_map.json", "README.md",
                          "constraints/emit_arith.xdc", "vivado_synth.tcl"}
    pm = json.loads(files["port_map.json"])
    assert pm["top"] == "emit_arith" and pm["ii"] == 1 and pm["latency"] == sched.latency
    assert pm["clock_ns"] == 4.0 and pm["rtl_files"] == ["rtl/emit_arith.v"]
    assert pm["in_bits"] == sum(t.width for t in net.input_types)
    assert pm["out_bits"] == sum(t.width for t in net.output_types)
    lsb = 0
    for k, (f, t) in enumerate(zip(pm["outputs"], net.output_types)):
        assert f == {"name": f"y{k}", "index": k, "lsb": lsb, "msb": lsb + t.width - 1,
                     "width": t.width, "signed": t.signed, "frac_bits": t.frac_bits,
                     "type": str(t)}
        lsb += t.width
    assert pm["inputs"][1]["lsb"] == 8 and pm["inputs"][1]["type"] == "ufixed<6,2>"
    readme = files["README.md"]
    assert f"Latency {sched.latency} cycles" in readme
    assert "| 1 | x1 | [13:8] | 6 | no | 4 | `ufixed<6,2>` |" in readme
    assert "trigc rtlsim" in readme and "trigc synth" in readme
    assert files["constraints/emit_arith.xdc"] == \
        "create_clock -period 4 -name clk [get_ports clk]\n"
    tcl = files["vivado_synth.tcl"]
    assert "synth_design -top {emit_arith} -part {xcvu9p-flga2104-2L-e} " \
           "-mode {out_of_context}" in tcl
    assert "read_verilog {rtl/emit_arith.v}" in tcl and "report_timing_summary" in tcl
    assert "xcvu13p-flga2577-2-e" in _render(net, sched, "t")["vivado_synth.tcl"]


def test_bad_arguments():
    net = arith_net()
    sched = schedule(net, None)
    with pytest.raises(ConfigError, match="1 input names for 5 input elements"):
        render(net, sched, "t", clock_ns=4, input_names=["a"],
               output_names=["y"] * len(net.outputs))
    with pytest.raises(Exception, match="part"):
        _render(net, sched, "t", part="xc7-nope")


def test_reciprocal_is_exact():
    for m in (3, 5, 7, 9, 11, 13, 15, 25, 255):
        for top in (1, 7, 100, 1000, 5000):
            mult, s = _reciprocal(m, top)
            assert all((x * mult) >> s == x // m for x in range(top + 1))

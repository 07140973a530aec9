"""The Verilog backend's options through ``trigc compile``: ``--stage-ns`` places the
registers (0: combinational between the port registers), ``--dsp-digits`` turns
many-digit weights into multipliers; both stay bit-exact under Verilator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trigc import rtlsim
from trigc.cli.app import main
from trigc.netlist import Kind
from trigc.estimate.rtl import netlist_for
from trigc.project import Project
from trigc.target import BuildOptions

REPO = Path(__file__).resolve().parents[2]
JET = REPO / "models" / "jet_tagger_qkeras" / "jet_tagger_qkeras.onnx"


def _compile(tmp_path: Path, name: str, *flags: str) -> Path:
    out = tmp_path / name
    assert main(["compile", str(JET), "--backend", "verilog", "-o", str(out), *flags]) == 0
    return out


def _latency(project: Path) -> int:
    return json.loads((project / "port_map.json").read_text())["latency"]


def test_stage_budget_trades_cycles_for_registers(tmp_path):
    default = _compile(tmp_path, "default")
    comb = _compile(tmp_path, "comb", "--stage-ns", "0")
    fast = _compile(tmp_path, "fast", "--clock-ns", "2.5")
    assert _latency(comb) == 1  # the port registers only
    assert _latency(fast) > _latency(default) > 1
    flops = {p.name: Project(p).estimate().total.ff for p in (default, comb, fast)}
    assert flops["comb"] < flops["default"] < flops["fast"]


@pytest.mark.parametrize("stage_ns", [0.0, 2.0, 40.0])
def test_every_stage_fits_its_budget(stage_ns):
    import trigc

    from trigc.netlist import delay
    from trigc.netlist.timing import WIRES

    graph = trigc.load(JET)
    net, sched = netlist_for(graph, BuildOptions(stage_ns=stage_ns))
    budget = sched.stage_ns
    live = net.live()
    for n in net.nodes:
        if live[n.id] and n.kind not in WIRES:  # a wire is where its source is
            # a node alone longer than the budget starts a stage of its own
            assert sched.arrival[n.id] <= max(budget, delay(net, n)) + 1e-9
    assert sched.latency == (1 if stage_ns == 0 else sched.last_stage + 1)


def test_dsp_digits_makes_multipliers_and_stays_exact(tmp_path):
    project = _compile(tmp_path, "dsp", "--dsp-digits", "3")
    graph = Project(project).graph
    net, _ = netlist_for(graph, BuildOptions(dsp_digits=3))
    assert any(n.kind is Kind.MUL for n in net.nodes)
    assert Project(project).estimate().total.dsp > 0
    result = rtlsim.run(project, n=2000)
    assert result.ok, str(result)

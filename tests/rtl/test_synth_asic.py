"""trigc synth --asic: Yosys generic synthesis to simple gates on a 4-6-3 QONNX MLP,
compiled pipelined and with ``stage_ns=0`` (combinational between the port registers);
each synthesized once (flattened and hierarchical) in a private cache."""

from __future__ import annotations

import json

import pytest
import trigc
from trigc.cli import main
from trigc.frontends.qonnx_builder import quantized_mlp
from trigc.synth import run_asic
from trigc.synth.asic import FF_CELL, NAND2_WEIGHTS, GateCount

from tests.rtl.fixtures.projects import needs_yosys

pytestmark = needs_yosys
LAYERS = {"tiny", "tiny_dense_0_MatMul", "tiny_relu_0_Relu", "tiny_dense_1_MatMul"}


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory):
    """{'pipe'|'comb': (project path, AsicResult)}."""
    root = tmp_path_factory.mktemp("asic")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRIGC_CACHE_DIR", str(root / "cache"))
    results = {}
    try:
        for name, options in (("pipe", {}), ("comb", {"stage_ns": 0})):
            model = quantized_mlp(sizes=(4, 6, 3))
            model.graph.name = "tiny"
            project = trigc.compile(model, root / name, backend="verilog", **options)
            results[name] = project.path, run_asic(project.path, per_layer=True)
        yield results
    finally:
        mp.undo()


def _nand2_eq(count: GateCount) -> float:
    return sum(NAND2_WEIGHTS[cell] * n for cell, n in count.cells.items()
               if cell in NAND2_WEIGHTS)


def test_gate_counts_and_layers(synthesized):
    for _, result in synthesized.values():
        total = result.total
        assert total.gates > 0 and total.transistors > 0 and total.transistors_complete
        assert total.unmapped == {} and total.ff == total.cells[FF_CELL] > 0
        assert total.gates == sum(total.cells.values())
        assert set(result.per_module) == LAYERS
        for count in [total, *result.per_module.values()]:
            assert count.nand2_eq == pytest.approx(_nand2_eq(count), abs=0.01)
        dense = result.per_module["tiny_dense_0_MatMul"]
        assert dense.gates > 0 and dense.transistors_complete
        assert not result.per_module["tiny"].transistors_complete  # holds the instances


def test_combinational_has_fewer_flip_flops(synthesized):
    pipe, comb = synthesized["pipe"][1], synthesized["comb"][1]
    assert comb.total.ff < pipe.total.ff
    assert comb.per_module["tiny_dense_0_MatMul"].ff == 0


def test_report_cache_and_cli(synthesized, tmp_path, monkeypatch, capsys):
    path, result = synthesized["pipe"]
    report = json.loads((path / "synth" / "asic_report.json").read_text())
    assert report["total"]["nand2_eq"] == result.total.nand2_eq
    assert "proxy" in report["note"] and set(report["per_module"]) == LAYERS
    assert "Executing DFFLEGALIZE pass" in (path / "synth" / "yosys_asic.log").read_text()
    assert not (path / "synth" / "synth_report.json").exists()  # the FPGA run untouched
    monkeypatch.setenv("TRIGC_CACHE_DIR", str(path.parent / "cache"))
    again = run_asic(path, per_layer=True)
    assert again.cached and again.total == result.total and again.seconds == 0
    assert main(["synth", str(path), "--asic", "--per-layer"]) == 0
    out = capsys.readouterr().out
    assert "NAND2-eq" in out and "tiny_relu_0_Relu" in out and "proxy" in out

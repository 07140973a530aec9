"""`trigc synth` puts Yosys' numbers beside trigc's estimate in report.txt/report.json:
a 4-6-3 QONNX MLP compiled with the Verilog backend, synthesized once (hierarchical
run only); module names mapped back to the graph's layers; the section replaced on
every run; the manifest keeps the reports as trigc's files."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import trigc
from trigc.cli import main
from trigc.estimate.report import COMPARISON_TITLE
from trigc.frontends.qonnx_builder import quantized_mlp
from trigc.outputs import survey
from trigc.synth import run
from trigc.synth.compare import compare, module_names, update_reports

from tests.rtl.fixtures.projects import needs_yosys, write_project


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory):
    """(project path, SynthResult) of one hierarchical Yosys run, in a private cache."""
    root = tmp_path_factory.mktemp("merge")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRIGC_CACHE_DIR", str(root / "cache"))
    model = quantized_mlp(sizes=(4, 6, 3))
    model.graph.name = "tiny"
    project = trigc.compile(model, root / "prj", backend="verilog")
    before = (project.path / "report.txt").read_text()
    try:
        result = run(project.path, flatten=False, per_layer=True)  # one Yosys run
        yield project.path, result, before
    finally:
        mp.undo()


@needs_yosys
def test_report_shows_measured_and_estimated_per_layer(synthesized):
    path, result, before = synthesized
    text = (path / "report.txt").read_text()
    assert text.startswith(before.rstrip("\n")) and text.count(COMPARISON_TITLE) == 1
    report = json.loads((path / "report.json").read_text())
    merged = report["measured_vs_estimated"]
    assert merged == result.comparison.to_json() and report["estimate"]["model"] == "tiny"
    total = merged["total"]["resources"]
    assert total["lut"]["measured"] == result.total.lut > 0
    assert total["ff"]["measured"] == result.total.ff
    assert total["lut"]["estimated"] == report["estimate"]["total"]["lut"]
    layers = {row["layer"]: row for row in merged["layers"]}
    est_names = [layer["name"] for layer in report["estimate"]["layers"]]
    assert list(layers) == est_names  # every estimated layer, in order, nothing unmatched
    assert layers["ports"]["module"] == "tiny"
    modules = {row["module"] for row in merged["layers"] if row["module"]}
    assert modules == set(result.per_module)  # every module found its layer
    dense = layers["dense_0_MatMul"]
    assert dense["module"] == "tiny_dense_0_MatMul" and dense["label"] == "dense_0 (dense_0_MatMul)"
    lut = dense["resources"]["lut"]
    assert lut["measured"] == result.per_module["tiny_dense_0_MatMul"].lut
    assert lut["diff_pct"] == round(100 * (lut["estimated"] - lut["measured"]) /
                                    lut["measured"], 2)
    for row in merged["layers"]:
        assert f"{row['label']} " in text
    assert f"{lut['diff_pct']:+.1f}%" in text
    assert [f for f, _ in survey(path).foreign] == ["synth"]  # reports still trigc's


@needs_yosys
def test_cli_prints_the_table_and_rerun_replaces_the_section(synthesized, capsys,
                                                             monkeypatch):
    path = synthesized[0]
    monkeypatch.setattr("trigc.cli.rtl.synth_run",  # the fixture's run, from the cache
                        lambda project, per_layer: run(project, flatten=False,
                                                       per_layer=per_layer))
    assert main(["synth", str(path), "--per-layer"]) == 0
    out = capsys.readouterr().out
    assert "LUT" in out and COMPARISON_TITLE in out and "dense_1 (dense_1_MatMul)" in out
    text = (path / "report.txt").read_text()
    assert text.count(COMPARISON_TITLE) == 1 and text.endswith(out.split("\n\n", 1)[1])
    report = json.loads((path / "report.json").read_text())["measured_vs_estimated"]
    assert report["layers"] and report["total"]["resources"]["lut"]["measured"] > 0
    assert [f for f, _ in survey(path).foreign] == ["synth"]


def test_hand_written_project_has_no_estimate(tmp_path):
    project = write_project(tmp_path / "p")
    assert update_reports(project, "adder_top", "yosys", _usage(lut=1), {}) is None
    assert not (project / "report.txt").exists()
    (project / "report.json").write_text("{truncated")
    assert update_reports(project, "adder_top", "yosys", _usage(lut=1), {}) is None


def _usage(**values):
    base = {"lut": 0, "ff": 0, "carry": 0, "dsp": 0, "bram": 0.0}
    return SimpleNamespace(**{**base, **values})


def test_module_names_follow_the_verilog_writer():
    modules = {"top_a_b", "top_a_b_2", "top_c"}
    assert module_names("top", ["a.b", "a_b", "skipped", "c"], modules) == {
        "top_a_b": "a.b", "top_a_b_2": "a_b", "top_c": "c"}


def test_compare_on_hand_made_numbers():
    estimate = {"total": {"lut": 120, "ff": 10, "dsp": 1, "bram": 2},
                "layers": [{"name": "fc", "source": "fc", "lut": 120, "ff": 4, "dsp": 1,
                            "bram": 2, "detail": {"carry4": 5}},
                           {"name": "ports", "source": "", "lut": 0, "ff": 6, "dsp": 0,
                            "bram": 0, "detail": {"carry4": 0}}]}
    per_module = {"m": _usage(ff=6), "m_fc": _usage(lut=100, ff=4, carry=4, dsp=1, bram=1.0),
                  "m_stray": _usage(lut=3)}
    result = compare("m", "yosys", _usage(lut=100, ff=10, carry=4, dsp=1, bram=1.0),
                     per_module, estimate, ["fc"])
    total = result.total
    assert total.diff_pct("lut") == 20.0 and total.diff_pct("carry") == 25.0
    assert total.measured["bram"] == 2 and total.diff_pct("bram") == 0.0  # 36 Kb -> 18 Kb
    rows = {row.name: row for row in result.layers}
    assert rows["fc"].module == "m_fc" and rows["ports"].module == "m"
    assert rows["m_stray"].estimated is None and rows["m_stray"].diff_pct("lut") is None
    text = str(result)
    assert "m_stray (no layer)" in text and "+20.0%" in text and "n/a" in text

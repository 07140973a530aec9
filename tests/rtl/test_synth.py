"""trigc.synth: Yosys 0.23 synth_xilinx on a hand-written registered adder."""

from __future__ import annotations

import json

import pytest
from trigc.cli import main
from trigc.errors import ProjectError
from trigc.synth import SynthError, run, yosys_version
from trigc.synth.yosys import Usage

from tests.rtl.fixtures.projects import needs_yosys, write_project

pytestmark = needs_yosys


def test_registered_adder_counts(tmp_path, cache_dir, capsys):
    project = write_project(tmp_path / "p")
    result = run(project, per_layer=True)
    total = result.total
    assert total.lut > 0 and total.ff >= 8 + 8 + 9 and total.carry > 0
    assert (total.dsp, total.bram, total.unmapped) == (0, 0, {})
    assert set(result.per_module) == {"adder_top", "add_stage"}
    assert result.per_module["add_stage"].ff == 9 and result.per_module["add_stage"].lut > 0
    assert not result.cached
    report = json.loads((project / "synth" / "synth_report.json").read_text())
    assert report["total"]["ff"] == total.ff and report["family"] == "xcup"
    assert "synth_xilinx" in (project / "synth" / "yosys.log").read_text()
    again = run(project, per_layer=True)
    assert again.cached and again.total == total
    assert main(["synth", str(project), "--per-layer"]) == 0
    out = capsys.readouterr().out
    assert "LUT" in out and "add_stage" in out and "total" in out


def test_corrupt_cache_entry_is_resynthesized(tmp_path, cache_dir, caplog):
    project = write_project(tmp_path / "p")
    first = run(project)
    (stat,) = (cache_dir / "synth").glob("*/stat.json")
    stat.write_text("{}")
    again = run(project)
    assert not again.cached and again.total == first.total
    assert "corrupted" in caplog.text


def test_cell_grouping():
    usage = Usage.from_cells({"LUT6": 3, "LUT2": 1, "FDRE": 4, "FDSE": 1, "CARRY8": 2,
                              "DSP48E2": 1, "RAMB18E2": 3, "RAMB36E2": 1, "MUXF7": 2,
                              "SRLC32E": 1, "$mem_v2": 1, "IBUF": 9})
    assert (usage.lut, usage.ff, usage.carry, usage.dsp, usage.bram, usage.muxf,
            usage.lutram) == (4, 5, 2, 1, 2.5, 2, 1)
    assert usage.unmapped == {"$mem_v2": 1}


def test_missing_yosys_says_how_to_install(monkeypatch):
    monkeypatch.setenv("YOSYS", "no-such-yosys")
    with pytest.raises(SynthError, match="make setup"):
        yosys_version()


def test_rtl_files_must_stay_inside_the_project(tmp_path):
    project = write_project(tmp_path / "p")
    (tmp_path / "outside.v").write_text("module m; endmodule\n")
    port_map = json.loads((project / "port_map.json").read_text())
    port_map["rtl_files"] = ["../outside.v"]
    (project / "port_map.json").write_text(json.dumps(port_map))
    with pytest.raises(ProjectError, match="not a relative path inside"):
        run(project)
    assert not (project / "synth").exists()

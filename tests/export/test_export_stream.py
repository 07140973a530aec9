"""`trigc export` of an --io stream project: the bundle's tcl under tclsh with stub
Vitis commands, the README and port map describing one AXI4-Stream word per pixel,
and the stream kernels in the bundle."""

import json
import zipfile
from pathlib import Path

import pytest
import trigc

from export_util import by_name, option, path_without_vitis, run_cli, run_stub

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("stream_export")
    project = trigc.compile(ROOT / "models" / "conv_tagger" / "conv_tagger.onnx",
                            root / "prj", io="stream")
    mp = pytest.MonkeyPatch()
    mp.setenv("PATH", path_without_vitis())
    try:
        assert run_cli(["export", str(project.path), "--board", "vcu118", "-o",
                        str(root / "out")]) == 0
    finally:
        mp.undo()
    return root / "out"


def test_stream_bundle_tcl_runs_under_stubs(exported, tmp_path):
    with zipfile.ZipFile(exported / "export_bundle.zip") as z:
        z.extractall(tmp_path)
        names = z.namelist()
    assert any(n.endswith("firmware/kernels/trigc_stream.h") for n in names)
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    calls = by_name(run_stub(folder))
    assert calls["set_top"] == [["conv_tagger"]]
    (export,) = calls["export_design"]
    assert "io stream" in option(export, "-description")


def test_stream_port_map_and_readme(exported):
    pm = json.loads((exported / "port_map.json").read_text())
    assert pm["ii_cycles"] == 100 and pm["interface"]["block_protocol"] == "ap_ctrl_none"
    x, y = pm["ports"]
    assert x["protocol"] == y["protocol"] == "axis"
    assert x["axis"] == {"word_bits": 8, "per_word": 1, "words": 64}
    assert y["axis"] == {"word_bits": 40, "per_word": 3, "words": 1}  # 3 x 13 bits, padded
    assert [s["name"] for s in x["signals"]] == ["s0_x_TDATA", "s0_x_TVALID", "s0_x_TREADY"]
    assert "one pixel per 8-bit TDATA word" in x["layout"]
    readme = (exported / "README.md").read_text()
    assert "| `s0_x_TDATA` | in | 8 |" in readme and "ap_start" not in readme

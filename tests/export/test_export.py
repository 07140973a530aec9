"""`trigc export`: the jet-tagger MLP exported for two boards with two interfaces; the
generated tcl run under tclsh with stub Vitis HLS commands; README and port map;
the bundle without vitis_hls, the IP archive with a (fake) one; bad input."""

import json
import re
import shutil
import zipfile

import numpy as np
import onnx
import pytest

import trigc
from trigc.backends.vitis.interfaces import InterfaceError
from trigc.export import BOARDS, ExportError, UnknownBoardError, VLNVError, export_ip
from trigc.frontends.qonnx_builder import quantized_mlp

from export_util import (
    by_name, fake_vitis_hls, option, path_without_vitis, run_cli, run_stub, tclsh, tree,
)

TARGETS = [(board, interface) for board in ("apd1", "vcu118")
           for interface in ("pipeline", "axis")]


@pytest.fixture(scope="module")
def jet(tmp_path_factory):
    """The jet-tagger MLP (16-64-32-32-5, 6-bit QONNX) compiled once."""
    root = tmp_path_factory.mktemp("jet")
    path = root / "jet.onnx"
    model = quantized_mlp()
    model.graph.name = "jet"
    onnx.save(model, str(path))
    return trigc.compile(str(path), root / "prj")


@pytest.fixture(scope="module")
def bundles(jet, tmp_path_factory):
    """`trigc export` of the jet project for every (board, interface), without the
    vendor tool; {target: exported project dir}."""
    root = tmp_path_factory.mktemp("exports")
    mp = pytest.MonkeyPatch()
    mp.setenv("PATH", path_without_vitis())
    out = {}
    try:
        for board, interface in TARGETS:
            out[board, interface] = root / f"{board}_{interface}"
            code = run_cli(["export", str(jet.path), "--board", board, "--interface",
                            interface, "--vendor", "cern.ch", "--library", "l1t",
                            "--ip-name", "jet_tagger", "--ip-version", "2.1",
                            "-o", str(out[board, interface])])
            assert code == 0
    finally:
        mp.undo()
    return out


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: "-".join(t))
def test_bundle_tcl_passes_the_stub_run(bundles, target, tmp_path):
    board, interface = target
    with zipfile.ZipFile(bundles[target] / "export_bundle.zip") as z:
        z.extractall(tmp_path)
    folder = tmp_path / "jet_tagger_2.1_export"
    calls = run_stub(folder)
    assert [c[0] for c in calls] == [
        "open_project", "set_top", "add_files", "add_files", "add_files", "open_solution",
        "set_part", "create_clock", "csynth_design", "export_design", "exit"]
    calls = by_name(calls)
    assert calls["open_project"] == [["-reset", "jet_prj"]]
    assert calls["set_top"] == [["jet"]]
    assert calls["set_part"] == [[BOARDS[board].part]]
    ((_, period, *name),) = calls["create_clock"]
    assert float(period) == BOARDS[board].clock_ns and name == ["-name", "default"]
    assert calls["open_solution"] == [["-reset", "solution1", "-flow_target", "vivado"]]
    for args in calls["add_files"]:  # every file the tcl adds is in the bundle
        files = [a for i, a in enumerate(args) if not a.startswith("-")
                 and (i == 0 or args[i - 1] != "-cflags")]
        assert files and all((folder / f).exists() for f in files), args
    (export,) = calls["export_design"]
    assert option(export, "-format") == "ip_catalog"
    vlnv = [option(export, f) for f in ("-vendor", "-library", "-ipname", "-version")]
    assert vlnv == ["cern.ch", "l1t", "jet_tagger", "2.1"]
    assert f"{interface} interface" in option(export, "-description")
    assert option(export, "-output") == str(folder.resolve() / "ip" / "jet_tagger_2.1.zip")


def test_tcl_options_add_csim_and_cosim(bundles):
    calls = [c[0] for c in run_stub(bundles["vcu118", "axis"], args=["csim=1", "cosim=1"])]
    assert calls.index("csim_design") < calls.index("csynth_design") < \
        calls.index("cosim_design") < calls.index("export_design")


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: "-".join(t))
def test_readme_lists_every_port_with_its_format(bundles, target):
    board, interface = target
    out = bundles[target]
    readme = (out / "README.md").read_text()
    meta = json.loads((out / "trigc.json").read_text())
    for port in meta["inputs"] + meta["outputs"]:
        assert f"`{port['name']}`" in readme and f"`{port['cpp']}`" in readme
        for signal in port["rtl"]:
            assert f"| `{signal['name']}` |" in readme
        assert f"{port['width']} bits, {port['integer_bits']} integer bits" in readme
    assert "cern.ch:l1t:jet_tagger:2.1" in readme and BOARDS[board].part in readme
    assert f"{BOARDS[board].clock_ns} ns" in readme
    assert "not a synthesis result" in readme and f"{meta['estimate']['latency_cycles']} " \
        "cycles" in readme
    assert "update_ip_catalog -add_ip" in readme and "create_ip -vlnv" in readme
    control = "ap_rst_n" if interface == "axis" else "ap_rst"
    assert f"| `{control}` |" in readme and "ap_start" not in readme


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: "-".join(t))
def test_port_map(bundles, target):
    board, interface = target
    pm = json.loads((bundles[target] / "port_map.json").read_text())
    assert pm["ip"]["vlnv"] == "cern.ch:l1t:jet_tagger:2.1" and pm["top"] == "jet"
    assert pm["board"]["name"] == board and pm["part"] == BOARDS[board].part
    assert pm["interface"]["name"] == interface and pm["ii_cycles"] == 1
    assert pm["estimate"]["kind"] == "trigc static estimate (not a synthesis result)"
    x, y = pm["ports"]
    assert (x["direction"], x["elements"], x["element"]["cpp"]) == \
        ("in", 16, "ap_fixed<8,4,AP_RND_CONV,AP_SAT>")
    assert (x["element"]["min"], x["element"]["max"]) == (-8.0, 7.9375)
    assert (y["direction"], y["elements"]) == ("out", 5)
    data = x["signals"][0]
    assert data["width"] == (128 if interface == "axis" else 16 * 8)


def test_bundle_is_deterministic_and_complete(bundles, jet, tmp_path):
    first = bundles["apd1", "axis"]
    again = export_ip(jet.path, "apd1", "axis", vendor="cern.ch", library="l1t",
                      ip_name="jet_tagger", ip_version="2.1", output_dir=tmp_path / "again",
                      run_tool=False)
    assert tree(first) == tree(again.path)
    names = zipfile.ZipFile(first / "export_bundle.zip").namelist()
    for needed in ("firmware/jet.cpp", "firmware/kernels/trigc.h", "tb/jet_test.cpp",
                   "tb_data/tb_output_predictions.dat", "export_ip.tcl", "README.md",
                   "port_map.json", "run_export.sh"):
        assert f"jet_tagger_2.1_export/{needed}" in names
    assert again.command == ("unzip export_bundle.zip && cd jet_tagger_2.1_export && "
                             "vitis_hls -f export_ip.tcl")
    assert not again.tool_ran and again.bundle == again.path / "export_bundle.zip"


def test_cli_says_clearly_that_vitis_is_missing(jet, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", path_without_vitis())
    assert run_cli(["export", str(jet.path), "--board", "vcu118", "-o",
                    str(tmp_path / "e")]) == 0
    captured = capsys.readouterr()
    assert "vitis_hls is not on PATH: nothing was synthesized" in captured.err
    assert "vitis_hls -f export_ip.tcl" in captured.err and "export_bundle.zip" in captured.err
    assert "README.md" in captured.out and "not synthesis" in captured.out


@pytest.mark.csim
def test_exported_project_stays_bit_exact(bundles):
    project = trigc.Project(bundles["apd1", "axis"])
    x = np.random.default_rng(3).normal(0, 3, (300, 16))
    assert project.compare(x).ok


@pytest.mark.parametrize("zip_mode", ["output", "impl"])
def test_with_vitis_hls_on_path_the_ip_is_collected(jet, tmp_path, monkeypatch, zip_mode):
    tclsh()
    fake_vitis_hls(tmp_path / "bin", zip_mode)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{path_without_vitis()}")
    result = export_ip(jet.path, "vcu118", "pipeline_vld", output_dir=tmp_path / "e")
    assert result.tool_ran and result.ip_zip == tmp_path / "e" / "ip" / "jet_1.0.zip"
    assert result.ip_zip.read_text() == "stub IP archive\n"
    assert not (tmp_path / "e" / "export_bundle.zip").exists()
    assert "export_design" in (tmp_path / "e" / ".stub_calls").read_text()


def test_failing_vitis_hls_is_an_export_error(jet, tmp_path, monkeypatch):
    tclsh()
    fake_vitis_hls(tmp_path / "bin", "output", exit_code=1)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{path_without_vitis()}")
    with pytest.raises(ExportError, match=r"vitis_hls failed \(exit 1\).*vitis_hls_export.log"):
        export_ip(jet.path, "vcu118", output_dir=tmp_path / "e")


def test_export_in_place_retargets_the_project(jet, tmp_path):
    prj = tmp_path / "prj"
    shutil.copytree(jet.path, prj)
    export_ip(prj, "vcu118", "pipeline", run_tool=False)
    meta = json.loads((prj / "trigc.json").read_text())
    assert (meta["settings"]["board"], meta["settings"]["interface"]) == ("vcu118", "pipeline")
    assert "mode=ap_ctrl_none" in (prj / "firmware" / "jet.cpp").read_text()
    assert (prj / "tb_data" / "tb_input_features.dat").read_bytes() == \
        (jet.path / "tb_data" / "tb_input_features.dat").read_bytes()
    export_ip(prj, interface="axis", run_tool=False)  # the board is remembered
    assert json.loads((prj / "trigc.json").read_text())["settings"]["board"] == "vcu118"


@pytest.mark.parametrize("argv,error", [
    (["--board", "vu9p_board"], "Unknown board 'vu9p_board'. Known boards: apd1, "),
    (["--board", "vcu118", "--ip-version", "1"], "Malformed IP version '1'.*MAJOR.MINOR"),
    (["--board", "vcu118", "--ip-version", "1.0.2"], "Malformed IP version"),
    (["--board", "vcu118", "--vendor", "9lives"], "Malformed IP vendor '9lives'"),
    (["--board", "vcu118", "--ip-name", "jet-tagger"], "Malformed IP name.*--ip-name"),
    (["--board", "vcu118", "--library", "a.b"], "Malformed IP library"),
    (["--board", "vcu118", "--description", "a {b}"], "description may not contain"),
    (["--board", "vcu118", "--axis-word-bits", "64"], "applies only to --interface axis"),
    ([], "has no board; give one with --board"),
])
def test_bad_input_is_a_clear_error_and_writes_nothing(jet, tmp_path, capsys, argv, error):
    before = tree(jet.path)
    assert run_cli(["export", str(jet.path), "-o", str(tmp_path / "out"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("trigc: error: ") and len(err.strip().splitlines()) == 1
    assert re.search(error, err), err
    assert not (tmp_path / "out").exists()
    assert tree(jet.path) == before


def test_interface_the_model_cannot_use_writes_nothing(tmp_path):
    model = quantized_mlp(sizes=(8, 6, 3), seed=3)
    project = trigc.compile(model, tmp_path / "prj", reuse=2, board="vcu118")
    before = tree(project.path)
    with pytest.raises(InterfaceError, match="needs II = 1"):
        export_ip(project.path, interface="pipeline", run_tool=False)
    assert tree(project.path) == before
    with pytest.raises(UnknownBoardError):
        export_ip(project.path, board="nope", run_tool=False)
    with pytest.raises(VLNVError):
        export_ip(project.path, ip_version="v1", run_tool=False)
    assert tree(project.path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prj"]

"""`trigc export` of a Verilog project: a tiny QONNX MLP compiled once with
``--backend verilog``; the generated package_ip.tcl run under tclsh with stub Vivado
and ipx:: commands (stub_vivado.tcl); README, port map and bundle; a fake vivado on
PATH; hostile names; bad input."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import zipfile
from pathlib import Path

import onnx
import pytest
import trigc
from export_util import HERE, SEP, by_name, option, run_cli, tclsh, tree
from trigc.errors import ConfigError
from trigc.export import BOARDS, ExportError, VLNVError, export_ip
from trigc.frontends.qonnx_builder import quantized_mlp
from trigc.names import printable
from trigc.backends.verilog.portmap import rtl_sources
from trigc.target import UnknownPartError

STUB = HERE / "stub_vivado.tcl"
HOSTILE = 'evil"\n[exec touch pwned]$(touch pwned2)${HOME}{x}`id`'
BUS = {"clk": "xilinx.com:signal:clock_rtl:1.0", "rst": "xilinx.com:signal:reset_rtl:1.0"}
ORDER = ["create_project", "read_verilog", "read_xdc", "current_fileset", "set_property",
         "ipx::package_project", "ipx::unload_core", "ipx::open_core"]
LAST = ["ipx::create_xgui_files", "ipx::update_checksums", "ipx::check_integrity",
        "ipx::save_core", "ipx::archive_core"]


def path_without_vivado() -> str:
    dirs = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(d for d in dirs if not (Path(d) / "vivado").exists())


def run_vivado_stub(directory: Path, exit_code: int = 0, ip: bool = False) -> list[list[str]]:
    """Run package_ip.tcl in ``directory`` under tclsh with the stubs; the calls."""
    log = directory / ".stub_calls"
    log.unlink(missing_ok=True)
    env = {**os.environ, "TRIGC_STUB_LOG": str(log), "TRIGC_STUB_EXIT": str(exit_code)}
    if ip:
        env["TRIGC_STUB_IP"] = "1"
    proc = subprocess.run([tclsh(), str(STUB), "package_ip.tcl"], cwd=directory, env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == exit_code, proc.stdout + proc.stderr
    calls = [line.split(SEP) for line in log.read_text().splitlines()]
    log.unlink()
    return calls


def fake_vivado(bin_dir: Path, exit_code: int = 0) -> None:
    """A ``vivado`` that runs ``-source SCRIPT`` (its last argument) with the stubs."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    tool = bin_dir / "vivado"
    tool.write_text(
        "#!/bin/sh\n# fake vivado for tests: ... -source SCRIPT\n"
        "for last in \"$@\"; do :; done\n"
        f"export TRIGC_STUB_LOG=\"$PWD/.stub_calls\" TRIGC_STUB_IP=1 "
        f"TRIGC_STUB_EXIT={exit_code}\n"
        f"exec {tclsh()} {STUB} \"$last\"\n")
    tool.chmod(0o755)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 4-6-3 QONNX MLP compiled once with the Verilog backend (no board)."""
    root = tmp_path_factory.mktemp("tiny")
    model = quantized_mlp(sizes=(4, 6, 3))
    model.graph.name = "tiny"
    onnx.save(model, str(root / "tiny.onnx"))
    return trigc.compile(str(root / "tiny.onnx"), root / "prj", backend="verilog")


@pytest.fixture(scope="module")
def bundle(tiny, tmp_path_factory):
    """`trigc export --board vcu118` of the tiny project without vivado; (export, stdout,
    stderr) of the CLI."""
    out = tmp_path_factory.mktemp("export") / "e"
    stdout, stderr = io.StringIO(), io.StringIO()
    mp = pytest.MonkeyPatch()
    mp.setenv("PATH", path_without_vivado())
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = run_cli(["export", str(tiny.path), "--board", "vcu118", "--vendor",
                            "cern.ch", "--library", "l1t", "--ip-name", "tiny_nn",
                            "--ip-version", "2.1", "-o", str(out)])
    finally:
        mp.undo()
    assert code == 0, stderr.getvalue()
    return out, stdout.getvalue(), stderr.getvalue()


def test_cli_prints_the_bundle_and_the_command(bundle):
    out, stdout, stderr = bundle
    assert "IP cern.ch:l1t:tiny_nn:2.1" in stdout and "README.md" in stdout
    assert "vivado is not on PATH: nothing was packaged" in stderr
    assert str(out / "export_bundle.zip") in stderr
    assert ("unzip export_bundle.zip && cd tiny_nn_2.1_export && vivado -mode batch "
            "-nojournal -nolog -source package_ip.tcl") in stderr


def test_bundle_tcl_under_the_vivado_stub(bundle, tmp_path):
    out, _, _ = bundle
    with zipfile.ZipFile(out / "export_bundle.zip") as z:
        z.extractall(tmp_path)
    folder = tmp_path / "tiny_nn_2.1_export"
    calls = run_vivado_stub(folder)
    names = [c[0] for c in calls]
    assert [n for n in names if n in ORDER][:len(ORDER)] == ORDER
    assert [n for n in names if n in LAST] == LAST
    calls = by_name(calls)
    board = BOARDS["vcu118"]
    assert calls["create_project"] == [["-in_memory", "-part", board.part]]
    (rtl,) = calls["read_verilog"]
    assert rtl == ["rtl/tiny.v"] and (folder / rtl[0]).is_file()
    assert calls["read_xdc"] == [["-mode", "out_of_context", "constraints/tiny.xdc"]]
    assert (folder / "constraints/tiny.xdc").is_file()
    (pkg,) = calls["ipx::package_project"]
    assert [option(pkg, f) for f in ("-vendor", "-library", "-taxonomy", "-set_current")] \
        == ["cern.ch", "l1t", "/UserIP", "false"]
    assert "-import_files" in pkg and option(pkg, "-root_dir") == str(folder.resolve() / "ip")
    props = {args[0]: args[1] for args in calls["set_property"] if args[-1] == "core"}
    assert (props["name"], props["version"]) == ("tiny_nn", "2.1")
    assert props["display_name"] == "tiny_nn (trigc tiny)"
    assert "Verilog, vcu118 at" in props["description"]
    assert ["top", "tiny", "sources_1"] in calls["set_property"]
    inferred = {args[0]: args[1] for args in calls["ipx::infer_bus_interface"]}
    assert inferred == BUS
    params = {args[-1]: args[1] for args in calls["set_property"]
              if args[-1].startswith("param:")}
    assert params == {
        "param:busif:clk:ASSOCIATED_RESET": "rst",
        "param:busif:clk:FREQ_HZ": str(round(1e9 / board.clock_ns)),
        "param:busif:rst:POLARITY": "ACTIVE_HIGH"}
    assert calls["ipx::archive_core"] == [[str(folder.resolve() / "ip" / "tiny_nn_2.1.zip"),
                                          "core"]]


def test_readme_and_port_map(bundle, tiny):
    out, _, _ = bundle
    readme = (out / "README.md").read_text()
    for needed in ("cern.ch:l1t:tiny_nn:2.1", "package_ip.tcl", "run_export.sh",
                   "rtl/tiny.v", "constraints/tiny.xdc", "port_map.json", "ip/",
                   "export_bundle.zip", "FREQ_HZ 200000000", "POLARITY ACTIVE_HIGH",
                   "not a synthesis result", "create_ip -vlnv cern.ch:l1t:tiny_nn:2.1",
                   "| `in_data` | input |", BOARDS["vcu118"].part):
        assert needed in readme, needed
    pm = json.loads((out / "port_map.json").read_text())
    design = json.loads((tiny.path / "port_map.json").read_text())
    assert {k: pm[k] for k in design} == design  # rtlsim and synth read it unchanged
    assert pm["ip"]["vlnv"] == "cern.ch:l1t:tiny_nn:2.1" and pm["board"]["name"] == "vcu118"
    assert pm["clock"]["freq_hz"] == 200_000_000
    assert [b["name"] for b in pm["bus_interfaces"]] == ["clk", "rst"]
    assert pm["estimate"]["kind"] == "trigc static estimate (not a synthesis result)"
    assert rtl_sources(out)[0] == "tiny"
    meta = json.loads((out / "trigc.json").read_text())
    assert meta["settings"]["backend"] == "verilog" and meta["settings"]["board"] == "vcu118"
    names = zipfile.ZipFile(out / "export_bundle.zip").namelist()
    for needed in ("rtl/tiny.v", "constraints/tiny.xdc", "package_ip.tcl", "README.md",
                   "port_map.json", "run_export.sh", "trigc.json"):
        assert f"tiny_nn_2.1_export/{needed}" in names


def test_export_is_deterministic(bundle, tiny, tmp_path):
    out, _, _ = bundle
    again = export_ip(tiny.path, "vcu118", vendor="cern.ch", library="l1t",
                      ip_name="tiny_nn", ip_version="2.1", output_dir=tmp_path / "again",
                      run_tool=False)
    assert tree(out) == tree(again.path)
    assert again.tool == "vivado" and not again.tool_ran


def test_hostile_names_stay_inside_the_braces(tmp_path):
    model = quantized_mlp(sizes=(3, 2))
    onnx.save(model, str(tmp_path / "m.onnx"))
    project = trigc.compile(str(tmp_path / "m.onnx"), tmp_path / "prj", backend="verilog",
                            name=HOSTILE)
    text = 'a [exec touch pwned3] $env(HOME) "q" ;exit 3'
    result = export_ip(project.path, description=text, output_dir=tmp_path / "e",
                       run_tool=False)
    calls = run_vivado_stub(result.path)
    assert not list(tmp_path.rglob("pwned*")) and not list(Path.cwd().glob("pwned*"))
    props = {args[0]: args[1] for args in by_name(calls)["set_property"]
             if args[-1] == "core"}
    assert props["description"] == printable(text)
    top = json.loads((result.path / "port_map.json").read_text())["top"]
    assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", top)
    assert props["display_name"] == f"{top} (trigc {top})"
    for call in calls:
        assert all("\n" not in a and "[" not in a for a in call), call
    readme = (result.path / "README.md").read_text()
    assert "[exec" not in readme and "`id`" not in readme


def test_with_vivado_on_path_the_ip_is_packaged(tiny, tmp_path, monkeypatch, capsys):
    tclsh()
    fake_vivado(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{path_without_vivado()}")
    assert run_cli(["export", str(tiny.path), "--part", "xcku115-flvb2104-2-e",
                    "--clock-ns", "4", "-o", str(tmp_path / "e")]) == 0
    out = capsys.readouterr().out
    e = tmp_path / "e"
    assert f"IP archive: {e / 'ip' / 'tiny_1.0.zip'}" in out
    assert f"IP repository: {e / 'ip'}" in out
    assert (e / "ip" / "component.xml").is_file() and not (e / "export_bundle.zip").exists()
    calls = by_name([line.split(SEP) for line in
                     (e / ".stub_calls").read_text().splitlines()])
    assert calls["create_project"] == [["-in_memory", "-part", "xcku115-flvb2104-2-e"]]
    assert ["value", "250000000", "param:busif:clk:FREQ_HZ"] in calls["set_property"]
    # ip/ and the log are not trigc's files: a second export needs --overwrite, keeps them
    assert run_cli(["export", str(tiny.path), "-o", str(e)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert run_cli(["export", str(tiny.path), "-o", str(e), "--overwrite"]) == 0
    assert (e / "ip" / "component.xml").is_file()


def test_failing_vivado_is_an_export_error(tiny, tmp_path, monkeypatch):
    tclsh()
    fake_vivado(tmp_path / "bin", exit_code=1)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{path_without_vivado()}")
    with pytest.raises(ExportError, match=r"vivado failed \(exit 1\).*vivado_package.log"):
        export_ip(tiny.path, output_dir=tmp_path / "e")


def test_vivado_required_but_missing(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", path_without_vivado())
    with pytest.raises(ExportError, match="vivado is not on PATH; source the Vivado"):
        export_ip(tiny.path, output_dir=tmp_path / "e", run_tool=True)
    assert not (tmp_path / "e").exists()


def test_export_in_place_keeps_the_project_usable(tiny, tmp_path):
    prj = tmp_path / "prj"
    export_ip(tiny.path, output_dir=prj, run_tool=False)
    export_ip(prj, "vcu118", run_tool=False)  # in place, retargeted
    assert json.loads((prj / "trigc.json").read_text())["settings"]["board"] == "vcu118"
    assert trigc.Project(prj).backend == "verilog"
    export_ip(prj, run_tool=False)  # the board is remembered
    assert "vcu118" in (prj / "package_ip.tcl").read_text()


@pytest.mark.parametrize("argv,error", [
    (["--interface", "axis"], "A Verilog project has one interface"),
    (["--part", "xcvu9p-flga2104-2L-e;id"], "Unknown FPGA part"),
    (["--board", "nope"], "Unknown board 'nope'"),
    (["--ip-name", "tiny nn"], "Malformed IP name.*--ip-name"),
    (["--ip-version", "1"], "Malformed IP version '1'"),
    (["--description", "a {b}"], "description may not contain"),
])
def test_bad_input_is_a_clear_error_and_writes_nothing(tiny, tmp_path, capsys, argv, error):
    before = tree(tiny.path)
    assert run_cli(["export", str(tiny.path), "-o", str(tmp_path / "out"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("trigc: error: ") and len(err.strip().splitlines()) == 1
    assert re.search(error, err), err
    assert not (tmp_path / "out").exists() and tree(tiny.path) == before


def test_typed_errors(tiny, tmp_path):
    with pytest.raises(ConfigError, match="one interface"):
        export_ip(tiny.path, interface="pipeline", run_tool=False)
    with pytest.raises(UnknownPartError):
        export_ip(tiny.path, part="xcvu9p", run_tool=False)
    with pytest.raises(VLNVError):
        export_ip(tiny.path, vendor="9lives", run_tool=False)

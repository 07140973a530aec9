"""IP core export: ``export_ip(project_dir, board=..., interface=..., ...)``.

A Vitis HLS project's final IR is written again for the board and interface
(atomically, as ``trigc compile`` does), together with

- ``export_ip.tcl``: Vitis HLS csynth and ``export_design -format ip_catalog`` with
  the IP's VLNV and description;
- ``README.md`` for the firmware engineer: every port with its width and fixed-point
  format, latency and II (trigc's estimate, labelled so), the clock, and how to add
  the IP repository in Vivado;
- ``port_map.json``: the same, machine-readable;
- ``run_export.sh``: the exact command.

With ``vitis_hls`` on PATH the flow runs and the IP archive lands in ``ip/``;
without it, ``export_bundle.zip`` holds everything a machine with the tool needs.
A Verilog project (``trigc compile --backend verilog``) is packaged from its RTL by
Vivado's IP packager instead (:mod:`trigc.export.verilog`).
Bad input (unknown board, malformed VLNV, an interface the model cannot use) raises
before anything is written.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from trigc.backends.vitis.writer import VERSION, glue_env
from trigc.errors import ConfigError
from trigc.export import verilog
from trigc.export.common import (
    BUNDLE,
    DEFAULT_LIBRARY,
    DEFAULT_VENDOR,
    DEFAULT_VERSION,
    RUN_SCRIPT,
    ExportError,
    ExportResult,
    VLNVError,
    archive_name,
    command,
    display_name,
    make_vlnv,
    write_bundle,
    write_run_script,
    zip_dir_name,
)
from trigc.export.common import run_tool as run_vendor_tool
from trigc.export.docs import VLNV, port_map_json, readme_context
from trigc.ir.graph import OverflowReport
from trigc.names import printable
from trigc.outputs import atomic_write
from trigc.project import Project, write_project
from trigc.target import DEFAULT_BACKEND, BuildOptions, get_board

log = logging.getLogger(__name__)

TOOL = "vitis_hls"
TCL = "export_ip.tcl"
LOG = "vitis_hls_export.log"
TOOL_COMMAND = f"{TOOL} -f {TCL}"
BUNDLE_PARTS = ("firmware", "tb", "tb_data", TCL, "build_prj.tcl", "README.md",
                "port_map.json", RUN_SCRIPT, "trigc.json", "report.txt", "report.json")


def _default_description(graph, settings: BuildOptions) -> str:
    target = settings.board or settings.part
    model = printable(graph.name)
    kind = ("Verilog" if settings.backend == "verilog" else
            "io stream (AXI4-Stream dataflow)" if settings.io_mode == "stream" else
            f"{settings.interface} interface")
    return (f"trigc {VERSION} neural network {model}: {len(graph.nodes)} layers, "
            f"{kind}, {target} at {settings.clock_ns:g} ns")


def _export_files(vlnv: VLNV, settings: BuildOptions, bundle: bool):
    """The ``extra`` hook of write_project: writes the export files into the
    temporary project directory (and the bundle when the tool will not run)."""
    board = get_board(settings.board) if settings.board else None

    def extra(root: Path, ctx: dict, est) -> None:
        env = glue_env()
        common = {**ctx, "ip": vlnv.to_json(), "vlnv": str(vlnv),
                  "zip_name": archive_name(vlnv),
                  "display_name": display_name(vlnv, ctx["name"]),
                  "board_title": board.title if board else f"part {settings.part}"}
        (root / TCL).write_text(env.get_template("export_ip.tcl.j2").render(**common))
        readme = readme_context(ctx, est, vlnv, board)
        readme["display_name"] = common["display_name"]
        (root / "README.md").write_text(
            env.get_template("ip_readme.md.j2").render(**readme))
        (root / "port_map.json").write_text(port_map_json(ctx, est, vlnv, board))
        write_run_script(root, f"Runs the Vitis HLS synthesis and IP export of "
                               f"{ctx['name']}.", TOOL_COMMAND)
        if bundle:
            write_bundle(root, zip_dir_name(vlnv), BUNDLE_PARTS)

    return extra


def _collect(out: Path, vlnv: VLNV):
    """The IP archive of a Vitis HLS run, moved into ``out/ip``."""
    def collect(log_path: Path) -> Path:
        ip_dir = out / "ip"
        ip_dir.mkdir(exist_ok=True)
        wanted = ip_dir / archive_name(vlnv)
        if not wanted.is_file():  # older tools ignore -output: take the solution's archive
            found = sorted(out.glob("*_prj/solution1/impl/**/*.zip"))
            if not found:
                raise ExportError(f"{TOOL} finished but wrote no IP archive (looked for "
                                  f"{wanted} and *_prj/solution1/impl/**/*.zip); see "
                                  f"{log_path}")
            atomic_write(wanted, lambda tmp: shutil.copyfile(found[0], tmp))
        return wanted

    return collect


def _find_tool(name: str, run: bool | None, how: str) -> str | None:
    """The vendor tool's path: None when ``run`` is False or (``run`` None) it is not on
    PATH; an :class:`ExportError` when ``run`` is True and it is missing."""
    tool = shutil.which(name) if run is not False else None
    if run and tool is None:
        raise ExportError(f"{name} is not on PATH; {how}, or export without running it "
                          "to get a ready-to-run bundle")
    return tool


def export_ip(project_dir, board: str | None = None, interface: str | None = None, *,
              vendor: str = DEFAULT_VENDOR, library: str = DEFAULT_LIBRARY,
              ip_name: str | None = None, ip_version: str = DEFAULT_VERSION,
              description: str | None = None, clock_ns: float | None = None,
              axis_word_bits: int | None = None, output_dir=None,
              run_tool: bool | None = None, overwrite: bool = False,
              part: str | None = None, backend: str | None = None,
              stage_ns: float | None = None, dsp_digits: int | None = None) -> ExportResult:
    """Export a trigc project (``trigc compile`` output) as a Vivado IP core.

    ``board``, ``interface`` (and ``part``, ``clock_ns``, ``axis_word_bits``,
    ``backend``) default to the project's; ``output_dir`` defaults to
    the project directory itself (rewritten in place). ``run_tool``: None runs
    the vendor tool (``vitis_hls``; ``vivado`` for a Verilog project, see
    :mod:`trigc.export.verilog`) when it is on PATH, False never runs it (bundle only).
    A Vitis HLS project needs a board (its own or ``board``); a Verilog project only
    its part.

    The output folder is replaced atomically and only trigc's files in it are: a
    folder holding others (``<name>_prj/`` and ``ip/`` of an earlier run, a user's
    files) is an ``OutputError``, unless ``overwrite``, which keeps them."""
    project = Project(project_dir)
    meta = project.meta
    stored = meta["settings"]
    chosen = backend or stored.get("backend") or DEFAULT_BACKEND
    if chosen == "catapult":
        raise ConfigError(f"Project {project.name!r} is a Catapult HLS project: Catapult "
                          "itself builds it (`catapult -shell -file build_prj.tcl`); IP "
                          "export is for --backend vitis or verilog projects")
    is_verilog = chosen == "verilog"
    if is_verilog and (interface is not None or axis_word_bits is not None):
        raise ConfigError("A Verilog project has one interface (clk, rst, in_valid/in_data,"
                          " out_valid/out_data; see its README); drop --interface and "
                          "--axis-word-bits")
    if not is_verilog and board is None and not stored.get("board"):
        raise ConfigError(f"Project {project.name!r} has no board; give one with --board "
                          "(`trigc boards` lists them)")
    settings = BuildOptions.from_json(
        stored, where=f"settings of project {project.name!r}", board=board, part=part,
        interface=interface, clock_ns=clock_ns, axis_word_bits=axis_word_bits,
        backend=backend, budgets=meta.get("budgets"), stage_ns=stage_ns,
        dsp_digits=dsp_digits)
    graph = project.graph
    graph.precision_report = [OverflowReport.parse(r) for r in meta.get("precision_report", [])]
    vlnv = make_vlnv(vendor, library, ip_name or project.name, ip_version,
                     description if description is not None
                     else _default_description(graph, settings))
    out = Path(output_dir).resolve() if output_dir is not None else project.path
    if is_verilog:
        tool = _find_tool(verilog.TOOL, run_tool, "source the Vivado settings script")
        return verilog.export(graph, settings, vlnv, out, tool, overwrite=overwrite)
    tool = _find_tool(TOOL, run_tool, "source the Vitis settings script")
    path, est = write_project(graph, out, settings, project.tb_inputs(),
                              extra=_export_files(vlnv, settings, tool is None),
                              overwrite=overwrite)
    if tool is None:
        cmd = command(path, vlnv, True, TOOL_COMMAND)
        log.info("%s not run: wrote %s; run `%s` on a machine with Vitis HLS", TOOL,
                 path / BUNDLE, cmd)
        return ExportResult(path, vlnv, cmd, None, path / BUNDLE, est, TOOL)
    ip_zip = run_vendor_tool([tool, "-f", TCL], path, LOG, _collect(path, vlnv))
    return ExportResult(path, vlnv, command(path, vlnv, False, TOOL_COMMAND), ip_zip, None,
                        est, TOOL)


__all__ = ["BUNDLE", "ExportError", "ExportResult", "VLNVError", "export_ip", "make_vlnv"]

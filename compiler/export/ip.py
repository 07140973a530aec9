"""IP core export: ``export_ip(project_dir, board=..., interface=..., ...)``.

The project's final IR is written again for the board and interface (atomically, as
``trigc compile`` does), together with

- ``export_ip.tcl``: Vitis HLS csynth and ``export_design -format ip_catalog`` with
  the IP's VLNV and description;
- ``README.md`` for the firmware engineer: every port with its width and fixed-point
  format, latency and II (trigc's estimate, labelled so), the clock, and how to add
  the IP repository in Vivado;
- ``port_map.json``: the same, machine-readable;
- ``run_export.sh``: the exact command.

With ``vitis_hls`` on PATH the flow runs and the IP archive lands in ``ip/``;
without it, ``export_bundle.zip`` holds everything a machine with the tool needs.
Bad input (unknown board, malformed VLNV, an interface the model cannot use) raises
before anything is written.
"""

from __future__ import annotations

import logging
import re
import shlex
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

from trigc.backends.vitis.writer import VERSION, glue_env
from trigc.errors import ConfigError, TrigcError
from trigc.export.docs import VLNV, port_map_json, readme_context
from trigc.ir.graph import OverflowReport
from trigc.names import printable
from trigc.outputs import atomic_write
from trigc.project import Project, write_project
from trigc.target import BuildOptions, get_board

log = logging.getLogger(__name__)

TOOL = "vitis_hls"
TCL = "export_ip.tcl"
RUN_SCRIPT = "run_export.sh"
BUNDLE = "export_bundle.zip"
LOG = "vitis_hls_export.log"
DEFAULT_VENDOR = "trigc"
DEFAULT_LIBRARY = "trigger"
DEFAULT_VERSION = "1.0"
BUNDLE_PARTS = ("firmware", "tb", "tb_data", TCL, "build_prj.tcl", "README.md",
                "port_map.json", RUN_SCRIPT, "trigc.json", "report.txt", "report.json")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class ExportError(TrigcError, RuntimeError):
    """The IP export could not be run or its result collected."""


class VLNVError(ConfigError):
    """A malformed IP identity (vendor, library, name, version or description)."""


_VLNV_RULES = {  # field: (pattern, rule, flag)
    "vendor": (r"[A-Za-z][A-Za-z0-9_.\-]*",
               "letters, digits, '.', '-' and '_', starting with a letter (e.g. cern.ch)",
               "--vendor"),
    "library": (r"[A-Za-z][A-Za-z0-9_]*", "letters, digits and '_', starting with a letter",
                "--library"),
    "name": (r"[A-Za-z][A-Za-z0-9_]*", "letters, digits and '_', starting with a letter",
             "--ip-name"),
    "version": (r"[0-9]+\.[0-9]+", "MAJOR.MINOR, two numbers (e.g. 1.0)", "--ip-version"),
}


def make_vlnv(vendor: str, library: str, name: str, version: str,
              description: str) -> VLNV:
    """A validated VLNV; raises :class:`VLNVError` naming the bad field and the fix."""
    values = {"vendor": vendor, "library": library, "name": name, "version": version}
    for field, (pattern, rule, flag) in _VLNV_RULES.items():
        value = values[field]
        if not isinstance(value, str) or not re.fullmatch(pattern, value):
            raise VLNVError(f"Malformed IP {field} {value!r}: it must be {rule}; "
                            f"set it with {flag}")
    bad = sorted({c for c in description if c in "{}\\" or ord(c) < 32})
    if bad:
        raise VLNVError(f"The IP description may not contain {bad!r} (it is passed to "
                        "Vitis HLS in a Tcl string); remove those characters")
    return VLNV(vendor, library, name, version, description)


@dataclass(frozen=True)
class ExportResult:
    path: Path  # the exported project directory
    vlnv: VLNV
    command: str  # the exact command that runs the export
    ip_zip: Path | None  # the IP archive, when vitis_hls ran
    bundle: Path | None  # the ready-to-run bundle, when it did not
    estimate: object

    @property
    def tool_ran(self) -> bool:
        return self.ip_zip is not None


def _default_description(graph, settings: BuildOptions) -> str:
    target = settings.board or settings.part
    model = printable(graph.name)
    return (f"trigc {VERSION} neural network {model}: {len(graph.nodes)} layers, "
            f"{settings.interface} interface, {target} at {settings.clock_ns:g} ns")


def display_name(vlnv: VLNV, model: str) -> str:
    """The name the Vivado IP catalog shows."""
    return f"{vlnv.name} (trigc {model})"


def _zip_dir_name(vlnv: VLNV) -> str:
    return f"{vlnv.name}_{vlnv.version}_export"


def _command(out: Path, vlnv: VLNV, bundled: bool) -> str:
    if bundled:
        folder = _zip_dir_name(vlnv)
        return f"unzip {BUNDLE} && cd {folder} && {TOOL} -f {TCL}"
    return f"cd {shlex.quote(str(out))} && {TOOL} -f {TCL}"  # a path may hold ; or $


def _write_bundle(root: Path, folder: str) -> None:
    """A deterministic zip of everything the export needs, under ``folder/``."""
    files = []
    for part in BUNDLE_PARTS:
        path = root / part
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file()
                            and p.name != "csim_results.log")
        elif path.is_file():
            files.append(path)
    with zipfile.ZipFile(root / BUNDLE, "w", zipfile.ZIP_DEFLATED) as z:
        for path in files:
            info = zipfile.ZipInfo(f"{folder}/{path.relative_to(root)}", _ZIP_TIME)
            info.external_attr = (0o755 if path.name == RUN_SCRIPT else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, path.read_bytes())


def _export_files(vlnv: VLNV, settings: BuildOptions, bundle: bool):
    """The ``extra`` hook of write_project: writes the export files into the
    temporary project directory (and the bundle when the tool will not run)."""
    board = get_board(settings.board) if settings.board else None

    def extra(root: Path, ctx: dict, est) -> None:
        env = glue_env()
        common = {**ctx, "ip": vlnv.to_json(), "vlnv": str(vlnv),
                  "zip_name": f"{vlnv.name}_{vlnv.version}.zip",
                  "display_name": display_name(vlnv, ctx["name"]),
                  "board_title": board.title if board else f"part {settings.part}"}
        (root / TCL).write_text(env.get_template("export_ip.tcl.j2").render(**common))
        readme = readme_context(ctx, est, vlnv, board)
        readme["display_name"] = common["display_name"]
        (root / "README.md").write_text(
            env.get_template("ip_readme.md.j2").render(**readme))
        (root / "port_map.json").write_text(port_map_json(ctx, est, vlnv, board))
        script = root / RUN_SCRIPT
        script.write_text("#!/bin/sh\n# Runs the Vitis HLS synthesis and IP export of "
                          f"{ctx['name']}.\nset -e\ncd \"$(dirname \"$0\")\"\n"
                          f"exec {TOOL} -f {TCL} \"$@\"\n")
        script.chmod(0o755)
        if bundle:
            _write_bundle(root, _zip_dir_name(vlnv))

    return extra


def _run_tool(tool: str, out: Path, vlnv: VLNV) -> Path:
    """Run the export with Vitis HLS and collect the IP archive into ``out/ip``."""
    log.info("running %s -f %s in %s", tool, TCL, out)
    with open(out / LOG, "w") as f:
        code = subprocess.run([tool, "-f", TCL], cwd=out, stdout=f, check=False,
                              stderr=subprocess.STDOUT).returncode
    if code != 0:
        tail = "\n".join((out / LOG).read_text(errors="replace").splitlines()[-20:])
        raise ExportError(f"{tool} failed (exit {code}) exporting {out}; see {out / LOG}:\n"
                          f"{tail}")
    ip_dir = out / "ip"
    ip_dir.mkdir(exist_ok=True)
    wanted = ip_dir / f"{vlnv.name}_{vlnv.version}.zip"
    if not wanted.is_file():  # older tools ignore -output: take the solution's archive
        found = sorted(out.glob("*_prj/solution1/impl/**/*.zip"))
        if not found:
            raise ExportError(f"{tool} finished but wrote no IP archive (looked for {wanted} "
                              f"and *_prj/solution1/impl/**/*.zip); see {out / LOG}")
        atomic_write(wanted, lambda tmp: shutil.copyfile(found[0], tmp))
    return wanted


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
    ``vitis_hls`` when it is on PATH, False never runs it (bundle only).

    The output folder is replaced atomically and only trigc's files in it are: a
    folder holding others (``<name>_prj/`` and ``ip/`` of an earlier run, a user's
    files) is an ``OutputError``, unless ``overwrite``, which keeps them."""
    project = Project(project_dir)
    meta = project.meta
    stored = meta["settings"]
    if board is None and not stored.get("board"):
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
    tool = shutil.which(TOOL) if run_tool is not False else None
    if run_tool and tool is None:
        raise ExportError(f"{TOOL} is not on PATH; source the Vitis settings script, or "
                          "export without running it to get a ready-to-run bundle")
    out = Path(output_dir).resolve() if output_dir is not None else project.path
    path, est = write_project(graph, out, settings, project.tb_inputs(),
                              extra=_export_files(vlnv, settings, tool is None),
                              overwrite=overwrite)
    if tool is None:
        command = _command(path, vlnv, True)
        log.info("%s not run: wrote %s; run `%s` on a machine with Vitis HLS", TOOL,
                 path / BUNDLE, command)
        return ExportResult(path, vlnv, command, None, path / BUNDLE, est)
    ip_zip = _run_tool(tool, path, vlnv)
    return ExportResult(path, vlnv, _command(path, vlnv, False), ip_zip, None, est)


__all__ = ["BUNDLE", "ExportError", "ExportResult", "VLNVError", "export_ip", "make_vlnv"]

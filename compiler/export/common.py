"""What the two IP exports share (:mod:`trigc.export.ip` for Vitis HLS projects,
:mod:`trigc.export.verilog` for Verilog projects): the checked VLNV, the result, the
run script, the deterministic bundle, the printed command and the vendor-tool run."""

from __future__ import annotations

import logging
import re
import shlex
import subprocess
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from trigc.errors import ConfigError, TrigcError
from trigc.export.docs import VLNV

log = logging.getLogger(__name__)

RUN_SCRIPT = "run_export.sh"
BUNDLE = "export_bundle.zip"
DEFAULT_VENDOR = "trigc"
DEFAULT_LIBRARY = "trigger"
DEFAULT_VERSION = "1.0"
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
                        "the vendor tool in a Tcl string); remove those characters")
    return VLNV(vendor, library, name, version, description)


@dataclass(frozen=True)
class ExportResult:
    path: Path  # the exported project directory
    vlnv: VLNV
    command: str  # the exact command that runs the export
    ip_zip: Path | None  # the IP archive, when the tool ran
    bundle: Path | None  # the ready-to-run bundle, when it did not
    estimate: object
    tool: str = "vitis_hls"  # the vendor tool that runs the export
    ip_repo: Path | None = None  # the IP repository folder (Verilog export, tool ran)

    @property
    def tool_ran(self) -> bool:
        return self.ip_zip is not None


def display_name(vlnv: VLNV, model: str) -> str:
    """The name the Vivado IP catalog shows."""
    return f"{vlnv.name} (trigc {model})"


def zip_dir_name(vlnv: VLNV) -> str:
    """The folder the bundle unpacks into."""
    return f"{vlnv.name}_{vlnv.version}_export"


def archive_name(vlnv: VLNV) -> str:
    return f"{vlnv.name}_{vlnv.version}.zip"


def command(out: Path, vlnv: VLNV, bundled: bool, tool_command: str) -> str:
    """The shell command that runs ``tool_command`` on the export (in the bundle's
    folder after unzipping it, or in ``out``)."""
    if bundled:
        return f"unzip {BUNDLE} && cd {zip_dir_name(vlnv)} && {tool_command}"
    return f"cd {shlex.quote(str(out))} && {tool_command}"  # a path may hold ; or $


def write_run_script(root: Path, what: str, tool_command: str) -> None:
    """``run_export.sh``: runs ``tool_command`` in the script's own folder."""
    script = root / RUN_SCRIPT
    script.write_text(f"#!/bin/sh\n# {what}\nset -e\ncd \"$(dirname \"$0\")\"\n"
                      f"exec {tool_command} \"$@\"\n")
    script.chmod(0o755)


def write_bundle(root: Path, folder: str, parts: Sequence[str]) -> None:
    """A deterministic zip (``export_bundle.zip``) of ``parts`` (files or folders of
    ``root``), under ``folder/``."""
    files = []
    for part in parts:
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


def run_tool(argv: list[str], out: Path, log_name: str,
             collect: Callable[[Path], Path]) -> Path:
    """Run the vendor tool ``argv`` in ``out`` (output to ``out/log_name``); on success
    ``collect(log_path)`` returns the IP archive (or raises :class:`ExportError`)."""
    log_path = out / log_name
    log.info("running %s in %s", " ".join(argv), out)
    try:
        with open(log_path, "w") as f:
            code = subprocess.run(argv, cwd=out, stdout=f, check=False,
                                  stderr=subprocess.STDOUT).returncode
    except OSError as exc:
        raise ExportError(f"cannot run {argv[0]} ({exc.strerror or exc}); check the "
                          "vendor tool's installation") from None
    if code != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
        raise ExportError(f"{Path(argv[0]).name} failed (exit {code}) exporting {out}; see "
                          f"{log_path}:\n{tail}")
    return collect(log_path)


__all__ = ["BUNDLE", "DEFAULT_LIBRARY", "DEFAULT_VENDOR", "DEFAULT_VERSION", "RUN_SCRIPT",
           "ExportError", "ExportResult", "VLNVError", "archive_name", "command",
           "display_name", "make_vlnv", "run_tool", "write_bundle", "write_run_script",
           "zip_dir_name"]

"""Helpers of the IP export tests: the CLI, the stub Vitis HLS run under tclsh, and
directory snapshots."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
STUB_RUN = HERE / "stub_run.tcl"
SEP = "\x1f"


def tclsh() -> str:
    path = shutil.which("tclsh")
    if path is None:
        pytest.skip("tclsh not found; install Debian's tcl package (apt-get install tcl)")
    return path


def run_cli(argv: list[str]) -> int:
    """``trigc ARGV`` through :func:`trigc.cli.main`."""
    from trigc.cli import main

    return main(argv)


def run_stub(directory: Path, script: str = "export_ip.tcl", args=(), zip_mode=None,
             exit_code: int = 0, tool: str = "vitis") -> list[list[str]]:
    """Run ``script`` in ``directory`` under tclsh with the stub commands of ``tool``
    (``stub_<tool>.tcl``: vitis, vivado or catapult); return the recorded calls, each
    [command, arg, ...]."""
    log = directory / ".stub_calls"
    log.unlink(missing_ok=True)
    env = {**os.environ, "TRIGC_STUB_LOG": str(log), "TRIGC_STUB_EXIT": str(exit_code),
           "TRIGC_STUB_TOOL": tool}
    if zip_mode:
        env["TRIGC_STUB_ZIP"] = zip_mode
    proc = subprocess.run([tclsh(), str(STUB_RUN), script, *args], cwd=directory, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == exit_code, proc.stdout + proc.stderr
    calls = [line.split(SEP) for line in log.read_text().splitlines()]
    log.unlink()
    return calls


def fake_vitis_hls(bin_dir: Path, zip_mode: str = "output", exit_code: int = 0) -> Path:
    """A ``vitis_hls`` executable that runs ``-f SCRIPT ARGS`` with the stubs."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    tool = bin_dir / "vitis_hls"
    tool.write_text(
        "#!/bin/sh\n"
        "# fake vitis_hls for tests: -f SCRIPT [ARGS]\n"
        "shift\n"
        f"export TRIGC_STUB_LOG=\"$PWD/.stub_calls\" TRIGC_STUB_ZIP={zip_mode} "
        f"TRIGC_STUB_EXIT={exit_code}\n"
        f"exec {tclsh()} {STUB_RUN} \"$@\"\n")
    tool.chmod(0o755)
    return tool


def path_without_vitis() -> str:
    """PATH with every directory holding a vitis_hls removed."""
    dirs = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(d for d in dirs if not (Path(d) / "vitis_hls").exists())


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def by_name(calls: list[list[str]]) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    for call in calls:
        out.setdefault(call[0], []).append(call[1:])
    return out


def option(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]

"""Verilator builds of a Verilog project with the harness of :mod:`trigc.rtlsim.harness`.

Cached like the C-sim builds (:func:`trigc.outputs.cached`):
the executable lives under
``cache_root()/rtlsim/<sha256 of the sources, harness, Verilator version and flags>``
with a SHA-256 sidecar checked before every use; a damaged entry is rebuilt."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from trigc.errors import TrigcError
from trigc.outputs import file_sha256
from trigc.outputs import cache_root, cached, publish
from trigc.rtlsim.harness import HARNESS_CPP
from trigc.backends.verilog.portmap import PortMap, read_port_map

log = logging.getLogger(__name__)

INSTALL_HINT = "install it with `make setup` (apt-get install verilator yosys iverilog)"
# Fast builds: the C++ at -O0, X values resolved once at build time, lint kept as
# warnings (the generated RTL is not Verilator-lint clean by contract).
VERILATOR_FLAGS = ["--cc", "--exe", "--build", "-j", "2", "--prefix", "Vtop",
                   "--x-assign", "fast", "--x-initial", "fast", "-Wno-fatal", "-Wno-lint",
                   "-Wno-style", "-CFLAGS", "-O0", "-MAKEFLAGS", "OPT_FAST=-O0",
                   "-MAKEFLAGS", "OPT_SLOW=-O0", "-MAKEFLAGS", "OPT_GLOBAL=-O0"]
EXECUTABLE = "rtlsim_harness"


class RtlSimError(TrigcError, RuntimeError):
    """Verilator is missing, the design does not build, or the simulation failed."""


def verilator() -> str:
    tool = shutil.which(os.environ.get("VERILATOR", "verilator"))
    if tool is None:
        raise RtlSimError(f"verilator is not on PATH; {INSTALL_HINT}")
    return tool


def verilator_version() -> str:
    """The installed Verilator version line, e.g. ``Verilator 5.006 2023-01-22 ...``."""
    try:
        proc = subprocess.run([verilator(), "--version"], capture_output=True, text=True,
                              timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RtlSimError(f"cannot run verilator --version ({exc}); {INSTALL_HINT}") from None
    if proc.returncode != 0:
        raise RtlSimError(f"verilator --version failed; {INSTALL_HINT}")
    return proc.stdout.strip()


def _key(ports: PortMap, flags: list[str]) -> str:
    h = hashlib.sha256()
    for path in ports.rtl_files:
        h.update(path.relative_to(ports.root).as_posix().encode() + b"\0")
        h.update(file_sha256(path).encode())
    for part in (HARNESS_CPP, verilator_version(), " ".join(flags), ports.top):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:24]


def build(project_dir) -> Path:
    """The Verilated simulation executable of a Verilog project (cached, verified)."""
    ports = read_port_map(project_dir)
    flags = [*VERILATOR_FLAGS, "--top-module", ports.top]
    entry = cache_root() / "rtlsim" / _key(ports, flags)
    artifact = entry / EXECUTABLE
    if cached(artifact, "Verilator cache"):
        log.info("rtlsim: cached build %s", artifact)
        return artifact
    entry.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="build-", dir=entry) as tmp:
        work = Path(tmp)
        (work / "harness.cpp").write_text(HARNESS_CPP)
        cmd = [verilator(), *flags, "-Mdir", str(work / "obj"), "-o", EXECUTABLE,
               str(work / "harness.cpp"), *map(str, ports.rtl_files)]
        log.info("rtlsim: %s", " ".join(cmd))
        proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, check=False)
        built = work / "obj" / EXECUTABLE
        if proc.returncode != 0 or not built.is_file():
            lines = [ln for ln in (proc.stderr + proc.stdout).splitlines()
                     if "%Error" in ln or "error:" in ln] or proc.stderr.splitlines()[-3:]
            raise RtlSimError(f"Verilator cannot build {ports.top} ({ports.root}): "
                              + " | ".join(lines[:3]))
        publish(built, artifact)
    return artifact

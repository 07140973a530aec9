"""Build generated projects with g++ against the real ap_fixed.h: a shared library
for batched C-simulation through ctypes, and the project's own testbench.

Builds are cached by a hash of every source byte and the compiler command, under
``$TRIGC_CACHE_DIR`` (default ``~/.cache/trigc``)."""

from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import os
import shutil
import subprocess
from pathlib import Path

import jinja2
import numpy as np

from trigc.csim.headers import ap_types_dir
from trigc.errors import TrigcError

log = logging.getLogger(__name__)

# NDEBUG: ap_private asserts (and aborts) when a source lies wholly below the
# rounding bit of a rounding assignment, which is legal and well defined.
CXX_FLAGS = ["-std=c++14", "-O1", "-w", "-DNDEBUG"]


class CSimError(TrigcError, RuntimeError):
    """The C-simulation could not be built or run."""


def cache_root() -> Path:
    return Path(os.environ.get("TRIGC_CACHE_DIR", Path.home() / ".cache" / "trigc"))


def _compiler() -> str:
    cxx = os.environ.get("CXX", "g++")
    if shutil.which(cxx) is None:
        raise CSimError(f"C++ compiler {cxx!r} not found; install g++ (apt-get install g++)")
    return cxx


def _source_hash(project: Path, extra: str, flags: list[str]) -> str:
    h = hashlib.sha256()
    for path in sorted((project / "firmware").rglob("*")):
        if path.is_file():
            h.update(str(path.relative_to(project)).encode())
            h.update(path.read_bytes())
    h.update(extra.encode())
    h.update(" ".join(flags).encode())
    h.update(str(ap_types_dir()).encode())
    return h.hexdigest()[:24]


def _run_compiler(cmd: list[str], what: str) -> None:
    log.info("building %s: %s", what, " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-25:])
        raise CSimError(f"g++ failed to build the {what}:\n{tail}")


def _render_bridge(meta: dict) -> str:
    from trigc.backends.vitis.writer import _env

    ctx = {"name": meta["name"], "version": meta["trigc_version"], "inputs": meta["inputs"],
           "outputs": meta["outputs"], "trace_size": meta["trace_size"],
           "in_total": sum(p["size"] for p in meta["inputs"]),
           "out_total": sum(p["size"] for p in meta["outputs"])}
    try:
        return _env().get_template("bridge.cpp.j2").render(**ctx)
    except jinja2.TemplateError as exc:
        raise CSimError(f"cannot render the C-sim bridge: {exc}") from None


def build_library(project: Path, meta: dict) -> Path:
    """The shared library (cached) exposing ``trigc_run`` for batched calls."""
    project = Path(project).resolve()
    bridge = _render_bridge(meta)
    # Every project's library defines the same C++ symbols (config structs, template
    # instances, their static caches). Hidden visibility, no STB_GNU_UNIQUE and
    # -Bsymbolic keep each library on its own definitions when many are loaded
    # into one process; only the extern "C" entry points are exported.
    flags = CXX_FLAGS + ["-shared", "-fPIC", "-fvisibility=hidden", "-fvisibility-inlines-hidden",
                         "-fno-gnu-unique", "-Wl,-Bsymbolic"]
    out_dir = cache_root() / "csim" / _source_hash(project, bridge, flags)
    lib = out_dir / "libtrigc_csim.so"
    if lib.is_file():
        return lib
    out_dir.mkdir(parents=True, exist_ok=True)
    src = out_dir / "bridge.cpp"
    src.write_text(bridge)
    tmp = out_dir / f"lib.{os.getpid()}.so"
    _run_compiler([_compiler(), *flags, f"-I{project}", f"-I{project / 'firmware'}",
                   f"-I{ap_types_dir()}", str(src), "-o", str(tmp)], "C-sim library")
    tmp.rename(lib)
    return lib


def build_testbench(project: Path, name: str) -> Path:
    """The project's own testbench executable (cached)."""
    project = Path(project).resolve()
    tb = project / "tb" / f"{name}_test.cpp"
    flags = list(CXX_FLAGS)
    out_dir = cache_root() / "tb" / _source_hash(project, tb.read_text(), flags)
    exe = out_dir / f"{name}_test"
    if exe.is_file():
        return exe
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f"tb.{os.getpid()}"
    _run_compiler([_compiler(), *flags, f"-I{project / 'firmware'}", f"-I{ap_types_dir()}",
                   str(tb), str(project / "firmware" / f"{name}.cpp"), "-o", str(tmp)],
                  "testbench")
    tmp.rename(exe)
    return exe


class CSimLibrary:
    """ctypes handle on a built C-sim library: one C call per batch."""

    def __init__(self, path: Path, meta: dict) -> None:
        self.lib = ctypes.CDLL(str(path))
        self.lib.trigc_run.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                       ctypes.c_long]
        self.lib.trigc_run.restype = None
        self.in_total = sum(p["size"] for p in meta["inputs"])
        self.out_total = sum(p["size"] for p in meta["outputs"])
        self.trace_size = int(meta["trace_size"])

    def run(self, flat_inputs: np.ndarray, trace: bool = False):
        x = np.ascontiguousarray(flat_inputs, dtype=np.float64)
        n = x.shape[0]
        if x.shape[1:] != (self.in_total,):
            raise CSimError(f"C-sim expects (N, {self.in_total}) inputs, got {x.shape}")
        out = np.zeros((n, self.out_total), dtype=np.int64)
        tr = np.zeros((n, self.trace_size), dtype=np.int64) if trace else None
        self.lib.trigc_run(x.ctypes.data, out.ctypes.data,
                           tr.ctypes.data if trace else None, n)
        return (out, tr) if trace else out


def load_meta(project: Path) -> dict:
    """The project's ``trigc.json``; a ``ProjectError`` when missing, truncated or invalid."""
    from trigc.errors import ProjectError

    path = Path(project) / "trigc.json"
    if not path.is_file():
        raise ProjectError(f"{str(project)!r} is not a trigc project (no trigc.json); "
                           "create one with `trigc compile`")
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ProjectError(f"{str(path)!r} is truncated or corrupted ({exc}); recompile "
                           "the project with `trigc compile`") from exc
    if not isinstance(meta, dict):
        raise ProjectError(f"{str(path)!r} is not a trigc project file (a JSON "
                           f"{type(meta).__name__}, not an object); recompile the project "
                           "with `trigc compile`")
    return meta

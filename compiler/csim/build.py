"""Build generated projects with g++ against the real ap_fixed.h (Vitis projects) or
ac_fixed.h (Catapult projects): a shared library for batched C-simulation through
ctypes, and the project's own testbench.

Builds are cached by a hash of every source byte and the compiler command, under
``$TRIGC_CACHE_DIR`` (default ``~/.cache/trigc``). Each cached artifact is built into a
temporary file and renamed into place, and the SHA-256 of its bytes is stored beside
it (``<artifact>.sha256``, also renamed into place). The hash is checked before the
artifact is loaded or run: a truncated, zeroed or altered entry, or one without its
hash, is logged as a warning and rebuilt instead of crashing the process (SIGBUS) or
raising a raw OSError."""

from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import jinja2
import numpy as np

from trigc.backends.vitis.writer import glue_env
from trigc.csim.headers import ac_types_dir, ap_types_dir
from trigc.errors import TrigcError
from trigc.outputs import cache_root, cache_sidecar, cached, publish

log = logging.getLogger(__name__)

# NDEBUG: ap_private asserts (and aborts) when a source lies wholly below the
# rounding bit of a rounding assignment, which is legal and well defined.
CXX_FLAGS = ["-std=c++14", "-O1", "-w", "-DNDEBUG"]
# The C-sim library: every project's library defines the same C++ symbols (config
# structs, template instances, their static caches). Hidden visibility, no
# STB_GNU_UNIQUE and -Bsymbolic keep each library on its own definitions when many are
# loaded into one process; only the extern "C" entry points are exported.
LIBRARY_FLAGS = CXX_FLAGS + ["-shared", "-fPIC", "-fvisibility=hidden",
                             "-fvisibility-inlines-hidden", "-fno-gnu-unique", "-Wl,-Bsymbolic"]
# AddressSanitizer and UndefinedBehaviorSanitizer, stopping at the first report.
# One exception: the vendor's ap_private.h left-shifts negative values, undefined in
# C++14 but defined by GCC (and by C++20) as two's complement. That check stays
# recoverable so that SANITIZER_SUPPRESSIONS can silence it in ap_private.h only; a
# shift-base report anywhere else still halts (UBSAN_OPTIONS halt_on_error=1).
SANITIZE_FLAGS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                  "-fsanitize-recover=shift-base", "-fno-omit-frame-pointer", "-g"]
SANITIZER_SUPPRESSIONS = "shift-base:ap_private.h\n"


class CSimError(TrigcError, RuntimeError):
    """The C-simulation could not be built or run."""


def _compiler() -> str:
    cxx = os.environ.get("CXX", "g++")
    if shutil.which(cxx) is None:
        raise CSimError(f"C++ compiler {cxx!r} not found; install g++ (apt-get install g++)")
    return cxx


def types_dir(backend: str) -> Path:
    """The vendor number-type headers a project of ``backend`` compiles against."""
    return ac_types_dir() if backend == "catapult" else ap_types_dir()


def _backend(meta: dict) -> str:
    return str(meta.get("settings", {}).get("backend", "vitis"))


def _source_hash(project: Path, extra: str, flags: list[str], types: Path) -> str:
    h = hashlib.sha256()
    for path in sorted((project / "firmware").rglob("*")):
        if path.is_file():
            h.update(str(path.relative_to(project)).encode())
            h.update(path.read_bytes())
    h.update(extra.encode())
    h.update(" ".join(flags).encode())
    h.update(str(types).encode())
    return h.hexdigest()[:24]


def _run_compiler(cmd: list[str], what: str) -> None:
    log.info("building %s: %s", what, " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-25:])
        raise CSimError(f"g++ failed to build the {what}:\n{tail}")


def _remove(*paths: Path) -> None:
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def _build(artifact: Path, cmd_for: Callable[[Path], list[str]], what: str) -> Path:
    """``artifact`` from the cache when verified, else built by ``cmd_for(tmp)``."""
    if cached(artifact, "C-sim cache"):
        return artifact
    artifact.parent.mkdir(parents=True, exist_ok=True)
    tmp = artifact.with_name(f".{artifact.name}.{os.getpid()}.tmp")
    try:
        _run_compiler(cmd_for(tmp), what)
        publish(tmp, artifact)
    finally:
        _remove(tmp, cache_sidecar(tmp))
    return artifact


# The vendor headers every project of a backend includes first (through its defines.h
# and the kernels' type header), precompiled once per machine: parsing ap_fixed.h is a
# quarter of a C-sim library build.
PCH_HEADERS = {"vitis": ("ap_fixed.h", "ap_int.h"), "catapult": ("ac_fixed.h", "ac_int.h")}
PCH_ENV = "TRIGC_CSIM_PCH"  # "0" builds without the precompiled header


def _compile_flags(flags: list[str]) -> list[str]:
    """``flags`` without the link-only ones: what a precompiled header must match."""
    return [f for f in flags if f != "-shared" and not f.startswith("-Wl,")]


def precompiled_header(backend: str, flags: list[str]) -> Path | None:
    """A header (``trigc_pch.h``, with its ``.gch`` beside it) that includes the
    backend's number-type headers, precompiled by this compiler with ``flags``; pass it
    as ``-include``. Cached under ``$TRIGC_CACHE_DIR/pch/``, keyed by the compiler's
    version, the flags and every byte of the vendor headers. ``None`` (build without
    it) when disabled by ``TRIGC_CSIM_PCH=0`` or when it cannot be built; the build is
    then only slower. g++ itself checks a ``.gch`` against the command line and reads
    the plain header instead when they do not match."""
    if os.environ.get(PCH_ENV, "1") == "0" or backend not in PCH_HEADERS:
        return None
    types = types_dir(backend)
    flags = _compile_flags(flags)
    text = "".join(f"#include <{h}>\n" for h in PCH_HEADERS[backend])
    try:
        version = subprocess.run([_compiler(), "--version"], capture_output=True, text=True,
                                 check=True).stdout
        h = hashlib.sha256("\0".join([version, *flags, str(types), text]).encode())
        for path in sorted(types.rglob("*")):
            if path.is_file():
                h.update(str(path.relative_to(types)).encode())
                h.update(path.read_bytes())
    except (OSError, subprocess.CalledProcessError) as exc:
        log.info("building without a precompiled header: %s", exc)
        return None
    out_dir = cache_root() / "pch" / h.hexdigest()[:24]
    header = out_dir / "trigc_pch.h"

    def command(tmp: Path) -> list[str]:
        if not (header.is_file() and header.read_text() == text):
            staged = tmp.with_name(f"{tmp.name}.h")
            staged.write_text(text)
            staged.replace(header)
        return [_compiler(), *flags, f"-I{types}", "-x", "c++-header", str(header),
                "-o", str(tmp)]

    try:
        _build(out_dir / "trigc_pch.h.gch", command, "precompiled header")
    except CSimError as exc:
        log.warning("building without a precompiled header: %s", exc)
        return None
    return header


def _render_bridge(meta: dict) -> str:
    """The C-sim bridge (``bridge.cpp``) of a project, from its ``trigc.json``."""
    if meta.get("io_mode") == "stream":
        return _render_stream_bridge(meta)
    ctx = {"name": meta["name"], "version": meta["trigc_version"], "inputs": meta["inputs"],
           "outputs": meta["outputs"], "trace_size": meta["trace_size"],
           "in_total": sum(p["size"] for p in meta["inputs"]),
           "out_total": sum(p["size"] for p in meta["outputs"])}
    try:
        return glue_env().get_template("bridge.cpp.j2").render(**ctx)
    except jinja2.TemplateError as exc:
        raise CSimError(f"cannot render the C-sim bridge: {exc}") from None


def _render_stream_bridge(meta: dict) -> str:
    """The bridge of a streaming project: the cycle scheduler's driver."""
    try:
        ctx = {"name": meta["name"], "version": meta["trigc_version"],
               "inputs": meta["inputs"], "outputs": meta["outputs"],
               "streams": meta["streams"], "cycle_bound": int(meta["cycle_bound"]),
               "in_total": sum(int(p["size"]) for p in meta["inputs"]),
               "out_total": sum(int(p["size"]) for p in meta["outputs"])}
        return glue_env().get_template("stream_bridge.cpp.j2").render(**ctx)
    except (KeyError, TypeError, ValueError, jinja2.TemplateError) as exc:
        raise CSimError(f"cannot render the stream C-sim bridge ({exc!r}); recompile the "
                        "project with `trigc compile`") from None


def build_library(project: Path, meta: dict) -> Path:
    """The shared library (cached) exposing ``trigc_run`` for batched calls."""
    project = Path(project).resolve()
    bridge = _render_bridge(meta)
    flags = LIBRARY_FLAGS
    types = types_dir(_backend(meta))
    out_dir = cache_root() / "csim" / _source_hash(project, bridge, flags, types)

    def command(tmp: Path) -> list[str]:
        src = tmp.with_name(f"{tmp.name}.bridge.cpp")
        src.write_text(bridge)
        src.replace(out_dir / "bridge.cpp")  # kept for debugging; built from here
        pch = precompiled_header(_backend(meta), flags)
        return [_compiler(), *flags, *(["-include", str(pch)] if pch else []),
                f"-I{project}", f"-I{project / 'firmware'}",
                f"-I{types}", str(out_dir / "bridge.cpp"), "-o", str(tmp)]

    return _build(out_dir / "libtrigc_csim.so", command, "C-sim library")


def build_testbench(project: Path, name: str, sanitize: bool = False,
                    backend: str = "vitis") -> Path:
    """The project's own testbench executable (cached). ``sanitize`` builds it with
    AddressSanitizer and UndefinedBehaviorSanitizer (:data:`SANITIZE_FLAGS`), which
    abort the run at the first report; it is a separate cache entry."""
    project = Path(project).resolve()
    tb = project / "tb" / f"{name}_test.cpp"
    flags = CXX_FLAGS + (SANITIZE_FLAGS if sanitize else [])
    types = types_dir(backend)
    out_dir = cache_root() / "tb" / _source_hash(project, tb.read_text(), flags, types)

    def command(tmp: Path) -> list[str]:
        return [_compiler(), *flags, f"-I{project / 'firmware'}", f"-I{types}",
                str(tb), str(project / "firmware" / f"{name}.cpp"), "-o", str(tmp)]

    return _build(out_dir / f"{name}_test", command,
                  "sanitized testbench" if sanitize else "testbench")


def sanitizer_env(workdir: Path) -> dict[str, str]:
    """Environment for running a ``sanitize=True`` build: halt and exit non-zero at
    the first report, leaks included, with :data:`SANITIZER_SUPPRESSIONS` (written
    into ``workdir``) applied."""
    supp = Path(workdir) / "ubsan.supp"
    supp.write_text(SANITIZER_SUPPRESSIONS)
    return {**os.environ,
            "ASAN_OPTIONS": "detect_leaks=1:halt_on_error=1:exitcode=99",
            "UBSAN_OPTIONS": f"print_stacktrace=1:halt_on_error=1:exitcode=98:"
                             f"suppressions={supp}"}


class StreamDeadlock(CSimError):
    """A streaming design stalled for good: FIFO depths too small for its schedule."""


class StreamRun:
    """One run of a streaming C-sim: the raw outputs, each stream's peak occupancy
    (by name), the latency of the first event and the cycles of the whole run."""

    def __init__(self, out: np.ndarray, peaks: dict[str, int], latency: int,
                 cycles: int, events: int) -> None:
        self.out, self.peaks, self.latency, self.cycles = out, peaks, latency, cycles
        self.events = events

    @property
    def ii(self) -> float:
        """Mean cycles between events after the first."""
        if self.events < 2:
            return float(self.latency)
        return (self.cycles - self.latency) / (self.events - 1)


class CSimLibrary:
    """ctypes handle on a built C-sim library: one C call per batch."""

    def __init__(self, path: Path, meta: dict) -> None:
        try:
            self.lib = ctypes.CDLL(str(path))
        except OSError as exc:
            raise CSimError(f"cannot load the C-sim library {str(path)!r} ({exc}); delete "
                            f"the cache folder {str(cache_root())!r} and run again") from None
        self.streams = meta.get("streams") if meta.get("io_mode") == "stream" else None
        self.pace = int(meta.get("ii", 0))
        if self.streams is not None:
            self.lib.trigc_stream_run.argtypes = [
                ctypes.c_void_p, ctypes.c_void_p, ctypes.c_long, ctypes.c_void_p,
                ctypes.c_longlong, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
            self.lib.trigc_stream_run.restype = ctypes.c_long
        else:
            self._array_api()
        self.in_total = sum(p["size"] for p in meta["inputs"])
        self.out_total = sum(p["size"] for p in meta["outputs"])
        self.trace_size = int(meta["trace_size"])

    def _array_api(self) -> None:
        self.lib.trigc_run.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                       ctypes.c_long]
        self.lib.trigc_run.restype = None

    def run_stream(self, flat_inputs: np.ndarray, depths: dict[str, int] | None = None,
                   pace: int | None = None) -> StreamRun:
        """Run a streaming design's cycle scheduler: ``depths`` by stream name (0:
        unbounded; default: the project's), events offered every ``pace`` cycles
        (default: the project's II). A deadlock is a :class:`StreamDeadlock` naming
        every full FIFO."""
        x = np.ascontiguousarray(flat_inputs, dtype=np.float64)
        n = x.shape[0]
        if x.shape[1:] != (self.in_total,):
            raise CSimError(f"C-sim expects (N, {self.in_total}) inputs, got {x.shape}")
        names = [s["name"] for s in self.streams]
        given = {s["name"]: int(s["depth"]) for s in self.streams}
        given.update(depths or {})
        d = np.array([given[k] for k in names], dtype=np.uint64)
        out = np.zeros((n, self.out_total), dtype=np.int64)
        peaks = np.zeros(len(names), dtype=np.uint64)
        stats = np.zeros(3, dtype=np.int64)
        full = np.zeros(len(names), dtype=np.uint8)
        code = self.lib.trigc_stream_run(x.ctypes.data, out.ctypes.data, n, d.ctypes.data,
                                         self.pace if pace is None else pace,
                                         peaks.ctypes.data, stats.ctypes.data,
                                         full.ctypes.data)
        if code:
            stuck = [f"{names[i]!r} (depth {int(d[i])})" for i in np.flatnonzero(full)]
            what = "deadlocked" if code == 1 else "did not finish within its cycle bound"
            raise StreamDeadlock(
                f"stream C-sim {what} at cycle {int(stats[2])}: "
                f"{'full FIFO(s) ' + ', '.join(stuck) if stuck else 'no FIFO is full'}; "
                "a FIFO too shallow for the design's schedule; raise its depth "
                "(config fifo_depths) or run `trigc csim --size-fifos`")
        return StreamRun(out, {k: int(v) for k, v in zip(names, peaks)}, int(stats[0]),
                         int(stats[1]), n)

    def run(self, flat_inputs: np.ndarray, trace: bool = False):
        x = np.ascontiguousarray(flat_inputs, dtype=np.float64)
        n = x.shape[0]
        if x.shape[1:] != (self.in_total,):
            raise CSimError(f"C-sim expects (N, {self.in_total}) inputs, got {x.shape}")
        if self.streams is not None:
            out = self.run_stream(x).out
            if trace:
                return out, np.zeros((n, 0), dtype=np.int64)
            return out
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

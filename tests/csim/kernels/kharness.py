"""Shared machinery for the HLS kernel unit tests in this folder.

Each test module describes its cases as C++ snippets (hand-written config structs
plus a runner body) and collects them into one :class:`Program`. The program is
compiled once per test session with g++ against the real ``ap_fixed.h``
(``trigc.csim.headers.ap_types_dir()``), and once more against the real Algorithmic C
``ac_fixed.h`` (``ac_types_dir()``, ``-DTRIGC_AC_TYPES``: the Catapult spelling of the
same kernels), and cached in the session's temporary folder; a file lock makes
pytest-xdist workers share one build. Every case is a
runner selected by name on the command line that reads raw integers on stdin and
prints raw integers, so the tests compare exact bit patterns with the numpy
kernels of :mod:`trigc.ops` (``OPS[op].kernel``). :func:`build_cases` builds a
module's cases for one library (``LIBS``); a case whose types ac_fixed cannot spell
(``AP_WRAP_SM``, :func:`trigc.fixed.to_ac`) is skipped for ``ac`` with that reason.

Builds fail on any compiler warning located in ``hls_templates/kernels``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from trigc.csim.headers import ac_types_dir, ap_types_dir
from trigc.emulator import assign
from trigc.errors import PrecisionError
from trigc.fixed import FixedType, Overflow, Rounding, to_ac, to_cpp
from trigc.ir.graph import Node

REPO = Path(__file__).resolve().parents[3]
KERNEL_DIR = REPO / "hls_templates" / "kernels"
HERE = Path(__file__).resolve().parent
# -Wall -Wextra only to catch warnings in our headers; those in ap_fixed.h are ignored.
CXXFLAGS = ("-std=c++14", "-O1", "-Wall", "-Wextra")
_WARNING = re.compile(r"^(?P<path>[^:\s]+):\d+:\d+: warning: .*\[(?P<flag>-W[\w=+-]+)\]$")
_IGNORED_IN_OURS = {"-Wunknown-pragmas"}  # #pragma HLS is for Vitis, not g++
LIBS = ("ap", "ac")  # Vitis ap_fixed, Catapult ac_fixed
_SPELLING = ["ap"]  # the library ctype() spells for, set by build_cases

BUILD_SECONDS: dict[str, float] = {}


# ---- C++ generation helpers ------------------------------------------------------------

def ctype(t: FixedType) -> str:
    """``t`` in the library being generated: ap_fixed, or ac_fixed inside build_cases(lib="ac")."""
    return to_ac(t) if _SPELLING[0] == "ac" else to_cpp(t)


def raw_list(cpp_type: str, raws) -> str:
    """Brace initializer of a constant array of ``cpp_type`` values, stored (as the
    generated firmware stores them) as their raw integers."""
    vals = [int(v) for v in np.asarray(raws).ravel()]
    return "{" + ", ".join(f"{v}LL" for v in vals) + "}"


def uint_list(vals) -> str:
    return "{" + ", ".join(f"{int(v)}u" for v in np.asarray(vals).ravel()) + "}"


def bool_list(vals) -> str:
    return "{" + ", ".join("true" if v else "false" for v in np.asarray(vals).ravel()) + "}"


def check_range(raw, t: FixedType, what: str) -> None:
    """Test constants must lie inside their type (from_raw would wrap them)."""
    raw = np.asarray(raw)
    if raw.size and (int(raw.min()) < t.min_raw or int(raw.max()) > t.max_raw):
        raise AssertionError(f"{what}: raw values outside {t}")


def dense_struct(name: str, w_raw: np.ndarray, w_t: FixedType, b_raw: np.ndarray,
                 b_t: FixedType, accum_t: FixedType, reuse: int, order=None) -> str:
    """A dense CONFIG_T struct (declaration and out-of-class definitions) for the
    weight matrix ``w_raw`` (n_in, n_out); only its non-zeros are stored, in
    row-major order unless ``order`` (a permutation of the non-zeros) is given."""
    n_in, n_out = w_raw.shape
    check_range(w_raw, w_t, f"{name} weights")
    check_range(b_raw, b_t, f"{name} bias")
    rows, cols = np.nonzero(w_raw)
    if order is not None:
        rows, cols = rows[order], cols[order]
    nnz = len(rows)
    assert nnz >= 1
    n_mult = -(-nnz // reuse)
    return f"""
struct {name} {{
    static const unsigned n_in = {n_in}, n_out = {n_out}, n_nonzero = {nnz};
    static const unsigned reuse = {reuse}, n_mult = {n_mult};
    typedef {ctype(accum_t)} accum_t;
    typedef {ctype(w_t)} weight_t;
    typedef {ctype(b_t)} bias_t;
    static const long long weights[{nnz}];
    static const unsigned rows[{nnz}], cols[{nnz}];
    static const long long bias[{n_out}];
}};
const long long {name}::weights[{nnz}] = {raw_list(f"{name}::weight_t", w_raw[rows, cols])};
const unsigned {name}::rows[{nnz}] = {uint_list(rows)};
const unsigned {name}::cols[{nnz}] = {uint_list(cols)};
const long long {name}::bias[{n_out}] = {raw_list(f"{name}::bias_t", b_raw)};
"""


# ---- numpy side -------------------------------------------------------------------------

def node(op, attrs=None) -> Node:
    from trigc.ir.ops import ATTRS_FOR

    return Node(op, [], [], ATTRS_FOR[op]() if attrs is None else attrs, "kernel_under_test")


def reference(exact, t: FixedType) -> np.ndarray:
    """What the emulator stores: the exact result assigned to ``t``."""
    return np.asarray(assign(exact, t)).astype(np.int64)


def random_raw(rng: np.random.Generator, t: FixedType, shape, lo=None, hi=None,
               edge_fraction: float = 0.1) -> np.ndarray:
    """Random raw integers of ``t`` (or of [lo, hi]) with some extremes and zeros mixed in."""
    lo = t.min_raw if lo is None else lo
    hi = t.max_raw if hi is None else hi
    out = rng.integers(lo, hi, size=shape, endpoint=True, dtype=np.int64)
    edges = np.array([v for v in (lo, hi, 0, lo + 1, hi - 1) if lo <= v <= hi], dtype=np.int64)
    mask = rng.random(shape) < edge_fraction
    out[mask] = rng.choice(edges, size=int(mask.sum()))
    return out


def fx(text: str) -> FixedType:
    return FixedType.parse(text)


ALL_ROUNDING = tuple(Rounding)
ALL_OVERFLOW = tuple(Overflow)


# ---- programs ---------------------------------------------------------------------------

@dataclass
class Program:
    """One generated C++ test program; ``add`` one runner per case."""

    name: str
    prelude: str = ""
    cases: dict[str, tuple[str, str]] = field(default_factory=dict)
    lib: str = "ap"
    unsupported: dict[str, str] = field(default_factory=dict)  # case -> why

    def add(self, case: str, decls: str, body: str) -> None:
        if not re.fullmatch(r"[A-Za-z_]\w*", case) or case in self.cases:
            raise ValueError(f"bad or duplicate case name {case!r}")
        self.cases[case] = (decls, body)

    def source(self) -> str:
        parts = [
            f"// Generated by tests/csim/kernels ({self.name}, {self.lib}); do not edit.",
            "#define TRIGC_AC_TYPES 1" if self.lib == "ac" else "",
            self.prelude,
            '#include "kharness.h"',
            "#include <string>",
            "",
            "long long* trigc::trace_out = 0;",
        ]
        for case, (decls, body) in self.cases.items():
            parts.append(f"namespace {case} {{\n{decls}\n"
                         f"static void run() {{\n{body}\n}}\n}}  // namespace {case}\n")
        table = ",\n".join(f'    {{"{c}", &{c}::run}}' for c in self.cases)
        parts.append(f"""
struct entry {{ const char* name; void (*run)(); }};
static const entry CASES[] = {{
{table}
}};

int main(int argc, char** argv) {{
    if (argc != 2) return 2;
    for (unsigned i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {{
        if (std::string(CASES[i].name) == argv[1]) {{
            CASES[i].run();
            return 0;
        }}
    }}
    std::fprintf(stderr, "unknown case %s\\n", argv[1]);
    return 2;
}}
""")
        return "\n".join(parts)


@dataclass
class Built:
    exe: Path
    compile_seconds: float
    lib: str = "ap"
    unsupported: dict[str, str] = field(default_factory=dict)

    def run(self, case: str, samples, n_out: int) -> np.ndarray:
        """Run ``case`` on ``samples``: a list of per-input 2-D raw arrays
        (n_samples, size), concatenated per sample. Returns (n_samples, n_out).
        A case the library cannot spell is skipped, naming why."""
        if case in self.unsupported:
            pytest.skip(f"{self.lib}: {self.unsupported[case]}")
        arrays = [np.asarray(a, dtype=np.int64).reshape(len(a), -1) for a in samples]
        n = arrays[0].shape[0]
        flat = np.concatenate(arrays, axis=1) if len(arrays) > 1 else arrays[0]
        text = f"{n}\n" + "\n".join(" ".join(map(str, row)) for row in flat.tolist()) + "\n"
        proc = subprocess.run([str(self.exe), case], input=text, capture_output=True,
                              text=True, timeout=300)
        if proc.returncode != 0:
            pytest.fail(f"{self.exe.name} {case} exited with {proc.returncode}:\n"
                        f"{proc.stderr[-4000:]}")
        out = np.array(proc.stdout.split(), dtype=np.int64)
        return out.reshape(n, n_out)


def _cache_root(tmp_path_factory) -> Path:
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by all workers of this session
    root = base / "trigc_kernel_builds"
    root.mkdir(parents=True, exist_ok=True)
    return root


def our_warnings(stderr: str) -> list[str]:
    """Compiler warnings located in hls_templates/kernels (pragma warnings aside)."""
    found = []
    for line in stderr.splitlines():
        m = _WARNING.match(line.strip())
        if m and Path(m["path"]).resolve().parent == KERNEL_DIR \
                and m["flag"] not in _IGNORED_IN_OURS:
            found.append(line.strip())
    return found


def compile_source(source: str, out_dir: Path, name: str, extra_flags=(),
                   lib: str = "ap") -> tuple[Path, str]:
    cxx = shutil.which("g++")
    if cxx is None:
        pytest.skip("g++ not found")
    out_dir.mkdir(parents=True, exist_ok=True)
    src = out_dir / f"{name}.cpp"
    src.write_text(source)
    exe = out_dir / name
    types = ac_types_dir() if lib == "ac" else ap_types_dir()
    # ac_fixed declares copy constructors but not copy assignment, so every assignment
    # of an ac_fixed in our headers would warn; the class, not our code, is the cause.
    quiet = ("-Wno-deprecated-copy",) if lib == "ac" else ()
    cmd = [cxx, *CXXFLAGS, *quiet, *extra_flags, f"-I{types}", f"-I{KERNEL_DIR}", f"-I{HERE}",
           str(src), "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        pytest.fail(f"g++ failed for {src}:\n{proc.stderr[-8000:]}")
    return exe, proc.stderr


def build(tmp_path_factory, program: Program, extra_flags=()) -> Built:
    """Compile ``program`` once per session (shared between xdist workers)."""
    source = program.source()
    key = hashlib.sha256((source + repr(CXXFLAGS) + repr(extra_flags)).encode()).hexdigest()[:16]
    root = _cache_root(tmp_path_factory)
    name = f"{program.name}_{program.lib}"
    out_dir = root / f"{name}-{key}"
    exe = out_dir / name
    with open(root / f"{name}-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not exe.exists():
            start = time.perf_counter()
            built, stderr = compile_source(source, out_dir / "tmp", name, extra_flags,
                                           program.lib)
            bad = our_warnings(stderr)
            if bad:
                pytest.fail("warnings in the kernel headers:\n" + "\n".join(bad))
            seconds = time.perf_counter() - start
            (out_dir / "seconds").write_text(f"{seconds:.2f}")
            built.rename(exe)
    seconds = float((out_dir / "seconds").read_text())
    BUILD_SECONDS[name] = seconds
    return Built(exe, seconds, program.lib, dict(program.unsupported))


def build_cases(tmp_path_factory, name: str, cases, lib: str, prelude: str = "") -> Built:
    """Build the program of ``cases`` (each with ``.name`` and ``.cpp()``, which spells
    its types with :func:`ctype`) for ``lib`` ("ap" or "ac")."""
    prog = Program(name, prelude=prelude, lib=lib)
    _SPELLING[0] = lib
    try:
        for case in cases:
            try:
                prog.add(case.name, *case.cpp())
            except PrecisionError as exc:  # a mode ac_fixed does not have
                prog.unsupported[case.name] = str(exc)
    finally:
        _SPELLING[0] = "ap"
    return build(tmp_path_factory, prog)

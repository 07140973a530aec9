"""Shared harness for proving ``trigc.fixed`` against a real C++ fixed-point header.

``test_fixed_vs_apfixed.py`` (Xilinx ``ap_fixed.h``) and ``test_fixed_vs_acfixed.py``
(Algorithmic C ``ac_fixed.h``) use the same pieces:

* a seeded pool of destination types over a mode matrix, each reached from a
  double and from a raw fixed-point source (:func:`build_pool`);
* one driver program per session: a table of C++ kernels, compiled in parts in
  parallel (:func:`compile_driver`), kept running as a batch server
  (:class:`Driver`). Protocol, native byte order, repeated until EOF:
  ``in: uint32 n; uint32 kernel_id[n]; uint64 payload[n][in_words]``,
  ``out: uint64 result[n][out_words]``;
* :class:`ConversionCheck`, which compares the header's raw result bits with
  ``quantize`` / ``requantize`` by exact integer equality (and with a library's
  documented result where it knowingly diverges).

The inputs (seeded bulk values and hypothesis strategies) live in ``fixed_values_util.py``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import random
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import trigc.fixed as fixed
from trigc.fixed import FixedType, Overflow, Rounding

N_PARTS = 2  # translation units compiled in parallel
CXXFLAGS = ("-O1", "-std=c++14", "-DNDEBUG", "-w")

# Widths that sit on interesting boundaries (1 bit, bytes, float64's 53-bit
# significand, int64 and the INT64_SAFE_BITS switch in fixed.py).
EDGE_WIDTHS = (1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 52, 53, 54, 55, 61, 62, 63, 64)
INT_CATEGORIES = ("negative", "zero", "inside", "beyond")


@dataclass(frozen=True)
class Library:
    """How one C++ fixed-point library is spelled, found and driven."""

    name: str  # the header, as named in failure messages: "ap_fixed.h"
    spell: Callable[[FixedType], str]  # trigc.fixed.to_cpp / to_ac
    mode_prefix: str  # "AP_" / "AC_": the C++ enumerator of Rounding.RND is prefix + "RND"
    include_dir: Path
    driver_dir: Path  # holds `header` and driver_main.cpp
    header: str
    fn_type: str  # C++ type of one kernel-table entry
    in_words: int = 1
    out_words: int = 1

    def modes(self, t: FixedType) -> str:
        return f"{self.mode_prefix}{t.rounding.name}, {self.mode_prefix}{t.overflow.name}"


# ---- the type pool -------------------------------------------------------------------

@dataclass(frozen=True)
class Kernel:
    """One compiled conversion: ``(double) -> dst`` when ``src`` is None, else ``src -> dst``."""

    dst: FixedType
    src: FixedType | None = None

    def cpp_entry(self, lib: Library) -> str:
        d = self.dst
        dargs = (f"{lib.spell(d)}, {str(d.signed).lower()}, {d.width}, {d.integer_bits}, "
                 f"{lib.modes(d)}")
        if self.src is None:
            return f"&from_double<{dargs} >"
        s = self.src
        sargs = f"{lib.spell(s)}, {str(s.signed).lower()}, {s.width}, {s.integer_bits}"
        return f"&from_fixed<{sargs}, {dargs} >"

    def describe_input(self, lib: Library, value) -> str:
        if self.src is None:
            return f"{lib.spell(self.dst)} y = (double){float(value).hex()} ({float(value)!r})"
        return (f"{lib.spell(self.dst)} y = {lib.spell(self.src)} with raw {int(value)} "
                f"(= {int(value)}*2^{-self.src.frac_bits})")


def mode_combos(overflows: Iterable[Overflow]):
    """(signed, rounding, overflow) for every mode combination the library has."""
    overflows = list(overflows)
    for signed in (True, False):
        for q in Rounding:
            for o in overflows:
                if o is Overflow.WRAP_SM and not signed:
                    continue
                yield signed, q, o


def _integer_bits(rng: random.Random, width: int, category: str) -> int:
    if category == "negative":
        return -rng.randint(1, width + 12)
    if category == "zero":
        return 0
    if category == "inside":
        return rng.randint(1, width)
    return width + rng.randint(1, 24)


def random_width(rng: random.Random) -> int:
    return rng.choice(EDGE_WIDTHS) if rng.random() < 0.4 else rng.randint(1, 64)


def random_type(rng: random.Random, signed: bool, width: int | None = None, **modes) -> FixedType:
    """A type of a random (or given) width in a random integer-bit category."""
    width = random_width(rng) if width is None else width
    category = rng.choice(INT_CATEGORIES)
    return FixedType(signed, width, _integer_bits(rng, width, category), **modes)


def _source_for(rng: random.Random, dst: FixedType) -> FixedType:
    """A source type whose fractional bits relate to dst's in one of several ways."""
    width = random_width(rng)
    relation = rng.choice(("round", "round", "round", "same", "left", "far_below", "far_above"))
    if relation == "round":  # drops 1..24 fractional bits: rounding
        delta = rng.randint(1, 24)
    elif relation == "same":
        delta = 0
    elif relation == "left":  # appends zeros
        delta = -rng.randint(1, 24)
    elif relation == "far_below":  # every source bit lies below dst's rounding bit
        delta = width + rng.randint(1, 8)
    else:  # source LSB at or above dst's MSB: every nonzero value overflows
        delta = -(dst.width + rng.randint(0, 8))
    frac = dst.frac_bits + delta
    return FixedType(rng.random() < 0.6, width, width - frac)


def build_pool(seed: int, overflows: Iterable[Overflow], extra: Iterable[str]) -> list[Kernel]:
    """Destination types covering the whole mode matrix, each used for both conversions."""
    rng = random.Random(seed)
    dsts = []
    for signed, q, o in mode_combos(overflows):
        # every mode combination gets 1 and 64 bits, a narrow and two random widths,
        # spread over the four integer-bit categories (plus one random category)
        widths = [1, 64, rng.randint(2, 6), random_width(rng), random_width(rng)]
        categories = [*INT_CATEGORIES, rng.choice(INT_CATEGORIES)]
        rng.shuffle(categories)
        for width, category in zip(widths, categories):
            dsts.append(FixedType(signed, width, _integer_bits(rng, width, category), q, o))
    dsts += [FixedType.parse(t) for t in extra]
    kernels = []
    for dst in dsts:
        kernels.append(Kernel(dst))
        kernels.append(Kernel(dst, _source_for(rng, dst)))
    return kernels


def assert_pool_covers(pool: list[Kernel], overflows: Iterable[Overflow]) -> None:
    """Every mode combination has 1- and 64-bit types and every integer-bit category;
    each destination is reached from a double and from a fixed source."""
    for signed, q, o in mode_combos(overflows):
        dsts = [k.dst for k in pool if (k.dst.signed, k.dst.rounding, k.dst.overflow)
                == (signed, q, o)]
        assert {1, 64} <= {t.width for t in dsts}, (signed, q, o)
        assert any(t.integer_bits < 0 for t in dsts), (signed, q, o)
        assert any(t.integer_bits == 0 for t in dsts), (signed, q, o)
        assert any(0 < t.integer_bits <= t.width for t in dsts), (signed, q, o)
        assert any(t.integer_bits > t.width for t in dsts), (signed, q, o)
    assert ({k.dst for k in pool if k.src is None}
            == {k.dst for k in pool if k.src is not None})
    srcs = [k.src for k in pool if k.src is not None]
    assert {1, 64} <= {t.width for t in srcs} and {True, False} == {t.signed for t in srcs}
    shifts = {k.src.frac_bits - k.dst.frac_bits for k in pool if k.src is not None}
    assert min(shifts) < -64 and 0 in shifts and max(shifts) > 64


# ---- building and running the driver -------------------------------------------------

def _cuts(weights: list[float]) -> list[int]:
    """Split points giving each of the N_PARTS contiguous parts about equal weight."""
    total = sum(weights)
    cuts, acc = [0], 0.0
    for i, w in enumerate(weights):
        acc += w
        while len(cuts) < N_PARTS and acc >= total * len(cuts) / N_PARTS:
            cuts.append(i + 1)
    return cuts + [len(weights)] * (N_PARTS + 1 - len(cuts))


def _write_sources(build: Path, lib: Library, entries: list[str],
                   weights: list[float] | None) -> list[Path]:
    """Kernel id i is entry i of the concatenation of CONV_PARTS[0..N_PARTS)."""
    if weights is None:
        cuts = [len(entries) * p // N_PARTS for p in range(N_PARTS + 1)]
    else:
        cuts = _cuts(weights)
    chunks = [entries[a:b] for a, b in zip(cuts, cuts[1:])]
    sources = []
    for p, chunk in enumerate(chunks):
        body = ",\n  ".join(chunk)
        path = build / f"kernels_{p}.cpp"
        path.write_text(f'#include "{lib.header}"\n'
                        f"extern const conv_fn CONV_PART_{p}[] = {{\n  {body}\n}};\n")
        sources.append(path)
    registry = build / "registry.cpp"
    registry.write_text(
        f"#include <cstdint>\ntypedef {lib.fn_type};\n"
        + "".join(f"extern const conv_fn CONV_PART_{p}[];\n" for p in range(N_PARTS))
        + "extern const conv_fn* const CONV_PARTS[] = {"
        + ", ".join(f"CONV_PART_{p}" for p in range(N_PARTS)) + "};\n"
        + "extern const uint32_t CONV_PART_SIZES[] = {"
        + ", ".join(str(len(c)) for c in chunks) + "};\n"
        + f"extern const uint32_t CONV_N_PARTS = {N_PARTS};\n"
    )
    return sources + [registry]


def compile_driver(build: Path, lib: Library, entries: list[str],
                   weights: list[float] | None = None) -> Path:
    """Compile the kernel table ``entries`` (C++ expressions) with the library's driver.

    ``weights`` (relative compile cost per entry) balance the parallel parts."""
    cxx = shutil.which("g++")
    include = ["-I", str(lib.include_dir), "-I", str(lib.driver_dir)]
    sources = (_write_sources(build, lib, entries, weights)
               + [lib.driver_dir / "driver_main.cpp"])
    jobs = []
    for src in sources:
        obj = build / (src.stem + ".o")
        cmd = [cxx, *CXXFLAGS, *include, "-c", str(src), "-o", str(obj)]
        jobs.append((cmd, obj, subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                                stderr=subprocess.STDOUT, text=True)))
    for cmd, _, proc in jobs:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            pytest.fail(f"compiling the {lib.name} driver failed: {' '.join(cmd)}\n{out[-5000:]}")
    exe = build / "driver"
    link = subprocess.run([cxx, *(str(o) for _, o, _ in jobs), "-o", str(exe)],
                          capture_output=True, text=True)
    if link.returncode != 0:
        pytest.fail(f"linking the {lib.name} driver failed:\n{link.stderr[-5000:]}")
    return exe


def start_driver(tmp_path_factory, lib: Library, entries: list[str],
                 weights: list[float] | None = None) -> Driver:
    """Compile the kernel table once per test session and start it.

    pytest-xdist workers share one build (under a file lock), keyed by the kernel
    table and the driver sources; each worker runs its own driver process."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by all workers of this session
    digest = hashlib.sha256()
    for part in (lib.name, *entries, repr(weights), *CXXFLAGS):
        digest.update(part.encode() + b"\0")
    for src in sorted(lib.driver_dir.iterdir()):
        digest.update(src.read_bytes())
    build = base / f"{lib.driver_dir.name}-{digest.hexdigest()[:16]}"
    start = time.perf_counter()
    with open(f"{build}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        exe = build / "driver"
        if not exe.exists():
            build.mkdir(parents=True, exist_ok=True)
            compile_driver(build, lib, entries, weights)
    return Driver(exe, tmp_path_factory.mktemp(lib.driver_dir.name), lib,
                  time.perf_counter() - start)


class Driver:
    """The compiled kernel table, kept running as a batch server."""

    def __init__(self, exe: Path, build: Path, lib: Library, compile_seconds: float):
        self.lib = lib
        self.compile_seconds = compile_seconds
        self._stderr_path = build / "driver.stderr"
        self._stderr = open(self._stderr_path, "wb")
        self._proc = subprocess.Popen([str(exe)], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=self._stderr)

    def run(self, kernel_ids: np.ndarray, payload: np.ndarray) -> np.ndarray:
        """Results ``(n,)`` for one output word, else ``(n, out_words)``; payload is
        ``(n,)`` or ``(n, in_words)`` (missing words are zero)."""
        lib = self.lib
        ids = np.ascontiguousarray(kernel_ids, dtype=np.uint32)
        n = ids.size
        pay = np.zeros((n, lib.in_words), dtype=np.uint64)
        given = np.asarray(payload, dtype=np.uint64).reshape(n, -1)
        pay[:, :given.shape[1]] = given
        if n == 0:
            return np.zeros((0, lib.out_words) if lib.out_words > 1 else 0, dtype=np.uint64)
        want = 8 * n * lib.out_words
        try:
            self._proc.stdin.write(np.uint32(n).tobytes() + ids.tobytes() + pay.tobytes())
            self._proc.stdin.flush()
            data = self._proc.stdout.read(want)
        except BrokenPipeError:
            data = b""
        if len(data) != want:
            self._proc.kill()
            self._proc.wait()
            self._stderr.flush()
            raise RuntimeError("%s driver died (exit %s): %s" % (
                lib.name, self._proc.returncode,
                self._stderr_path.read_text(errors="replace")[-2000:]))
        out = np.frombuffer(data, dtype=np.uint64).copy()
        return out if lib.out_words == 1 else out.reshape(n, lib.out_words)

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._stderr.close()


def signed_bits(bits: int, width: int, signed: bool) -> int:
    """The integer a ``width``-bit pattern stands for."""
    bits &= (1 << width) - 1
    return bits - (1 << width) if signed and bits >> (width - 1) else bits


# ---- comparing one batch -------------------------------------------------------------

def _expected(kernel: Kernel, inputs: list) -> list[int]:
    if kernel.src is None:
        return [int(v) for v in fixed.quantize(np.array(inputs, dtype=np.float64), kernel.dst)]
    raw = np.array(inputs, dtype=kernel.src.raw_dtype)
    return [int(v) for v in fixed.requantize(raw, kernel.src.frac_bits, kernel.dst)]


def _payloads(kernel: Kernel, inputs: list) -> np.ndarray:
    if kernel.src is None:
        return np.array(inputs, dtype=np.float64).view(np.uint64)
    mask = (1 << kernel.src.width) - 1
    return np.array([int(v) & mask for v in inputs], dtype=np.uint64)


class _Unspecified:
    def __repr__(self) -> str:
        return "UNSPECIFIED"


#: A known divergence whose library result is unspecified (e.g. C++ undefined behaviour).
UNSPECIFIED = _Unspecified()

#: ``known(kernel, inputs)``: per input, the library's documented result where it
#: knowingly differs from trigc.fixed, UNSPECIFIED, or None (the two agree).
KnownDivergence = Callable[[Kernel, list], list]


class ConversionCheck:
    """Runs conversion cases through a library's driver and through trigc.fixed.

    ``known`` lists the library's documented divergences: those cases are compared
    against the documented result instead of trigc's (and skipped when UNSPECIFIED)."""

    def __init__(self, pool: list[Kernel], lib: Library, known: KnownDivergence | None = None):
        self.pool = pool
        self.lib = lib
        self.known = known
        self.cases_checked = 0  # running total, for measuring the suite's reach
        self.divergent_cases = 0  # cases whose expectation came from ``known``

    def run(self, driver: Driver, kernel_ids, inputs) -> tuple[np.ndarray, np.ndarray]:
        """(library results, trigc results) as object arrays of Python ints."""
        kernel_ids = np.asarray(kernel_ids, dtype=np.int64)
        inputs = list(inputs)
        n = len(inputs)
        assert kernel_ids.shape == (n,)
        order = np.argsort(kernel_ids, kind="stable")
        bounds = np.flatnonzero(np.diff(kernel_ids[order])) + 1
        payload = np.zeros(n, dtype=np.uint64)
        expected = np.empty(n, dtype=object)
        groups = []
        for idx in np.split(order, bounds):
            if idx.size == 0:
                continue
            kernel = self.pool[int(kernel_ids[idx[0]])]
            vals = [inputs[i] for i in idx]
            payload[idx] = _payloads(kernel, vals)
            expected[idx] = _expected(kernel, vals)
            if self.known is not None:
                for i, lib_result in zip(idx, self.known(kernel, vals)):
                    if lib_result is not None:
                        expected[i] = lib_result
                        self.divergent_cases += 1
            groups.append((kernel, idx))
        bits = driver.run(kernel_ids, payload)
        if bits.ndim == 2:
            bits = bits[:, 0]
        got = np.empty(n, dtype=object)
        for kernel, idx in groups:
            d = kernel.dst
            got[idx] = [signed_bits(int(b), d.width, d.signed) for b in bits[idx]]
        self.cases_checked += n
        return got, expected

    def check(self, driver: Driver, kernel_ids, inputs) -> int:
        """Assert the library and trigc.fixed agree on every case.

        Inputs are floats for double kernels and raw source integers (Python ints,
        within the source range) for fixed kernels. Returns the number of cases."""
        kernel_ids = np.asarray(kernel_ids, dtype=np.int64)
        inputs = list(inputs)
        got, expected = self.run(driver, kernel_ids, inputs)
        unspecified = np.array([e is UNSPECIFIED for e in expected], dtype=bool)
        got[unspecified] = expected[unspecified]
        bad = np.flatnonzero(got != expected)
        msg = ""
        if bad.size:
            name = self.lib.name
            lines = [f"{bad.size} of {len(inputs)} conversions differ from {name}; first ones:"]
            for i in bad[:8]:
                k = self.pool[int(kernel_ids[i])]
                lines.append(f"  {k.describe_input(self.lib, inputs[i])}: trigc.fixed -> "
                             f"{expected[i]}, {name} -> {got[i]}")
            msg = "\n".join(lines)
        np.testing.assert_array_equal(got, expected, err_msg=msg)
        return len(inputs)

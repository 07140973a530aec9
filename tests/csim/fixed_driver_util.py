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
* seeded bulk values around every type's LSB and saturation boundaries
  (:func:`bulk_doubles`, :func:`bulk_raws`) and hypothesis strategies;
* :class:`ConversionCheck`, which compares the header's raw result bits with
  ``quantize`` / ``requantize`` by exact integer equality.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
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
from hypothesis import strategies as st

import trigc.fixed as fixed
from trigc.fixed import FixedType, Overflow, Rounding

N_PARTS = 2  # translation units compiled in parallel
CXXFLAGS = ("-O1", "-std=c++14", "-DNDEBUG", "-w")

# Widths that sit on interesting boundaries (1 bit, bytes, float64's 53-bit
# significand, int64 and the INT64_SAFE_BITS switch in fixed.py).
EDGE_WIDTHS = (1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 52, 53, 54, 55, 61, 62, 63, 64)
INT_CATEGORIES = ("negative", "zero", "inside", "beyond")
LARGEST_DOUBLE = 1.7976931348623157e308


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


# Rounding modes that round to nearest (each breaks ties its own way).
NEAREST = frozenset(r for r in Rounding if r.name.startswith("RND"))
# The double nearest below 0.5 (0.5 - 2**-54): ``s + 0.5`` rounds it up to 1.0.
BELOW_HALF = 0.5 - 2.0**-54


def pending_quantize_fix(kernel: Kernel, inputs: list) -> list:
    """Cases hit by a trigc.fixed bug awaiting a fix in compiler/fixed.py.

    ``_quantize_float64`` rounds ``s = x * 2**F`` with ``floor(s + 0.5)``
    (AP_RND, AP_RND_INF) and ``ceil(s - 0.5)`` (AP_RND_MIN_INF, AP_RND_INF for
    negatives); for ``s = +-(0.5 - 2**-54)`` the float64 addition rounds to +-1.0, so
    e.g. ``quantize([0.12499999999999999], fixed<2,0,RND,SAT>)`` is 1 where ap_fixed.h
    and ac_fixed.h (and exact arithmetic) give 0. Here the headers' result, 0, is
    expected; ``test_fixed_vs_acfixed.py::test_quantize_just_below_half_lsb`` (strict
    xfail) fails once the bug is fixed, and then this hook goes too."""
    t = kernel.dst
    if kernel.src is not None or t.rounding not in NEAREST:
        return [None] * len(inputs)
    return [0 if abs(ldexp(x, t.frac_bits)) == BELOW_HALF else None for x in inputs]


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


# ---- deterministic bulk cases --------------------------------------------------------

def ldexp(m: int | float, e: int) -> float:
    """m * 2**e as the nearest double (saturating to the largest finite double)."""
    try:
        x = math.ldexp(float(m), e)
    except OverflowError:
        return math.copysign(LARGEST_DOUBLE, m)
    return x if math.isfinite(x) else math.copysign(LARGEST_DOUBLE, x)


def bulk_doubles(t: FixedType, rng: random.Random, n: int) -> list[float]:
    f, lo, hi = t.frac_bits, t.min_raw, t.max_raw
    vals = [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, -2.2250738585072014e-308,
            1e-300, -1e-300, 1e300, -1e300, LARGEST_DOUBLE, -LARGEST_DOUBLE,
            0.5, -0.5, 1.0, -1.0, 1.5, -1.5]
    for k in (1, 2, 3, 5):  # +-k LSB and ties at +-k/2 LSB, around zero
        for sign in (1, -1):
            vals += [ldexp(sign * k, -f), ldexp(sign * k, -f - 1), ldexp(sign * k, -f - 2)]
    for b in (hi, hi + 1, hi + 2, lo, lo - 1, lo - 2, -hi, -hi - 1):
        for num in (-3, -2, -1, 0, 1, 2, 3):  # b + num/4 LSB: ties, just-off ties, exact
            vals.append(ldexp(4 * b + num, -f - 2))
        x = ldexp(b, -f)
        vals += [math.nextafter(x, math.inf), math.nextafter(x, -math.inf)]
    m_bits = min(t.width + 2, 52)
    while len(vals) < n:
        kind = rng.randrange(6)
        sign = rng.choice((1, -1))
        if kind == 0:  # exact tie at the rounding bit, anywhere in (and just beyond) range
            k = rng.randint(-(1 << m_bits), 1 << m_bits) << rng.randint(0, max(t.width - 50, 0))
            vals.append(ldexp(2 * k + 1, -f - 1))
        elif kind == 1:  # near a saturation boundary, with random sub-LSB bits
            b = rng.choice((hi, lo, -hi)) + rng.randint(-3, 3)
            extra = rng.randint(1, 30)
            vals.append(ldexp((b << extra) + rng.getrandbits(extra), -f - extra))
        elif kind == 2:  # random 1..53-bit significand, top bit from far below LSB to far above MSB
            bl = rng.randint(1, 53)
            m = rng.getrandbits(bl) | (1 << (bl - 1))
            top = rng.randint(-70, t.width + 12)
            vals.append(sign * ldexp(m, top - f - bl + 1))
        elif kind == 3:  # tiny: far below the LSB, down to subnormals
            vals.append(sign * ldexp(rng.getrandbits(53) | 1, -f - rng.randint(55, 1200)))
        elif kind == 4:  # huge: far above the range
            e = t.integer_bits + rng.randint(0, 990)
            vals.append(sign * ldexp(rng.getrandbits(53) | 1, e))
        else:  # exact grid values (raw integers) just inside / outside the range
            r = rng.randint(lo - (hi - lo) // 4 - 2, hi + (hi - lo) // 4 + 2)
            vals.append(ldexp(r, -f))
    return vals[:n]


def clamp(v: int, t: FixedType) -> int:
    return min(max(v, t.min_raw), t.max_raw)


def bulk_raws(src: FixedType, dst: FixedType, rng: random.Random, n: int) -> list[int]:
    shift = src.frac_bits - dst.frac_bits  # > 0: rounding drops bits
    half = 1 << (shift - 1) if shift > 0 else 0
    lo, hi = src.min_raw, src.max_raw
    cands = [0, 1, -1, 2, -2, lo, lo + 1, hi, hi - 1, half, -half, half + 1, -half - 1,
             half - 1, 1 - half, 3 * half, -3 * half]
    for b in (dst.max_raw, dst.max_raw + 1, dst.min_raw, dst.min_raw - 1, -dst.max_raw,
              -dst.max_raw - 1, dst.max_raw + 2, dst.min_raw - 2):
        if shift >= 0:
            base = b << shift
            cands += [base + d for d in (0, 1, -1, half, half - 1, half + 1, -half, -half - 1,
                                         -half + 1)]
        else:
            cands += [(b >> -shift) + d for d in (-1, 0, 1)]
    vals = [v for v in cands if lo <= v <= hi]
    while len(vals) < n:
        kind = rng.randrange(4)
        if kind == 0:  # any width of magnitude
            bl = rng.randint(0, src.width)
            v = rng.getrandbits(bl) if bl else 0
            vals.append(clamp(-v if src.signed and rng.random() < 0.5 else v, src))
        elif kind == 1 and shift > 0:  # exact ties (and their neighbours)
            k = rng.randint(lo >> shift, hi >> shift)
            vals.append(clamp((k << shift) + half + rng.choice((0, 0, 0, 1, -1)), src))
        elif kind == 2:  # near dst's saturation boundaries
            b = rng.choice((dst.max_raw, dst.min_raw, -dst.max_raw)) + rng.randint(-2, 2)
            base = b << shift if shift >= 0 else b >> -shift
            noise = rng.getrandbits(shift) if shift > 0 else 0
            vals.append(clamp(base + noise * rng.choice((1, -1)), src))
        else:  # uniform over the source range
            vals.append(rng.randint(lo, hi))
    return vals[:n]


def bulk_cases(pool: list[Kernel], ids: list[int], seed: int, per_kernel: int):
    """(kernel ids, inputs): ``per_kernel`` seeded values for each kernel in ``ids``."""
    rng = random.Random(seed)
    kernel_ids, inputs = [], []
    for i in ids:
        k = pool[i]
        vals = (bulk_doubles(k.dst, rng, per_kernel) if k.src is None
                else bulk_raws(k.src, k.dst, rng, per_kernel))
        kernel_ids += [i] * len(vals)
        inputs += vals
    return np.array(kernel_ids), inputs


# ---- hypothesis strategies: (kernel id, input) ---------------------------------------

def double_cases(pool: list[Kernel], ids: list[int]):
    @st.composite
    def double_case(draw):
        kid = draw(st.sampled_from(ids))
        t = pool[kid].dst
        f, lo, hi = t.frac_bits, t.min_raw, t.max_raw
        kind = draw(st.sampled_from(("tie", "boundary", "tiny", "huge", "any", "grid", "zero")))
        sign = draw(st.sampled_from((1, -1)))
        if kind == "tie":
            k = draw(st.integers(lo - 4, hi + 4))
            x = ldexp(2 * k + 1, -f - 1)
        elif kind == "boundary":
            b = draw(st.sampled_from((hi, hi + 1, lo, lo - 1, -hi, -hi - 1)))
            x = ldexp(8 * b + draw(st.integers(-8, 8)), -f - 3)
        elif kind == "tiny":
            x = sign * ldexp(draw(st.integers(1, (1 << 53) - 1)),
                             -f - draw(st.integers(54, 1200)))
        elif kind == "huge":
            x = sign * ldexp(draw(st.integers(1, (1 << 53) - 1)),
                             t.integer_bits + draw(st.integers(0, 1000)))
        elif kind == "any":
            x = draw(st.floats(allow_nan=False, allow_infinity=False))
        elif kind == "grid":
            # a 53-bit significand whose top bit lies from 70 bits below the LSB to 8 above
            # the MSB
            x = ldexp(draw(st.integers(-(1 << 53) + 1, (1 << 53) - 1)),
                      draw(st.integers(-f - 122, t.integer_bits - 44)))
        else:
            x = draw(st.sampled_from((0.0, -0.0)))
        return kid, x

    return double_case()


def fixed_cases(pool: list[Kernel], ids: list[int]):
    @st.composite
    def fixed_case(draw):
        kid = draw(st.sampled_from(ids))
        src, dst = pool[kid].src, pool[kid].dst
        shift = src.frac_bits - dst.frac_bits
        half = 1 << (shift - 1) if shift > 0 else 0
        kind = draw(st.sampled_from(("any", "tie", "boundary", "edge")))
        if kind == "tie" and shift > 0:
            k = draw(st.integers(src.min_raw >> shift, src.max_raw >> shift))
            v = (k << shift) + half + draw(st.sampled_from((0, 0, 1, -1)))
        elif kind == "boundary":
            b = draw(st.sampled_from((dst.max_raw, dst.max_raw + 1, dst.min_raw,
                                      dst.min_raw - 1, -dst.max_raw, -dst.max_raw - 1)))
            base = b << shift if shift >= 0 else b >> -shift
            v = base + draw(st.sampled_from((0, 1, -1, half, half - 1, half + 1, -half,
                                             -half - 1)))
        elif kind == "edge":
            v = draw(st.sampled_from((0, 1, -1, src.min_raw, src.max_raw, src.min_raw + 1,
                                      src.max_raw - 1)))
        else:
            v = draw(st.integers(src.min_raw, src.max_raw))
        return kid, clamp(v, src)

    return fixed_case()

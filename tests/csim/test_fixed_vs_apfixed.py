"""Bit-exactness of ``trigc.fixed`` against the real Xilinx ``ap_fixed.h``.

Two conversions are compared, case by case, with exact integer equality of the
raw result bits:

(a) ``T y = (double)x;``            against ``quantize([x], T)``
(b) ``Src s = raw; T y; y = s;``     against ``requantize([raw], Src.frac_bits, T)``

Types are C++ template arguments, so a seeded pool of destination types (the full
7 rounding x 5 overflow x signed/unsigned matrix, each with negative, zero,
inside and beyond-width integer bits, plus random widths 1..64) is compiled
once per session into one driver program: a table of conversion kernels that
reads (kernel id, payload) batches on stdin and writes the raw results.
Values come from a seeded bulk generator (edge cases around every type's LSB
and saturation boundaries plus random magnitudes) and from hypothesis.

The driver is built with ``-DNDEBUG``: ``ap_fixed_base::operator=`` evaluates
``op.V.get_bit(F2 - F - 1)`` even when that index lies beyond the source width
(the result is then discarded in favour of the sign bit), and the
``assert`` inside ``ap_private::get_bit`` would abort the program for every
assignment whose source lies entirely below the destination's rounding bit.

Not covered on purpose: types with more than ~1000 fractional bits. ap_fixed.h's
double constructor decodes subnormal doubles as if they were normal (implicit
leading 1, exponent -1023), so e.g. ``ap_fixed<16,-1050,AP_RND,AP_SAT> y = 5e-324``
saturates to 32767 although the exact value, 2**-8 LSB, rounds to 0; only types
whose LSB lies below about 2**-1000 can tell. The pool asserts it stays far away from them.
"""

from __future__ import annotations

import math
import random
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trigc.fixed as fixed
from trigc.csim.headers import ap_types_dir
from trigc.fixed import FixedType, Overflow, Rounding, to_cpp

pytestmark = pytest.mark.csim

DRIVER_DIR = Path(__file__).parent / "apfixed_driver"
POOL_SEED = 20240611
BULK_SEED = 7
N_PARTS = 2  # translation units compiled in parallel
CXXFLAGS = ("-O1", "-std=c++14", "-DNDEBUG", "-w")

# Widths that sit on interesting boundaries (1 bit, bytes, float64's 53-bit
# significand, int64 and the INT64_SAFE_BITS switch in fixed.py).
EDGE_WIDTHS = (1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 52, 53, 54, 55, 61, 62, 63, 64)
INT_CATEGORIES = ("negative", "zero", "inside", "beyond")


# ---- the type pool -------------------------------------------------------------------

@dataclass(frozen=True)
class Kernel:
    """One compiled conversion: ``(double) -> dst`` when ``src`` is None, else ``src -> dst``."""

    dst: FixedType
    src: FixedType | None = None

    def cpp_entry(self) -> str:
        d = self.dst
        dargs = (f"{to_cpp(d)}, {str(d.signed).lower()}, {d.width}, {d.integer_bits}, "
                 f"{d.rounding.value}, {d.overflow.value}")
        if self.src is None:
            return f"&from_double<{dargs} >"
        s = self.src
        sargs = f"{to_cpp(s)}, {str(s.signed).lower()}, {s.width}, {s.integer_bits}"
        return f"&from_fixed<{sargs}, {dargs} >"

    def describe_input(self, value) -> str:
        if self.src is None:
            return f"{to_cpp(self.dst)} y = (double){float(value).hex()} ({float(value)!r})"
        return (f"{to_cpp(self.dst)} y = {to_cpp(self.src)} with raw {int(value)} "
                f"(= {int(value)}*2^{-self.src.frac_bits})")


def _combos():
    for signed in (True, False):
        for q in Rounding:
            for o in Overflow:
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


def _random_width(rng: random.Random) -> int:
    return rng.choice(EDGE_WIDTHS) if rng.random() < 0.4 else rng.randint(1, 64)


def _source_for(rng: random.Random, dst: FixedType) -> FixedType:
    """A source type whose fractional bits relate to dst's in one of several ways."""
    width = _random_width(rng)
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


def build_pool(seed: int = POOL_SEED) -> list[Kernel]:
    """Destination types covering the whole mode matrix, each used for both conversions."""
    rng = random.Random(seed)
    dsts = []
    for signed, q, o in _combos():
        # every mode combination gets 1 and 64 bits, a narrow and two random widths,
        # spread over the four integer-bit categories (plus one random category)
        widths = [1, 64, rng.randint(2, 6), _random_width(rng), _random_width(rng)]
        categories = [*INT_CATEGORIES, rng.choice(INT_CATEGORIES)]
        rng.shuffle(categories)
        for width, category in zip(widths, categories):
            dsts.append(FixedType(signed, width, _integer_bits(rng, width, category), q, o))
    dsts += [FixedType.parse(t) for t in (
        "fixed<16,6>", "fixed<18,8,RND,SAT>", "ufixed<8,0,RND_CONV,SAT>", "fixed<1,1>",
        "ufixed<1,1>", "fixed<64,64,RND,SAT>", "ufixed<64,0,RND_INF,SAT_SYM>",
        "fixed<64,-30,RND_CONV,WRAP_SM>", "fixed<8,80,RND_ZERO,SAT_ZERO>",
        "ufixed<53,-11,RND_MIN_INF,WRAP>", "fixed<2,-1,TRN_ZERO,SAT_SYM>",
        "fixed<2,2,RND,SAT_SYM>", "fixed<3,-150,RND_CONV,SAT>", "ufixed<7,180,RND_INF,SAT>",
    )]
    kernels = []
    for dst in dsts:
        kernels.append(Kernel(dst))
        kernels.append(Kernel(dst, _source_for(rng, dst)))
    return kernels


POOL = build_pool()
DOUBLE_IDS = [i for i, k in enumerate(POOL) if k.src is None]
FIXED_IDS = [i for i, k in enumerate(POOL) if k.src is not None]
CASES_CHECKED = [0]  # running total, for measuring the suite's reach


# ---- building and running the driver -------------------------------------------------

def _write_sources(build: Path, kernels: list[Kernel]) -> list[Path]:
    """Kernel id i is entry i of the concatenation of CONV_PARTS[0..N_PARTS)."""
    cuts = [len(kernels) * p // N_PARTS for p in range(N_PARTS + 1)]
    chunks = [kernels[a:b] for a, b in zip(cuts, cuts[1:])]
    sources = []
    for p, chunk in enumerate(chunks):
        entries = ",\n  ".join(k.cpp_entry() for k in chunk)
        path = build / f"kernels_{p}.cpp"
        path.write_text('#include "apfixed_driver.h"\n'
                        f"extern const conv_fn CONV_PART_{p}[] = {{\n  {entries}\n}};\n")
        sources.append(path)
    registry = build / "registry.cpp"
    registry.write_text(
        "#include <cstdint>\ntypedef uint64_t (*conv_fn)(uint64_t);\n"
        + "".join(f"extern const conv_fn CONV_PART_{p}[];\n" for p in range(N_PARTS))
        + "extern const conv_fn* const CONV_PARTS[] = {"
        + ", ".join(f"CONV_PART_{p}" for p in range(N_PARTS)) + "};\n"
        + "extern const uint32_t CONV_PART_SIZES[] = {"
        + ", ".join(str(len(c)) for c in chunks) + "};\n"
        + f"extern const uint32_t CONV_N_PARTS = {N_PARTS};\n"
    )
    return sources + [registry]


def _compile(build: Path, kernels: list[Kernel]) -> Path:
    cxx = shutil.which("g++")
    include = ["-I", str(ap_types_dir()), "-I", str(DRIVER_DIR)]
    sources = _write_sources(build, kernels) + [DRIVER_DIR / "driver_main.cpp"]
    jobs = []
    for src in sources:
        obj = build / (src.stem + ".o")
        cmd = [cxx, *CXXFLAGS, *include, "-c", str(src), "-o", str(obj)]
        jobs.append((cmd, obj, subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                                stderr=subprocess.STDOUT, text=True)))
    for cmd, _, proc in jobs:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            pytest.fail(f"compiling the ap_fixed driver failed: {' '.join(cmd)}\n{out[-5000:]}")
    exe = build / "apfixed_driver"
    link = subprocess.run([cxx, *(str(o) for _, o, _ in jobs), "-o", str(exe)],
                          capture_output=True, text=True)
    if link.returncode != 0:
        pytest.fail(f"linking the ap_fixed driver failed:\n{link.stderr[-5000:]}")
    return exe


class Driver:
    """The compiled kernel table, kept running as a batch server."""

    def __init__(self, exe: Path, build: Path, compile_seconds: float):
        self.compile_seconds = compile_seconds
        self._stderr_path = build / "driver.stderr"
        self._stderr = open(self._stderr_path, "wb")
        self._proc = subprocess.Popen([str(exe)], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=self._stderr)

    def run(self, kernel_ids: np.ndarray, payload: np.ndarray) -> np.ndarray:
        ids = np.ascontiguousarray(kernel_ids, dtype=np.uint32)
        pay = np.ascontiguousarray(payload, dtype=np.uint64)
        n = ids.size
        assert pay.size == n
        if n == 0:
            return np.zeros(0, dtype=np.uint64)
        try:
            self._proc.stdin.write(np.uint32(n).tobytes() + ids.tobytes() + pay.tobytes())
            self._proc.stdin.flush()
            data = self._proc.stdout.read(8 * n)
        except BrokenPipeError:
            data = b""
        if len(data) != 8 * n:
            self._proc.kill()
            self._proc.wait()
            self._stderr.flush()
            raise RuntimeError("ap_fixed driver died (exit %s): %s" % (
                self._proc.returncode, self._stderr_path.read_text(errors="replace")[-2000:]))
        return np.frombuffer(data, dtype=np.uint64).copy()

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._stderr.close()


@pytest.fixture(scope="session")
def driver(tmp_path_factory):
    build = tmp_path_factory.mktemp("apfixed_driver")
    start = time.perf_counter()
    exe = _compile(build, POOL)
    drv = Driver(exe, build, time.perf_counter() - start)
    yield drv
    drv.close()


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


def _signed_results(kernel: Kernel, bits: np.ndarray) -> list[int]:
    w = kernel.dst.width
    out = [int(b) for b in bits]
    if kernel.dst.signed:
        out = [b - (1 << w) if b >> (w - 1) else b for b in out]
    return out


def check_cases(driver: Driver, kernel_ids, inputs) -> int:
    """Run (kernel id, input) cases through ap_fixed.h and trigc.fixed; assert equality.

    Inputs are floats for double kernels and raw source integers (Python ints,
    within the source range) for fixed kernels. Returns the number of cases."""
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
        kernel = POOL[int(kernel_ids[idx[0]])]
        vals = [inputs[i] for i in idx]
        payload[idx] = _payloads(kernel, vals)
        expected[idx] = _expected(kernel, vals)
        groups.append((kernel, idx))
    bits = driver.run(kernel_ids, payload)
    got = np.empty(n, dtype=object)
    for kernel, idx in groups:
        got[idx] = _signed_results(kernel, bits[idx])
    bad = np.flatnonzero(got != expected)
    msg = ""
    if bad.size:
        lines = [f"{bad.size} of {n} conversions differ from ap_fixed.h; first ones:"]
        for i in bad[:8]:
            k = POOL[int(kernel_ids[i])]
            lines.append(f"  {k.describe_input(inputs[i])}: trigc.fixed -> {expected[i]}, "
                         f"ap_fixed.h -> {got[i]}")
        msg = "\n".join(lines)
    CASES_CHECKED[0] += n
    np.testing.assert_array_equal(got, expected, err_msg=msg)
    return n


# ---- deterministic bulk cases --------------------------------------------------------

def _finite(x: float) -> float:
    return x if math.isfinite(x) else math.copysign(1.7976931348623157e308, x)


def _ldexp(m: int, e: int) -> float:
    """m * 2**e as the nearest double (saturating to the largest finite double)."""
    try:
        return _finite(math.ldexp(float(m), e))
    except OverflowError:
        return math.copysign(1.7976931348623157e308, m)


def bulk_doubles(t: FixedType, rng: random.Random, n: int) -> list[float]:
    f, lo, hi = t.frac_bits, t.min_raw, t.max_raw
    vals = [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, -2.2250738585072014e-308,
            1e-300, -1e-300, 1e300, -1e300, 1.7976931348623157e308, -1.7976931348623157e308,
            0.5, -0.5, 1.0, -1.0, 1.5, -1.5]
    for k in (1, 2, 3, 5):  # +-k LSB and ties at +-k/2 LSB, around zero
        for sign in (1, -1):
            vals += [_ldexp(sign * k, -f), _ldexp(sign * k, -f - 1), _ldexp(sign * k, -f - 2)]
    for b in (hi, hi + 1, hi + 2, lo, lo - 1, lo - 2, -hi, -hi - 1):
        for num in (-3, -2, -1, 0, 1, 2, 3):  # b + num/4 LSB: ties, just-off ties, exact
            vals.append(_ldexp(4 * b + num, -f - 2))
        x = _ldexp(b, -f)
        vals += [math.nextafter(x, math.inf), math.nextafter(x, -math.inf)]
    m_bits = min(t.width + 2, 52)
    while len(vals) < n:
        kind = rng.randrange(6)
        sign = rng.choice((1, -1))
        if kind == 0:  # exact tie at the rounding bit, anywhere in (and just beyond) range
            k = rng.randint(-(1 << m_bits), 1 << m_bits) << rng.randint(0, max(t.width - 50, 0))
            vals.append(_ldexp(2 * k + 1, -f - 1))
        elif kind == 1:  # near a saturation boundary, with random sub-LSB bits
            b = rng.choice((hi, lo, -hi)) + rng.randint(-3, 3)
            extra = rng.randint(1, 30)
            vals.append(_ldexp((b << extra) + rng.getrandbits(extra), -f - extra))
        elif kind == 2:  # random 1..53-bit significand, top bit from far below LSB to far above MSB
            bl = rng.randint(1, 53)
            m = rng.getrandbits(bl) | (1 << (bl - 1))
            top = rng.randint(-70, t.width + 12)
            vals.append(sign * _ldexp(m, top - f - bl + 1))
        elif kind == 3:  # tiny: far below the LSB, down to subnormals
            vals.append(sign * _ldexp(rng.getrandbits(53) | 1, -f - rng.randint(55, 1200)))
        elif kind == 4:  # huge: far above the range
            e = t.integer_bits + rng.randint(0, 990)
            vals.append(sign * _ldexp(rng.getrandbits(53) | 1, e))
        else:  # exact grid values (raw integers) just inside / outside the range
            r = rng.randint(lo - (hi - lo) // 4 - 2, hi + (hi - lo) // 4 + 2)
            vals.append(_ldexp(r, -f))
    return vals[:n]


def _clamp(v: int, t: FixedType) -> int:
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
            vals.append(_clamp(-v if src.signed and rng.random() < 0.5 else v, src))
        elif kind == 1 and shift > 0:  # exact ties (and their neighbours)
            k = rng.randint(lo >> shift, hi >> shift)
            vals.append(_clamp((k << shift) + half + rng.choice((0, 0, 0, 1, -1)), src))
        elif kind == 2:  # near dst's saturation boundaries
            b = rng.choice((dst.max_raw, dst.min_raw, -dst.max_raw)) + rng.randint(-2, 2)
            base = b << shift if shift >= 0 else b >> -shift
            noise = rng.getrandbits(shift) if shift > 0 else 0
            vals.append(_clamp(base + noise * rng.choice((1, -1)), src))
        else:  # uniform over the source range
            vals.append(rng.randint(lo, hi))
    return vals[:n]


PER_KERNEL = 220


def _bulk(ids: list[int], seed: int):
    rng = random.Random(seed)
    kernel_ids, inputs = [], []
    for i in ids:
        k = POOL[i]
        vals = (bulk_doubles(k.dst, rng, PER_KERNEL) if k.src is None
                else bulk_raws(k.src, k.dst, rng, PER_KERNEL))
        kernel_ids += [i] * len(vals)
        inputs += vals
    return np.array(kernel_ids), inputs


# ---- the tests -----------------------------------------------------------------------

def test_pool_covers_mode_matrix():
    for signed, q, o in _combos():
        dsts = [k.dst for k in POOL if (k.dst.signed, k.dst.rounding, k.dst.overflow)
                == (signed, q, o)]
        assert {1, 64} <= {t.width for t in dsts}, (signed, q, o)
        assert any(t.integer_bits < 0 for t in dsts), (signed, q, o)
        assert any(t.integer_bits == 0 for t in dsts), (signed, q, o)
        assert any(0 < t.integer_bits <= t.width for t in dsts), (signed, q, o)
        assert any(t.integer_bits > t.width for t in dsts), (signed, q, o)
    # each destination type is reached from a double and from another fixed type
    assert {POOL[i].dst for i in DOUBLE_IDS} == {POOL[i].dst for i in FIXED_IDS}
    srcs = [k.src for k in POOL if k.src is not None]
    assert {1, 64} <= {t.width for t in srcs} and {True, False} == {t.signed for t in srcs}
    shifts = {k.src.frac_bits - k.dst.frac_bits for k in POOL if k.src is not None}
    assert min(shifts) < -64 and 0 in shifts and max(shifts) > 64
    # ap_fixed.h mis-decodes subnormal doubles; keep far away from types that could see them
    assert max(abs(k.dst.frac_bits) for k in POOL) < 900


def test_double_to_fixed_bulk(driver):
    ids, inputs = _bulk(DOUBLE_IDS, BULK_SEED)
    assert check_cases(driver, ids, inputs) >= 50_000


def test_fixed_to_fixed_bulk(driver):
    ids, inputs = _bulk(FIXED_IDS, BULK_SEED + 1)
    assert check_cases(driver, ids, inputs) >= 50_000


# hypothesis: each example is a batch of cases sent to the running driver at once

@st.composite
def double_case(draw):
    kid = draw(st.sampled_from(DOUBLE_IDS))
    t = POOL[kid].dst
    f, lo, hi = t.frac_bits, t.min_raw, t.max_raw
    kind = draw(st.sampled_from(("tie", "boundary", "tiny", "huge", "any", "grid", "zero")))
    sign = draw(st.sampled_from((1, -1)))
    if kind == "tie":
        k = draw(st.integers(lo - 4, hi + 4))
        x = _ldexp(2 * k + 1, -f - 1)
    elif kind == "boundary":
        b = draw(st.sampled_from((hi, hi + 1, lo, lo - 1, -hi, -hi - 1)))
        x = _ldexp(8 * b + draw(st.integers(-8, 8)), -f - 3)
    elif kind == "tiny":
        x = sign * _ldexp(draw(st.integers(1, (1 << 53) - 1)), -f - draw(st.integers(54, 1200)))
    elif kind == "huge":
        x = sign * _ldexp(draw(st.integers(1, (1 << 53) - 1)),
                          t.integer_bits + draw(st.integers(0, 1000)))
    elif kind == "any":
        x = draw(st.floats(allow_nan=False, allow_infinity=False))
    elif kind == "grid":
        # a 53-bit significand whose top bit lies from 70 bits below the LSB to 8 above the MSB
        x = _ldexp(draw(st.integers(-(1 << 53) + 1, (1 << 53) - 1)),
                   draw(st.integers(-f - 122, t.integer_bits - 44)))
    else:
        x = draw(st.sampled_from((0.0, -0.0)))
    return kid, x


@st.composite
def fixed_case(draw):
    kid = draw(st.sampled_from(FIXED_IDS))
    src, dst = POOL[kid].src, POOL[kid].dst
    shift = src.frac_bits - dst.frac_bits
    half = 1 << (shift - 1) if shift > 0 else 0
    kind = draw(st.sampled_from(("any", "tie", "boundary", "edge")))
    if kind == "tie" and shift > 0:
        k = draw(st.integers(src.min_raw >> shift, src.max_raw >> shift))
        v = (k << shift) + half + draw(st.sampled_from((0, 0, 1, -1)))
    elif kind == "boundary":
        b = draw(st.sampled_from((dst.max_raw, dst.max_raw + 1, dst.min_raw, dst.min_raw - 1,
                                  -dst.max_raw, -dst.max_raw - 1)))
        base = b << shift if shift >= 0 else b >> -shift
        v = base + draw(st.sampled_from((0, 1, -1, half, half - 1, half + 1, -half, -half - 1)))
    elif kind == "edge":
        v = draw(st.sampled_from((0, 1, -1, src.min_raw, src.max_raw, src.min_raw + 1,
                                  src.max_raw - 1)))
    else:
        v = draw(st.integers(src.min_raw, src.max_raw))
    return kid, _clamp(v, src)


HYPOTHESIS = settings(max_examples=100, deadline=None, database=None, print_blob=True,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@HYPOTHESIS
@given(batch=st.lists(double_case(), min_size=100, max_size=400))
def test_double_to_fixed_hypothesis(driver, batch):
    check_cases(driver, [k for k, _ in batch], [x for _, x in batch])


@HYPOTHESIS
@given(batch=st.lists(fixed_case(), min_size=100, max_size=400))
def test_fixed_to_fixed_hypothesis(driver, batch):
    check_cases(driver, [k for k, _ in batch], [v for _, v in batch])


# ---- the harness must be able to fail ------------------------------------------------

SABOTAGE = {
    "rnd_conv_as_rnd": (Rounding.RND_CONV, {"rounding": Rounding.RND}),
    "trn_zero_as_trn": (Rounding.TRN_ZERO, {"rounding": Rounding.TRN}),
    "rnd_min_inf_as_rnd_zero": (Rounding.RND_MIN_INF, {"rounding": Rounding.RND_ZERO}),
    "sat_sym_as_sat": (Overflow.SAT_SYM, {"overflow": Overflow.SAT}),
    "wrap_sm_as_wrap": (Overflow.WRAP_SM, {"overflow": Overflow.WRAP}),
}


@pytest.mark.parametrize("sabotage", sorted(SABOTAGE))
def test_harness_detects_wrong_mode(driver, monkeypatch, sabotage):
    """Make trigc.fixed use a wrong mode for one mode's types: the comparison must fail."""
    victim, swap = SABOTAGE[sabotage]

    def wrong(t: FixedType) -> FixedType:
        return t.with_modes(**swap) if victim in (t.rounding, t.overflow) else t

    real_quantize, real_requantize = fixed.quantize, fixed.requantize
    monkeypatch.setattr(fixed, "quantize", lambda x, dst, **kw: real_quantize(x, wrong(dst), **kw))
    monkeypatch.setattr(fixed, "requantize", lambda raw, frac, dst, **kw: real_requantize(
        raw, frac, wrong(dst), **kw))
    ids = [i for i, k in enumerate(POOL) if victim in (k.dst.rounding, k.dst.overflow)]
    kernel_ids, inputs = _bulk(ids, BULK_SEED + 2)
    with pytest.raises(AssertionError, match="differ from ap_fixed.h") as info:
        check_cases(driver, kernel_ids, inputs)
    # the report names the conversion, the input and both results
    assert "trigc.fixed ->" in str(info.value) and "ap_fixed.h ->" in str(info.value)


# ---- regressions ---------------------------------------------------------------------

def test_sat_sym_one_bit_signed(driver):
    """ap_fixed<1,I,Q,AP_SAT_SYM> keeps -1 LSB for negative inputs (its SAT_SYM underflow
    check is `_AP_W > 1 ? V[W-2:0] == 0 : true`, and overflow_adjust then writes V = 1);
    there is no symmetric range in one signed bit, so it behaves like AP_SAT."""
    ids = [i for i, k in enumerate(POOL) if k.dst.signed and k.dst.width == 1
           and k.dst.overflow is Overflow.SAT_SYM]
    assert len(ids) == 2 * len(Rounding)
    kernel_ids, inputs = [], []
    for i in ids:
        k = POOL[i]
        f = k.dst.frac_bits
        if k.src is None:
            vals = [_ldexp(m, -f - 2) for m in (-16, -5, -4, -3, -2, -1, 1, 2, 4)] + [-1e-300]
        else:
            vals = sorted({_clamp(v, k.src) for v in (k.src.min_raw, -1, 0, 1, k.src.max_raw)})
        kernel_ids += [i] * len(vals)
        inputs += vals
    check_cases(driver, kernel_ids, inputs)

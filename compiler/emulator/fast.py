"""The emulator's fast path: a C kernel generated per final-IR graph (see
:mod:`trigc.emulator.fastgen`), compiled for the host CPU, cached, and called once per
batch through ctypes on several threads.

The kernel computes exactly what the interpreter computes (every op's exact result,
then the assignment to its output type), in plain integer arithmetic, or in float
arithmetic only where the IR's types prove every partial sum exactly representable.
The build is cached under ``$TRIGC_CACHE_DIR/fast/<key>/`` with a SHA-256 sidecar
(:func:`trigc.outputs.cached`); the key covers the source, the compiler, its flags
and the host CPU's identity (model and feature flags), so a cache copied to another
machine never runs a binary built for a different CPU.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import threading
import weakref
from pathlib import Path

import numpy as np

from trigc.emulator.fastgen import EVENTS_MIN, WORKSPACE_BYTES, Unsupported, assign_c
from trigc.emulator.fastops import EMITTERS, Program
from trigc.errors import TrigcError, UnsupportedOpError
from trigc.fixed import FixedType, Rounding, quantize, to_float
from trigc.ir.graph import Graph, Tensor
from trigc.outputs import cache_root, cache_sidecar, cached, publish

log = logging.getLogger(__name__)

CFLAGS = ["-O3", "-march=native", "-std=gnu11", "-fPIC", "-shared", "-pthread", "-w",
          "-fno-math-errno"]
"""The kernel's compiler flags (no -ffast-math: float rounding must stay IEEE)."""

def _nearest(ties_up: str) -> str:
    return f"(floor(s) + ((s > floor(s) + 0.5) | ((s == floor(s) + 0.5) & ({ties_up}))))"


_ROUND_DOUBLE = {
    Rounding.TRN: "floor(s)", Rounding.TRN_ZERO: "trunc(s)", Rounding.RND_CONV: "rint(s)",
    Rounding.RND: _nearest("1"), Rounding.RND_MIN_INF: _nearest("0"),
    Rounding.RND_INF: _nearest("s > 0"), Rounding.RND_ZERO: _nearest("s < 0"),
}
"""``quantize``'s float64 roundings (trigc.fixed), the same operations in C: round to
nearest compares with the exact half-point of the floor, never adds 0.5."""


class FastPathError(TrigcError, RuntimeError):
    """The fast path was asked for but cannot run (no C compiler, or a failed build)."""


# ---- C source -------------------------------------------------------------------------

def _float_inputs_ok(t: FixedType) -> bool:
    """Whether ``quantize`` takes its float64 path for this type (else: raw inputs)."""
    return t.width <= 50 and -1000 <= t.frac_bits <= 1000


def _quantize_input(p: Program, k: int, t: Tensor, xt: str) -> list[str]:
    """Quantize input ``k``'s float64 values as ``quantize`` does: first transposed to
    events-last into ``xt`` (zeros past ``count``), then one vectorized loop."""
    b = p.bufs[id(t)]
    ty = t.type
    stmts = assign_c("v", -(1 << 52), 1 << 52, ty.frac_bits, ty, "q",
                     floor="(int64_t)floor(s)")
    return [f"{{ const double *xk = (const double *)x[{k}] + start * {b.size}L;",
            "  for (int e = 0; e < count; e++)",
            f"    for (int i = 0; i < {b.size}; i++) {xt}[i * B + e] = xk[e * {b.size}L + i];",
            "  for (int e = count; e < B; e++)",
            f"    for (int i = 0; i < {b.size}; i++) {xt}[i * B + e] = 0.0;",
            f"  for (int i = 0; i < {b.size}; i++)",
            "    for (int e = 0; e < B; e++) {",
            f"      double s = {xt}[i * B + e] * 0x1p{ty.frac_bits};",
            "      const int ok = fabs(s) < 0x1p52;  /* false for NaN and inf too */",
            "      bad += !ok;",
            "      s = ok ? s : 0.0;",
            f"      int64_t v = (int64_t){_ROUND_DOUBLE[ty.rounding]};",
            *("      " + s for s in stmts),
            f"      {b.name}[i * B + e] = ({b.ctype})q;",
            "    }", "}"]


def _load_raw(p: Program, k: int, t: Tensor) -> list[str]:
    b = p.bufs[id(t)]
    return [f"{{ const int64_t *xk = (const int64_t *)x[{k}];",
            f"  for (int i = 0; i < {b.size}; i++)",
            f"    for (int e = 0; e < B; e++) {b.name}[i * B + e] = "
            f"e < count ? ({b.ctype})xk[(start + e) * {b.size}L + i] : 0;", "}"]


_RUNTIME = r"""
/* Threads take runs of GRAB blocks from a shared counter: on a shared machine a core
   that is slowed down takes fewer, instead of holding up the whole call. */
#define GRAB 16
typedef struct { const void *const *x; void *const *y; long n, blocks; long *next; int raw;
                 long bad; } job_t;

static void *work(void *arg) {
  job_t *job = (job_t *)arg;
  char *ws = (char *)aligned_alloc(64, WS_BYTES);
  if (!ws) { job->bad = -1; return 0; }
  memset(ws, 0, WS_BYTES);
  for (;;) {
    long first = __atomic_fetch_add(job->next, GRAB, __ATOMIC_RELAXED);
    if (first >= job->blocks) break;
    long last = first + GRAB < job->blocks ? first + GRAB : job->blocks;
    for (long blk = first; blk < last; blk++) {
      long start = blk * B, count = job->n - start < B ? job->n - start : B;
      if (job->raw & 1) load_raw(job->x, start, count, ws);
      else job->bad += quantize_inputs(job->x, start, count, ws);
      compute(ws);
      store(job->y, start, count, ws, job->raw & 2);
    }
  }
  free(ws);
  return 0;
}

/* raw: bit 0, the inputs are raw int64 (else float64 to quantize); bit 1, write float64
   outputs (else raw int64). Returns the number of inputs too large or not finite to
   quantize in C (the caller then quantizes them), or -1 when out of memory. */
long trigc_fast_run(const void *const *x, void *const *y, long n, int threads, int raw) {
  long blocks = (n + B - 1) / B;
  if (threads < 1) threads = 1;
  long runs = (blocks + GRAB - 1) / GRAB;
  if (threads > runs) threads = runs > 0 ? (int)runs : 1;
  job_t jobs[64];
  pthread_t tid[64];
  long next = 0;
  if (threads > 64) threads = 64;
  for (int t = 0; t < threads; t++) jobs[t] = (job_t){x, y, n, blocks, &next, raw, 0};
  for (int t = 1; t < threads; t++) pthread_create(&tid[t], 0, work, &jobs[t]);
  work(&jobs[0]);
  long bad = jobs[0].bad;
  for (int t = 1; t < threads; t++) {
    pthread_join(tid[t], 0);
    if (jobs[t].bad < 0 || bad < 0) bad = -1; else bad += jobs[t].bad;
  }
  return bad;
}
"""


def generate(graph: Graph) -> tuple[str, dict]:
    """The C source of ``graph``'s kernel and what the caller needs to call it
    (Unsupported when the graph has an op or a width the fast path cannot do)."""
    p = Program()
    for t in graph.inputs:
        p.new_buf(t)
    for node in graph.nodes:
        emitter = EMITTERS.get(node.op)
        if emitter is None:
            raise Unsupported(f"{node.op.value} node {node.name!r} has no C emitter")
        out = p.new_buf(node.output)
        try:
            emitter(p, node, out)
        except Unsupported as exc:
            raise Unsupported(f"{node.op.value} node {node.name!r}: {exc}") from None
    for t in graph.outputs:
        if id(t) not in p.bufs:
            raise Unsupported(f"output {t.name!r} is not computed at run time")
    float_ok = all(_float_inputs_ok(t.type) for t in graph.inputs)
    staging = [p.scratch_buf("double", t.size) for t in graph.inputs] if float_ok else []
    bufs = list(p.bufs.values()) + p.scratch
    per_event = sum(b.size * (8 if b.ctype in ("int64_t", "double") else 4) for b in bufs)
    events = 64
    while events > EVENTS_MIN and events * per_event > WORKSPACE_BYTES:
        events //= 2
    offsets, total = {}, 0
    for b in bufs:
        offsets[b.name] = total
        total += -(-(b.size * events * 8) // 64) * 64
    decls = [f"{b.ctype} *restrict {b.name} = ({b.ctype} *)(ws + {offsets[b.name]}L);"
             for b in bufs]
    in_decls = decls[:len(graph.inputs)]
    staging_decls = [d for d in decls if any(f" {b.name} = " in d for b in staging)]
    quant = [s for k, t in enumerate(graph.inputs)
             for s in _quantize_input(p, k, t, staging[k].name)] if float_ok else []
    raw = [s for k, t in enumerate(graph.inputs) for s in _load_raw(p, k, t)]
    store = []
    for k, t in enumerate(graph.outputs):
        b = p.bufs[id(t)]
        frac = t.type.frac_bits
        scale = f"0x1p{-frac}" if -1000 <= frac <= 1000 else "0.0"
        store += [f"if (as_float) {{ double *yk = (double *)y[{k}];",
                  "  for (int e = 0; e < count; e++)",
                  f"    for (int i = 0; i < {b.size}; i++) yk[(start + e) * {b.size}L + i] = "
                  f"(double){b.name}[i * B + e] * {scale};",
                  f"}} else {{ int64_t *yk = (int64_t *)y[{k}];",
                  "  for (int e = 0; e < count; e++)",
                  f"    for (int i = 0; i < {b.size}; i++) yk[(start + e) * {b.size}L + i] = "
                  f"{b.name}[i * B + e];", "}"]
    float_out = all(-1000 <= t.type.frac_bits <= 1000 for t in graph.outputs)
    src = "\n".join([
        "/* generated by trigc: the fast emulator kernel of graph "
        f"{graph.name!r} */",
        "#include <stdint.h>", "#include <stdlib.h>", "#include <string.h>",
        "#include <math.h>", "#include <pthread.h>", "#include <immintrin.h>",
        f"#define B {events}", f"#define WS_BYTES {max(total, 64)}L",
        "typedef float vf32 __attribute__((vector_size(64)));",
        "typedef double vf64 __attribute__((vector_size(64)));",
        "typedef int64_t vi64 __attribute__((vector_size(64)));",
        "static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }",
        "static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }",
        *p.decls,
        "static long quantize_inputs(const void *const *x, long start, long count, char *ws) {",
        "  long bad = 0;", *("  " + d for d in in_decls + staging_decls),
        *("  " + s for s in quant), "  return bad;", "}",
        "static void load_raw(const void *const *x, long start, long count, char *ws) {",
        *("  " + d for d in in_decls), *("  " + s for s in raw), "}",
        "static void compute(char *ws) {", *("  " + d for d in decls),
        *("  " + s for s in p.body), "}",
        "static void store(void *const *y, long start, long count, char *ws, int as_float) {",
        *("  " + d for d in decls), *("  " + s for s in store), "}",
        _RUNTIME])
    meta = {"float_inputs": float_ok, "float_outputs": float_out, "events_per_block": events,
            "vnni": "_mm512_dpbusd_epi32" in src,
            "macs": _macs(graph)}
    return src, meta


def _macs(graph: Graph) -> int:
    """Non-zero multiply-accumulates per event of Dense and Conv nodes."""
    total = 0
    for node in graph.nodes:
        if node.op.value in ("Dense", "Conv") and node.inputs[1].is_constant:
            nz = int(np.count_nonzero(node.inputs[1].raw))
            cout = node.inputs[1].shape[-1]
            total += nz * (node.output.size // max(cout, 1))
    return total


# ---- build and cache ---------------------------------------------------------------------

def compiler() -> str | None:
    """The C compiler (``$CC``, else gcc, else cc), or None when there is none."""
    for cc in (os.environ.get("CC"), "gcc", "cc"):
        if cc and shutil.which(cc):
            return cc
    return None


@functools.lru_cache(maxsize=None)
def _host_identity(cc: str) -> str:
    """The compiler's version and the CPU's model and feature flags."""
    parts = [platform.machine(), platform.system(), _compiler_version(cc)]
    try:
        info = Path("/proc/cpuinfo").read_text().splitlines()
        for key in ("model name", "flags", "Features", "CPU part"):
            parts += [line for line in info if line.startswith(key)][:1]
    except OSError:
        parts.append(platform.processor())
    return "\n".join(parts)


def _compiler_version(cc: str) -> str:
    """The first line of ``cc --version``, remembered on disk per compiler binary (its
    resolved path, size and modification time): running the compiler costs a fresh
    process about 10 ms, a third of a first emulate() call on 100k events."""
    try:
        exe = Path(shutil.which(cc) or cc).resolve()
        st = exe.stat()
        memo = cache_root() / "fast" / "compilers" / hashlib.sha256(
            f"{exe}\0{st.st_size}\0{st.st_mtime_ns}".encode()).hexdigest()[:24]
        try:
            return memo.read_text()
        except (OSError, UnicodeDecodeError):
            pass
        version = subprocess.run([cc, "--version"], capture_output=True, text=True,
                                 timeout=60).stdout.splitlines()[0]
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_name(f".{memo.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(version)
        tmp.replace(memo)
        return version
    except (OSError, subprocess.SubprocessError, IndexError):
        return cc


def cache_key(source: str, cc: str) -> str:
    h = hashlib.sha256()
    for part in (source, cc, " ".join(CFLAGS), _host_identity(cc)):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:24]


def artifact_path(source: str, cc: str) -> Path:
    return cache_root() / "fast" / cache_key(source, cc) / "libtrigc_fast.so"


def build(source: str, cc: str) -> Path:
    """The kernel's shared library, from the cache when verified, else compiled."""
    artifact = artifact_path(source, cc)
    if cached(artifact, "fast emulator cache"):
        return artifact
    artifact.parent.mkdir(parents=True, exist_ok=True)
    tmp = artifact.with_name(f".{artifact.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    src = artifact.parent / "kernel.c"
    src_tmp = src.with_name(f".kernel.c.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        src_tmp.write_text(source)
        src_tmp.replace(src)
        cmd = [cc, *CFLAGS, str(src), "-o", str(tmp), "-lm"]
        log.info("building the fast emulator kernel: %s", " ".join(cmd))
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = "\n".join(proc.stderr.strip().splitlines()[-20:])
            raise FastPathError(f"{cc} failed to build the fast emulator kernel:\n{tail}")
        publish(tmp, artifact)
    finally:
        for path in (tmp, cache_sidecar(tmp), src_tmp):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
    return artifact


class FastKernel:
    """A loaded kernel: ``run(arrays, workers)`` gives every output's raw integers."""

    def __init__(self, graph: Graph, path: Path, meta: dict) -> None:
        self.lib = ctypes.CDLL(str(path))
        self.fn = self.lib.trigc_fast_run
        self.fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_long, ctypes.c_int,
                            ctypes.c_int]
        self.fn.restype = ctypes.c_long
        self.meta = meta
        self.inputs = [(t.shape, t.type) for t in graph.inputs]
        self.outputs = [t.shape for t in graph.outputs]
        self.output_types = [t.type for t in graph.outputs]

    def _call(self, xs: list[np.ndarray], ys: list[np.ndarray], n: int, threads: int,
              mode: int) -> int:
        xp = (ctypes.c_void_p * len(xs))(*[x.ctypes.data for x in xs])
        yp = (ctypes.c_void_p * len(ys))(*[y.ctypes.data for y in ys])
        return self.fn(xp, yp, n, threads, mode)

    def run(self, arrays: list[np.ndarray], workers: int, raw: bool = True) -> list[np.ndarray]:
        """Every output's raw integers, or (``raw=False``) real values, for a batch."""
        n = arrays[0].shape[0]
        as_float = not raw and self.meta["float_outputs"]
        dtype = np.float64 if as_float else np.int64
        ys = [np.empty((n, *shape), dtype=dtype) for shape in self.outputs]
        mode = 2 if as_float else 0
        bad = 1
        if self.meta["float_inputs"]:
            xs = [np.ascontiguousarray(x, dtype=np.float64) for x in arrays]
            bad = self._call(xs, ys, n, workers, mode)
        if bad:  # NaN, huge or very wide inputs: numpy's quantize (which raises on NaN)
            xs = [np.ascontiguousarray(quantize(x, t), dtype=np.int64)
                  for x, (_, t) in zip(arrays, self.inputs)]
            if self._call(xs, ys, n, workers, mode | 1) < 0:
                raise FastPathError("the fast emulator kernel could not allocate memory")
        if not raw and not as_float:
            ys = [to_float(y, t) for y, t in zip(ys, self.output_types)]
        return ys


# ---- per graph ------------------------------------------------------------------------------

class _Entry:
    def __init__(self, fingerprint) -> None:
        self.fingerprint = fingerprint
        self.source: str | None = None
        self.meta: dict = {}
        self.reason: str | None = None  # why the graph has no fast path
        self.kernel: FastKernel | None = None
        self.lock = threading.Lock()


_ENTRIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def fingerprint(graph: Graph) -> tuple:
    """What the generated source depends on, cheaply: a changed node, type or
    constant gives a new kernel."""
    return (tuple((n.op, id(n.attrs), tuple(map(id, n.inputs)), id(n.output), n.output.type)
                  for n in graph.nodes),
            tuple((id(t), t.type, id(t.value)) for t in graph.tensors.values()),
            tuple(map(id, graph.inputs)), tuple(map(id, graph.outputs)))


def _entry(graph: Graph) -> _Entry:
    fp = fingerprint(graph)
    with _LOCK:
        entry = _ENTRIES.get(graph)
        if entry is None or entry.fingerprint != fp:
            entry = _Entry(fp)
            _ENTRIES[graph] = entry
    with entry.lock:
        if entry.source is None and entry.reason is None:
            try:
                entry.source, entry.meta = generate(graph)
            except Unsupported as exc:
                entry.reason = str(exc)
                log.info("fast emulator: graph %r falls back to the interpreter: %s",
                         graph.name, exc)
    return entry


def unsupported_reason(graph: Graph) -> str | None:
    """Why ``graph`` has no fast path (None when it has one)."""
    return _entry(graph).reason


def kernel(graph: Graph, build_if_missing: bool = True) -> FastKernel | None:
    """The loaded kernel of ``graph``; None when the graph has no fast path, or when
    it is not built yet and ``build_if_missing`` is False."""
    entry = _entry(graph)
    if entry.reason is not None:
        return None
    with entry.lock:
        if entry.kernel is None:
            cc = compiler()
            if cc is None:
                raise FastPathError("no C compiler found for the fast emulator (install gcc "
                                    "or set CC), or emulate with engine='interpreter'")
            if not build_if_missing and not artifact_path(entry.source, cc).is_file():
                return None
            entry.kernel = FastKernel(graph, build(entry.source, cc), entry.meta)
    return entry.kernel


def require(graph: Graph) -> FastKernel:
    """The kernel, or an error saying why the graph cannot take the fast path."""
    k = kernel(graph)
    if k is None:
        raise UnsupportedOpError(f"graph {graph.name!r} has no fast emulator path: "
                                 f"{unsupported_reason(graph)}; use engine='interpreter'")
    return k


def macs_per_event(graph: Graph) -> int:
    return _macs(graph)


__all__ = ["FastKernel", "FastPathError", "generate", "kernel", "macs_per_event", "require",
           "unsupported_reason"]

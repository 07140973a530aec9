"""Shared helpers of the benchmark: paths, per-step memory and CPU accounting, machine info.

Only the standard library (numpy is imported lazily), so that the step processes
pay nothing here that a user's script would not pay.

Peak RSS per step
-----------------
Linux keeps a per-process high-water mark of the resident set (``VmHWM``);
writing ``5`` to ``/proc/self/clear_refs`` resets it to the current RSS. Each step
resets it, runs, and reads it back, so the peak is the step's own (including the
memory the process already held: the imported frameworks, the model). Compiler
subprocesses (g++, cc1plus) are separate processes: their largest peak is
``getrusage(RUSAGE_CHILDREN).ru_maxrss``, reported separately for the build step.
"""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"


def _status_kb(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    m = re.search(rf"^{field}:\s+(\d+)\s+kB", text, re.M)
    return int(m.group(1)) if m else 0


def rss_mb() -> float:
    return _status_kb("VmRSS") / 1024


def reset_peak() -> bool:
    """Reset this process's RSS high-water mark (Linux >= 4.0). False when not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_mb() -> float:
    return _status_kb("VmHWM") / 1024


def _descendants_rss_kb(root: int) -> int:
    """Summed RSS of every live descendant of ``root`` (from /proc)."""
    parent, rss = {}, {}
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            parent[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * page_kb
        except (OSError, ValueError, IndexError):
            continue
    children: dict[int, list[int]] = {}
    for pid, ppid in parent.items():
        children.setdefault(ppid, []).append(pid)
    total, stack = 0, list(children.get(root, []))
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


class ChildrenMonitor:
    """Samples the summed RSS of this process's descendants (g++, cc1plus, the shell
    of hls4ml's build script) every ``interval`` seconds on a thread; ``peak_mb``.

    (``getrusage(RUSAGE_CHILDREN).ru_maxrss`` cannot be used: a child forked from a
    large Python process inherits its RSS high-water mark before exec.)"""

    def __init__(self, interval: float = 0.05) -> None:
        import threading

        self.interval, self.peak_kb = interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, _descendants_rss_kb(me))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        return False

    @property
    def peak_mb(self) -> float:
        return self.peak_kb / 1024


def cpu_seconds() -> tuple[float, float]:
    """(this process, its waited-for children) user + system CPU seconds."""
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime, c.ru_utime + c.ru_stime


class Step:
    """Times one step: wall, CPU (self + children), peak RSS, load average.

    ``with Step(record, "build") as st: ...`` stores a dict under record["build"]."""

    def __init__(self, record: dict, name: str, reset: bool = True) -> None:
        self.record, self.name, self.reset = record, name, reset

    def __enter__(self):
        self.rss0 = rss_mb()
        self.reset_ok = reset_peak() if self.reset else False
        self.cpu0 = cpu_seconds()
        self.load0 = os.getloadavg()[0]
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, exc_type, exc, tb):
        wall = time.perf_counter() - self.t0
        cpu1 = cpu_seconds()
        self.record[self.name] = {
            "wall_s": wall,
            "cpu_s": cpu1[0] - self.cpu0[0],
            "child_cpu_s": cpu1[1] - self.cpu0[1],
            "peak_rss_mb": peak_mb(),
            "rss_before_mb": self.rss0,
            "peak_is_step_local": self.reset_ok,
            "load1_start": self.load0,
            "load1_end": os.getloadavg()[0],
        }
        return False


def write_json(path: Path, data) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True, default=_json_default))
    tmp.replace(path)


def _json_default(obj):
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:
        pass
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj)}")


def read_json(path: Path):
    return json.loads(Path(path).read_text())


def _cmd(args: list[str]) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        m = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
        mem_gb = round(int(m.group(1)) / 1024**2, 1) if m else None
    except OSError:
        pass
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    gxx = _cmd([os.environ.get("CXX", "g++"), "--version"]).splitlines()
    return {
        "hostname": platform.node(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cores_usable": affinity,
        "memory_gb": mem_gb,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "gxx": gxx[0] if gxx else None,
        "packages": {d: _version(d) for d in (
            "trigc", "hls4ml", "numpy", "tensorflow", "tf_keras", "qkeras", "torch",
            "brevitas", "qonnx", "onnx")},
        "env": {k: os.environ.get(k) for k in (
            "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "CXX")},
    }


def git_revision() -> dict:
    rev = _cmd(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = bool(_cmd(["git", "-C", str(ROOT), "status", "--porcelain", "--", "compiler",
                       "hls_templates"]))
    return {"commit": rev or None, "compiler_tree_dirty": dirty}


def python_env(extra: dict | None = None) -> dict:
    """Environment of the step processes: legacy Keras for QKeras, quiet TensorFlow."""
    env = dict(os.environ)
    env["TF_USE_LEGACY_KERAS"] = "1"
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.update(extra or {})
    return env


def log(msg: str) -> None:
    print(msg, flush=True)
    sys.stdout.flush()

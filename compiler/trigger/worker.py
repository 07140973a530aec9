"""One chunk of events through the model and the menu, in whichever process runs it
(the main process, a local worker process, or a Dask worker)."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass

import numpy as np

from trigc.trigger.errors import EventDataError
from trigc.trigger.inputs import InputPlan
from trigc.trigger.menu import Menu
from trigc.trigger.readers import EventSource

BACKENDS = ("emulator", "csim")

_PROJECTS: dict = {}
_PROJECTS_LOCK = threading.Lock()
_CSIM_LOCK = threading.Lock()  # the generated C++ keeps static state: one batch at a time


@dataclass(frozen=True)
class Job:
    """Everything a worker needs; pickled once per worker (Dask: scattered once)."""

    project: str  # project directory (visible to the workers at this path)
    backend: str
    source: EventSource
    plan: InputPlan
    menu: Menu
    threads: int | None = None  # emulator threads per chunk (None: every core)


@dataclass(frozen=True)
class Chunk:
    start: int
    stop: int
    data: dict | None = None  # filled by the main process when workers cannot read


@dataclass
class ChunkResult:
    start: int
    stop: int
    raw: list  # raw int64 outputs, one (n, *shape) array per graph output
    bits: np.ndarray  # (n, n_bits) unprescaled decisions
    labels: np.ndarray | None
    seconds: float  # time spent in the model


def project_for(path: str):
    """The Project at ``path``, loaded once per process (reloaded if trigc.json changes)."""
    from trigc.project import Project

    key = (path, os.stat(os.path.join(path, "trigc.json")).st_mtime_ns)
    with _PROJECTS_LOCK:
        if key not in _PROJECTS:
            _PROJECTS[key] = Project(path)
        return _PROJECTS[key]


def run_model(project, backend: str, inputs: list, threads: int | None = None) -> list:
    """Raw outputs of one batch, as int64 arrays (one per graph output)."""
    if backend == "csim":
        with _CSIM_LOCK:
            out = project.csim(*inputs, raw=True)
    else:
        from trigc.emulator import emulate

        out = emulate(project.graph, *inputs, raw=True, workers=threads)
    out = out if isinstance(out, list) else [out]
    return [np.asarray(o).astype(np.int64, copy=False) for o in out]


def process_chunk(job: Job, chunk: Chunk) -> ChunkResult:
    data = chunk.data
    if data is None:
        data = job.source.read(chunk.start, chunk.stop, job.plan.columns)
    inputs = job.plan.assemble(data)
    check_finite(job, chunk.start, inputs)
    labels = job.plan.labels_of(data)
    del data
    started = time.perf_counter()
    with _one_blas_thread():
        raw = run_model(project_for(job.project), job.backend, inputs, job.threads)
    seconds = time.perf_counter() - started
    return ChunkResult(chunk.start, chunk.stop, raw, job.menu.evaluate(raw), labels, seconds)


def check_finite(job: Job, start: int, inputs: list) -> None:
    """NaN and infinity have no fixed-point value: refuse them, naming the event, for
    every backend alike (the C-sim would otherwise saturate them to the maximum)."""
    for (name, _, columns), x in zip(job.plan.inputs, inputs):
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(np.sum(x)):  # NaN and inf propagate into the sum (fast path)
                continue
        bad = ~np.isfinite(x.reshape(len(x), -1)).all(axis=1)
        if bad.any():  # else finite values whose sum overflowed
            event = start + int(np.argmax(bad))
            raise EventDataError(
                f"{job.source.path}: event {event} has NaN or infinite values in model input "
                f"{name!r} (columns {', '.join(columns)}; {int(bad.sum())} of events "
                f"{start}..{start + len(x) - 1} have them); the firmware has no value for them: "
                "clean the data first (drop those events or replace the values)")


def _one_blas_thread():
    """One BLAS thread per chunk: the emulator's GEMMs are (chunk x 16..64) by small
    weight matrices, where OpenBLAS threads cost more than they give (measured: 84k
    events/s with 2 threads, 163k with 1, jet-tagger MLP on 2 cores), and parallelism
    comes from workers anyway."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


__all__ = ["BACKENDS", "Chunk", "ChunkResult", "Job", "check_finite", "process_chunk",
           "project_for", "run_model"]

"""Run a compiled model and a menu over an event file: chunks in parallel (local worker
processes or a Dask cluster), results merged in event order.

Only the per-chunk work (reading, the model, the bits' conditions) runs in
parallel. Everything order-dependent runs in the main process, on results taken
strictly in event order: prescale counters, the L1 accept, statistics, the decision
file and the golden comparison. So the decisions do not depend on the chunk size,
the number of workers or Dask. At most ``2 x workers`` chunks are in flight, which
bounds memory whatever the file size.
"""

from __future__ import annotations

import collections
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trigc.errors import ConfigError
from trigc.trigger.decisions import (
    decision_column_names, decision_columns, decision_meta, open_writer,
)
from trigc.trigger.errors import WorkerError
from trigc.trigger.files import check_outputs, event_file
from trigc.trigger.golden import GoldenComparer, GoldenReport
from trigc.trigger.inputs import plan_inputs
from trigc.trigger.menu import Menu, Prescaler, default_outputs, load_menu
from trigc.trigger.readers import open_events
from trigc.trigger.stats import Stats
from trigc.trigger.worker import BACKENDS, Chunk, Job, process_chunk

log = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 50_000
WORKERS_PER_CORE = 4  # more local processes than this only cost memory


def max_workers() -> int:
    """The most local worker processes a run may start on this machine."""
    return WORKERS_PER_CORE * (os.cpu_count() or 1)


def check_workers(workers) -> int | str:
    """``workers`` if it is ``"auto"`` or a whole number 1..max_workers(), else a
    WorkerError saying what to pass instead."""
    if workers == "auto":
        return workers
    limit, cores = max_workers(), os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise WorkerError(f"--workers takes a whole number 1..{limit} or 'auto', not "
                          f"{workers!r:.40}")
    if workers > limit:
        raise WorkerError(f"--workers {workers} is more than {WORKERS_PER_CORE} per core "
                          f"({limit} on this machine with {cores} cores); use --workers auto "
                          f"(one per core) or at most {limit}")
    return workers


@dataclass
class RunResult:
    events: int
    seconds: float
    model_seconds: float  # summed over workers
    backend: str
    workers: str  # "1", "2", or "dask at tcp://..."
    stats: Stats
    golden: GoldenReport | None = None
    out: str | None = None

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("inf")

    def headline(self) -> str:
        where = self.workers if self.workers.startswith("Dask") else \
            f"{self.workers} worker{'s' * (self.workers != '1')}"
        return (f"emulated {self.events} events with the {self.backend} backend ({where}) "
                f"in {self.seconds:.2f} s: {self.events_per_second:,.0f} events/s")


def _chunks(n: int, size: int) -> list:
    return [(start, min(start + size, n)) for start in range(0, n, size)]


def _fast_kernel(graph) -> None:
    from trigc.emulator import fast

    if fast.compiler() is not None and os.environ.get("TRIGC_EMULATOR") != "interpreter":
        fast.kernel(graph)


def _local_results(job: Job, chunks, workers: int, read_in_main):
    if workers == 1:
        # One process, overlapped: the main thread reads chunk k+1 (and merges and
        # writes the decisions of chunk k-1) while a thread emulates chunk k and
        # evaluates the menu on it (the C kernel and numpy release the GIL).
        with ThreadPoolExecutor(1) as pool:
            yield from _ordered(lambda c: pool.submit(process_chunk, job, read_in_main(c)),
                                chunks, 2, lambda f: f.result())
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # fork: workers start at once with trigc imported, and a caller's unguarded script
    # is not re-run in each worker (as spawn and forkserver would)
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_ignore_sigint)
    finished = False
    try:
        for ready in [pool.submit(os.getpid) for _ in range(workers)]:
            ready.result()  # fork every worker now, before the main process reads data
        yield from _ordered(lambda c: pool.submit(process_chunk, job, read_in_main(c)),
                            chunks, 2 * workers, lambda f: f.result())
        finished = True
    except BrokenProcessPool:
        raise WorkerError(
            f"a worker process died (out of memory?) while emulating with {workers} workers; "
            "use fewer --workers or a smaller --chunk-size, or --workers 1 to see the "
            "error in the main process") from None
    finally:
        _stop(pool, terminate=not finished)


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the main process, which stops them (one message, not one
    traceback per worker)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _stop(pool, terminate: bool) -> None:
    """Shut the pool down. After Ctrl-C or an error (``terminate``), queued chunks are
    cancelled; the workers (which ignore SIGINT) finish the chunk they hold, at most
    ``--chunk-size`` events, and exit. They are not killed: a worker killed while it
    writes its result leaves the pool's reader thread blocked on a half-written
    message, and the process then hangs at exit."""
    pool.shutdown(wait=True, cancel_futures=terminate)


def _dask_results(job: Job, chunks, address: str, read_in_main):
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("--dask needs the 'distributed' package: pip install "
                          "'dask[distributed]'") from None
    try:
        client = Client(address, set_as_default=False, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise ConfigError(f"Cannot connect to the Dask scheduler at {address!r}: {exc}; "
                          "start one with `dask scheduler` (and `dask worker ADDR` on each "
                          "machine), or drop --dask to run locally") from None
    with client:
        threads = sum(client.nthreads().values()) or 1
        shared = client.scatter(job, broadcast=True)
        yield from _ordered(lambda c: client.submit(process_chunk, shared, read_in_main(c),
                                                    pure=False),
                            chunks, 2 * threads, lambda f: f.result())


def _ordered(submit, chunks, in_flight: int, result):
    """Submit chunks with at most ``in_flight`` outstanding; yield results in order."""
    pending = collections.deque()
    todo = iter(chunks)
    for chunk in todo:
        pending.append(submit(chunk))
        if len(pending) >= in_flight:
            break
    while pending:
        done = result(pending.popleft())
        chunk = next(todo, None)
        if chunk is not None:
            pending.append(submit(chunk))
        yield done


def _progress(total: int, enabled: bool | None):
    from tqdm import tqdm

    return tqdm(total=total, unit="ev", unit_scale=True, desc="emulate",
                disable=None if enabled is None else not enabled,
                dynamic_ncols=True, smoothing=0.3)


def prepare_menu(project, menu, *, bunches: dict | None = None, labels: dict | None = None,
                 inputs: dict | None = None) -> Menu:
    menu = load_menu(menu, project.graph) if menu is not None else \
        Menu(default_outputs(project.graph))
    wide = [o for o in menu.outputs if o.type.width > 62]
    if wide:
        raise ConfigError(f"Output {wide[0].tensor} is {wide[0].type}; trigger emulation "
                          "handles outputs of at most 62 bits")
    return menu.with_overrides(bunches=bunches, labels=labels, inputs=inputs)


def emulate_events(project, data, menu=None, *, out=None, golden=None, junit=None,
                   backend: str = "emulator", workers: int | str = 1, dask: str | None = None,
                   chunk_size: int = DEFAULT_CHUNK_SIZE, max_events: int | None = None,
                   mapping: dict | None = None, labels: str | None = None,
                   background=None, bunches: dict | None = None, tree: str | None = None,
                   compare_raw: bool = True, max_listed: int = 10,
                   progress: bool | None = False) -> RunResult:
    """Emulate a menu over an event file; see ``trigc emulate --help`` for the options.

    ``project`` is a :class:`trigc.Project` or its directory; ``menu`` a TOML/YAML path,
    a dict or a Menu (None: raw outputs only). Returns counts, rates, efficiencies and
    overlaps (``result.stats``) and, with ``golden``, the comparison report.
    ``workers="auto"`` uses one process per core, at most one per chunk."""
    from trigc.project import Project

    if backend not in BACKENDS:
        raise ConfigError(f"Backend must be one of {BACKENDS}, not {backend!r}")
    workers = check_workers(workers)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ConfigError(f"chunk_size must be a whole number >= 1, not {chunk_size!r:.40}")
    project = project if isinstance(project, Project) else Project(project)
    check_outputs({"--out": out, "--junit": junit},
                  {"--data": event_file(data), "--golden": golden,
                   "--menu": menu if isinstance(menu, (str, Path)) else None}, project.path)
    label_over = {k: v for k, v in (("column", labels), ("background", background))
                  if v is not None}
    menu = prepare_menu(project, menu, bunches=bunches, labels=label_over, inputs=mapping)
    source = open_events(data, tree)
    if labels is None and menu.labels.column and menu.labels.column not in source.columns:
        log.warning("%s has no label column %r (named in the menu): no efficiencies, rates "
                    "on all events", data, menu.labels.column)
        menu = menu.with_overrides(labels={"column": None})
    plan = plan_inputs(source, project.graph.inputs, menu.inputs, menu.labels.column)
    n = plan.n_events if max_events is None else min(plan.n_events, max_events)
    if n == 0:
        raise ConfigError(f"{data} has no events to emulate")
    if backend == "csim":
        project.csim(*[np.zeros((1, *t.shape)) for t in project.graph.inputs])  # build once
    else:  # the emulator's C kernel, built (or found in the cache) once, before the workers
        _fast_kernel(project.graph)
    chunks = _chunks(n, chunk_size)
    cores = os.cpu_count() or 1
    if workers == "auto":  # one per core, but no pool for a file of one chunk
        workers = 1 if dask else max(1, min(cores, len(chunks)))
    # the emulator threads over sub-batches: share the cores among local workers; on
    # Dask, each task gets one thread (Dask's own threads and processes parallelize)
    job = Job(str(project.path), backend, source, plan, menu,
              threads=1 if dask else max(1, cores // workers))
    return _merge(project, menu, job, _results(job, chunks, workers, dask), n, out=out,
                  golden=golden, junit=junit, compare_raw=compare_raw, max_listed=max_listed,
                  progress=progress, workers=f"Dask at {dask}" if dask else str(workers))


def _results(job: Job, chunks, workers: int, dask: str | None):
    """Chunk results in event order, from wherever they are computed."""
    source, columns = job.source, job.plan.columns
    in_main = not source.parallel_reads or (workers == 1 and not dask)

    def read_in_main(span) -> Chunk:
        return Chunk(*span, data=source.read(span[0], span[1], columns) if in_main else None)

    if dask:
        return _dask_results(job, chunks, dask, read_in_main)
    return _local_results(job, chunks, workers, read_in_main)


def _merge(project, menu: Menu, job: Job, results, n: int, *, out, golden, junit,
           compare_raw, max_listed, progress, workers) -> RunResult:
    meta = decision_meta(menu, project, job.backend)
    stats = Stats(menu)
    prescaler = Prescaler([b.prescale for b in menu.bits])
    comparer = GoldenComparer(golden, decision_column_names(menu), n, meta, compare_raw,
                              max_listed) if golden else None
    writer = open_writer(out, meta, n) if out else None
    # the decision file is written on its own thread (pyarrow and numpy release the GIL),
    # one chunk in flight, while the next chunk is counted: write errors surface at the
    # next chunk or at the end
    write_pool = ThreadPoolExecutor(1) if writer else None
    pending = None
    model_seconds = 0.0
    started = time.perf_counter()
    try:
        with _progress(n, progress) as bar:
            for result in results:
                prescaled = prescaler.apply(result.bits)
                l1a = menu.l1_accept(prescaled)
                columns = decision_columns(menu, result.start, result.raw, result.bits,
                                           prescaled, l1a)
                stats.feed(menu.env(result.raw), result.bits, prescaled, l1a,
                           menu.l1_accept(result.bits), result.labels)
                if writer:
                    if pending is not None:
                        pending.result()
                    pending = write_pool.submit(writer.write, columns)
                if comparer:
                    comparer.feed(columns)
                model_seconds += result.seconds
                bar.update(result.stop - result.start)
        if pending is not None:
            pending.result()
    except BaseException:
        if write_pool is not None:
            write_pool.shutdown(wait=True, cancel_futures=True)
        if writer:
            writer.abort()
        getattr(results, "close", lambda: None)()  # stop the workers now, not at GC
        raise
    seconds = time.perf_counter() - started
    if write_pool is not None:
        write_pool.shutdown(wait=True)
    if writer:
        writer.close()
    report = comparer.finish() if comparer else None
    if report is not None and junit:
        report.write_junit(junit)
    result = RunResult(n, seconds, model_seconds, job.backend, workers, stats, report,
                       str(Path(out)) if out else None)
    log.info("%s", result.headline())
    return result


__all__ = ["DEFAULT_CHUNK_SIZE", "RunResult", "check_workers", "emulate_events", "max_workers",
           "prepare_menu"]

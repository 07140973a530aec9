#!/usr/bin/env python3
"""trigc vs hls4ml, side by side: ``make bench``, ``python -m bench`` or ``bench/run.py``.

For every benchmark model (``bench/models.py``) and every repetition, this runs one
fresh process per tool (``bench/worker.py``), alternating which tool goes first:

1. model file -> firmware project written (wall time from process spawn: imports included),
2. C-sim build (trigc's g++ library, cold cache; hls4ml ``compile()``),
3. throughput: trigc emulator (all events), trigc C-sim and hls4ml ``predict()`` (the same
   slice of events for both),

with the peak RSS of each step; the framework's own quantized and float forward passes
are timed when the models are prepared. Then it computes agreement (bit-exact fractions
and argmax agreement on raw inputs), medians and per-pair ratios, checks the issue's
targets, and writes ``bench/results.json``, ``bench/RESULTS.md`` (whose first section is
the README table) and ``bench/scaling.png``.

Options: ``--reps N`` (default 3), ``--scaling-reps N`` (default 1), ``--events N``
(default 100000), ``--models a,b`` (subset), ``--workdir DIR`` / ``--keep`` (keep the
generated projects), ``--out DIR`` (default: bench/), ``--no-reference`` (build every
model here even when ``models/`` holds trained reference weights), ``--no-verilog`` (skip
the Verilog section: trigc's Verilog backend vs da4ml, ``bench/verilog.py``), ``--no-emulator``
(skip the fast emulator sections, ``bench/emulator.py`` and ``bench/pipeline.py``),
``--no-stream`` (skip the streaming section: hls4ml io_stream vs trigc ``io='stream'`` on
the conv models, ``bench/stream.py``).

Each worker starts with an empty ``$TRIGC_CACHE_DIR`` (the C-sim build is timed cold), but
with the fast emulator kernels of earlier workers copied in (``fast/``): a user's
emulator kernel is built once and cached, as the C-sim library is; the first rep of
each model pays for its build. The precompiled ap_fixed.h (``pch/``), which trigc builds
once per machine and compiler, is built by the untimed warm-up process and copied in too.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

if __package__ in (None, ""):  # run as bench/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    BENCH_DIR, ROOT, git_revision, log, machine_info, python_env, read_json, write_json,
)

DATA_SEED = 2026
SLOW_MACS_PER_REP = 1.5e8   # C-sim / predict events per rep: this many MACs (about 6 s each)
WORKER_TIMEOUT_S = 900


def _nice(n: float) -> int:
    """n rounded down to two significant digits (at least 100)."""
    n = int(n)
    if n < 100:
        return 100
    p = 10 ** (len(str(n)) - 2)
    return n // p * p


def slow_events_per_rep(macs: int, n_events: int, reps: int) -> int:
    return min(math.ceil(n_events / reps), _nice(SLOW_MACS_PER_REP / max(macs, 1)))


def spawn(args: list[str], log_path: Path, env: dict, timeout: float = WORKER_TIMEOUT_S):
    """Run a fresh Python process; returns (returncode, wall s, peak RSS MB of the
    process tree: the largest of the process and its waited-for descendants)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as logf:
        t0 = time.time()
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=logf,
                                stderr=subprocess.STDOUT)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.time() - t0 > timeout:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        wall = time.time() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, wall, usage.ru_maxrss / 1024


def run_worker(tool: str, name: str, workdir: Path, rep: int, slow: tuple[int, int]) -> dict:
    cache = Path(tempfile.mkdtemp(prefix="trigc-cache-", dir=workdir))  # cold C-sim cache
    kernels = workdir / "fast-kernels"  # the emulator's kernels stay cached (module doc)
    if kernels.is_dir():
        shutil.copytree(kernels, cache / "fast")
    pch = workdir / "warm-cache" / "pch"  # the precompiled ap_fixed.h (module doc)
    if pch.is_dir():
        shutil.copytree(pch, cache / "pch")
    env = python_env({"TRIGC_CACHE_DIR": str(cache)})
    t_spawn = time.time()
    args = ["-m", "bench.worker", tool, name, str(workdir), str(rep), repr(t_spawn),
            str(slow[0]), str(slow[1])]
    code, wall, tree_rss = spawn(args, workdir / "logs" / f"{name}_{tool}_rep{rep}.log", env)
    path = workdir / "out" / name / f"{tool}_rep{rep}.json"
    if path.is_file():
        record = read_json(path)
    else:
        tail = (workdir / "logs" / f"{name}_{tool}_rep{rep}.log").read_text()[-2000:]
        record = {"ok": False, "error": f"worker exited with {code} and no result: {tail}",
                  "tool": tool, "model": name, "rep": rep}
    record["process_wall_s"] = wall
    record["process_tree_peak_rss_mb"] = tree_rss
    write_json(path, record)
    if (cache / "fast").is_dir():
        shutil.copytree(cache / "fast", kernels, dirs_exist_ok=True)
    shutil.rmtree(cache, ignore_errors=True)
    status = "ok" if record.get("ok") else f"FAILED: {record.get('error', '')[:200]}"
    log(f"    {tool:10s} rep {rep}: {wall:6.1f} s  {status}")
    return record


WARMUP = """
import subprocess, tempfile, os
import tensorflow, tf_keras, qkeras, torch, brevitas.nn, qonnx, onnx, trigc, trigc.project
import sys; sys.modules['keras'] = tf_keras
import hls4ml
from trigc.csim.headers import ap_types_dir
with tempfile.TemporaryDirectory() as d:
    src = os.path.join(d, 'w.cpp')
    open(src, 'w').write('#include <ap_fixed.h>\\nint main() { ap_fixed<16,6> a = 1.5; return (a * a).to_int() - 2; }')
    subprocess.run([os.environ.get('CXX', 'g++'), '-std=c++14', '-O1', '-I' + str(ap_types_dir()), src, '-o', os.path.join(d, 'w')], check=True)
from trigc.csim import build  # the precompiled ap_fixed.h, built once per machine
assert build.precompiled_header('vitis', build.LIBRARY_FLAGS) is not None
"""


def section(name: str, workdir: Path, with_workdir: bool = False) -> dict:
    """Run ``python -m bench.<name>`` in its own process; its JSON results, or an
    ``error`` entry when it wrote none."""
    path = workdir / f"{name}.json"
    args = ["-m", f"bench.{name}", "--json", str(path)]
    if with_workdir:
        args += ["--workdir", str(workdir / name)]
    code, wall, _ = spawn(args, workdir / "logs" / f"{name}.log", python_env(), timeout=3600)
    log(f"{name} section: {wall:.0f} s")
    return read_json(path) if path.is_file() else {
        "error": f"bench.{name} exited with {code} after {wall:.0f} s, no results"}


def warm_up(workdir: Path) -> float:
    """One untimed process that imports every framework and compiles an ap_fixed
    program, so that the first measured process does not pay for a cold page cache,
    and builds trigc's precompiled ap_fixed.h (once per machine for a user too)."""
    env = python_env({"TRIGC_CACHE_DIR": str(workdir / "warm-cache")})
    code, wall, _ = spawn(["-c", WARMUP], workdir / "logs" / "warmup.log", env)
    if code != 0:
        log((workdir / "logs" / "warmup.log").read_text()[-2000:])
    return wall


def make_data(workdir: Path, n: int, datasets_needed: set[str]) -> None:
    import numpy as np

    from trigc import datasets

    seed = datasets.split_seed(DATA_SEED, "bench-test")
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    for d in sorted(datasets_needed):
        x, y = datasets.jet_features(n, seed) if d == "jet" else datasets.calo_images(n, seed)
        np.save(workdir / "data" / f"{d}_x.npy", x)
        np.save(workdir / "data" / f"{d}_y.npy", y)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="trigc vs hls4ml benchmark")
    p.add_argument("--reps", type=int, default=3, help="repetitions of the main models")
    p.add_argument("--scaling-reps", type=int, default=1,
                   help="repetitions of the scaling-series-only models")
    p.add_argument("--events", type=int, default=100_000, help="events per model")
    p.add_argument("--models", default="", help="comma-separated subset (default: all)")
    p.add_argument("--workdir", default=None, help="scratch directory (default: a temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the scratch directory")
    p.add_argument("--out", default=str(BENCH_DIR), help="where results go (default bench/)")
    p.add_argument("--no-reference", action="store_true",
                   help="build every model here, even when models/ has trained weights")
    p.add_argument("--no-verilog", action="store_true",
                   help="skip the Verilog section (trigc's Verilog backend vs da4ml)")
    p.add_argument("--no-emulator", action="store_true",
                   help="skip the fast emulator sections (bench/emulator.py, "
                   "bench/pipeline.py)")
    p.add_argument("--no-stream", action="store_true",
                   help="skip the streaming section (hls4ml io_stream vs trigc "
                   "io='stream', bench/stream.py)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    from bench.models import MODELS, SCALING_SERIES

    args = parse_args(argv)
    t_start = time.time()
    out_dir = Path(args.out)
    names = [n for n in (args.models.split(",") if args.models else MODELS) if n]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        log(f"unknown models {unknown}; known: {list(MODELS)}")
        return 2
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="trigc-bench-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    log(f"trigc vs hls4ml benchmark, {date}; scratch {workdir}")
    machine = machine_info()
    git_start = git_revision()
    log(f"machine: {machine['cpu']}, {machine['cores_usable']} cores, load "
        f"{os.getloadavg()[0]:.1f}")
    loads = [os.getloadavg()[0]]

    # ---- data and models ---------------------------------------------------------------
    make_data(workdir, args.events, {MODELS[n][1] for n in names})
    prepare = {}
    for framework in ("qkeras", "brevitas"):
        subset = [n for n in names if MODELS[n][0] == framework]
        if not subset:
            continue
        log(f"preparing {framework} models: {', '.join(subset)}")
        code, wall, rss = spawn(["-m", "bench.models", framework, str(workdir), ",".join(subset)],
                                workdir / "logs" / f"prepare_{framework}.log",
                                python_env({"BENCH_NO_REFERENCE": "1" if args.no_reference else "0"}))
        prepare[framework] = {"wall_s": wall, "returncode": code, "peak_rss_mb": rss}
        if code != 0:
            log((workdir / "logs" / f"prepare_{framework}.log").read_text()[-3000:])
        log(f"  done in {wall:.0f} s")
    specs = {n: read_json(workdir / "specs" / f"{n}.json") for n in names
             if (workdir / "specs" / f"{n}.json").is_file()}

    # ---- the measurements -----------------------------------------------------------------
    log(f"warm-up (imports, g++ on ap_fixed.h): {warm_up(workdir):.0f} s")
    reps_of = {}
    for name in names:
        if name not in specs:
            log(f"{name}: not prepared, skipped")
            continue
        spec = specs[name]
        reps = args.reps if spec["family"] == "main" else args.scaling_reps
        reps_of[name] = reps
        n_slow = slow_events_per_rep(spec["macs"], spec["n_events"], reps)
        log(f"{name}: {spec['architecture']}, {spec['params']:,} params; {reps} reps, "
            f"C-sim/predict on {n_slow:,} events per rep (load {os.getloadavg()[0]:.1f})")
        for rep in range(reps):
            slow = (rep * n_slow, min(spec["n_events"], (rep + 1) * n_slow))
            order = ("trigc", "hls4ml") if rep % 2 == 0 else ("hls4ml", "trigc")
            for tool in order:
                run_worker(tool, name, workdir, rep, slow)
                loads.append(os.getloadavg()[0])
            if spec["framework"] == "qkeras" and spec["family"] == "main" and \
                    name == "jet_qkeras":
                run_worker("trigc-onnx", name, workdir, rep, slow)

    # the sections, each in its own process (Yosys runs take minutes): bench/verilog.py,
    # bench/emulator.py, bench/pipeline.py (trigc emulate on 10M events), bench/stream.py
    verilog = None if args.no_verilog else section("verilog", workdir, with_workdir=True)
    emulator = None if args.no_emulator else section("emulator", workdir)
    pipeline = None if args.no_emulator else section("pipeline", workdir, with_workdir=True)
    stream = None if args.no_stream else section("stream", workdir, with_workdir=True)

    # ---- results -------------------------------------------------------------------------
    import numpy as np

    from bench import report

    git_end = git_revision()
    git_end["start"] = git_start
    git_end["changed_during_run"] = git_start != {k: git_end[k] for k in git_start}
    if git_end["changed_during_run"]:
        log(f"WARNING: the compiler changed during the run: {git_start} -> {git_end}")
    results = {"date_utc": date, "machine": machine, "git": git_end,
               "settings": {"reps": args.reps, "scaling_reps": args.scaling_reps,
                            "events": args.events, "slow_macs_per_rep": SLOW_MACS_PER_REP,
                            "models": names},
               "prepare": prepare, "models": {}, "order": []}
    labels = {d: np.load(workdir / "data" / f"{d}_y.npy") for d in ("jet", "calo")
              if (workdir / "data" / f"{d}_y.npy").is_file()}
    for name, reps in reps_of.items():
        recs = report.load_records(workdir, name, reps)
        agree = report.agreement(workdir, name, recs, labels[specs[name]["dataset"]])
        results["models"][name] = report.summarize_model(specs[name], recs, agree)
        results["models"][name]["records"] = recs
        results["order"].append(name)
    step_loads = [v for m in results["models"].values() if m.get("load1")
                  for v in (m["load1"]["min"], m["load1"]["max"])]
    loads += step_loads
    results["load1_during_run"] = {"min": min(loads), "max": max(loads)}
    results["scaling_series"] = [n for n in SCALING_SERIES if n in results["models"]]
    results["targets"] = report.check_targets(
        results["models"], emulator if emulator and "error" not in emulator else None,
        pipeline if pipeline and "error" not in pipeline else None,
        stream if stream and "error" not in stream else None)
    if verilog is not None:
        results["verilog"] = verilog
    if emulator is not None:
        results["emulator"] = emulator
    if pipeline is not None:
        results["pipeline"] = pipeline
    if stream is not None:
        results["stream"] = stream
    results["total_minutes"] = (time.time() - t_start) / 60

    out_dir.mkdir(parents=True, exist_ok=True)
    plotted = report.plot_scaling(results, out_dir / "scaling.png")
    results["scaling_plot"] = "scaling.png" if plotted else None
    md = report.results_markdown(results)
    (out_dir / "RESULTS.md").write_text(md)
    write_json(out_dir / "results.json", results)
    log("")
    log(report.readme_section(results))
    log(f"wrote {out_dir / 'RESULTS.md'}, {out_dir / 'results.json'}"
        f"{', ' + str(out_dir / 'scaling.png') if plotted else ''}; "
        f"total {results['total_minutes']:.1f} min")
    if args.workdir is None and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        log(f"scratch kept in {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

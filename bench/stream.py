"""Streaming designs: hls4ml 1.3 ``io_stream`` vs trigc ``io='stream'`` on the conv models
(``python -m bench.stream``; part of ``make bench`` through ``bench/run.py``, or alone).

Models: ``models/conv_tagger/conv_tagger.onnx`` (8x8) and ``models/calo_cnn/calo_cnn.onnx``
(16x16; skipped, with a note, when the file is absent). Both tools start from the same
QONNX file. For every model and repetition, one fresh process per tool (alternating which
goes first, as in ``bench/run.py``):

1. model file -> project on disk: wall time from process spawn (imports included), and
   the call alone. hls4ml: qonnx ``cleanup_model``, ``ConvertToChannelsLastAndClean``,
   ``GemmToMatMul``, ``config_from_onnx_model(granularity='name', backend='Vitis')``,
   ``convert_from_onnx_model(io_type='io_stream', backend='Vitis')`` + ``write()``;
   trigc: ``trigc.compile(model, dir, io='stream')``.
2. C-sim build. hls4ml: ``ModelGraph.compile()``. trigc: the first ``Project.csim`` call
   (one event) into an empty ``$TRIGC_CACHE_DIR`` ("fully cold": trigc also builds its
   precompiled ``ap_fixed.h`` there), then again into a second empty cache holding only
   that precompiled header (as ``bench/run.py`` measures: it is built once per machine).
3. C-sim throughput on ``--events`` events: trigc ``Project.csim`` (the stream design's
   cycle scheduler with bounded FIFOs, one batched call) vs hls4ml ``predict()``.
4. trigc: ``Project.compare`` (stream C-sim vs emulator, every output bit) and
   ``run_stream`` (measured latency of the first event, II, peak FIFO occupancies).

Bit-exactness against the framework: the QONNX reference is qonnx's executor
(``execute_onnx``) on the same ONNX file and the same raw inputs, in the parent process;
the fraction of events whose every output is identical is reported for trigc's C-sim,
trigc's emulator and hls4ml ``predict()``. trigc's estimate of both io modes comes from
``trigc.estimate.compare_io(graph, settings)`` when it exists, else from
``Project.estimate()`` of an io_parallel and an io_stream compile. A tool that cannot
convert or build a model is recorded with its exact error; the section goes on.

Writes ``--json`` (default ``bench/stream.json``) and the Markdown section next to it
(``.md``), and prints the section.
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    ROOT, ChildrenMonitor, Step, cpu_seconds, git_revision, log, machine_info, peak_mb,
    python_env, read_json, write_json,
)

MODELS = {
    "conv_tagger": ROOT / "models" / "conv_tagger" / "conv_tagger.onnx",
    "calo_cnn": ROOT / "models" / "calo_cnn" / "calo_cnn.onnx",
}
TOOLS = ("trigc", "hls4ml")
DATA_SEED = 2026
WORKER_TIMEOUT_S = 1200
TARGETS = {"exact": 1.0, "build_ratio": 0.5}
RESOURCES = ("lut", "ff", "dsp", "bram")


# ---- inputs and the QONNX reference ------------------------------------------------------

def make_inputs(graph, n: int, seed: int):
    """Raw float inputs for a model of input shape (1, H, W): the toy calorimeter images
    of ``trigc.datasets`` (8x8, or the wider 16x16 window), else uniform in [0, 4)."""
    import numpy as np

    from trigc import datasets

    shape = tuple(graph.inputs[0].shape)
    if shape == tuple(datasets.CALO_SHAPE):
        return np.asarray(datasets.calo_images(n, seed)[0], dtype=np.float64), "calo_images"
    large = getattr(datasets, "calo_images_large", None)
    if large is not None and len(shape) == 3 and shape[0] == 1 and shape[1] == shape[2]:
        return np.asarray(large(n, seed, size=shape[1])[0], dtype=np.float64), \
            f"calo_images_large(size={shape[1]})"
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 4, (n, *shape)), "uniform [0, 4)"


def qonnx_reference(model_file: Path, x, batch: int = 500):
    """qonnx's executor on the ONNX file, batch by batch (value_info dropped, batch
    dimension set, shapes re-inferred); one event at a time if the model hard-codes
    batch 1. Returns (outputs (N, -1) float64, events/s, how)."""
    import numpy as np
    import onnx
    import onnxruntime
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes

    onnxruntime.set_default_logger_severity(4)  # the batch attempt's failure is expected
    proto = onnx.load(str(model_file))
    inits = {i.name for i in proto.graph.initializer}
    iname = next(i.name for i in proto.graph.input if i.name not in inits)
    oname = proto.graph.output[0].name
    models = {}

    def model(b):
        if b not in models:
            m = copy.deepcopy(proto)
            del m.graph.value_info[:]
            for vi in (*m.graph.input, *m.graph.output):
                dims = vi.type.tensor_type.shape.dim
                if vi.name not in inits and len(dims):
                    dims[0].Clear()
                    dims[0].dim_value = b
            models[b] = ModelWrapper(m).transform(InferShapes())
        return models[b]

    outs, how, size, start = [], f"batches of {batch}", batch, 0
    t0 = time.perf_counter()
    while start < len(x):
        stop = min(start + size, len(x))
        try:
            y = execute_onnx(model(stop - start), {iname: x[start:stop].astype(np.float32)})[oname]
        except Exception:  # noqa: BLE001 - a model with batch 1 baked in: one at a time
            if size == 1:
                raise
            size, how = 1, "one event at a time (the model does not run on a batch)"
            continue
        outs.append(np.asarray(y, dtype=np.float64).reshape(stop - start, -1))
        start = stop
    return np.concatenate(outs), len(x) / (time.perf_counter() - t0), how


# ---- estimates ---------------------------------------------------------------------------

def _est_row(e) -> dict:
    """LUT, FF, DSP, BRAM, latency cycles and II of an Estimate-like object or dict."""
    if isinstance(e, dict):
        total = e.get("total", e)
        return {**{r: total.get(r) for r in RESOURCES},
                "latency_cycles": e.get("latency_cycles"), "ii": e.get("ii")}
    return {**{r: e.total.get(r) for r in RESOURCES},
            "latency_cycles": e.latency_cycles, "ii": e.ii}


def _compare_io_rows(result) -> dict:
    """{mode: row} from whatever ``compare_io`` returns: a dict by mode, an object with
    ``parallel`` / ``stream`` attributes, a (parallel, stream) pair, or (such a dict,
    its Markdown table) as trigc's returns."""
    if isinstance(result, (tuple, list)) and result and isinstance(result[0], dict) \
            and {"parallel", "stream"} <= result[0].keys():
        result = result[0]
    if isinstance(result, dict):
        items = [(k, result[k]) for k in ("parallel", "stream") if k in result] \
            if {"parallel", "stream"} <= result.keys() else result.items()
    elif hasattr(result, "parallel") and hasattr(result, "stream"):
        items = (("parallel", result.parallel), ("stream", result.stream))
    elif isinstance(result, (tuple, list)) and len(result) == 2:
        items = zip(("parallel", "stream"), result)
    else:
        raise TypeError(f"unrecognised compare_io result {type(result).__name__}")
    rows = {}
    for mode, est in items:
        key = "stream" if "stream" in str(mode) else "parallel" if "parallel" in str(mode) \
            else str(mode)
        rows[key] = _est_row(est)
    if not {"parallel", "stream"} <= rows.keys():
        raise ValueError(f"compare_io gave modes {sorted(rows)}")
    return rows


def estimates(model_file: Path, workdir: Path) -> dict:
    """trigc's estimate of both io modes (no C++ build)."""
    import trigc
    import trigc.estimate as est_mod

    out: dict = {}
    projects = {}
    for mode in ("parallel", "stream"):
        projects[mode] = trigc.compile(str(model_file), workdir / f"estimate_{mode}",
                                       io=mode, overwrite=True)
    # each compile's own estimate, kept for reference (the project's FIFO depths)
    out["project_rows"] = {mode: _est_row(p.estimate()) for mode, p in projects.items()}
    fn = getattr(est_mod, "compare_io", None)
    if fn is not None:
        try:
            p = projects["stream"]
            out["rows"] = _compare_io_rows(fn(p.graph, p.meta["settings"]))
            out["source"] = "trigc.estimate.compare_io(graph, settings)"
            return out
        except Exception as exc:  # noqa: BLE001 - fall back, and say why
            out["compare_io_error"] = f"{type(exc).__name__}: {exc}"
    out["rows"] = out["project_rows"]
    out["source"] = "Project.estimate() of an io_parallel and an io_stream compile"
    return out


# ---- the worker (one tool, one model, one repetition, in a fresh process) ---------------

def _since_spawn(t_spawn: float, t_call: float) -> dict:
    t = time.time()
    cpu = cpu_seconds()
    return {"wall_s": t - t_spawn, "call_s": t - t_call, "cpu_s": cpu[0],
            "child_cpu_s": cpu[1], "peak_rss_mb": peak_mb()}


def _trigc(name: str, model_file: Path, workdir: Path, rep: int, t_spawn: float,
           record: dict) -> None:
    import numpy as np

    record["step"] = "import"
    import trigc
    from trigc.project import Project

    out_dir = workdir / "prj" / name / f"trigc_rep{rep}"
    record["step"] = "convert"
    t_call = time.time()
    project = trigc.compile(str(model_file), out_dir, io="stream", overwrite=True)
    record["convert"] = _since_spawn(t_spawn, t_call)
    x = np.load(workdir / "data" / f"{name}_x.npy")
    out = workdir / "out" / name

    # build: fully cold (this process's $TRIGC_CACHE_DIR is empty), then again into an
    # empty cache holding only the precompiled ap_fixed.h (as bench/run.py measures)
    record["step"] = "build"
    with ChildrenMonitor() as compilers, Step(record, "build"):
        project.csim(x[:1])
    record["build"]["compiler_peak_rss_mb"] = compilers.peak_mb
    cache = Path(os.environ["TRIGC_CACHE_DIR"])
    cache2 = Path(tempfile.mkdtemp(prefix="trigc-cache-pch-", dir=cache.parent))
    if (cache / "pch").is_dir():
        shutil.copytree(cache / "pch", cache2 / "pch")
    os.environ["TRIGC_CACHE_DIR"] = str(cache2)
    try:
        again = Project(out_dir)
        with Step(record, "build_pch_cached"):
            again.csim(x[:1])
    finally:
        os.environ["TRIGC_CACHE_DIR"] = str(cache)
        shutil.rmtree(cache2, ignore_errors=True)

    record["step"] = "csim"
    with Step(record, "csim"):
        y_sim = project.csim(x)
    record["csim"]["events"] = len(x)
    np.save(out / f"trigc_csim_rep{rep}.npy",
            np.asarray(y_sim, dtype=np.float64).reshape(len(x), -1))

    record["step"] = "emulate"
    y_emu = project.emulate(x)
    np.save(out / f"trigc_emu_rep{rep}.npy",
            np.asarray(y_emu, dtype=np.float64).reshape(len(x), -1))
    record["step"] = "compare"
    cmp = project.compare(x)
    record["compare"] = {"events": int(cmp.events), "exact_events": int(cmp.exact),
                         "text": str(cmp), "ok": bool(cmp.ok)}

    record["step"] = "run_stream"
    run = project._library().run_stream(x.reshape(len(x), -1))
    record["stream"] = {"latency": int(run.latency), "ii": float(run.ii),
                        "cycles": int(run.cycles), "events": int(run.events),
                        "peaks": {k: int(v) for k, v in run.peaks.items()},
                        "depths": {s["name"]: int(s["depth"])
                                   for s in project._library().streams}}
    record["types"] = {"input": str(project.graph.inputs[0].type),
                       "output": str(project.graph.outputs[0].type)}


def _hls4ml(name: str, model_file: Path, workdir: Path, rep: int, t_spawn: float,
            record: dict) -> None:
    import numpy as np

    record["step"] = "import"
    import hls4ml
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.channels_last import ConvertToChannelsLastAndClean
    from qonnx.transformation.gemm_to_matmul import GemmToMatMul
    from qonnx.util.cleanup import cleanup_model

    out_dir = workdir / "prj" / name / f"hls4ml_rep{rep}"
    record["step"] = "convert"
    t_call = time.time()
    model = ModelWrapper(str(model_file))
    model = cleanup_model(model)
    model = model.transform(ConvertToChannelsLastAndClean())
    model = model.transform(GemmToMatMul())
    model = cleanup_model(model)
    config = hls4ml.utils.config.config_from_onnx_model(model, granularity="name",
                                                        backend="Vitis")
    hls_model = hls4ml.converters.convert_from_onnx_model(
        model, hls_config=config, output_dir=str(out_dir), backend="Vitis",
        io_type="io_stream")
    hls_model.write()
    record["convert"] = _since_spawn(t_spawn, t_call)
    record["config_model"] = {k: config["Model"].get(k) for k in
                              ("Precision", "ReuseFactor", "Strategy")}

    x = np.load(workdir / "data" / f"{name}_x.npy")
    out = workdir / "out" / name
    record["step"] = "build"
    with ChildrenMonitor() as compilers, Step(record, "build"):
        hls_model.compile()
    record["build"]["compiler_peak_rss_mb"] = compilers.peak_mb

    # channels last after ConvertToChannelsLastAndClean: (N, C, H, W) -> (N, H, W, C)
    xs = np.ascontiguousarray(x.transpose(0, *range(2, x.ndim), 1)) if x.ndim >= 3 else x
    record["step"] = "predict"
    with Step(record, "predict"):
        y = hls_model.predict(xs)
    record["predict"]["events"] = len(xs)
    np.save(out / f"hls4ml_rep{rep}.npy", np.asarray(y, dtype=np.float64).reshape(len(xs), -1))


def worker(argv: list[str]) -> int:
    tool, name, model_file, workdir, rep, t_spawn = argv
    workdir, rep, t_spawn = Path(workdir), int(rep), float(t_spawn)
    (workdir / "out" / name).mkdir(parents=True, exist_ok=True)
    record: dict = {}
    try:
        (_trigc if tool == "trigc" else _hls4ml)(name, Path(model_file), workdir, rep,
                                                  t_spawn, record)
        record["ok"] = True
        record.pop("step", None)
    except Exception as exc:  # noqa: BLE001 - recorded with its exact message
        record.update({"ok": False, "error": f"{type(exc).__name__}: {exc}",
                       "failed_step": record.pop("step", None),
                       "traceback": traceback.format_exc()[-6000:]})
        print(record["traceback"], file=sys.stderr)
    record.update({"tool": tool, "model": name, "rep": rep})
    write_json(workdir / "out" / name / f"{tool}_rep{rep}.json", record)
    return 0 if record["ok"] else 1


def run_worker(tool: str, name: str, model_file: Path, workdir: Path, rep: int) -> dict:
    from bench.run import spawn

    cache = Path(tempfile.mkdtemp(prefix="trigc-cache-", dir=workdir))  # cold C-sim cache
    env = python_env({"TRIGC_CACHE_DIR": str(cache)})
    args = ["-m", "bench.stream", "worker", tool, name, str(model_file), str(workdir),
            str(rep), repr(time.time())]
    log_path = workdir / "logs" / f"{name}_{tool}_rep{rep}.log"
    code, wall, rss = spawn(args, log_path, env, timeout=WORKER_TIMEOUT_S)
    path = workdir / "out" / name / f"{tool}_rep{rep}.json"
    if path.is_file():
        record = read_json(path)
    else:
        record = {"ok": False, "tool": tool, "model": name, "rep": rep,
                  "error": f"worker exited with {code} and no result: "
                           f"{log_path.read_text()[-2000:]}"}
    record["process_wall_s"], record["process_tree_peak_rss_mb"] = wall, rss
    write_json(path, record)
    shutil.rmtree(cache, ignore_errors=True)
    status = "ok" if record.get("ok") else f"FAILED: {record.get('error', '')[:300]}"
    log(f"    {tool:7s} rep {rep}: {wall:6.1f} s  {status}")
    return record


# ---- aggregation -------------------------------------------------------------------------

def _med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _step(rec, step, key="wall_s"):
    return rec[step].get(key) if rec and rec.get("ok") and step in rec else None


def _rate(rec, step):
    w = _step(rec, step)
    return rec[step]["events"] / w if w else None


def _ratios(a: list, b: list) -> dict:
    vals = [x / y for x, y in zip(a, b) if x is not None and y]
    return {"median": _med(vals), "min": min(vals) if vals else None,
            "max": max(vals) if vals else None, "values": vals}


def summarize(name: str, recs: dict, workdir: Path, ref) -> dict:
    import numpy as np

    t, h = recs["trigc"], recs["hls4ml"]
    s: dict = {}
    s["convert_s"] = {tool: _med([_step(r, "convert") for r in recs[tool]]) for tool in TOOLS}
    s["convert_call_s"] = {tool: _med([_step(r, "convert", "call_s") for r in recs[tool]])
                           for tool in TOOLS}
    s["build_s"] = {"trigc": _med([_step(r, "build") for r in t]),
                    "trigc_pch_cached": _med([_step(r, "build_pch_cached") for r in t]),
                    "hls4ml": _med([_step(r, "build") for r in h])}
    s["events_s"] = {"trigc_csim": _med([_rate(r, "csim") for r in t]),
                     "hls4ml_predict": _med([_rate(r, "predict") for r in h])}
    s["ratios"] = {
        "build_trigc_over_hls4ml": _ratios([_step(r, "build") for r in t],
                                           [_step(r, "build") for r in h]),
        "build_pch_cached_over_hls4ml": _ratios([_step(r, "build_pch_cached") for r in t],
                                                [_step(r, "build") for r in h]),
        "convert_trigc_over_hls4ml": _ratios([_step(r, "convert") for r in t],
                                             [_step(r, "convert") for r in h]),
        "csim_over_predict": _ratios([_rate(r, "csim") for r in t],
                                     [_rate(r, "predict") for r in h]),
    }
    s["errors"] = {tool: sorted({f"[{r.get('failed_step') or 'worker'}] {r.get('error')}"
                                 for r in recs[tool] if r and not r.get("ok")})
                   for tool in TOOLS}
    s["errors"] = {k: v for k, v in s["errors"].items() if v}

    def exact(a, b):
        return float(np.mean(np.all(a == b, axis=1))) if a.shape == b.shape else None

    d = workdir / "out" / name
    a: dict = {"events": int(len(ref)) if ref is not None else None}
    sims = [np.load(d / f"trigc_csim_rep{r}.npy") for r, rec in enumerate(t)
            if rec and rec.get("ok")]
    emus = [np.load(d / f"trigc_emu_rep{r}.npy") for r, rec in enumerate(t)
            if rec and rec.get("ok")]
    hls = [np.load(d / f"hls4ml_rep{r}.npy") for r, rec in enumerate(h)
           if rec and rec.get("ok")]
    compares = [rec["compare"] for rec in t if rec and rec.get("ok")]
    if sims:
        a["csim_deterministic_across_reps"] = all(np.array_equal(sims[0], y) for y in sims)
        a["csim_vs_emulator"] = min(exact(y, e) for y, e in zip(sims, emus))
        a["compare_ok_all_reps"] = all(c["ok"] for c in compares)
        a["compare"] = compares[0]["text"]
        if ref is not None:
            a["csim_vs_qonnx"] = min(exact(y, ref) for y in sims)
            a["emulator_vs_qonnx"] = min(exact(e, ref) for e in emus)
    if hls:
        a["hls4ml_deterministic_across_reps"] = all(np.array_equal(hls[0], y) for y in hls)
        if ref is not None:
            a["hls4ml_vs_qonnx"] = min(exact(y, ref) for y in hls)
            a["hls4ml_vs_qonnx_argmax"] = float(np.mean(np.argmax(hls[0], 1) ==
                                                        np.argmax(ref, 1)))
            a["hls4ml_vs_qonnx_max_abs_diff"] = float(np.abs(hls[0] - ref).max())
        if sims:
            a["hls4ml_vs_trigc"] = exact(hls[0], sims[0])
    s["agreement"] = a
    streams = [rec["stream"] for rec in t if rec and rec.get("ok")]
    s["stream_run"] = streams[0] if streams else None
    return s


def check_targets(results: dict) -> list[dict]:
    """Rows in the format of ``bench.report.check_targets``."""
    rows = []

    def add(target, model, value, goal, higher, what):
        if value is None:
            rows.append({"target": target, "model": model, "value": None, "goal": goal,
                         "met": False, "what": what, "shortfall": "not measured"})
            return
        met = value >= goal if higher else value <= goal
        factor = (goal / value if higher else value / goal) if value else float("inf")
        rows.append({"target": target, "model": model, "value": value, "goal": goal,
                     "met": met, "what": what,
                     "shortfall": None if met else f"missed by {factor:.3g}×"})

    for name, m in results["models"].items():
        if m.get("skipped"):
            continue
        a = m["agreement"]
        add("stream C-sim bit-exact (== trigc emulator) on 100% of events", name,
            a.get("csim_vs_emulator"), TARGETS["exact"], True,
            f"fraction of {a.get('events')} events, worst repetition")
        add("stream C-sim bit-exact (== QONNX reference) on 100% of events", name,
            a.get("csim_vs_qonnx"), TARGETS["exact"], True,
            f"fraction of {a.get('events')} events, worst repetition")
        add("stream C-sim build ≤ 0.5× hls4ml io_stream compile()", name,
            m["ratios"]["build_trigc_over_hls4ml"]["median"], TARGETS["build_ratio"], False,
            "ratio of wall times, empty trigc cache (precompiled ap_fixed.h built too), "
            "median of pairs")
        add("stream C-sim build ≤ 0.5× hls4ml io_stream compile(), precompiled ap_fixed.h "
            "cached", name, m["ratios"]["build_pch_cached_over_hls4ml"]["median"],
            TARGETS["build_ratio"], False,
            "ratio of wall times, empty trigc cache but for the precompiled header (as the "
            "main table), median of pairs")
    return rows


# ---- Markdown ----------------------------------------------------------------------------

def _s(v, unit=" s"):
    if v is None:
        return "–"
    return f"{v:.1f}{unit}" if v >= 10 else f"{v:.2f}{unit}"


def _rate_fmt(v):
    if v is None:
        return "–"
    if v >= 1e6:
        return f"{v / 1e6:.2f} M"
    if v >= 1e3:
        return f"{v / 1e3:.1f} k"
    return f"{v:.0f}"


def _pct(v):
    if v is None:
        return "–"
    if v == 1:
        return "100%"
    if 0.99 < v < 1:
        return f"{int(v * 1e4) / 100:.2f}%"
    return f"{100 * v:.1f}%"


def _ratio(st):
    if not st or st.get("median") is None:
        return "–"
    txt = f"{st['median']:.3g}×"
    if len(st["values"]) > 1:
        txt += f" ({st['min']:.3g}–{st['max']:.3g})"
    return txt


def _num(v):
    if v is None:
        return "–"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.1f}"
    return f"{int(v):,}"


def table(results: dict) -> str:
    lines = ["| model | input | tool | model file → project, s<br>fresh process (call) "
             "| C-sim build, s | C-sim events/s | bit-exact vs QONNX "
             "| bit-exact vs trigc emulator |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for name, m in results["models"].items():
        if m.get("skipped"):
            lines.append(f"| {name} | – | – | {m['skipped']} | | | | |")
            continue
        a, sh = m["agreement"], m["input_shape"]
        inp = "×".join(map(str, sh))
        lines.append(
            f"| {name} | {inp} | trigc `io='stream'` "
            f"| {_s(m['convert_s']['trigc'])} ({_s(m['convert_call_s']['trigc'])}) "
            f"| {_s(m['build_s']['trigc'])} ({_s(m['build_s']['trigc_pch_cached'])} with "
            "the precompiled ap_fixed.h cached) "
            f"| {_rate_fmt(m['events_s']['trigc_csim'])} "
            f"| {_pct(a.get('csim_vs_qonnx'))} (emulator: {_pct(a.get('emulator_vs_qonnx'))}) "
            f"| {_pct(a.get('csim_vs_emulator'))} |")
        hls_err = m["errors"].get("hls4ml")
        if hls_err and m["build_s"]["hls4ml"] is None and m["convert_s"]["hls4ml"] is None:
            lines.append(f"| {name} | {inp} | hls4ml io_stream | failed: `{hls_err[0][:300]}` "
                         "| – | – | – | – |")
        else:
            lines.append(
                f"| {name} | {inp} | hls4ml `io_stream` "
                f"| {_s(m['convert_s']['hls4ml'])} ({_s(m['convert_call_s']['hls4ml'])}) "
                f"| {_s(m['build_s']['hls4ml'])} "
                f"| {_rate_fmt(m['events_s']['hls4ml_predict'])} "
                f"| {_pct(a.get('hls4ml_vs_qonnx'))} "
                f"| {_pct(a.get('hls4ml_vs_trigc'))} (vs trigc C-sim) |")
        lines.append(
            f"| {name} | | trigc ÷ hls4ml | {_ratio(m['ratios']['convert_trigc_over_hls4ml'])} "
            f"| {_ratio(m['ratios']['build_trigc_over_hls4ml'])} "
            f"({_ratio(m['ratios']['build_pch_cached_over_hls4ml'])}) "
            f"| {_ratio(m['ratios']['csim_over_predict'])} | | |")
    return "\n".join(lines)


def estimate_table(results: dict) -> str:
    lines = ["| model | io | LUT | FF | DSP | BRAM | latency, cycles | II "
             "| C-sim (stream): first-event latency / mean II, cycles |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for name, m in results["models"].items():
        e = m.get("estimate") or {}
        if "error" in e:
            lines.append(f"| {name} | – | estimate failed: `{e['error'][:200]}` | | | | | | |")
            continue
        for mode in ("parallel", "stream"):
            r = (e.get("rows") or {}).get(mode)
            if r is None:
                continue
            sr = m.get("stream_run") if mode == "stream" else None
            measured = f"{sr['latency']:,} / {sr['ii']:,.1f}" if sr else "–"
            lines.append(f"| {name} | {mode} | {_num(r['lut'])} | {_num(r['ff'])} "
                         f"| {_num(r['dsp'])} | {_num(r['bram'])} | {_num(r['latency_cycles'])} "
                         f"| {_num(r['ii'])} | {measured} |")
    return "\n".join(lines)


def targets_table(rows: list[dict]) -> str:
    out = ["| target | model | measured | goal | met |", "|---|---|---:|---:|---|"]
    for r in rows:
        pct = "exact" in r["target"]
        val = "–" if r["value"] is None else _pct(r["value"]) if pct else f"{r['value']:.3g}×"
        goal = _pct(r["goal"]) if pct else f"{r['goal']:.3g}×"
        met = "met" if r["met"] else f"**not met** ({r['shortfall']})"
        out.append(f"| {r['target']} | {r['model']} | {val} | {goal} | {met} |")
    return "\n".join(out)


def markdown(results: dict) -> str:
    """The RESULTS.md section."""
    title = "## Streaming: hls4ml io_stream vs trigc io='stream'"
    if "error" in results:
        return f"{title}\n\n{results['error']}\n"
    st = results["settings"]
    pk = results["machine"]["packages"]
    ests = {m.get("estimate", {}).get("source") for m in results["models"].values()
            if m.get("estimate", {}).get("source")}
    notes = [m["estimate"]["compare_io_error"] for m in results["models"].values()
             if m.get("estimate", {}).get("compare_io_error")]
    md = [title, "",
          f"`python -m bench.stream`: both tools from the same QONNX file, hls4ml "
          f"{pk.get('hls4ml')} (Vitis backend, `io_type='io_stream'`, "
          "`config_from_onnx_model(granularity='name')` after qonnx cleanup, channels-last "
          "and Gemm→MatMul) and trigc `compile(io='stream')` (Vitis DATAFLOW, one FIFO word "
          f"per pixel); {st['reps']} repetition{'s' if st['reps'] != 1 else ''} of one fresh "
          "process per tool (alternating which goes first), medians, per-pair ratio range in "
          f"parentheses; C-sim and predict on {st['events']:,} raw toy calorimeter images. "
          "Model file → project: from process spawn (imports included) to the project on "
          "disk; the call alone in parentheses. C-sim build: hls4ml `compile()`; trigc's first "
          "`csim()` call into an empty `$TRIGC_CACHE_DIR` (it builds its precompiled "
          "`ap_fixed.h` there too), and in parentheses into an empty cache holding only that "
          "header (once per machine; how the main table measures). trigc's C-sim is the "
          "stream design's cycle scheduler with bounded FIFOs. Bit-exact: fraction of events "
          "whose every output is identical; the QONNX reference is qonnx's `execute_onnx` on "
          "the same file and inputs.", "",
          f"Measured {results['date_utc']} on {results['machine']['cpu']} "
          f"({results['machine']['cores_usable']} cores), trigc {pk.get('trigc')} "
          f"({results['git'].get('commit')}"
          f"{', uncommitted compiler changes' if results['git'].get('compiler_tree_dirty') else ''}"
          "), "
          f"1-min load {results['load1']['min']:.1f}–{results['load1']['max']:.1f}.", "",
          table(results), "",
          "trigc's estimate of both io modes (static model, not synthesis; "
          f"{'; '.join(sorted(ests)) or 'none'}), and the stream C-sim's measured first-event "
          "latency and mean II (`run_stream`, events offered at the design's II):", "",
          estimate_table(results), ""]
    same = [n for n, m in results["models"].items()
            if (m.get("estimate") or {}).get("rows")
            and m["estimate"]["rows"].get("parallel") == m["estimate"]["rows"].get("stream")]
    if same:
        md += [f"(The two io modes' estimates are identical for {', '.join(same)}: the "
               "estimator used does not model io_stream yet; the measured stream latency and "
               "II are the C-sim's.)", ""]
    if notes:
        md += [f"(`compare_io` was present but failed: `{notes[0][:300]}`; the table uses "
               "`Project.estimate()`.)", ""]
    md += ["Targets:", "", targets_table(results["targets"]), ""]
    errs = [(n, tool, e) for n, m in results["models"].items()
            for tool, msgs in (m.get("errors") or {}).items() for e in msgs]
    if errs:
        md += ["Failures (exact errors):", ""]
        md += [f"- {n} / {tool}: `{e[:600]}`" for n, tool, e in errs]
        md.append("")
    return "\n".join(md)


# ---- main --------------------------------------------------------------------------------

def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "worker":
        return worker(argv[1:])
    p = argparse.ArgumentParser(description="hls4ml io_stream vs trigc io='stream'")
    p.add_argument("--events", type=int, default=2000, help="C-sim / predict events")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--models", default="", help="comma-separated subset of "
                   + ", ".join(MODELS))
    p.add_argument("--json", default=str(ROOT / "bench" / "stream.json"))
    p.add_argument("--md", default=None, help="Markdown section (default: --json as .md)")
    p.add_argument("--workdir", default=None, help="scratch directory (default: temp, removed)")
    args = p.parse_args(argv)

    import numpy as np

    import trigc
    from trigc import datasets

    t_start = time.time()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-stream-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    names = [n for n in (args.models.split(",") if args.models else MODELS) if n]
    from datetime import datetime, timezone

    results = {"date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               "machine": machine_info(), "git": git_revision(),
               "settings": {"events": args.events, "reps": args.reps, "models": names},
               "models": {}}
    loads = [os.getloadavg()[0]]
    for name in names:
        model_file = MODELS.get(name)
        if model_file is None or not model_file.is_file():
            why = f"{model_file.relative_to(ROOT)} absent" if model_file else \
                f"unknown model (known: {', '.join(MODELS)})"
            log(f"{name}: {why}, skipped")
            results["models"][name] = {"skipped": f"skipped: {why}"}
            continue
        m: dict = {"model_file": str(model_file.relative_to(ROOT))}
        results["models"][name] = m
        graph = trigc.load(str(model_file))
        m["input_shape"] = list(graph.inputs[0].shape)
        m["output_shape"] = list(graph.outputs[0].shape)
        x, how = make_inputs(graph, args.events, datasets.split_seed(DATA_SEED, "bench-stream"))
        m["inputs"] = how
        (workdir / "data").mkdir(parents=True, exist_ok=True)
        np.save(workdir / "data" / f"{name}_x.npy", x)
        try:
            ref, ref_rate, ref_how = qonnx_reference(model_file, x)
            m["qonnx_reference"] = {"events_s": ref_rate, "how": ref_how}
        except Exception as exc:  # noqa: BLE001
            ref = None
            m["qonnx_reference"] = {"error": f"{type(exc).__name__}: {exc}"}
        try:
            m["estimate"] = estimates(model_file, workdir / "estimate" / name)
        except Exception as exc:  # noqa: BLE001
            m["estimate"] = {"error": f"{type(exc).__name__}: {exc}"}
        log(f"{name}: input {m['input_shape']}, {args.events:,} events ({how}); "
            f"{args.reps} reps (load {os.getloadavg()[0]:.1f})")
        recs = {tool: [] for tool in TOOLS}
        for rep in range(args.reps):
            for tool in (TOOLS if rep % 2 == 0 else TOOLS[::-1]):
                recs[tool].append(run_worker(tool, name, model_file, workdir, rep))
                loads.append(os.getloadavg()[0])
        m.update(summarize(name, recs, workdir, ref))
        m["records"] = {tool: [{k: v for k, v in r.items() if k != "traceback"}
                               for r in rs] for tool, rs in recs.items()}
    results["load1"] = {"min": min(loads), "max": max(loads)}
    results["targets"] = check_targets(results)
    results["total_minutes"] = (time.time() - t_start) / 60
    json_path = Path(args.json)
    write_json(json_path, results)
    md = markdown(results)
    md_path = Path(args.md) if args.md else json_path.with_suffix(".md")
    md_path.write_text(md)
    print(md)
    log(f"wrote {json_path}, {md_path}; {results['total_minutes']:.1f} min")
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Aggregate the step records into results.json, RESULTS.md and the scaling plot."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

from bench.common import read_json

TOOLS = ("trigc", "hls4ml")

TARGETS = {
    "emu_vs_predict": 200.0,      # trigc emulator events/s >= 200x hls4ml predict (jet tagger)
    "emu_first": 2e6,             # first emulate() call in a fresh process, events/s (jet)
    "emu_warm_jet": 5e6,          # warm emulator, events/s (bench/emulator.py)
    "emu_conv": 5e5,              # conv tagger and mlp_large, warm, events/s
    "pipeline": 2e6,              # trigc emulate end to end, 10M events, events/s
    "pipeline_rss_mb": 500.0,     # ... peak memory of its process tree (PSS), MB
    "convert_qkeras": 1.0,        # QKeras model file -> project <= 1.0x hls4ml
    "csim_vs_predict": 10.0,      # trigc C-sim events/s >= 10x hls4ml predict
    "build_jet": 0.5,             # trigc C-sim build <= 0.5x hls4ml compile() (jet tagger)
    "build_conv": 0.25,           # ... <= 0.25x on the conv model
    "exact_vs_framework": 1.0,    # trigc emulator == framework on 100% of events
}
JET_MODELS = ("jet_qkeras", "jet_brevitas")
CONV_MODELS = ("conv_brevitas",)
REFERENCE_MODELS = ("jet_qkeras", "jet_brevitas", "conv_brevitas")


def _median(values):
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return statistics.median(values) if values else None


def _spread(values):
    """(max - min) / median of the repetitions: the run-to-run noise."""
    values = [v for v in values if v is not None]
    if len(values) < 2:
        return None
    m = statistics.median(values)
    return (max(values) - min(values)) / m if m else None


def _stats(values) -> dict:
    values = [v for v in values if v is not None]
    return {"median": _median(values), "min": min(values) if values else None,
            "max": max(values) if values else None, "n": len(values),
            "spread": _spread(values), "values": values}


def _get(record, step, key):
    if not record or not record.get("ok") or step not in record:
        return None
    return record[step].get(key)


def _rate(record, step):
    if not record or not record.get("ok") or step not in record:
        return None
    s = record[step]
    return s["events"] / s["wall_s"] if s.get("wall_s") else None


def load_records(workdir: Path, name: str, reps: int) -> dict:
    out = {}
    for tool in ("trigc", "hls4ml", "trigc-onnx"):
        recs = []
        for r in range(reps):
            path = workdir / "out" / name / f"{tool}_rep{r}.json"
            recs.append(read_json(path) if path.is_file() else None)
        out[tool] = recs
    return out


def agreement(workdir: Path, name: str, records: dict, labels) -> dict:
    import numpy as np

    d = workdir / "out" / name
    fw = np.load(d / "framework.npy")
    res: dict = {"events_total": int(len(fw))}

    def exact(a, b):
        return float(np.mean(np.all(a == b, axis=1))) if len(a) else None

    def argmax(a, b):
        return float(np.mean(np.argmax(a, 1) == np.argmax(b, 1))) if len(a) else None

    emu_reps = [np.load(d / f"trigc_emu_rep{r}.npy") for r, rec in enumerate(records["trigc"])
                if rec and rec.get("ok")]
    if emu_reps:
        emu = emu_reps[0]
        res["emu_deterministic_across_reps"] = all(np.array_equal(emu, e) for e in emu_reps)
        res["emu_vs_framework_exact"] = exact(emu, fw)
        res["emu_vs_framework_argmax"] = argmax(emu, fw)
        res["emu_events"] = int(len(emu))
        res["accuracy_trigc"] = float(np.mean(np.argmax(emu, 1) == labels))
        diff = np.abs(emu - fw)
        res["emu_vs_framework_max_abs_diff"] = float(diff.max())
    res["accuracy_framework"] = float(np.mean(np.argmax(fw, 1) == labels))

    def gather(tool, prefix):
        idx, ys = [], []
        for r, rec in enumerate(records[tool]):
            path = d / f"{prefix}_rep{r}.npy"
            if rec and rec.get("ok") and path.is_file():
                s0, s1 = rec["slow_events"]
                idx.append(np.arange(s0, s1))
                ys.append(np.load(path))
        if not idx:
            return None, None
        return np.concatenate(idx), np.concatenate(ys)

    ci, cs = gather("trigc", "trigc_csim")
    if ci is not None:
        res["csim_events"] = int(len(ci))
        res["csim_vs_framework_exact"] = exact(cs, fw[ci])
        res["csim_vs_framework_argmax"] = argmax(cs, fw[ci])
        if emu_reps:
            res["emu_vs_csim_exact"] = exact(emu[ci], cs)
    hi, hs = gather("hls4ml", "hls4ml")
    if hi is not None:
        res["hls4ml_events"] = int(len(hi))
        res["hls4ml_vs_framework_exact"] = exact(hs, fw[hi])
        res["hls4ml_vs_framework_argmax"] = argmax(hs, fw[hi])
        res["accuracy_hls4ml"] = float(np.mean(np.argmax(hs, 1) == labels[hi]))
        res["hls4ml_vs_framework_max_abs_diff"] = float(np.abs(hs - fw[hi]).max())
        if emu_reps:
            res["hls4ml_vs_emu_exact"] = exact(hs, emu[hi])
            res["hls4ml_vs_emu_argmax"] = argmax(hs, emu[hi])
    return res


def summarize_model(spec: dict, records: dict, agree: dict) -> dict:
    t, h = records["trigc"], records["hls4ml"]
    reps = len(t)
    s: dict = {"spec": spec, "agreement": agree, "reps": reps}
    errors = {tool: [r.get("error") for r in recs if r and not r.get("ok")]
              for tool, recs in records.items()}
    s["errors"] = {k: v for k, v in errors.items() if v}

    def per_tool(step, key, tool_recs):
        return _stats([_get(r, step, key) for r in tool_recs])

    s["convert_s"] = {"trigc": per_tool("convert", "wall_s", t),
                      "hls4ml": per_tool("convert", "wall_s", h)}
    s["convert_cpu_s"] = {"trigc": per_tool("convert", "cpu_s", t),
                          "hls4ml": per_tool("convert", "cpu_s", h)}
    s["convert_rss_mb"] = {"trigc": per_tool("convert", "peak_rss_mb", t),
                           "hls4ml": per_tool("convert", "peak_rss_mb", h)}
    if any(records["trigc-onnx"]):
        s["convert_s"]["trigc-onnx"] = per_tool("convert", "wall_s", records["trigc-onnx"])
        s["convert_rss_mb"]["trigc-onnx"] = per_tool("convert", "peak_rss_mb",
                                                    records["trigc-onnx"])
    s["build_s"] = {"trigc": per_tool("build", "wall_s", t), "hls4ml": per_tool("build", "wall_s", h)}
    s["build_cpu_s"] = {tool: _stats([(_get(r, "build", "cpu_s") or 0) +
                                      (_get(r, "build", "child_cpu_s") or 0)
                                      if r and r.get("ok") else None for r in recs])
                        for tool, recs in (("trigc", t), ("hls4ml", h))}
    s["build_rss_mb"] = {"trigc": per_tool("build", "peak_rss_mb", t),
                         "hls4ml": per_tool("build", "peak_rss_mb", h)}
    s["build_compiler_rss_mb"] = {"trigc": per_tool("build", "compiler_peak_rss_mb", t),
                                  "hls4ml": per_tool("build", "compiler_peak_rss_mb", h)}
    s["process_tree_rss_mb"] = {tool: _stats([r.get("process_tree_peak_rss_mb") if r else None
                                              for r in recs])
                                for tool, recs in (("trigc", t), ("hls4ml", h))}
    s["throughput_ev_s"] = {
        "trigc_emulator": _stats([_rate(r, "emulate") for r in t]),
        "trigc_emulator_warm": _stats([_rate(r, "emulate_warm") for r in t]),
        "trigc_csim": _stats([_rate(r, "csim") for r in t]),
        "hls4ml_predict": _stats([_rate(r, "predict") for r in h]),
        "framework_quantized": _stats([spec["n_events"] / x for x in spec["forward_quantized_s"]]),
        "framework_float": _stats([spec["n_events"] / x for x in spec["forward_float_s"] or []]),
    }
    s["throughput_events"] = {
        "trigc_emulator": _get(t[0], "emulate", "events") if t else None,
        "trigc_csim": [_get(r, "csim", "events") for r in t],
        "hls4ml_predict": [_get(r, "predict", "events") for r in h],
        "framework": spec["n_events"]}
    s["step_rss_mb"] = {
        "trigc_emulator": per_tool("emulate", "peak_rss_mb", t),
        "trigc_csim": per_tool("csim", "peak_rss_mb", t),
        "hls4ml_predict": per_tool("predict", "peak_rss_mb", h)}

    def pair(fn):
        vals = []
        for rt, rh in zip(t, h):
            a, b = fn(rt, "t"), fn(rh, "h")
            vals.append(a / b if a is not None and b else None)
        return _stats(vals)

    s["ratios"] = {  # per repetition (trigc run and hls4ml run of the same pair)
        "convert_trigc_over_hls4ml": pair(lambda r, _: _get(r, "convert", "wall_s")),
        "build_trigc_over_hls4ml": pair(lambda r, _: _get(r, "build", "wall_s")),
        "emulator_over_predict": pair(lambda r, w: _rate(r, "emulate" if w == "t" else "predict")),
        "emulator_warm_over_predict": pair(
            lambda r, w: _rate(r, "emulate_warm" if w == "t" else "predict")),
        "csim_over_predict": pair(lambda r, w: _rate(r, "csim" if w == "t" else "predict")),
    }
    loads = [v for recs in (t, h) for r in recs if r and r.get("ok")
             for step in ("build", "emulate", "csim", "predict") if step in r
             for v in (r[step]["load1_start"], r[step]["load1_end"])]
    s["load1"] = {"min": min(loads), "max": max(loads)} if loads else None
    return s


EMULATOR_NAMES = {"jet_tagger_qkeras": "jet_qkeras", "jet_tagger_brevitas": "jet_brevitas",
                  "conv_tagger": "conv_brevitas", "mlp_large": "mlp_large"}


def check_targets(models: dict, emulator: dict | None = None,
                  pipeline: dict | None = None, stream: dict | None = None) -> list[dict]:
    rows = []

    def add(target, model, value, goal, higher_is_better, what):
        if value is None:
            rows.append({"target": target, "model": model, "value": None, "goal": goal,
                         "met": False, "what": what, "shortfall": "not measured"})
            return
        met = value >= goal if higher_is_better else value <= goal
        factor = (goal / value if higher_is_better else value / goal) if value else math.inf
        rows.append({"target": target, "model": model, "value": value, "goal": goal,
                     "met": met, "what": what,
                     "shortfall": None if met else f"missed by {factor:.3g}×"})

    for m in JET_MODELS:
        if m in models:
            r = models[m]["ratios"]
            add("emulator ≥ 200× hls4ml predict", m, r["emulator_over_predict"]["median"],
                TARGETS["emu_vs_predict"], True,
                "ratio of events/s (first call in a fresh process), median of pairs")
            add("emulator first call ≥ 2M events/s", m,
                models[m]["throughput_ev_s"]["trigc_emulator"]["median"], TARGETS["emu_first"],
                True, "events/s, first emulate() call in a fresh process, median")
            exact = models[m]["agreement"].get("emu_vs_csim_exact")
            add("emulator bit-exact to C-sim", m, exact, 1.0, True,
                f"fraction of {models[m]['agreement'].get('csim_events')} events")
            add("C-sim ≥ 10× hls4ml predict", m, r["csim_over_predict"]["median"],
                TARGETS["csim_vs_predict"], True, "ratio of events/s, median of pairs")
            add("C-sim build ≤ 0.5× hls4ml compile()", m,
                r["build_trigc_over_hls4ml"]["median"], TARGETS["build_jet"], False,
                "ratio of wall times, median of pairs")
    for m in CONV_MODELS:
        if m in models:
            add("C-sim build ≤ 0.25× hls4ml compile()", m,
                models[m]["ratios"]["build_trigc_over_hls4ml"]["median"], TARGETS["build_conv"],
                False, "ratio of wall times, median of pairs")
    for m in REFERENCE_MODELS:
        if m in models:
            add("emulator == framework on 100% of events", m,
                models[m]["agreement"].get("emu_vs_framework_exact"), 1.0, True,
                f"fraction of {models[m]['agreement'].get('emu_events')} raw-input events")
    if "jet_qkeras" in models:
        add("QKeras model file → project ≤ 1.0× hls4ml", "jet_qkeras",
            models["jet_qkeras"]["ratios"]["convert_trigc_over_hls4ml"]["median"],
            TARGETS["convert_qkeras"], False, "ratio of wall times, median of pairs")
    for name, r in ((emulator or {}).get("models") or {}).items():
        label = EMULATOR_NAMES.get(name, name)
        goal = TARGETS["emu_warm_jet"] if name.startswith("jet_") else TARGETS["emu_conv"]
        add(f"warm emulator ≥ {goal / 1e6:g}M events/s", label, r.get("warm_events_s"), goal,
            True, f"events/s, median of {emulator['settings']['calls']} calls "
            "(bench/emulator.py)")
        add("fast path == interpreter", label, 1.0 if r.get("exact") else 0.0, 1.0, True,
            f"all {r.get('events'):,} events (bench/emulator.py)")
    for fmt, r in ((pipeline or {}).get("runs") or {}).items():
        what = f"{pipeline['events']:,} events, .{fmt}, demo menu (bench/pipeline.py)"
        add("trigc emulate end to end ≥ 2M events/s", f"jet_qkeras (.{fmt})",
            r.get("events_s"), TARGETS["pipeline"], True, what)
        add("trigc emulate peak memory < 500 MB", f"jet_qkeras (.{fmt})",
            r.get("peak_pss_mb"), TARGETS["pipeline_rss_mb"], False,
            "MB, summed PSS of the process tree (forked workers' shared pages counted once)")
        add("decisions == emulator", f"jet_qkeras (.{fmt})",
            1.0 if r.get("exact_first_events") else 0.0, 1.0, True,
            "raw outputs of the first 100,000 events")
    rows += list((stream or {}).get("targets") or [])  # bench/stream.py checks its own
    return rows


# ---- formatting ------------------------------------------------------------------------

def _f(v, digits=2):
    if v is None:
        return "–"
    if isinstance(v, str):
        return v
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.{digits}f}"


def _rate_fmt(v):
    if v is None:
        return "–"
    if v >= 1e6:
        return f"{v / 1e6:.2f} M"
    if v >= 1e4:
        return f"{v / 1e3:.0f} k"
    if v >= 1e3:
        return f"{v / 1e3:.1f} k"
    return f"{v:.0f}"


def _pct(v):
    """A percentage that never rounds a fraction below 1 up to "100%"."""
    if v is None:
        return "–"
    if v == 1:
        return "100%"
    if 0.99 < v < 1:
        return f"{math.floor(v * 1e4) / 100:.2f}%"
    return f"{100 * v:.1f}%"


def _ratio(st):
    if not st or st.get("median") is None:
        return "–"
    m = st["median"]
    txt = f"{m:.3g}×" if m < 10 else f"{m:.0f}×"
    if st["n"] > 1:
        lo, hi = st["min"], st["max"]
        txt += f" ({lo:.3g}–{hi:.3g})" if hi < 10 else f" ({lo:.0f}–{hi:.0f})"
    return txt


def main_table(results: dict, names: list[str]) -> str:
    head = ("| model | params | model file → project, s<br>trigc / hls4ml (ratio) "
            "| C-sim build, s<br>trigc / hls4ml compile() (ratio) "
            "| events/s: trigc emulator / trigc C-sim / hls4ml predict / framework "
            "| emulator ÷ predict | C-sim ÷ predict "
            "| bit-exact vs framework<br>trigc emu / C-sim / hls4ml "
            "| argmax = framework<br>trigc / hls4ml |\n"
            "|---|---:|---|---|---|---|---|---|---|\n")
    rows = []
    for n in names:
        m = results["models"][n]
        a = m["agreement"]
        tp = m["throughput_ev_s"]
        rows.append(
            f"| {n} | {m['spec']['params']:,} "
            f"| {_f(m['convert_s']['trigc']['median'])} / {_f(m['convert_s']['hls4ml']['median'])}"
            f" ({_ratio(m['ratios']['convert_trigc_over_hls4ml'])}) "
            f"| {_f(m['build_s']['trigc']['median'])} / {_f(m['build_s']['hls4ml']['median'])}"
            f" ({_ratio(m['ratios']['build_trigc_over_hls4ml'])}) "
            f"| {_rate_fmt(tp['trigc_emulator']['median'])} / {_rate_fmt(tp['trigc_csim']['median'])}"
            f" / {_rate_fmt(tp['hls4ml_predict']['median'])}"
            f" / {_rate_fmt(tp['framework_quantized']['median'])} "
            f"| {_ratio(m['ratios']['emulator_over_predict'])} "
            f"| {_ratio(m['ratios']['csim_over_predict'])} "
            f"| {_pct(a.get('emu_vs_framework_exact'))} / {_pct(a.get('csim_vs_framework_exact'))}"
            f" / {_pct(a.get('hls4ml_vs_framework_exact'))} "
            f"| {_pct(a.get('emu_vs_framework_argmax'))} / {_pct(a.get('hls4ml_vs_framework_argmax'))} |")
    return head + "\n".join(rows) + "\n"


def _target_value(v: float, target: str) -> str:
    """A measured value or goal in the target's unit: events/s, MB, or a ratio."""
    if "events/s" in target:
        return f"{v / 1e6:.3g} M ev/s"
    if "MB" in target:
        return f"{v:,.0f} MB"
    return f"{v:.3g}×"


def targets_table(rows: list[dict]) -> str:
    out = "| target | model | measured | goal | met |\n|---|---|---:|---:|---|\n"
    for r in rows:
        v = r["value"]
        if v is None:
            val = "–"
        elif "exact" in r["target"] or "==" in r["target"]:
            val = _pct(v)
        else:
            val = _target_value(v, r["target"])
        goal = _pct(r["goal"]) if ("exact" in r["target"] or "==" in r["target"]) \
            else _target_value(r["goal"], r["target"])
        met = "yes" if r["met"] else f"**no** ({r['shortfall']})"
        out += f"| {r['target']} | {r['model']} | {val} | {goal} | {met} |\n"
    return out


def machine_line(results: dict) -> str:
    mi = results["machine"]
    load = results.get("load1_during_run") or {}
    return (f"{results['date_utc']} on {mi['cpu']} ({mi['cores_usable']} cores, "
            f"{mi['memory_gb']} GB, {mi['os']}), Python {mi['python']}, {mi['gxx']}, "
            f"hls4ml {mi['packages'].get('hls4ml')}, trigc {mi['packages'].get('trigc')} "
            f"({results['git'].get('commit')}"
            f"{', uncommitted compiler changes' if results['git'].get('compiler_tree_dirty') else ''}"
            f"{'; the compiler changed during the run, from ' + str(results['git']['start'].get('commit')) if results['git'].get('changed_during_run') else ''}); "
            f"1-min load average {_f(load.get('min'), 1)}–{_f(load.get('max'), 1)} during the run")


def readme_section(results: dict) -> str:
    main = [n for n in results["order"] if results["models"][n]["spec"]["family"] == "main"]
    reps = results["settings"]["reps"]
    return (
        "## Benchmarks against hls4ml\n\n"
        f"`make bench` (about {results['total_minutes']:.0f} minutes) compiles each model with "
        f"trigc and with hls4ml {results['machine']['packages'].get('hls4ml')} (Vitis backend, "
        "io_parallel, Latency, reuse 1, `config_from_keras_model(granularity='name')` / "
        "`config_from_onnx_model`), alternating the tools, "
        f"{reps} repetition{'s' if reps != 1 else ''}, medians (per-pair ratio range in "
        "parentheses). Inputs are raw, "
        "unquantized features; \"framework\" is the QKeras/Brevitas quantized forward pass. "
        "Full tables, memory, noise and the scaling plot: "
        "[`bench/RESULTS.md`](bench/RESULTS.md).\n\n"
        f"Measured {machine_line(results)}.\n\n"
        + main_table(results, main) + "\n"
        + targets_table(results["targets"]))


def _noise_section(results: dict) -> str:
    lines = ["| model | quantity | trigc spread | hls4ml spread |", "|---|---|---:|---:|"]
    for n in results["order"]:
        m = results["models"][n]
        if m["reps"] < 2:
            continue
        for q, key in (("model file → project", "convert_s"), ("C-sim build", "build_s")):
            lines.append(f"| {n} | {q} | {_pct(m[key]['trigc']['spread'])} "
                         f"| {_pct(m[key]['hls4ml']['spread'])} |")
        tp = m["throughput_ev_s"]
        lines.append(f"| {n} | throughput (emulator / C-sim vs predict) "
                     f"| {_pct(tp['trigc_emulator']['spread'])} / {_pct(tp['trigc_csim']['spread'])} "
                     f"| {_pct(tp['hls4ml_predict']['spread'])} |")
    return "\n".join(lines) + "\n"


def results_markdown(results: dict) -> str:
    order = results["order"]
    main = [n for n in order if results["models"][n]["spec"]["family"] == "main"]
    md = ["# trigc vs hls4ml benchmark results", "",
          "Generated by `make bench` (`python -m bench`); do not edit by hand.", "",
          "<!-- README section: begin -->", readme_section(results),
          "<!-- README section: end -->", ""]

    md += ["## Models", "",
           "| model | framework | architecture | params | MACs/event | weights from | model file "
           "| events: emulator, framework / C-sim, predict (per rep) |",
           "|---|---|---|---:|---:|---|---|---|"]
    for n in order:
        m = results["models"][n]
        sp = m["spec"]
        ev = m["throughput_events"]
        slow = sorted({e for e in ev["trigc_csim"] + ev["hls4ml_predict"] if e})
        md.append(f"| {n} | {sp['framework']} | {sp['architecture']} | {sp['params']:,} "
                  f"| {sp['macs']:,} | {sp['source']} | {Path(sp['model_file']).name} "
                  f"| {ev['framework']:,} / {', '.join(f'{e:,}' for e in slow)} |")
    md.append("")

    md += ["## Method", "",
           "- Each repetition runs one fresh process per tool, alternating which tool goes "
           "first (trigc first in even repetitions); one untimed warm-up process imports "
           "every framework and runs g++ on `ap_fixed.h` before the first measurement.",
           "- Model file → project: from the parent's clock just before it starts the "
           "interpreter to the project on disk (imports, model loading, conversion, "
           "writing). Both tools start from the same file: the QKeras `.h5` (hls4ml via "
           "`qkeras.utils.load_qmodel` + `convert_from_keras_model`, trigc via "
           "`trigc.compile(path)`) or the Brevitas QONNX export (hls4ml via qonnx "
           "`cleanup_model`, `ConvertToChannelsLastAndClean`, `GemmToMatMul`, "
           "`convert_from_onnx_model`). \"trigc from QONNX\" starts from trigc's own "
           "QONNX export of the QKeras model instead (no TensorFlow import).",
           "- C-sim build: trigc's first `Project.csim()` call into an empty "
           "`$TRIGC_CACHE_DIR` (g++ build of the ctypes library, then one event), except "
           "for trigc's precompiled `ap_fixed.h`, which trigc builds once per machine and "
           "compiler and the warm-up process built; hls4ml's "
           "`ModelGraph.compile()`, which rewrites the project and runs its `build_lib.sh`.",
           "- Throughput: one call on the whole batch (trigc emulator: all events; "
           "trigc C-sim: one batched ctypes call; hls4ml `predict()`: its per-event ctypes "
           "loop), wall time; the framework's forward passes in batches of 10k (timed "
           "three times in the model-preparation process).",
           "- Agreement is on the raw float inputs of the toy datasets "
           "(`trigc.datasets`), every value compared exactly.", ""]

    md += ["## Time", "", "Medians over the repetitions; the per-pair ratio's range in "
           "parentheses. \"model file → project\" is a fresh process from interpreter start "
           "to the project on disk, imports included.", ""]
    md.append("| model | reps | convert trigc | convert hls4ml | ratio | build trigc | "
              "build hls4ml | ratio | convert trigc from QONNX |")
    md.append("|---|---:|---:|---:|---|---:|---:|---|---:|")
    for n in order:
        m = results["models"][n]
        onnx = m["convert_s"].get("trigc-onnx")
        md.append(
            f"| {n} | {m['reps']} | {_f(m['convert_s']['trigc']['median'])} s "
            f"| {_f(m['convert_s']['hls4ml']['median'])} s "
            f"| {_ratio(m['ratios']['convert_trigc_over_hls4ml'])} "
            f"| {_f(m['build_s']['trigc']['median'])} s | {_f(m['build_s']['hls4ml']['median'])} s "
            f"| {_ratio(m['ratios']['build_trigc_over_hls4ml'])} "
            f"| {(_f(onnx['median']) + ' s') if onnx and onnx['median'] else '–'} |")
    md.append("")

    md += ["## Throughput (events/s)", "",
           "trigc's emulator runs on every event; the C-sim and hls4ml `predict()` on disjoint "
           "slices of them (one per repetition, the same slice for both tools in a pair). "
           "\"trigc emulator\" is the first call in a fresh process (the headline and the "
           "target check); \"warm\" is the median of three more calls in the same process, "
           "as in a long trigger-emulation job.", "",
           "| model | trigc emulator | emulator, warm | trigc C-sim | hls4ml predict "
           "| framework quantized | framework float | emulator ÷ predict | warm ÷ predict "
           "| C-sim ÷ predict |",
           "|---|---:|---:|---:|---:|---:|---:|---|---|---|"]
    for n in order:
        m = results["models"][n]
        tp = m["throughput_ev_s"]
        md.append(f"| {n} | {_rate_fmt(tp['trigc_emulator']['median'])} "
                  f"| {_rate_fmt(tp['trigc_emulator_warm']['median'])} "
                  f"| {_rate_fmt(tp['trigc_csim']['median'])} "
                  f"| {_rate_fmt(tp['hls4ml_predict']['median'])} "
                  f"| {_rate_fmt(tp['framework_quantized']['median'])} "
                  f"| {_rate_fmt(tp['framework_float']['median'])} "
                  f"| {_ratio(m['ratios']['emulator_over_predict'])} "
                  f"| {_ratio(m['ratios']['emulator_warm_over_predict'])} "
                  f"| {_ratio(m['ratios']['csim_over_predict'])} |")
    md.append("")

    md += ["## Peak memory (RSS, MB)", "",
           "Per step, in its own process: the process's peak during the step (its high-water "
           "mark reset at the step's start; it includes what the process already held, e.g. "
           "TensorFlow), and for the C-sim build the summed RSS of the compiler processes it spawned (g++, cc1plus, as, ld, hls4ml's build shell), sampled every 50 ms.", "",
           "| model | convert trigc | convert hls4ml | build trigc: g++ / python | "
           "build hls4ml: g++ / python | emulator | trigc C-sim | hls4ml predict |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for n in order:
        m = results["models"][n]
        md.append(
            f"| {n} | {_f(m['convert_rss_mb']['trigc']['median'])} "
            f"| {_f(m['convert_rss_mb']['hls4ml']['median'])} "
            f"| {_f(m['build_compiler_rss_mb']['trigc']['median'])} / "
            f"{_f(m['build_rss_mb']['trigc']['median'])} "
            f"| {_f(m['build_compiler_rss_mb']['hls4ml']['median'])} / "
            f"{_f(m['build_rss_mb']['hls4ml']['median'])} "
            f"| {_f(m['step_rss_mb']['trigc_emulator']['median'])} "
            f"| {_f(m['step_rss_mb']['trigc_csim']['median'])} "
            f"| {_f(m['step_rss_mb']['hls4ml_predict']['median'])} |")
    md.append("")

    md += ["## Agreement (raw, unquantized inputs)", "",
           "Fraction of events whose every output is identical (bit-exact), and whose argmax "
           "is the same. The framework is the QKeras/Brevitas quantized forward pass (float32; "
           "every value here is exact in float32).", "",
           "| model | emulator = framework | C-sim = emulator | C-sim = framework "
           "| hls4ml = framework | hls4ml = trigc | argmax trigc = fw | argmax hls4ml = fw "
           "| accuracy fw / trigc / hls4ml |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for n in order:
        a = results["models"][n]["agreement"]
        md.append(
            f"| {n} | {_pct(a.get('emu_vs_framework_exact'))} ({a.get('emu_events', 0):,}) "
            f"| {_pct(a.get('emu_vs_csim_exact'))} ({a.get('csim_events', 0):,}) "
            f"| {_pct(a.get('csim_vs_framework_exact'))} "
            f"| {_pct(a.get('hls4ml_vs_framework_exact'))} ({a.get('hls4ml_events', 0):,}) "
            f"| {_pct(a.get('hls4ml_vs_emu_exact'))} "
            f"| {_pct(a.get('emu_vs_framework_argmax'))} "
            f"| {_pct(a.get('hls4ml_vs_framework_argmax'))} "
            f"| {_f(a.get('accuracy_framework'), 3)} / {_f(a.get('accuracy_trigc'), 3)} / "
            f"{_f(a.get('accuracy_hls4ml'), 3)} |")
    md.append("")

    series = results.get("scaling_series") or []
    if series:
        md += ["## Scaling series", "",
               "MLPs 16→w×5→5 (w = 16, 32, 64, 128, 200; w = 200 is mlp_large), same "
               "quantizers as the jet tagger. Plot: [`scaling.png`](scaling.png).", "",
               "| model | params | convert trigc / hls4ml, s | build trigc / hls4ml, s "
               "| emulator / C-sim / predict, events/s | reps |",
               "|---|---:|---|---|---|---:|"]
        for n in series:
            m = results["models"][n]
            tp = m["throughput_ev_s"]
            md.append(
                f"| {n} | {m['spec']['params']:,} "
                f"| {_f(m['convert_s']['trigc']['median'])} / {_f(m['convert_s']['hls4ml']['median'])} "
                f"| {_f(m['build_s']['trigc']['median'])} / {_f(m['build_s']['hls4ml']['median'])} "
                f"| {_rate_fmt(tp['trigc_emulator']['median'])} / "
                f"{_rate_fmt(tp['trigc_csim']['median'])} / {_rate_fmt(tp['hls4ml_predict']['median'])} "
                f"| {m['reps']} |")
        md.append("")

    if results.get("verilog"):
        from bench.verilog import markdown as verilog_markdown

        md += [verilog_markdown(results["verilog"])]

    if results.get("emulator"):
        from bench.emulator import markdown as emulator_markdown

        md += [emulator_markdown(results["emulator"])]

    if results.get("pipeline"):
        from bench.pipeline import markdown as pipeline_markdown

        md += [pipeline_markdown(results["pipeline"])]

    if results.get("stream"):
        from bench.stream import markdown as stream_markdown

        md += [stream_markdown(results["stream"])]

    md += ["## Noise", "",
           "The machine is shared (other test runs); the 1-minute load average during the "
           f"run was {_f((results.get('load1_during_run') or {}).get('min'), 1)}–"
           f"{_f((results.get('load1_during_run') or {}).get('max'), 1)} on "
           f"{results['machine']['cores_usable']} cores. Spread = (max − min) / median over "
           "the repetitions.", "", _noise_section(results)]
    errs = {n: results["models"][n]["errors"] for n in order if results["models"][n]["errors"]}
    if errs:
        md += ["## Failures", ""]
        for n, e in errs.items():
            for tool, msgs in e.items():
                for msg in msgs:
                    md.append(f"- {n} / {tool}: `{(msg or '')[:300]}`")
        md.append("")
    md += [f"Total bench wall time: {results['total_minutes']:.1f} min.", ""]
    return "\n".join(md)


def plot_scaling(results: dict, path: Path) -> bool:
    series = results.get("scaling_series") or []
    if len(series) < 2:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    params = [results["models"][n]["spec"]["params"] for n in series]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))

    def line(ax, values, label, style):
        pts = [(p, v) for p, v in zip(params, values) if v is not None]
        if pts:
            ax.plot(*zip(*pts), style, label=label)

    ms = [results["models"][n] for n in series]
    line(axes[0], [m["convert_s"]["trigc"]["median"] for m in ms], "trigc", "o-")
    line(axes[0], [m["convert_s"]["hls4ml"]["median"] for m in ms], "hls4ml", "s-")
    axes[0].set_title("model file → firmware project (fresh process)")
    axes[0].set_ylabel("wall time [s]")
    line(axes[1], [m["build_s"]["trigc"]["median"] for m in ms], "trigc (g++ C-sim library)", "o-")
    line(axes[1], [m["build_s"]["hls4ml"]["median"] for m in ms], "hls4ml compile()", "s-")
    axes[1].set_title("C-sim build")
    axes[1].set_ylabel("wall time [s]")
    tp = [m["throughput_ev_s"] for m in ms]
    line(axes[2], [t["trigc_emulator"]["median"] for t in tp], "trigc emulator", "o-")
    line(axes[2], [t["trigc_emulator_warm"]["median"] for t in tp],
         "trigc emulator (warm)", "o:")
    line(axes[2], [t["trigc_csim"]["median"] for t in tp], "trigc C-sim", "^-")
    line(axes[2], [t["hls4ml_predict"]["median"] for t in tp], "hls4ml predict()", "s-")
    line(axes[2], [t["framework_quantized"]["median"] for t in tp], "QKeras (quantized)", "d--")
    axes[2].set_title("emulation throughput")
    axes[2].set_ylabel("events / s")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("parameters (MLP 16→w×5→5)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"trigc vs hls4ml, scaling with model size — {results['date_utc']}, "
                 f"{results['machine']['cpu']} ({results['machine']['cores_usable']} cores)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True

"""The emulator's figures (issue 17): ``python -m bench.emulator`` (part of ``make bench``
through ``bench/run.py``, or alone).

For each model (the trained jet taggers and conv tagger of ``models/``, and mlp_large,
16→200×5→5 with random 6-bit weights, built here as QONNX):

1. the fast path's C kernel built from a cold cache (code generation + gcc);
2. the first ``trigc.emulate`` call in a fresh process, kernel cached (the process
   imports trigc and loads the model first; only the call is timed), and the whole
   process (spawn, imports, load, call);
3. warm: the median of ``--calls`` more calls in that process, with the fast path and
   with the interpreter (``engine="interpreter"``);
4. bit-exactness: fast path == interpreter on every event;
5. multiply-accumulates per second against a simple roofline: cores x clock x the MACs
   a core retires per cycle with the arithmetic the kernel uses. Dense layers with
   8-bit inputs and weights run on AVX-512 VNNI where the CPU has it (one 512-bit
   ``vpdpbusd``, 64 int8 MACs, per cycle); the others accumulate in float32 FMAs where
   the IR's types prove them exact (16 lanes per cycle with two 256-bit FMA pipes, AVX2
   or AVX-512 double-pumped as on AMD Zen 4; 32 on Intel cores with two 512-bit FMA
   units). A model is measured against the roofline of its widest arithmetic.

Writes ``bench/emulator.json`` (or ``--json``) and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, log, machine_info, python_env  # noqa: E402

LARGE_SIZES = (16, 200, 200, 200, 200, 200, 5)
TARGETS = {"jet_tagger_qkeras": 5e6, "jet_tagger_brevitas": 5e6, "conv_tagger": 5e5,
           "mlp_large": 5e5}
FIRST_CALL_TARGET = 2e6  # jet tagger, events/s


def mlp_large(path: Path) -> Path:
    """mlp_large as a QONNX file: 6-bit weights (per tensor), 6-bit ReLU activations,
    8-bit inputs, as the bench's QKeras mlp_large (random weights: no training here)."""
    import numpy as np

    from trigc.frontends.qonnx_builder import QonnxBuilder

    rng = np.random.default_rng(7)
    b = QonnxBuilder("mlp_large")
    x = b.quant("inputs", 2.0**-4, 8)
    sizes = LARGE_SIZES
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = b.quant(b.const(rng.normal(0, 1 / np.sqrt(n_in), (n_in, n_out))), 2.0**-5, 6)
        x = b.node("MatMul", [x, w])
        x = b.node("Add", [x, b.quant(b.const(rng.normal(0, 0.1, n_out)), 2.0**-5, 6)])
        if i < len(sizes) - 2:
            x = b.quant(b.node("Relu", [x]), 2.0**-4, 6, signed=False)
    import onnx

    onnx.save(b.model({"inputs": (1, sizes[0])}, x, (1, sizes[-1])), path)
    return path


def model_files(workdir: Path) -> dict[str, Path]:
    files = {name: ROOT / "models" / name / f"{name}.onnx"
             for name in ("jet_tagger_qkeras", "jet_tagger_brevitas", "conv_tagger")}
    files["mlp_large"] = mlp_large(workdir / "mlp_large.onnx")
    return files


def make_inputs(name: str, n: int, path: Path) -> Path:
    import numpy as np

    from trigc import datasets

    x = datasets.calo_images(n, 11)[0] if name == "conv_tagger" else \
        datasets.jet_features(n, 11)[0]
    np.save(path, np.asarray(x, dtype=np.float64))
    return path


CHILD = r"""
import json, statistics, sys, time
t_start = time.perf_counter()
import numpy as np
import trigc
from trigc.emulator import emulate, fast
model, data, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
graph = trigc.load(model)
x = np.load(data)
if x.shape[1:] != graph.inputs[0].shape:
    x = x.reshape(len(x), *graph.inputs[0].shape)
t_ready = time.perf_counter()
y = emulate(graph, x)
t_first = time.perf_counter() - t_ready
warm = []
for _ in range(calls):
    t = time.perf_counter(); y1 = emulate(graph, x); warm.append(time.perf_counter() - t)
    assert np.array_equal(y, y1)
n_int = min(len(x), 200000)
interp = []
for _ in range(2):
    t = time.perf_counter()
    yi = emulate(graph, x[:n_int], engine="interpreter")
    interp.append(time.perf_counter() - t)
exact = bool(np.array_equal(yi, y[:n_int]))
yi_all = emulate(graph, x, raw=True, engine="interpreter")
exact = exact and bool(np.array_equal(yi_all, emulate(graph, x, raw=True, engine="fast")))
print(json.dumps({"events": len(x), "first_s": t_first, "setup_s": t_ready - t_start,
                  "warm_s": statistics.median(warm), "warm_all_s": warm,
                  "interp_events": n_int, "interp_s": min(interp), "exact": exact,
                  "macs": fast.macs_per_event(graph),
                  "fast": fast.unsupported_reason(graph) is None,
                  "vnni": bool(fast.kernel(graph).meta.get("vnni"))}))
"""


def roofline() -> dict:
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines()
                  if line.startswith("flags")), [])
    mhz = [float(line.split(":")[1]) for line in info.splitlines() if line.startswith("cpu MHz")]
    vendor = next((line.split(":", 1)[1].strip() for line in info.splitlines()
                   if line.startswith("vendor_id")), "")
    lanes = 32 if ("avx512f" in flags and vendor == "GenuineIntel") else \
        16 if "fma" in flags else 4
    cores = os.cpu_count() or 1
    ghz = (max(mhz) if mhz else 2000.0) / 1000
    int8 = 64 if "avx512_vnni" in flags else lanes
    return {"cores": cores, "ghz": ghz, "fma_lanes_per_cycle": lanes, "vendor": vendor,
            "int8_macs_per_cycle": int8, "peak_mac_s": cores * ghz * 1e9 * lanes,
            "peak_int8_mac_s": cores * ghz * 1e9 * int8}


def build_cold(model: Path, cache: Path) -> float:
    """Seconds to generate and compile the kernel into the empty ``cache`` (own process)."""
    code = ("import sys, time, trigc\nfrom trigc.emulator import fast\n"
            "g = trigc.load(sys.argv[1]); t = time.perf_counter(); fast.require(g)\n"
            "print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code, str(model)], capture_output=True,
                         text=True, env=python_env({"TRIGC_CACHE_DIR": str(cache)}), cwd=ROOT)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return float(out.stdout.strip().splitlines()[-1])


def measure(name: str, model: Path, data: Path, calls: int, workdir: Path) -> dict:
    cache = Path(tempfile.mkdtemp(prefix="fast-cache-", dir=workdir))
    rec = {"build_cold_s": build_cold(model, cache)}
    env = python_env({"TRIGC_CACHE_DIR": str(cache)})  # the kernel just built: cached
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD, str(model), str(data), str(calls)],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    rec["process_s"] = time.perf_counter() - t0
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    rec.update(json.loads(out.stdout.strip().splitlines()[-1]))
    n = rec["events"]
    rec["first_events_s"] = n / rec["first_s"]
    rec["warm_events_s"] = n / rec["warm_s"]
    rec["warm_best_events_s"] = n / min(rec["warm_all_s"])
    rec["interp_events_s"] = rec["interp_events"] / rec["interp_s"]
    rec["warm_mac_s"] = rec["warm_events_s"] * rec["macs"]
    return rec


def table(results: dict) -> str:
    roof = results["roofline"]
    lines = [f"Machine: {roof['cores']} cores at {roof['ghz']:.2f} GHz; rooflines: float32 FMA "
             f"{roof['fma_lanes_per_cycle']} MACs/cycle/core = "
             f"{roof['peak_mac_s'] / 1e9:.0f} GMAC/s, int8 VNNI "
             f"{roof['int8_macs_per_cycle']} MACs/cycle/core = "
             f"{roof['peak_int8_mac_s'] / 1e9:.0f} GMAC/s; load {results['load1']:.1f} "
             "(1-minute average) at the end of the run.", "",
             "| model | MACs/event | kernel build (cold) | first call, fresh process | warm (best) "
             "| interpreter, warm | warm ÷ interpreter | arithmetic | GMAC/s (% roofline) "
             "| target | fast == interpreter |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in results["models"].items():
        target = TARGETS.get(name)
        met = "" if target is None else \
            f"≥ {target / 1e6:g}M: {'met' if r['warm_events_s'] >= target else 'missed'}"
        peak = roof["peak_int8_mac_s"] if r.get("vnni") else roof["peak_mac_s"]
        lines.append(
            f"| {name} | {r['macs']:,} | {r['build_cold_s']:.2f} s "
            f"| {r['first_events_s'] / 1e6:.2f}M ev/s | {r['warm_events_s'] / 1e6:.2f}M "
            f"({r['warm_best_events_s'] / 1e6:.2f}M) ev/s "
            f"| {r['interp_events_s'] / 1e6:.3f}M ev/s "
            f"| {r['warm_events_s'] / r['interp_events_s']:.0f}× "
            f"| {'int8 VNNI' if r.get('vnni') else 'float32 FMA'} "
            f"| {r['warm_mac_s'] / 1e9:.1f} ({100 * r['warm_mac_s'] / peak:.0f}%) "
            f"| {met} | {'yes' if r['exact'] else 'NO'} |")
    return "\n".join(lines)


def markdown(results: dict) -> str:
    """The RESULTS.md section."""
    if "error" in results:
        return f"## Fast emulator (issue 17)\n\n{results['error']}\n"
    return "\n".join([
        "## Fast emulator (issue 17)", "",
        "`python -m bench.emulator`: the C kernel trigc generates per graph "
        "(`trigc.emulator.fast`), on "
        f"{results['settings']['events']:,} events ({results['settings']['conv_events']:,} "
        "for the conv tagger); warm = median of "
        f"{results['settings']['calls']} calls in one process (the fastest in brackets; the "
        "machine is shared, so the spread is wide); the first call runs in a fresh process "
        "with the kernel cached; the interpreter is "
        "`engine=\"interpreter\"`. mlp_large has random 6-bit weights (same shape as the "
        "bench's QKeras mlp_large).", "", table(results), ""])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="trigc emulator figures (issue 17)")
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--conv-events", type=int, default=200_000)
    p.add_argument("--calls", type=int, default=9)
    p.add_argument("--models", default="")
    p.add_argument("--json", default=str(ROOT / "bench" / "emulator.json"))
    args = p.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-emulator-"))
    files = model_files(workdir)
    if args.models:
        files = {k: v for k, v in files.items() if k in args.models.split(",")}
    results = {"machine": machine_info(), "roofline": roofline(), "models": {},
               "settings": {"events": args.events, "conv_events": args.conv_events,
                            "calls": args.calls}}
    for name, model in files.items():
        n = args.conv_events if name == "conv_tagger" else args.events
        data = make_inputs(name, n, workdir / f"{name}_x.npy")
        log(f"{name}: {n:,} events")
        results["models"][name] = measure(name, model, data, args.calls, workdir)
    results["load1"] = os.getloadavg()[0]
    Path(args.json).write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

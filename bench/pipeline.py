"""``trigc emulate`` end to end (issue 17): ``python -m bench.pipeline`` (part of
``make bench`` through ``bench/run.py``, or alone).

The README's trigger demo at scale: the trained QKeras jet tagger compiled to a
project, ``--events`` toy jets (16 float32 features and a class label) written once as
Parquet (row groups of 1M events) and once as ``.npy`` (features only: a ``.npy`` has no
label column, so that run uses the demo menu without its ``[labels]`` table, and rates
are over all events).
Each run is a fresh ``trigc emulate PROJECT --data FILE --menu MENU --out
decisions.parquet`` process with the default workers (one per core), timed from spawn
to exit, its process tree's summed PSS (and its largest process's RSS) sampled every
50 ms; the decisions file is checked against the bare emulator on the first 100,000
events.

Writes ``--json`` (default: printed only) and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, log, machine_info, python_env  # noqa: E402

MODEL = ROOT / "models" / "jet_tagger_qkeras" / "jet_tagger_qkeras.onnx"
TARGET_EVENTS_S = 2e6
TARGET_RSS_MB = 500.0
CHECK_EVENTS = 100_000

MENU = """name = "jet_demo"

[outputs]
score = { tensor = 0, elements = ["g", "q", "W", "Z", "t"] }
LABELS
[bits]
top_tag = 'argmax(score) == 4 and score["t"] >= 3.5'
W_tag = { condition = 'argmax(score) == 2 and score["W"] - score["Z"] >= 1', prescale = 4 }
Z_window = '2.5 <= score["Z"] < 4'

[l1]
accept = "top_tag or W_tag or Z_window"
"""
LABELS = """
[labels]
column = "label"
names = ["g", "q", "W", "Z", "t"]
background = ["g", "q"]
"""


def write_events(workdir: Path, n: int, chunk: int = 1_000_000) -> dict[str, Path]:
    """The same ``n`` toy jets as Parquet (features f0..f15 + label) and as .npy
    (N, 16) float32, written chunk by chunk."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from trigc import datasets

    pq_path, npy_path = workdir / "jets.parquet", workdir / "jets.npy"
    features = np.lib.format.open_memmap(npy_path, mode="w+", dtype=np.float32, shape=(n, 16))
    writer = None
    for i, start in enumerate(range(0, n, chunk)):
        x, y = datasets.jet_features(min(chunk, n - start), seed=1000 + i)
        x = np.asarray(x, dtype=np.float32)
        features[start:start + len(x)] = x
        table = pa.table({**{f"f{j}": x[:, j] for j in range(16)},
                          "label": np.asarray(y, dtype=np.int8)})
        if writer is None:
            writer = pq.ParquetWriter(pq_path, table.schema)
        writer.write_table(table)
    writer.close()
    features.flush()
    del features
    return {"parquet": pq_path, "npy": npy_path}


def _tree(root: int) -> list[int]:
    """``root`` and its live descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    pids, stack = [], [root]
    while stack:
        pid = stack.pop()
        pids.append(pid)
        stack.extend(children.get(pid, []))
    return pids


def _memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in kB; PSS divides each shared page among its sharers,
    so the PSS of a process tree is the memory it occupies (forked workers share
    the parent's pages, which their RSS each counts in full)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0, 0
    fields = dict(line.split(":", 1) for line in text.splitlines()[1:] if ":" in line)
    kb = lambda k: int(fields.get(k, "0 kB").split()[0])  # noqa: E731
    return kb("Rss"), kb("Pss")


def run_emulate(args: list[str], env: dict, log_path: Path) -> dict:
    """One ``trigc emulate`` process: wall seconds, the peak summed PSS of its process
    tree and the peak RSS of its largest process, sampled every 50 ms."""
    peak = {"pss": 0, "rss": 0}
    with open(log_path, "w") as logf:
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=logf, stderr=subprocess.STDOUT)
        done = threading.Event()

        def sample():
            while not done.is_set():
                mem = [_memory_kb(pid) for pid in _tree(proc.pid)]
                peak["pss"] = max(peak["pss"], sum(m[1] for m in mem))
                peak["rss"] = max([peak["rss"]] + [m[0] for m in mem])
                done.wait(0.05)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        code = proc.wait()
        wall = time.perf_counter() - t0
        done.set()
        thread.join()
    if code != 0:
        raise RuntimeError(f"trigc emulate exited with {code}: "
                           f"{log_path.read_text()[-2000:]}")
    return {"wall_s": wall, "peak_pss_mb": peak["pss"] / 1024,
            "peak_rss_largest_mb": peak["rss"] / 1024,
            "headline": next((line for line in log_path.read_text().splitlines()
                              if line.startswith("emulated ")), None)}


def check_decisions(project: Path, data: Path, decisions: Path) -> bool:
    """The raw outputs in the decisions file (``raw:score``, integers in units of the
    output type's LSB) == the bare emulator's, on the first events."""
    import numpy as np
    import pyarrow.parquet as pq

    import trigc

    raw = pq.read_table(decisions, columns=["raw:score"]).column(0).combine_chunks()
    got = raw.flatten().to_numpy().reshape(len(raw), -1)[:CHECK_EVENTS]
    x = np.load(data, mmap_mode="r")[:CHECK_EVENTS] if data.suffix == ".npy" else \
        np.stack([pq.read_table(data, columns=[f"f{j}"]).column(0).to_numpy()[:CHECK_EVENTS]
                  for j in range(16)], axis=1)
    want = trigc.Project(project).emulate(np.asarray(x, dtype=np.float64), raw=True)
    want = np.asarray(want[0] if isinstance(want, list) else want)
    return got.shape == want.shape and bool(np.array_equal(got, want))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="trigc emulate end to end (issue 17)")
    p.add_argument("--events", type=int, default=10_000_000)
    p.add_argument("--workers", default="auto")
    p.add_argument("--json", default=None)
    p.add_argument("--workdir", default=None)
    args = p.parse_args(argv)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-pipeline-"))
    workdir.mkdir(parents=True, exist_ok=True)
    env = python_env({"TRIGC_CACHE_DIR": str(workdir / "cache")})
    trigc_exe = str(Path(sys.executable).with_name("trigc"))
    project = workdir / "jet_prj"
    subprocess.run([trigc_exe, "compile", str(MODEL), "-o", str(project), "--overwrite"],
                   check=True, capture_output=True, env=env, cwd=ROOT)
    t = time.perf_counter()
    files = write_events(workdir, args.events)
    log(f"pipeline: {args.events:,} events written in {time.perf_counter() - t:.0f} s")
    (workdir / "menu.toml").write_text(MENU.replace("LABELS", LABELS))
    (workdir / "menu_nolabels.toml").write_text(MENU.replace("LABELS", ""))
    # the kernel compiled once, as for any user's second run
    subprocess.run([trigc_exe, "emulate", str(project), "--data", str(files["npy"]),
                    "--max-events", "1000", "--no-progress"], check=True, capture_output=True,
                   env=env, cwd=ROOT)
    results = {"machine": machine_info(), "events": args.events, "workers": args.workers,
               "runs": {}}
    for fmt, menu in (("parquet", "menu.toml"), ("npy", "menu_nolabels.toml")):
        out = workdir / f"decisions_{fmt}.parquet"
        cmd = [trigc_exe, "emulate", str(project), "--data", str(files[fmt]), "--menu",
               str(workdir / menu), "--out", str(out), "--workers", str(args.workers),
               "--no-progress"]
        if fmt == "parquet":  # a flat ntuple: one column per feature
            cmd += ["--map", "inputs=" + ",".join(f"f{j}" for j in range(16))]
        rec = run_emulate(cmd, env, workdir / f"emulate_{fmt}.log")
        rec["events_s"] = args.events / rec["wall_s"]
        rec["exact_first_events"] = check_decisions(project, files[fmt], out)
        rec["file_mb"] = files[fmt].stat().st_size / 2**20
        results["runs"][fmt] = rec
        log(f"pipeline {fmt}: {rec['wall_s']:.1f} s, {rec['events_s'] / 1e6:.2f}M events/s, "
            f"peak PSS {rec['peak_pss_mb']:.0f} MB, exact {rec['exact_first_events']}")
    results["load1"] = os.getloadavg()[0]
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(table(results))
    return 0


def table(results: dict) -> str:
    lines = ["| event file | size | events | wall (spawn to exit) | events/s "
             "| peak memory: tree PSS / largest process RSS | decisions == emulator "
             "| target (≥ 2M/s, < 500 MB) |", "|---|---:|---:|---:|---:|---:|---|---|"]
    for fmt, r in results["runs"].items():
        met = r["events_s"] >= TARGET_EVENTS_S and r["peak_pss_mb"] < TARGET_RSS_MB
        lines.append(f"| .{fmt} | {r['file_mb']:,.0f} MB | {results['events']:,} "
                     f"| {r['wall_s']:.1f} s | {r['events_s'] / 1e6:.2f}M "
                     f"| {r['peak_pss_mb']:.0f} MB / {r['peak_rss_largest_mb']:.0f} MB "
                     f"| {'yes' if r['exact_first_events'] else 'NO'} (first {CHECK_EVENTS:,}) "
                     f"| {'met' if met else 'missed'} |")
    return "\n".join(lines)


def markdown(results: dict) -> str:
    """The RESULTS.md section."""
    if "error" in results:
        return f"## trigc emulate end to end (issue 17)\n\n{results['error']}\n"
    return "\n".join([
        "## trigc emulate end to end (issue 17)", "",
        "`python -m bench.pipeline`: the README's trigger demo at scale. The trained QKeras "
        f"jet tagger, {results['events']:,} toy jets written once as Parquet (one float32 "
        "column per feature plus the label, row groups of 1M events, mapped with "
        "`--map inputs=f0,...,f15`) and once as `.npy` (float32 (N, 16); the demo menu "
        "without its `[labels]` table, since a `.npy` has no label column). One fresh "
        "`trigc emulate PROJECT --data FILE --menu menu.toml --out decisions.parquet` "
        f"process each, workers `{results['workers']}` (one per core), the emulator kernel "
        "already cached; memory sampled every 50 ms.", "", table(results), ""])


if __name__ == "__main__":
    sys.exit(main())

"""One benchmark process: one tool, one model, one repetition, in a fresh interpreter.

    python -m bench.worker TOOL MODEL WORKDIR REP T_SPAWN SLOW_START SLOW_STOP

TOOL is ``trigc``, ``hls4ml`` or ``trigc-onnx`` (trigc from its own QONNX export of a
QKeras model; conversion step only). Steps, in order:

1. convert: model file -> firmware project written. Wall time from T_SPAWN (the
   parent's clock just before it started this interpreter) to the moment the project
   is on disk, so interpreter start-up and every import are included.
2. build: the C-simulation library. trigc: the first ``Project.csim`` call (g++ build
   into an empty ``$TRIGC_CACHE_DIR``, plus one event); hls4ml: ``ModelGraph.compile()``
   (which rewrites the project, then runs its build_lib.sh with g++).
3. throughput: trigc's emulator on every event (the first call, then the median of
   WARM_CALLS more calls in the same process), trigc's C-sim on events
   [SLOW_START, SLOW_STOP) in one batched ctypes call; hls4ml ``predict()`` on the same
   events.

Writes WORKDIR/out/MODEL/TOOL_repREP.json and the outputs as .npy next to it.
"""

from __future__ import annotations

import statistics
import sys
import time
import traceback
from pathlib import Path

from bench.common import ChildrenMonitor, Step, cpu_seconds, peak_mb, read_json, write_json


WARM_CALLS = 3


def _convert_record(t_spawn: float) -> dict:
    t = time.time()
    cpu = cpu_seconds()
    return {"wall_s": t - t_spawn, "cpu_s": cpu[0], "child_cpu_s": cpu[1],
            "peak_rss_mb": peak_mb(), "peak_is_step_local": True}


# ---- trigc ----------------------------------------------------------------------------

def run_trigc(spec: dict, workdir: Path, rep: int, t_spawn: float, slow, tool: str) -> dict:
    import trigc

    model_file = spec["qonnx_file"] if tool == "trigc-onnx" else spec["model_file"]
    out_dir = workdir / "prj" / spec["name"] / f"{tool}_rep{rep}"
    project = trigc.compile(model_file, out_dir)
    record = {"convert": _convert_record(t_spawn), "model_file": Path(model_file).name}
    if tool == "trigc-onnx":
        return record

    import numpy as np

    x = np.load(workdir / "data" / f"{spec['dataset']}_x.npy")
    out = workdir / "out" / spec["name"]
    with ChildrenMonitor() as compilers, Step(record, "build"):
        project.csim(x[:1])
    record["build"]["compiler_peak_rss_mb"] = compilers.peak_mb

    with Step(record, "emulate"):
        y_emu = project.emulate(x)
    record["emulate"]["events"] = len(x)
    np.save(out / f"trigc_emu_rep{rep}.npy", y_emu)

    # The first call above is what a fresh process pays (memory first touched, thread
    # pool started); a long trigger-emulation job runs warm: time WARM_CALLS more calls.
    warm = []
    for _ in range(WARM_CALLS):
        with Step(record, "emulate_warm"):
            y1 = project.emulate(x)
        warm.append(record["emulate_warm"]["wall_s"])
        if not np.array_equal(y1, y_emu):
            raise RuntimeError("emulator output differs between two calls")
    record["emulate_warm"]["wall_s"] = statistics.median(warm)
    record["emulate_warm"]["wall_s_all"] = warm
    record["emulate_warm"]["events"] = len(x)

    xs = x[slow[0]:slow[1]]
    with Step(record, "csim"):
        y_sim = project.csim(xs)
    record["csim"]["events"] = len(xs)
    np.save(out / f"trigc_csim_rep{rep}.npy", y_sim)
    record["types"] = {"input": str(project.graph.inputs[0].type),
                       "output": str(project.graph.outputs[0].type)}
    return record


# ---- hls4ml ---------------------------------------------------------------------------

def _hls4ml_from_keras(spec: dict, out_dir: Path):
    import tensorflow as tf  # noqa: F401 - TF_USE_LEGACY_KERAS=1: tf.keras is tf_keras
    import tf_keras

    sys.modules["keras"] = tf_keras  # hls4ml 1.3 on QKeras (Keras 2) models
    import hls4ml
    from qkeras.utils import load_qmodel

    model = load_qmodel(spec["model_file"], compile=False)
    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    hls_model = hls4ml.converters.convert_from_keras_model(
        model, hls_config=config, output_dir=str(out_dir), backend="Vitis",
        io_type="io_parallel")
    return hls_model, config


def _hls4ml_from_qonnx(spec: dict, out_dir: Path):
    """hls4ml's documented QONNX flow: qonnx cleanup, channels-last, Gemm -> MatMul."""
    import hls4ml
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.channels_last import ConvertToChannelsLastAndClean
    from qonnx.transformation.gemm_to_matmul import GemmToMatMul
    from qonnx.util.cleanup import cleanup_model

    model = ModelWrapper(spec["model_file"])
    model = cleanup_model(model)
    model = model.transform(ConvertToChannelsLastAndClean())
    model = model.transform(GemmToMatMul())
    model = cleanup_model(model)
    config = hls4ml.utils.config.config_from_onnx_model(model, granularity="name",
                                                        backend="Vitis")
    hls_model = hls4ml.converters.convert_from_onnx_model(
        model, hls_config=config, output_dir=str(out_dir), backend="Vitis",
        io_type="io_parallel")
    return hls_model, config


def run_hls4ml(spec: dict, workdir: Path, rep: int, t_spawn: float, slow) -> dict:
    out_dir = workdir / "prj" / spec["name"] / f"hls4ml_rep{rep}"
    if spec["framework"] == "qkeras":
        hls_model, config = _hls4ml_from_keras(spec, out_dir)
    else:
        hls_model, config = _hls4ml_from_qonnx(spec, out_dir)
    hls_model.write()
    record = {"convert": _convert_record(t_spawn), "model_file": Path(spec["model_file"]).name,
              "config_model": {k: config["Model"].get(k) for k in
                               ("Precision", "ReuseFactor", "Strategy")}}

    import numpy as np

    x = np.load(workdir / "data" / f"{spec['dataset']}_x.npy")
    out = workdir / "out" / spec["name"]
    with ChildrenMonitor() as compilers, Step(record, "build"):
        hls_model.compile()
    record["build"]["compiler_peak_rss_mb"] = compilers.peak_mb

    xs = np.ascontiguousarray(x[slow[0]:slow[1]])
    with Step(record, "predict"):
        y = hls_model.predict(xs)
    record["predict"]["events"] = len(xs)
    y = np.asarray(y, dtype=np.float64).reshape(len(xs), -1)
    np.save(out / f"hls4ml_rep{rep}.npy", y)
    return record


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    tool, name, workdir, rep, t_spawn, s0, s1 = argv
    workdir, rep, t_spawn = Path(workdir), int(rep), float(t_spawn)
    slow = (int(s0), int(s1))
    spec = read_json(workdir / "specs" / f"{name}.json")
    (workdir / "out" / name).mkdir(parents=True, exist_ok=True)
    result_path = workdir / "out" / name / f"{tool}_rep{rep}.json"
    try:
        if tool in ("trigc", "trigc-onnx"):
            record = run_trigc(spec, workdir, rep, t_spawn, slow, tool)
        elif tool == "hls4ml":
            record = run_hls4ml(spec, workdir, rep, t_spawn, slow)
        else:
            raise ValueError(f"unknown tool {tool!r}")
        record["ok"] = True
    except Exception as exc:  # noqa: BLE001 - recorded, the bench goes on
        record = {"ok": False, "error": f"{type(exc).__name__}: {exc}",
                  "traceback": traceback.format_exc()}
        print(record["traceback"], file=sys.stderr)
    record.update({"tool": tool, "model": name, "rep": rep, "slow_events": list(slow)})
    write_json(result_path, record)
    return 0 if record["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

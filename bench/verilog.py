"""trigc's Verilog backend vs da4ml 0.6.0 on the QKeras jet taggers: ``python -m bench.verilog``.

For each model (``models/jet_tagger_qkeras`` and its 16-bit-input variant
``models/jet_tagger_qkeras16``), both tools start from the same quantized network:
the integer weights, biases and fixed-point types of trigc's final IR
(``trigc.load(onnx)``). da4ml rebuilds the MLP with its numpy-style trace API
(``FixedVariableArrayInput`` -> ``quantize`` -> ``x @ W + b`` -> cast to each Dense
output type -> ``comb_trace`` -> ``RTLModel(latency_cutoff=5, clock_period=5)``);
trigc runs ``trigc compile --backend verilog --clock-ns 5``. Then, for each tool:

* Yosys 0.23 ``synth_xilinx -family xcup`` LUT / FF / CARRY / DSP (``trigc.synth.run``
  on both projects: da4ml's gets a two-field ``port_map.json``, top and RTL files, so
  the very same script runs on it);
* latency in clock cycles, measured by Verilator: events streamed one per cycle (II 1),
  the outputs recorded after each rising edge; the latency L is the lag at which the
  output stream matches the reference (an event sampled at edge k is out after edge
  k + L, ``trigc rtlsim``'s convention; trigc's RTL runs in trigc's own harness);
* the fraction of events bit-exact to the QKeras quantized forward pass on the same
  events of ``trigc.datasets.jet_features`` (the bench's test seed);
* RTL generation time (da4ml: trace + CMVM solve + write, in process; trigc: the
  ``trigc compile`` process, imports included);
* beside them, trigc's Vitis-backend estimate (``report.json`` of the default backend).

A tool that is missing (da4ml, Verilator, Yosys, trigc's Verilog backend) gives a
"not available" line instead of a failure.

Bit-exactness to QKeras: the QKeras model (``models/*/train.py: load_trained``) runs
``model(x, training=False)`` on the inputs already quantized to the IR's input type,
so its input quantizer is the identity. Every value of these networks has at most 24
significant bits (the widest, fc1's fixed<23,8> accumulator of the 16-bit model, has
23), so float32 computes them exactly, and the comparison is ``==`` on
``raw / 2**frac_bits`` (float64, exact) against the float32 output widened to float64:
no tolerance. The QKeras outputs are checked to lie on the output type's grid.

Rounding: the hidden layers cast to ``ufixed<6,0,RND_CONV,SAT>`` (QKeras'
``quantized_relu(6)`` rounds half to even). da4ml's quantize offers only TRN and RND
(half up), so the da4ml model builds round-half-even from them: add
``2**-f / 2 - ulp`` plus the kept LSB scaled to one ulp, then truncate (see
``_cast``); with plain RND, da4ml differs from QKeras on ties.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

if __package__ in (None, ""):  # run as bench/verilog.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, log, read_json, write_json

CLOCK_NS = 5.0
DA4ML_VERSION = "0.6.0"
DA4ML_LATENCY_CUTOFF = 5      # da4ml's own default for a 5 ns clock (its CLI: -c 5 -lc 5)
N_EVENTS = 10_000
DATA_SEED = 2026              # bench/run.py's seed: the same test events as the main bench
MAX_LAG = 256
TARGET_GENERATION_S = 5.0
# bench model -> models/ directory (whose <dir>.onnx, <dir>.h5 and train.py are used)
MODELS = {"jet_qkeras": "jet_tagger_qkeras", "jet_qkeras16": "jet_tagger_qkeras16"}


# ---- the network, from trigc's final IR ---------------------------------------------
def ir_layers(onnx_path: Path):
    """(input type, [(W raw (n_in, n_out), W type, b raw, b type, output type)]) of a
    Dense-only trigc graph."""
    import trigc
    from trigc.ir.ops import Op

    graph = trigc.load(onnx_path)
    layers = []
    for node in graph.nodes:
        if node.op is not Op.DENSE:
            raise ValueError(f"{onnx_path.name}: {node.where()} is not Dense; the Verilog "
                             "bench builds MLPs only")
        w, b = node.inputs[1], node.inputs[2]
        layers.append((w.raw, w.type, b.raw, b.type, node.output.type))
    return graph.inputs[0].type, layers


def events(n: int = N_EVENTS):
    from trigc import datasets

    x, _ = datasets.jet_features(n, datasets.split_seed(DATA_SEED, "bench-test"))
    return x


# ---- the QKeras reference --------------------------------------------------------
def qkeras_reference(model_dir: str, x_quantized):
    """QKeras ``model(x, training=False)`` of the committed weights, float64."""
    path = ROOT / "models" / model_dir / "train.py"
    spec = importlib.util.spec_from_file_location(f"_bench_train_{model_dir}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.load_trained()
    return module.forward(model, x_quantized)


# ---- da4ml -----------------------------------------------------------------------
def _kif(ftype) -> tuple[int, int, int]:
    """da4ml's (keep_negative, integer bits without sign, fraction bits) of a FixedType."""
    return int(ftype.signed), ftype.integer_bits - int(ftype.signed), ftype.frac_bits


def _cast(acc, ftype, native: bool = False):
    """``acc`` (a da4ml FixedVariableArray) cast to ``ftype`` as ap_fixed does; with
    ``native``, round-half-to-even becomes da4ml's own half-up rounding (what a da4ml
    user gets without building the tie rule by hand)."""
    from da4ml.trace.ops import quantize

    rounding, overflow = ftype.rounding.name, ftype.overflow.name
    if overflow not in ("WRAP", "SAT"):
        raise ValueError(f"overflow mode {overflow} has no da4ml equivalent here")
    k, i, f = _kif(ftype)
    acc_frac = int(acc.kif[2].max())
    if native and rounding == "RND_CONV":
        rounding = "RND"
    if acc_frac > f and rounding == "RND_CONV":
        # round half to even = truncate(x + (s/2 - ulp) + ulp * lsb), lsb the kept LSB of x
        step, ulp = 2.0 ** -f, 2.0 ** -acc_frac
        kept_lsb = quantize(acc, 0, 1 - f, f)          # 0 or step: bit -f of acc
        acc = acc + (step / 2 - ulp) + kept_lsb * (ulp / step)
        rounding = "TRN"
    elif acc_frac > f and rounding not in ("TRN", "RND"):
        raise ValueError(f"rounding mode {rounding} has no da4ml equivalent here")
    return quantize(acc, k, i, f, overflow, rounding if acc_frac > f else "TRN")


def da4ml_trace(in_type, layers, native: bool = False):
    """The MLP as da4ml combinational logic (``CombLogic``)."""
    import numpy as np
    from da4ml.trace import FixedVariableArrayInput, comb_trace
    from da4ml.trace.ops import quantize

    inp = FixedVariableArrayInput((layers[0][0].shape[0],))
    x = quantize(inp, *_kif(in_type))
    for w_raw, w_type, b_raw, b_type, out_type in layers:
        weights = w_raw.astype(np.float64) * 2.0 ** -w_type.frac_bits
        bias = b_raw.astype(np.float64) * 2.0 ** -b_type.frac_bits
        x = _cast(x @ weights + bias, out_type, native)
    return comb_trace(inp, x)


def da4ml_native_exactness(in_type, layers, raw_in, reference) -> dict:
    """Bit-exactness to QKeras of the same MLP with da4ml's native half-up rounding,
    from da4ml's own interpreter (``CombLogic.predict``, bit-exact to its RTL)."""
    import numpy as np

    comb = da4ml_trace(in_type, layers, native=True)
    got = comb.predict(np.asarray(raw_in, dtype=np.float64) * 2.0 ** -in_type.frac_bits)
    exact = float(np.mean(np.all(np.asarray(got, dtype=np.float64) == reference, axis=1)))
    return {"bit_exact_vs_qkeras": exact, "events": len(reference)}


def da4ml_generate(in_type, layers, out_dir: Path) -> dict:
    """Trace, solve and write da4ml's Verilog into ``out_dir``; a port_map.json with its
    top and RTL files lets ``trigc.synth`` synthesize it."""
    from da4ml.codegen import RTLModel

    t0 = time.perf_counter()
    comb = da4ml_trace(in_type, layers)
    rtl = RTLModel(comb, "da4ml_mlp", out_dir, flavor="verilog",
                   latency_cutoff=DA4ML_LATENCY_CUTOFF, clock_period=CLOCK_NS,
                   print_latency=False)
    rtl.write()
    seconds = time.perf_counter() - t0
    files = [p.relative_to(out_dir).as_posix() for p in _da4ml_rtl_files(out_dir / "src")]
    (out_dir / "port_map.json").write_text(json.dumps(
        {"top": "da4ml_mlp", "rtl_files": files, "note": "written by bench/verilog.py for "
         "trigc.synth: top and RTL files only"}, indent=1) + "\n")
    meta = json.loads((out_dir / "metadata.json").read_text())
    return {"generation_s": seconds, "comb": comb, "declared_latency": meta.get("latency"),
            "da4ml_cost": meta.get("cost")}


def _da4ml_rtl_files(src: Path) -> list[Path]:
    """The design's own files and the library modules (``src/static``) they instantiate:
    the unused ``lookup_table.v`` reads a placeholder memory file Yosys cannot open."""
    own = sorted(src.glob("*.v"))
    text = "\n".join(p.read_text() for p in own)
    used = [p for p in sorted((src / "static").glob("*.v"))
            if re.search(rf"\b{re.escape(p.stem)}\s*#?\s*\(", text)]
    return own + used


# Verilator 5.006 does not know the lint codes da4ml's library files switch (added in
# 5.008) and stops on them; the simulation copy drops those comments, nothing else.
NEW_LINT_CODES = re.compile(r"/\*\s*verilator\s+lint_(?:on|off)\s+(?:WIDTHTRUNC|WIDTHEXPAND)\s*\*/")


def da4ml_io(comb) -> tuple[dict, dict]:
    """The wrapper's regular I/O layout: every element in ``bits`` bits at scale
    2**-frac, sign-extended when any element is signed."""
    from da4ml.types import minimal_kif

    def layout(qints):
        ks, ints, fracs = zip(*map(minimal_kif, qints))
        int_bits = max(i + k for i, k in zip(ints, ks))
        frac = max(fracs)
        return {"n": len(qints), "bits": int_bits + frac, "frac": frac,
                "signed": bool(max(ks))}

    return layout(comb.inp_qint), layout(comb.out_qint)


# ---- Verilator: stream events at II 1, measure the lag ---------------------------
# Event c is driven before rising edge c, which samples it; the outputs are recorded
# after edge c. An event sampled at edge k with latency L is in record k + L: the
# convention of trigc.rtlsim (and trigc.netlist.timing), so both tools count alike.
HARNESS = r"""// bench/verilog.py: stream one event per clock into a pipelined module
#include "Vdut.h"
#include "verilated.h"
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <memory>

template <typename T> static void put(T& port, const unsigned char* b, size_t n) {
    unsigned long long v = 0;
    for (size_t i = 0; i < n && i < 8; ++i) v |= (unsigned long long)b[i] << (8 * i);
    port = (T)v;
}
template <std::size_t W> static void put(VlWide<W>& port, const unsigned char* b, size_t n) {
    for (size_t w = 0; w < W; ++w) {
        unsigned v = 0;
        for (size_t k = 0; k < 4 && 4 * w + k < n; ++k) v |= (unsigned)b[4 * w + k] << (8 * k);
        port.at(w) = v;
    }
}
template <typename T> static void get(const T& port, unsigned char* b, size_t n) {
    unsigned long long v = port;
    for (size_t i = 0; i < n; ++i) b[i] = i < 8 ? (v >> (8 * i)) & 0xff : 0;
}
template <std::size_t W> static void get(const VlWide<W>& port, unsigned char* b, size_t n) {
    for (size_t i = 0; i < n; ++i) b[i] = i / 4 < W ? (port.at(i / 4) >> (8 * (i % 4))) & 0xff : 0;
}

int main(int argc, char** argv) {
    // IN OUT EVENTS CYCLES IN_BYTES OUT_BYTES
    if (argc != 7) return 2;
    long events = atol(argv[3]), cycles = atol(argv[4]);
    size_t ib = atol(argv[5]), ob = atol(argv[6]);
    std::vector<unsigned char> in(events * ib + 1), zero(ib + 1, 0), rec(ob + 1);
    FILE* f = fopen(argv[1], "rb");
    if (!f || fread(in.data(), 1, events * ib, f) != (size_t)(events * ib)) return 3;
    fclose(f);
    FILE* o = fopen(argv[2], "wb");
    if (!o) return 3;
    std::unique_ptr<VerilatedContext> ctx{new VerilatedContext};
    std::unique_ptr<Vdut> dut{new Vdut{ctx.get()}};
    dut->clk = 0;
    for (long c = 0; c < cycles; ++c) {
        put(dut->model_inp, c < events ? &in[c * ib] : zero.data(), ib);
        dut->eval();
        dut->clk = 1; dut->eval();
        dut->clk = 0; dut->eval();
        get(dut->model_out, rec.data(), ob);
        if (fwrite(rec.data(), 1, ob, o) != ob) return 3;
    }
    dut->final();
    return fclose(o) == 0 ? 0 : 3;
}
"""


def _pack(raw, bits: int):
    """(events, n) integers -> (events, bytes) uint8, element i at bits [i*bits, (i+1)*bits)."""
    import numpy as np

    raw = np.asarray(raw, dtype=np.int64)
    shifts = np.arange(bits, dtype=np.int64)
    bit_matrix = ((raw[:, :, None] >> shifts) & 1).reshape(raw.shape[0], -1).astype(np.uint8)
    pad = (-bit_matrix.shape[1]) % 8
    bit_matrix = np.pad(bit_matrix, ((0, 0), (0, pad)))
    return np.packbits(bit_matrix, axis=1, bitorder="little")


def _unpack(data, n: int, bits: int, signed: bool):
    import numpy as np

    bit_matrix = np.unpackbits(data, axis=1, bitorder="little")[:, :n * bits]
    bit_matrix = bit_matrix.reshape(data.shape[0], n, bits).astype(np.int64)
    value = bit_matrix @ (np.int64(1) << np.arange(bits, dtype=np.int64))
    if signed:
        value -= bit_matrix[:, :, -1] << bits
    return value


def verilate(rtl_dir: Path, files: list[Path], top: str, build_dir: Path) -> Path:
    """Build the streaming harness around ``top``; returns the executable."""
    build_dir.mkdir(parents=True, exist_ok=True)
    (build_dir / "harness.cpp").write_text(HARNESS)
    cmd = ["verilator", "--cc", "--exe", "--build", "-j", "2", "-Wno-fatal", "-Wno-lint",
           "-Wno-style", "--top-module", top, "--prefix", "Vdut", "-CFLAGS", "-O1",
           "--Mdir", str(build_dir / "obj"), *map(str, files), str(build_dir / "harness.cpp")]
    proc = subprocess.run(cmd, cwd=rtl_dir, capture_output=True, text=True, check=False)
    exe = build_dir / "obj" / "Vdut"
    if proc.returncode != 0 or not exe.is_file():
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-4:])
        raise RuntimeError(f"verilator failed: {tail}")
    return exe


def stream(exe: Path, packed_in, n_out: int, out_bits: int, out_signed: bool, work: Path):
    """Outputs recorded after each rising edge, for len(events) + MAX_LAG cycles."""
    import numpy as np

    n_events = packed_in.shape[0]
    cycles = n_events + MAX_LAG
    out_bytes = (n_out * out_bits + 7) // 8
    (work / "in.bin").write_bytes(packed_in.tobytes())
    subprocess.run([str(exe), str(work / "in.bin"), str(work / "out.bin"), str(n_events),
                    str(cycles), str(packed_in.shape[1]), str(out_bytes)], check=True,
                   capture_output=True)
    data = np.frombuffer((work / "out.bin").read_bytes(), dtype=np.uint8)
    return _unpack(data.reshape(cycles, out_bytes), n_out, out_bits, out_signed)


def best_lag(records, expected_raw) -> tuple[int, float]:
    """The lag (cycles) at which the output stream matches ``expected_raw`` best, and the
    fraction of events bit-exact there."""
    import numpy as np

    n = expected_raw.shape[0]
    best = (0, -1.0)
    for lag in range(MAX_LAG):
        exact = float(np.mean(np.all(records[lag:lag + n] == expected_raw, axis=1)))
        if exact > best[1]:
            best = (lag, exact)
        if exact == 1.0:
            break
    return best


# ---- Yosys ----------------------------------------------------------------------
def synthesize(project_dir: Path) -> dict:
    """LUT/FF/CARRY/DSP of ``trigc.synth.run`` (Yosys 0.23 synth_xilinx -family xcup)."""
    from trigc import synth

    result = synth.run(project_dir)
    total = result.total
    return {"lut": total.lut, "ff": total.ff, "carry": total.carry, "dsp": total.dsp,
            "bram": total.bram, "muxf": total.muxf, "lutram": total.lutram,
            "unmapped": dict(total.unmapped), "yosys": result.yosys_version}


# ---- one model, one tool ----------------------------------------------------------
def _guard(record: dict, key: str, fn, *args):
    """Run one step; a missing tool or a failure becomes record[key] = {"error": ...}."""
    t0 = time.perf_counter()
    try:
        record[key] = fn(*args)
        log(f"    {key}: {time.perf_counter() - t0:.1f} s")
        return record[key]
    except Exception as exc:  # noqa: BLE001 - any tool failure is reported, never raised
        record[key] = {"error": f"{type(exc).__name__}: {str(exc)[:400]}"}
        log(f"    {key}: not available ({record[key]['error'][:200]})")
        return None


def run_da4ml(in_type, layers, raw_in, reference, work: Path) -> dict:
    import numpy as np

    rec: dict = {"tool": f"da4ml {DA4ML_VERSION}"}
    try:
        import da4ml

        rec["tool"] = f"da4ml {getattr(da4ml, '__version__', '?')}"
    except ImportError as exc:
        rec["error"] = f"da4ml is not installed ({exc}); pip install da4ml=={DA4ML_VERSION}"
        return rec
    project = work / "da4ml"
    gen = _guard(rec, "generate", da4ml_generate, in_type, layers, project)
    if gen is None:
        return rec
    comb = gen.pop("comb")
    inp, out = da4ml_io(comb)
    rec["io"] = {"in": inp, "out": out}
    _guard(rec, "synth", synthesize, project)
    _guard(rec, "native_rounding", da4ml_native_exactness, in_type, layers, raw_in, reference)

    def simulate():
        shift = inp["frac"] - in_type.frac_bits
        packed = _pack(np.asarray(raw_in, dtype=np.int64) << shift, inp["bits"])
        sim_src = work / "da4ml_sim" / "src"
        sim_src.mkdir(parents=True, exist_ok=True)
        files = []
        for path in _da4ml_rtl_files(project / "src"):
            files.append(sim_src / path.name)
            files[-1].write_text(NEW_LINT_CODES.sub("", path.read_text()))
        exe = verilate(sim_src, files, "da4ml_mlp_wrapper", work / "da4ml_sim")
        records = stream(exe, packed, out["n"], out["bits"], out["signed"], work / "da4ml_sim")
        expected = reference * 2.0 ** out["frac"]
        lag, exact = best_lag(records, expected)
        return {"latency_cycles": lag, "bit_exact_vs_qkeras": exact, "events": len(expected)}

    _guard(rec, "rtlsim", simulate)
    return rec


def _trigc_cli() -> list[str]:
    exe = Path(sys.executable).with_name("trigc")
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "trigc.cli"]


def trigc_estimate(onnx_path: Path, work: Path) -> dict:
    """The default (Vitis) backend's static estimate, from its report.json."""
    out = work / "trigc_vitis"
    proc = subprocess.run([*_trigc_cli(), "compile", str(onnx_path), "-o", str(out),
                           "--clock-ns", str(CLOCK_NS)], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed")
    report = read_json(out / "report.json")
    return _estimate_fields(report)


def _estimate_fields(report: dict) -> dict:
    """LUT / FF / DSP / latency / II of a trigc report.json (``estimate.total`` etc.)."""
    est = report["estimate"]
    total = est["total"]
    return {"lut": total["lut"], "ff": total["ff"], "dsp": total["dsp"],
            "latency_cycles": est["latency_cycles"], "ii": est["ii"], "kind": est.get("kind")}


def run_trigc(onnx_path: Path, in_type, raw_in, reference, work: Path) -> dict:
    import numpy as np

    rec: dict = {"tool": "trigc"}
    _guard(rec, "estimate", trigc_estimate, onnx_path, work)
    project = work / "trigc_verilog"

    def generate():
        t0 = time.perf_counter()
        proc = subprocess.run([*_trigc_cli(), "compile", str(onnx_path), "--backend", "verilog",
                               "-o", str(project), "--clock-ns", str(CLOCK_NS)],
                              capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - t0
        if proc.returncode != 0 or not (project / "port_map.json").is_file():
            last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no port_map.json"]
            raise RuntimeError(f"trigc compile --backend verilog: {last[0]}")
        port_map = read_json(project / "port_map.json")
        return {"generation_s": seconds, "declared_latency": port_map.get("latency")}

    if _guard(rec, "generate", generate) is None:
        return rec
    _guard(rec, "synth", synthesize, project)

    def simulate():
        from trigc.rtlsim import pack, read_port_map, unpack

        ports = read_port_map(project)
        fields_in, fields_out = ports.inputs, ports.outputs
        shift = fields_in[0].frac_bits - in_type.frac_bits
        packed = pack(np.asarray(raw_in, dtype=np.int64) << shift, fields_in, ports.in_bits)
        from trigc.rtlsim import run as rtlsim_run

        # trigc rtlsim's own check (RTL vs the emulator) on the same events
        own = rtlsim_run(project, inputs=np.asarray(raw_in) * 2.0 ** -in_type.frac_bits)
        result = {"rtlsim": str(own), "rtlsim_exact": own.exact, "rtlsim_latency": own.latency,
                  "events": len(raw_in)}
        records = _trigc_stream(project, ports, packed, work / "trigc_sim")
        out_frac = fields_out[0].frac_bits
        expected = reference * 2.0 ** out_frac
        lag, exact = best_lag(unpack(records, fields_out), expected)
        result.update(latency_cycles=lag, bit_exact_vs_qkeras=exact)
        return result

    _guard(rec, "rtlsim", simulate)
    return rec


def _trigc_stream(project: Path, ports, packed, work: Path):
    """trigc's own harness (``trigc.rtlsim.build``): records of (valid, out_data) per cycle,
    the event k's result at record k + latency; returns the out_data bytes."""
    import numpy as np
    from trigc.rtlsim import build

    exe = build(project)
    work.mkdir(parents=True, exist_ok=True)
    (work / "in.bin").write_bytes(packed.tobytes())
    n_events = packed.shape[0]
    cycles = n_events + MAX_LAG
    in_bytes, out_bytes = (ports.in_bits + 7) // 8, (ports.out_bits + 7) // 8
    subprocess.run([str(exe), str(work / "in.bin"), str(work / "out.bin"), str(n_events),
                    str(cycles), "4", str(in_bytes), str(out_bytes)], check=True,
                   capture_output=True)
    data = np.frombuffer((work / "out.bin").read_bytes(), dtype=np.uint8)
    return data.reshape(cycles, 1 + out_bytes)[:, 1:]


# ---- the whole section --------------------------------------------------------------
def measure_model(name: str, x, work: Path) -> dict:
    import numpy as np
    from trigc.fixed import quantize

    model_dir = MODELS[name]
    onnx_path = ROOT / "models" / model_dir / f"{model_dir}.onnx"
    in_type, layers = ir_layers(onnx_path)
    raw_in = quantize(x, in_type)
    x_q = raw_in * 2.0 ** -in_type.frac_bits
    reference = qkeras_reference(model_dir, x_q)
    out_frac = layers[-1][4].frac_bits
    on_grid = bool(np.all(reference * 2.0 ** out_frac == np.round(reference * 2.0 ** out_frac)))
    rec = {"model": name, "onnx": str(onnx_path.relative_to(ROOT)), "events": len(x),
           "input_type": str(in_type), "output_type": str(layers[-1][4]),
           "architecture": "→".join(str(n) for n in [layers[0][0].shape[0]] +
                                    [w.shape[1] for w, *_ in layers]),
           "qkeras_on_output_grid": on_grid}
    log(f"  {name}: {rec['architecture']}, input {in_type}, {len(x):,} events")
    log("    da4ml ...")
    rec["da4ml"] = run_da4ml(in_type, layers, raw_in, reference, work / name)
    log("    trigc ...")
    rec["trigc"] = run_trigc(onnx_path, in_type, raw_in, reference, work / name)
    return rec


def check_targets(models: dict) -> list[dict]:
    rows = []
    for name, m in models.items():
        t, d = m.get("trigc", {}), m.get("da4ml", {})
        ts, ds = t.get("synth") or {}, d.get("synth") or {}
        tr, dr = t.get("rtlsim") or {}, d.get("rtlsim") or {}
        measured = all(k in s for s in (ts, ds) for k in ("lut", "dsp")) and \
            all("latency_cycles" in r for r in (tr, dr))
        if measured:
            met = (ts["lut"] <= ds["lut"] and tr["latency_cycles"] <= dr["latency_cycles"]
                   and ts["dsp"] == 0)
            value = (f"LUT {ts['lut']:,} vs {ds['lut']:,}, latency {tr['latency_cycles']} vs "
                     f"{dr['latency_cycles']}, DSP {ts['dsp']}")
        else:
            met, value = None, "not measured"
        rows.append({"target": "trigc LUT ≤ da4ml LUT at ≤ da4ml latency, 0 DSP", "model": name,
                     "value": value, "met": met})
        exact = tr.get("bit_exact_vs_qkeras")
        rows.append({"target": "trigc 100% bit-exact to QKeras", "model": name,
                     "value": "not measured" if exact is None else
                     f"{_pct(exact)} of {tr.get('events', 0):,}",
                     "met": None if exact is None else exact == 1.0})
        gen = (t.get("generate") or {}).get("generation_s")
        rows.append({"target": f"trigc RTL generation < {TARGET_GENERATION_S:g} s", "model": name,
                     "value": "not measured" if gen is None else f"{gen:.2f} s",
                     "met": None if gen is None else gen < TARGET_GENERATION_S})
    return rows


def run(work: Path, n_events: int = N_EVENTS, names=None) -> dict:
    """Measure every model; returns the section's results (JSON-able)."""
    log(f"Verilog backends: trigc vs da4ml {DA4ML_VERSION}, {CLOCK_NS:g} ns, "
        f"{n_events:,} events")
    x = events(n_events)
    models = {}
    for name in names or MODELS:
        try:
            models[name] = measure_model(name, x, work)
        except Exception as exc:  # noqa: BLE001 - the section never breaks the bench
            models[name] = {"model": name, "error": f"{type(exc).__name__}: {str(exc)[:400]}"}
            log(f"  {name}: not available ({models[name]['error'][:200]})")
    return {"clock_ns": CLOCK_NS, "da4ml_latency_cutoff": DA4ML_LATENCY_CUTOFF,
            "events": n_events, "models": models, "targets": check_targets(models)}


# ---- formatting ---------------------------------------------------------------------
def _pct(v):
    if v is None:
        return "–"
    if v == 1:
        return "100%"
    return f"{int(v * 1e4) / 100:.2f}%"


def _cell(rec: dict, step: str, key: str, fmt="{:,}"):
    value = (rec.get(step) or {}).get(key)
    return "–" if value is None else fmt.format(value)


def _missing(rec: dict) -> list[str]:
    notes = [rec["error"]] if rec.get("error") else []
    for step in ("generate", "synth", "rtlsim", "estimate"):
        err = (rec.get(step) or {}).get("error")
        if err:
            notes.append(f"{step}: {err}")
    return notes


def markdown(section: dict) -> str:
    """The RESULTS.md section: the table, the targets, what was not available."""
    if "models" not in section:
        return f"## Verilog backend vs da4ml\n\nNot available: {section.get('error')}\n"
    intro = (f"trigc `compile --backend verilog --clock-ns {section['clock_ns']:g}` against "
             f"da4ml {DA4ML_VERSION} (numpy trace API on the same integer weights and types, "
             f"`RTLModel(latency_cutoff={section['da4ml_latency_cutoff']}, "
             f"clock_period={section['clock_ns']:g})`). Resources: Yosys 0.23 `synth_xilinx "
             "-family xcup` (flattened); latency: Verilator, one event per clock (an event "
             "sampled at edge k is out after edge k + L); bit-exact: every output equal to "
             f"the QKeras quantized forward pass on {section['events']:,} jets (inputs "
             "quantized to the input type first; exact in float32, compared with ==). Vitis "
             "estimate: trigc's default backend, static estimate (not synthesis). "
             "Standalone: `python -m bench.verilog`.")
    head = ("| model | tool | LUT | FF | CARRY | DSP | latency, cycles | bit-exact vs QKeras "
            "| RTL generation, s | Vitis estimate: LUT / FF / DSP / cycles |")
    md = ["## Verilog backend vs da4ml", "", intro, "", head,
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    notes = []
    for name, m in section["models"].items():
        if m.get("error"):
            md.append(f"| {name} | – | not available | | | | | | | |")
            notes.append(f"{name}: {m['error']}")
            continue
        for tool in ("trigc", "da4ml"):
            rec = m.get(tool, {})
            est = rec.get("estimate") or {}
            est_txt = "–" if tool != "trigc" or not est or est.get("error") else \
                " / ".join(f"{est[k]:,}" if isinstance(est.get(k), (int, float)) else "–"
                           for k in ("lut", "ff", "dsp", "latency_cycles"))
            exact = (rec.get("rtlsim") or {}).get("bit_exact_vs_qkeras")
            md.append(f"| {name} | {rec.get('tool', tool)} | {_cell(rec, 'synth', 'lut')} "
                      f"| {_cell(rec, 'synth', 'ff')} | {_cell(rec, 'synth', 'carry')} "
                      f"| {_cell(rec, 'synth', 'dsp')} "
                      f"| {_cell(rec, 'rtlsim', 'latency_cycles')} | {_pct(exact)} "
                      f"| {_cell(rec, 'generate', 'generation_s', '{:.2f}')} | {est_txt} |")
            notes += [f"{name} / {tool}: {n}" for n in _missing(rec)]
    md += ["", "| target | model | measured | met |", "|---|---|---|---|"]
    for row in section["targets"]:
        met = "not available" if row["met"] is None else ("PASS" if row["met"] else "**FAIL**")
        md.append(f"| {row['target']} | {row['model']} | {row['value']} | {met} |")
    native = [f"{name} {_pct(m['da4ml']['native_rounding']['bit_exact_vs_qkeras'])}"
              for name, m in section["models"].items()
              if (m.get("da4ml") or {}).get("native_rounding", {}).get("bit_exact_vs_qkeras")
              is not None]
    if native:
        md += ["", "da4ml has no round-half-to-even: the rows above build it from da4ml's "
               "primitives (one more adder per neuron). With da4ml's native half-up rounding "
               "the same MLP is bit-exact to QKeras on: " + ", ".join(native) +
               " of events (da4ml's interpreter)."]
    md.append("")
    if notes:
        md += ["Not available:", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(md)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="trigc Verilog backend vs da4ml")
    p.add_argument("--events", type=int, default=N_EVENTS)
    p.add_argument("--models", default="", help=f"comma-separated subset of {list(MODELS)}")
    p.add_argument("--workdir", default=None, help="scratch directory (default: a temp dir)")
    p.add_argument("--json", default=None, help="also write the results here")
    args = p.parse_args(argv)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="trigc-bench-verilog-")).resolve()
    names = [n for n in args.models.split(",") if n] or None
    section = run(work, args.events, names)
    print(markdown(section))
    if args.json:
        write_json(Path(args.json), section)
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

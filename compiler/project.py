"""A generated firmware project: compile to it, emulate it, C-simulate it, compare.

This is the orchestration layer: :func:`compile` turns what the user gave into
:class:`~trigc.target.BuildOptions` and a final IR, and :func:`write_project` runs
the estimator and the emulator (the testbench's expected outputs) and hands their
results to the backend's writer, which only writes files."""

from __future__ import annotations

import json
import subprocess
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import trigc.api as api
from trigc.backends import verilog
from trigc.backends.vitis import writer
from trigc.config import read_config
from trigc.csim.build import (
    CSimError, CSimLibrary, StreamRun, build_library, build_testbench, load_meta,
)
from trigc.emulator import emulate as emulate_graph
from trigc.emulator import run as run_graph
from trigc.errors import ConfigError, PrecisionError, ProjectError, TrigcError
from trigc.estimate import Budgets, Estimate, UnknownPartError, estimate, write_reports
from trigc.estimate.rtl import estimate_rtl, netlist_for
from trigc.fixed import to_float
from trigc.ir.graph import Graph
from trigc.ir.serialize import graph_from_json, graph_to_json
from trigc.names import identifier
from trigc.outputs import check_target, output_errors, replace_dir
from trigc.plans.stream import MIN_DEPTH
from trigc.target import (
    DEFAULT_BACKEND, DEFAULT_INTERFACE, DEFAULT_IO_MODE, BuildOptions, Target,
)


@dataclass
class Mismatch:
    event: int
    output_index: int
    emulator: int
    csim: int
    first_layer: str | None

    def __str__(self) -> str:
        where = f"; first differing layer: {self.first_layer}" if self.first_layer else ""
        return (f"event {self.event}, output {self.output_index}: emulator raw {self.emulator}"
                f", C-sim raw {self.csim}{where}")


@dataclass
class Comparison:
    events: int
    exact: int
    first: Mismatch | None

    @property
    def ok(self) -> bool:
        return self.exact == self.events

    def __str__(self) -> str:
        text = f"bit-exact: {self.exact}/{self.events} events"
        return text if self.first is None else f"{text}\nfirst mismatch: {self.first}"


def _graph_of(path: Path, meta: dict) -> Graph:
    """The final IR stored in ``trigc.json``; a ``ProjectError`` when it is damaged."""
    missing = [k for k in ("name", "graph", "settings", "inputs", "outputs", "trace",
                           "trace_size") if k not in meta]
    if missing:
        raise ProjectError(f"{str(path / 'trigc.json')!r} lacks {', '.join(missing)}: it "
                           "is truncated or not written by trigc; recompile the project "
                           "with `trigc compile`")
    try:
        return graph_from_json(meta["graph"])
    except (TrigcError, KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ProjectError(f"{str(path / 'trigc.json')!r} holds a damaged graph ({exc!r}); "
                           "recompile the project with `trigc compile`") from exc


def _read_tb_data(path: Path, columns: int) -> np.ndarray:
    """The rows of a tb_data file, each with ``columns`` numbers."""
    fix = "recompile the project with `trigc compile` to write it again"
    try:
        with warnings.catch_warnings():  # an empty file warns, then fails the check below
            warnings.simplefilter("ignore", UserWarning)
            flat = np.loadtxt(path, ndmin=2, dtype=np.float64)
    except OSError as exc:
        raise ProjectError(f"Cannot read {str(path)!r}: {exc.strerror or exc}; {fix}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{str(path)!r} is truncated or corrupted ({exc}); {fix}") from exc
    if flat.shape[0] == 0 or flat.shape[1] != columns:
        raise ProjectError(f"{str(path)!r} holds {flat.shape[0]} rows of {flat.shape[1]} "
                           f"numbers where the model needs rows of {columns}; it is "
                           f"truncated or not this project's; {fix}")
    if not np.isfinite(flat).all():
        raise ProjectError(f"{str(path)!r} holds NaN or infinite values; {fix}")
    return flat


class FifoSizing:
    """What ``trigc csim --size-fifos`` did: (stream, old depth, new depth, word bits)
    for every internal stream, and the schedule the depths were measured on."""

    def __init__(self, rows, latency: int, ii: float, events: int) -> None:
        self.rows, self.latency, self.ii, self.events = rows, latency, ii, events

    def bits(self, which: int) -> int:
        return sum(r[which] * r[3] for r in self.rows)

    def __str__(self) -> str:
        lines = [f"sized {len(self.rows)} FIFOs on {self.events} events (latency "
                 f"{self.latency} cycles, II {self.ii:.1f}): {self.bits(1)} -> "
                 f"{self.bits(2)} bits of FIFO storage; verified: the sized design runs "
                 "the same schedule"]
        lines += [f"  {name}: depth {old} -> {new}" for name, old, new, _ in self.rows
                  if old != new]
        return "\n".join(lines)


class Project:
    """A trigc project directory (``trigc.json`` + firmware + testbench)."""

    def __init__(self, path) -> None:
        self.path = Path(path).resolve()
        self.meta = load_meta(self.path)
        self.graph: Graph = _graph_of(self.path, self.meta)
        self.name = self.meta["name"]
        self._lib: CSimLibrary | None = None

    # ---- inputs ---------------------------------------------------------------
    def _inputs(self, inputs) -> list[np.ndarray]:
        if len(inputs) != len(self.graph.inputs):
            raise ConfigError(f"{self.name} has {len(self.graph.inputs)} inputs, "
                              f"got {len(inputs)}")
        arrays = []
        for t, x in zip(self.graph.inputs, inputs):
            x = np.asarray(x, dtype=np.float64)
            if x.shape[1:] != t.shape:
                raise ConfigError(f"Input {t.name!r} expects shape (N, "
                                  f"{', '.join(map(str, t.shape))}), got {x.shape}")
            if not np.isfinite(x).all():  # as the emulator: the C-sim would saturate them
                raise PrecisionError(f"Cannot quantize NaN or infinite values to {t.type}; "
                                     "clean the input data first")
            arrays.append(x)
        return arrays

    def tb_inputs(self) -> list[np.ndarray]:
        """The inputs stored in tb_data (as the testbench reads them); a missing,
        truncated or corrupted file is a ``ProjectError``."""
        if self.backend == "verilog":  # no tb_data: the error says to run `trigc rtlsim`
            self._library()
        flat = _read_tb_data(self.path / "tb_data" / "tb_input_features.dat",
                             sum(int(np.prod(t.shape)) for t in self.graph.inputs))
        out, offset = [], 0
        for t in self.graph.inputs:
            size = int(np.prod(t.shape))
            out.append(flat[:, offset:offset + size].reshape(-1, *t.shape))
            offset += size
        return out

    # ---- execution --------------------------------------------------------------
    def emulate(self, *inputs, raw: bool = False, engine: str | None = None):
        """Bit-exact emulation (see :func:`trigc.emulate`; ``engine``: ``"auto"``,
        ``"fast"`` or ``"interpreter"``)."""
        return emulate_graph(self.graph, *self._inputs(inputs), raw=raw, engine=engine)

    @property
    def backend(self) -> str:
        return str(self.meta.get("settings", {}).get("backend", DEFAULT_BACKEND))

    def _library(self) -> CSimLibrary:
        if self.backend == "verilog":
            raise ProjectError(f"{str(self.path)!r} is a Verilog project: it has no C++ to "
                               "C-simulate; prove it with `trigc rtlsim` instead")
        if self._lib is None:
            self._lib = CSimLibrary(build_library(self.path, self.meta), self.meta)
        return self._lib

    def csim(self, *inputs, raw: bool = False, trace: bool = False):
        """Run the generated C++ (g++ build against ap_fixed.h, or ac_fixed.h for a
        Catapult project; cached) on a batch."""
        arrays = self._inputs(inputs)
        n = arrays[0].shape[0]
        flat = np.concatenate([x.reshape(n, -1) for x in arrays], axis=1)
        result = self._library().run(flat, trace=trace)
        out_raw, tr = result if trace else (result, None)
        outs = []
        for p, t in zip(self.meta["outputs"], self.graph.outputs):
            r = out_raw[:, p["offset"]:p["offset"] + p["size"]].reshape(n, *t.shape)
            outs.append(r if raw else to_float(r, t.type))
        outs = outs[0] if len(outs) == 1 else outs
        return (outs, tr) if trace else outs

    def compare(self, *inputs) -> Comparison:
        """Emulator vs C-sim on every output bit; locate the first differing layer."""
        arrays = self._inputs(inputs) if inputs else self.tb_inputs()
        emu = self.emulate(*arrays, raw=True)
        sim, trace = self.csim(*arrays, raw=True, trace=True)
        emu = emu if isinstance(emu, list) else [emu]
        sim = sim if isinstance(sim, list) else [sim]
        n = arrays[0].shape[0]
        e_flat = np.concatenate([e.reshape(n, -1) for e in emu], axis=1)
        s_flat = np.concatenate([s.reshape(n, -1) for s in sim], axis=1)
        diff = e_flat != s_flat
        bad_events = np.nonzero(diff.any(axis=1))[0]
        first = None
        if bad_events.size:
            ev = int(bad_events[0])
            idx = int(np.nonzero(diff[ev])[0][0])
            first = Mismatch(ev, idx, int(e_flat[ev, idx]), int(s_flat[ev, idx]),
                             self._first_bad_layer([x[ev:ev + 1] for x in arrays],
                                                   trace[ev]))
        return Comparison(n, n - int(bad_events.size), first)

    def _first_bad_layer(self, inputs, trace_row: np.ndarray) -> str | None:
        env = run_graph(self.graph, inputs)
        by_name = {n.name: n for n in self.graph.nodes}
        for entry in self.meta["trace"]:
            node = by_name[entry["node"]]
            expected = np.asarray(env[id(node.output)].raw).ravel()
            got = trace_row[entry["offset"]:entry["offset"] + entry["size"]]
            if not np.array_equal(expected.astype(np.int64), got):
                return f"{entry['node']} ({entry['op']}, layer '{entry['source']}')"
        return None

    # ---- streaming designs ------------------------------------------------------
    @property
    def io_mode(self) -> str:
        return str(self.meta.get("io_mode", "parallel"))

    def _stream_library(self) -> CSimLibrary:
        if self.io_mode != "stream":
            raise ProjectError(f"{str(self.path)!r} is an io parallel project: it has no "
                               "FIFOs; compile it with --io stream")
        return self._library()

    def _flat(self, inputs) -> np.ndarray:
        arrays = self._inputs(inputs) if inputs else self.tb_inputs()
        n = arrays[0].shape[0]
        return np.concatenate([x.reshape(n, -1) for x in arrays], axis=1)

    def stream_run(self, *inputs, depths: dict | None = None) -> StreamRun:
        """Run the streaming C-sim's cycle scheduler (the project's FIFO depths, or
        ``depths`` by stream name, 0 unbounded): outputs, peaks, latency, II."""
        return self._stream_library().run_stream(self._flat(inputs), depths=depths)

    def stream_stats(self, *inputs) -> str:
        """The C-sim's measured latency, II and FIFO occupancy against the plan's."""
        run = self.stream_run(*inputs)
        depth = {s["name"]: int(s["depth"]) for s in self.meta["streams"]}
        fullest = max(run.peaks, key=lambda k: run.peaks[k] / depth[k])
        return (f"stream C-sim: latency {run.latency} cycles (plan {self.meta['latency_cycles']}"
                f"), II {run.ii:.1f} cycles/event (plan {self.meta['ii']}) over {run.events} "
                f"events; fullest FIFO {fullest!r} {run.peaks[fullest]}/{depth[fullest]}")

    def size_fifos(self, *inputs) -> FifoSizing:
        """Measure every internal stream's peak occupancy with unbounded FIFOs (events
        offered at the design's II) and rewrite the project with those depths; the
        sized design is then run again and must reproduce the unbounded run's cycles
        exactly (no stall, no deadlock)."""
        lib = self._stream_library()
        flat = self._flat(inputs)
        streams = self.meta["streams"]
        free = lib.run_stream(flat, depths={s["name"]: 0 for s in streams})
        sized = {s["name"]: max(free.peaks[s["name"]], MIN_DEPTH)
                 for s in streams if not s["port"]}
        settings = dict(self.meta["settings"])
        settings["fifo_depths"] = sized
        options = BuildOptions.from_json(settings, budgets=self.meta.get("budgets") or None)
        tb = self.tb_inputs()
        write_project(self.graph, self.path, options, tb, overwrite=True)
        again = Project(self.path)
        check = again._stream_library().run_stream(flat)
        if (check.cycles, check.latency) != (free.cycles, free.latency) or not np.array_equal(
                check.out, free.out):
            raise CSimError(f"the FIFO depths measured on {free.events} events changed the "
                            f"schedule ({check.cycles} cycles instead of {free.cycles}); "
                            "report this as a trigc bug")
        return FifoSizing([(s["name"], int(s["depth"]), sized[s["name"]], int(s["chans"]) *
                            int(s["width"])) for s in streams if not s["port"]],
                          free.latency, free.ii, free.events)

    def compare_io(self) -> str:
        """The estimates of both io modes for this project's graph, side by side."""
        from trigc.estimate import compare_io
        return compare_io(self.graph, self.meta["settings"])[1]

    def estimate(self):
        """The latency/resource estimate of this project's design."""
        if self.backend == "verilog":
            return estimate_rtl(self.graph, self.meta["settings"])
        return estimate(self.graph, self.meta["settings"])

    def budgets(self, **overrides):
        return Budgets.from_dict(self.meta.get("budgets")).override(**overrides)

    def run_testbench(self) -> tuple[int, str]:
        """Build and run the project's own testbench on tb_data (as Vitis csim would);
        damaged tb_data files are a ``ProjectError``."""
        events = self.tb_inputs()[0].shape[0]
        expected = _read_tb_data(self.path / "tb_data" / "tb_output_predictions.dat",
                                 sum(int(p["size"]) for p in self.meta["outputs"]))
        if expected.shape[0] != events:
            raise ProjectError(f"{str(self.path / 'tb_data')!r} holds {events} input rows "
                               f"but {expected.shape[0]} expected-output rows; a file is "
                               "truncated; recompile the project with `trigc compile`")
        exe = build_testbench(self.path, self.name, backend=self.backend)
        out = self.path / "tb_data" / "csim_results.log"
        proc = subprocess.run([str(exe), "tb_data/tb_input_features.dat",
                               "tb_data/tb_output_predictions.dat", str(out)],
                              cwd=self.path, capture_output=True, text=True)
        return proc.returncode, proc.stdout + proc.stderr


def options_from(config: dict, *, part: str | None = None, clock_ns: float | None = None,
                 board: str | None = None, backend: str | None = None,
                 reuse: int | dict | None = None, interface: str | None = None,
                 axis_word_bits: int | None = None, stage_ns: float | None = None,
                 dsp_digits: int | None = None, io_mode: str | None = None,
                 fifo_depths: dict | None = None) -> BuildOptions:
    """The build options of a checked config (:func:`trigc.config.read_config`) with
    keyword arguments over it; a part or board given as a keyword replaces both of
    the config's. Budgets are left to the caller."""
    if part is None and board is None:  # the target comes from the keywords or the config
        part, board = config.get("part"), config.get("board")
    target = Target.resolve(part, clock_ns if clock_ns is not None else config.get("clock_ns"),
                            board)
    layer_reuse = dict(config.get("reuse", {}))
    default_reuse = int(config.get("default_reuse", 1))
    if isinstance(reuse, dict):
        layer_reuse.update(reuse)
    elif reuse is not None:
        default_reuse = int(reuse)
    return BuildOptions(
        target, backend=backend or config.get("backend") or DEFAULT_BACKEND,
        io_mode=io_mode or config.get("io_mode") or DEFAULT_IO_MODE,
        default_reuse=default_reuse,
        fifo_depths={**config.get("fifo_depths", {}), **(fifo_depths or {})},
        reuse=layer_reuse, interface=interface or config.get("interface") or
        DEFAULT_INTERFACE, axis_word_bits=axis_word_bits or config.get("axis_word_bits"),
        stage_ns=stage_ns if stage_ns is not None else config.get("stage_ns"),
        dsp_digits=dsp_digits or config.get("dsp_digits"))


def load(model, precision=None, name: str | None = None, check: bool | None = None,
         example_input=None, custom_objects=None, softmax=None, calibration=None,
         calibration_bits: int | None = None,
         calibration_target: float | None = None) -> Graph:
    """:func:`trigc.api.load` (the model to the final IR; its arguments), plus
    calibrated post-training quantization of a float model.

    ``calibration`` (an (N, ...) array, or {input name: array}): every input, weight
    and layer type from the float model's values on these samples
    (:mod:`trigc.ptq.calibrate`), with ``calibration_bits`` bits each (default 16), or
    the narrowest width whose argmax agreement with the float model reaches
    ``calibration_target`` (e.g. 0.99); ``precision`` overrides any of them. The
    result is in ``graph.calibration``."""
    kwargs = dict(precision=precision, name=name, example_input=example_input,
                  custom_objects=custom_objects, softmax=softmax)
    if calibration is None:
        if calibration_bits is not None or calibration_target is not None:
            raise ConfigError("calibration_bits and calibration_target tune calibration=; "
                              "give the calibration samples too")
        return api.load(model, check=check, **kwargs)
    from trigc.ptq.calibrate import calibrate  # onnx and the profiler: only when asked

    return calibrate(model, calibration, bits=calibration_bits, target=calibration_target,
                     **kwargs).graph


def compile(model, output_dir, *, part: str | None = None, clock_ns: float | None = None,
            reuse: int | dict | None = None, config: dict | str | Path | None = None,
            precision: dict | None = None, tb_inputs=None, name: str | None = None,
            budgets: dict | None = None, example_input=None, board: str | None = None,
            interface: str | None = None, axis_word_bits: int | None = None,
            backend: str | None = None, overwrite: bool = False,
            stage_ns: float | None = None, dsp_digits: int | None = None,
            softmax: str | dict | None = None,
            calibration=None, calibration_bits: int | None = None,
            calibration_target: float | None = None, io: str | None = None,
            fifo_depths: dict | None = None) -> Project:
    """Compile a model to a Vitis HLS project (or, with ``backend="verilog"``, a
    pipelined Verilog project; with ``backend="catapult"``, a Catapult HLS project in
    ac_fixed types): an ONNX/QONNX path or ModelProto, a
    trigc Graph, a Brevitas/torch ``nn.Module`` (with ``example_input``) or a
    Keras/QKeras model.

    ``board`` (``trigc boards``) sets the part and the default clock; ``interface``
    is the top function's interface: ``hs`` (default), ``pipeline``,
    ``pipeline_vld`` or ``axis`` (with ``axis_word_bits``); ``backend`` is the code
    generator: ``vitis`` (Vitis HLS C++, the default), ``catapult`` (Catapult HLS C++,
    ac_fixed, the same kernels) or ``verilog`` (RTL with the
    ports of :mod:`trigc.backends.verilog`; ``stage_ns`` is its combinational budget
    per pipeline stage, 0 for none, and ``dsp_digits`` lets wide weights use
    multipliers); ``softmax`` is the Softmax mode, ``"lut"`` (default) or ``"exact"``,
    for all or as {layer name: mode} (:func:`trigc.load`).

    ``config`` (dict or JSON file) may hold ``precision`` and the build options of
    :data:`trigc.target.OPTION_KEYS`: ``reuse`` (per layer), ``default_reuse``,
    ``part`` or ``board``, ``clock_ns``, ``interface``, ``axis_word_bits``,
    ``backend``, ``io_mode`` and ``budgets`` (latency_ns, latency_cycles, ii, dsp,
    lut, ff, bram, dsp_pct, ...); any other key is a ``ConfigError``. Keyword
    arguments override it. The estimate and budgets are stored in the project
    (report.txt/json/png); ``trigc check`` enforces them.

    ``calibration`` (samples of the model's input, (N, ...)): calibrated post-training
    quantization of a float model, every type chosen from its values on these samples
    (``calibration_bits`` wide, or the narrowest width reaching the argmax agreement
    ``calibration_target``; see :func:`trigc.load`); the choice and the agreement are in
    ``project.calibration``.

    An existing ``output_dir`` holding files trigc did not write (see
    ``trigc.outputs``) is an ``OutputError``; ``overwrite=True`` replaces only trigc's
    files there and keeps the others."""
    cfg = read_config(config)
    options = options_from(cfg, part=part, clock_ns=clock_ns, board=board, backend=backend,
                           reuse=reuse, interface=interface, axis_word_bits=axis_word_bits,
                           stage_ns=stage_ns, dsp_digits=dsp_digits, io_mode=io,
                           fifo_depths=fifo_depths)
    prec = dict(cfg.get("precision", {}))
    prec.update(precision or {})
    modes = softmax if softmax is not None else cfg.get("softmax")
    if isinstance(model, Graph) and calibration is not None:
        raise ConfigError("calibration= needs the float model (ONNX file or proto, torch "
                          "or Keras model), not a compiled trigc Graph")
    graph = model if isinstance(model, Graph) else load(model, precision=prec, name=name,
                                                        example_input=example_input,
                                                        calibration=calibration,
                                                        calibration_bits=calibration_bits,
                                                        calibration_target=calibration_target,
                                                        softmax=modes)
    if tb_inputs is not None and not isinstance(tb_inputs, (list, tuple)):
        tb_inputs = [tb_inputs]
    limits = Budgets.from_dict(cfg.get("budgets")).override(**(budgets or {}))
    path, _ = write_project(graph, output_dir, options.replace(budgets=limits.to_json()),
                            [np.asarray(x, dtype=np.float64) for x in tb_inputs]
                            if tb_inputs is not None else None, overwrite=overwrite)
    project = Project(path)
    project.calibration = getattr(graph, "calibration", None)  # trigc.ptq.Calibration
    return project


def _estimate(graph: Graph, options: BuildOptions) -> Estimate:
    """The estimate, with a board-specific message when the estimator lacks its part."""
    try:
        return estimate(graph, options)
    except UnknownPartError as exc:
        if options.board is None:
            raise
        raise UnknownPartError(
            f"Board {options.board!r} carries the part {options.part}, which the "
            "estimator's device database (trigc.estimate.devices) does not know yet, so "
            "trigc cannot estimate its latency and utilization; choose another board "
            f"(`trigc boards`) or a known part. {exc}") from None


def _expected_outputs(graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """The emulator's raw outputs for the testbench inputs: what the C++ must produce."""
    raw = emulate_graph(graph, *inputs, raw=True)
    return raw if isinstance(raw, list) else [raw]


def write_project(graph: Graph, output_dir, options: BuildOptions | None = None,
                  tb_inputs: list[np.ndarray] | None = None,
                  extra: Callable[[Path, dict, Estimate], None] | None = None,
                  overwrite: bool = False) -> tuple[Path, Estimate]:
    """Write the firmware project of ``graph`` (the final IR) to ``output_dir``: the
    backend renders it (every error raised before anything is written), the estimator
    costs it, the emulator computes the testbench's expected outputs (on
    ``tb_inputs``, else :func:`~trigc.backends.vitis.writer.tb_inputs_for`), and the
    writer writes it all atomically, with the estimate's reports checked against
    ``options.budgets``.

    ``extra(root, ctx, estimate)``, when given, adds files to the temporary project
    folder before it is moved into place (the IP export uses it). Returns the project
    path and the estimate."""
    options = options if options is not None else BuildOptions()
    target = Path(output_dir).resolve()
    with output_errors(target):
        check_target(target, overwrite)  # before the work, as replace_dir does after it
    if options.backend == "verilog":
        if extra is not None:
            raise ConfigError("Extra project files are the Vitis IP export's; a Verilog "
                              "project is packaged by `trigc export` itself "
                              "(trigc.export.verilog)")
        return _write_verilog(graph, target, options, overwrite)
    ctx = writer.render(graph, options)
    est = _estimate(graph, options)
    budgets = Budgets.from_dict(options.budgets)
    inputs = tb_inputs or writer.tb_inputs_for(graph)
    data = writer.ProjectData(inputs, _expected_outputs(graph, inputs), est.to_json(),
                              budgets.to_json())

    def add_files(root: Path) -> None:
        write_reports(est, budgets, root)
        if extra is not None:
            extra(root, ctx, est)

    path = writer.write_project(graph, target, options, ctx, data, extra=add_files,
                                overwrite=overwrite)
    return path, est


def _element_names(tensors) -> list[str]:
    names = []
    for t in tensors:
        for index in np.ndindex(*t.shape):
            names.append(f"{t.name}[{','.join(map(str, index))}]" if t.shape else t.name)
    return names


def _ports_meta(tensors) -> list[dict]:
    ports, offset = [], 0
    for t in tensors:
        size = int(np.prod(t.shape)) if t.shape else 1
        ports.append({"name": t.name, "size": size, "offset": offset, "shape": list(t.shape),
                      "type": str(t.type), "width": t.type.width,
                      "frac_bits": t.type.frac_bits, "signed": t.type.signed})
        offset += size
    return ports


def _write_verilog(graph: Graph, target: Path, options: BuildOptions,
                   overwrite: bool) -> tuple[Path, Estimate]:
    """The Verilog project: the netlist rendered (rtl/, port_map.json, README,
    constraints, Vivado tcl), the estimate of the same netlist, and ``trigc.json``."""
    options.check_layers({n.name for n in graph.nodes} | {n.source for n in graph.nodes},
                         sorted({n.source or n.name for n in graph.nodes}))
    net, sched = netlist_for(graph, options)
    top = identifier(graph.name, prefix="model", fallback="model")
    files = verilog.render(net, sched, top, clock_ns=options.clock_ns,
                           input_names=_element_names(graph.inputs),
                           output_names=_element_names(graph.outputs), source=graph.name,
                           part=options.part)
    est = estimate_rtl(graph, options, net, sched)
    budgets = Budgets.from_dict(options.budgets)
    stored = options.to_json()
    stored.pop("budgets", None)
    meta = {"trigc_version": writer.VERSION, "name": top, "settings": stored,
            "inputs": _ports_meta(graph.inputs), "outputs": _ports_meta(graph.outputs),
            "trace": [], "trace_size": 0, "ii": 1, "latency_cycles": sched.latency,
            "precision_report": [str(r) for r in graph.precision_report],
            "budgets": budgets.to_json(), "estimate": est.to_json(),
            "graph": graph_to_json(graph)}

    def build(root: Path) -> None:
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        (root / "trigc.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
        write_reports(est, budgets, root)

    return replace_dir(target, build, overwrite=overwrite), est


__all__ = ["CSimError", "Comparison", "Project", "compile", "options_from", "write_project"]

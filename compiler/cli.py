"""The ``trigc`` command line."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from trigc.config import read_config
from trigc.errors import ConfigError, TrigcError
from trigc.export.cli import add_parsers, add_target_flags, target_kwargs
from trigc.trigger.cli import add_parsers as add_trigger_parsers


def _precision_args(args) -> dict:
    precision: dict = {}
    if args.config:
        precision.update(read_config(args.config).get("precision", {}))
    for item in args.type or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--type takes NAME=TYPE (e.g. input=fixed<16,6>), got {item!r}")
        precision[key] = value
    return precision


def cmd_inspect(args) -> int:
    from trigc.api import load

    graph = load(args.model, precision=_precision_args(args))
    print(graph)
    for report in graph.precision_report:
        print(f"warning: {report}")
    return 0


def cmd_compile(args) -> int:
    from trigc.project import compile as compile_model

    config = read_config(args.config) if args.config else None
    precision = {}
    for item in args.type or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--type takes NAME=TYPE (e.g. input=fixed<16,6>), got {item!r}")
        precision[key] = value
    tb = load_arrays(args.tb_inputs, "--tb-inputs") if args.tb_inputs else None
    project = compile_model(args.model, args.output, part=args.part, clock_ns=args.clock_ns,
                            reuse=args.reuse, config=config, precision=precision,
                            tb_inputs=tb, budgets=_budget_flags(args), **target_kwargs(args),
                            overwrite=args.overwrite)
    print(f"wrote {project.path} ({len(project.graph.nodes)} layers, II={project.meta['ii']})")
    for report in project.meta["precision_report"]:
        print(f"warning: {report}")
    return _report_budgets(project, project.budgets())


def load_arrays(path: str, flag: str, keep_names: bool = False):
    """The numeric arrays of a ``.npy`` file (one) or ``.npz`` file (one per model
    input, in file order): a list, or ``{name: array}`` with ``keep_names``. Pickled,
    object, string and empty arrays are refused with a typed error."""
    import zipfile

    import numpy as np

    try:
        with open(path, "rb") as f:
            data = np.load(f, allow_pickle=False)
            arrays = ({k: data[k] for k in data.files} if isinstance(data, np.lib.npyio.NpzFile)
                      else {"arr_0": data})
    except FileNotFoundError:
        raise ConfigError(f"{flag}: no file {path!r}") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{flag}: cannot read {path!r} as a .npy/.npz array file ({text}); "
                          "save the inputs with numpy.save or numpy.savez") from None
    if not arrays:
        raise ConfigError(f"{flag}: {path!r} holds no arrays")
    for name, x in arrays.items():
        if x.dtype.kind not in "biuf":
            raise ConfigError(f"{flag}: array {name!r} in {path!r} has dtype {x.dtype}; "
                              "inputs must be numbers (save them as float64)")
        if x.ndim == 0 or x.shape[0] == 0:
            raise ConfigError(f"{flag}: array {name!r} in {path!r} has shape {x.shape}; "
                              "it needs at least one event (N, *input_shape)")
    return arrays if keep_names else list(arrays.values())


def _budget_flags(args) -> dict:
    return {k: getattr(args, k) for k in BUDGET_FLAGS if getattr(args, k) is not None}


def _report_budgets(project, budgets) -> int:
    from trigc.estimate import check, format_table, format_violations

    est = project.estimate()
    print(format_table(est, budgets))
    violations = check(est, budgets)
    if violations:
        print(format_violations(violations), end="", file=sys.stderr)
        return 1
    return 0


def cmd_check(args) -> int:
    from trigc.project import Project

    project = Project(args.project)
    return _report_budgets(project, project.budgets(**_budget_flags(args)))


def cmd_csim(args) -> int:
    from trigc.project import Project

    project = Project(args.project)
    if args.inputs:
        inputs = [x[: args.n] if args.n else x for x in load_arrays(args.inputs, "--inputs")]
    else:
        inputs = [x[: args.n] if args.n else x for x in project.tb_inputs()]
    result = project.compare(*inputs)
    print(result)
    return 0 if result.ok else 1


def cmd_build(args) -> int:
    import shutil
    import subprocess

    from trigc.project import Project

    project = Project(args.project)
    tool = shutil.which("vitis_hls")
    if tool is None:
        print("trigc: vitis_hls is not on PATH; run `vitis_hls -f build_prj.tcl` on a machine "
              "with Vitis HLS, in " + str(project.path), file=sys.stderr)
        return 2
    steps = f"csim={int(args.csim)} synth=1 cosim={int(args.cosim)} export={int(args.export)}"
    code = subprocess.run([tool, "-f", "build_prj.tcl", steps], cwd=project.path).returncode
    if code != 0:
        return code
    from trigc.backends.vitis.synth_report import parse_csynth, report_path

    synth = parse_csynth(report_path(project.path, project.name))
    print(synth)
    est = project.estimate()
    print(f"trigc estimate: latency {est.latency_cycles} cycles, DSP {est.total.dsp}, "
          f"LUT {est.total.lut}, FF {est.total.ff}, BRAM_18K {est.total.bram}")
    return 0


def cmd_profile(args) -> int:
    from trigc.profile import profile

    arrays = load_arrays(args.data, "--data", keep_names=True)
    data = arrays if len(arrays) > 1 else next(iter(arrays.values()))
    _refuse_outputs_over_inputs(
        [Path(args.out) / f for f in ("precision.json", "profile.json", "profile.png")],
        [args.model, args.data])
    result = profile(args.model, data, width=args.width, percentile=args.percentile)
    print(result.table())
    paths = result.write(args.out, weights=args.weights)
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _refuse_outputs_over_inputs(outputs, inputs) -> None:
    for out in outputs:
        for given in inputs:
            if Path(out).exists() and Path(given).exists() and Path(out).samefile(given):
                raise ConfigError(f"The output {str(out)!r} is the input {str(given)!r}; "
                                  "choose another --out folder")


BUDGET_FLAGS = {"latency_ns": float, "latency_cycles": int, "ii": int, "dsp": int, "lut": int,
                "ff": int, "bram": int}


def _add_budget_flags(p) -> None:
    for key, kind in BUDGET_FLAGS.items():
        p.add_argument(f"--{key.replace('_', '-')}", type=kind, dest=key,
                       help=f"budget: maximum {key.replace('_', ' ')}")


def build_parser() -> argparse.ArgumentParser:
    from trigc import __version__

    parser = argparse.ArgumentParser(
        prog="trigc", description="Compile QAT neural networks into bit-exact FPGA trigger firmware")
    parser.add_argument("--version", action="version", version=f"trigc {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log compiler decisions")
    parser.add_argument("--debug", action="store_true",
                        help="show the full error and traceback instead of one line")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("inspect", help="print the final IR: ops, shapes, fixed-point types")
    p.add_argument("model", help="ONNX / QONNX file")
    p.add_argument("--config", help="JSON file: {\"precision\": {name: type}}")
    p.add_argument("--type", action="append", metavar="NAME=TYPE",
                   help="override a tensor/layer type, e.g. input=fixed<16,6>")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("compile", help="write a Vitis HLS project for a model")
    p.add_argument("model", help="ONNX / QONNX file")
    p.add_argument("-o", "--output", required=True, help="project directory to write")
    p.add_argument("--part", help="FPGA part (default xcvu9p-flga2104-2L-e)")
    p.add_argument("--clock-ns", type=float, help="clock period in ns (default 5)")
    add_target_flags(p)
    p.add_argument("--reuse", type=int, help="reuse factor of every Dense/Conv (default 1)")
    p.add_argument("--config", help="JSON: precision, reuse (per layer), part, clock_ns")
    p.add_argument("--type", action="append", metavar="NAME=TYPE",
                   help="override a tensor/layer type, e.g. input=fixed<16,6>")
    p.add_argument("--tb-inputs", help=".npy file of testbench inputs (N, *input_shape)")
    p.add_argument("--overwrite", action="store_true",
                   help="when OUTPUT holds files trigc did not write (yours, Vitis's "
                        "<name>_prj/, ip/), replace only trigc's files and keep those")
    _add_budget_flags(p)
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("profile", help="float value ranges per tensor and suggested types "
                                       "for post-training quantization")
    p.add_argument("model", help="ONNX / QONNX file (float or partly quantized)")
    p.add_argument("--data", required=True,
                   help=".npy file of calibration inputs (N, *input_shape); .npz for several")
    p.add_argument("--width", type=int, default=16,
                   help="total bits of every suggested type (default 16)")
    p.add_argument("--percentile", type=float,
                   help="size integer bits for this percentile of |x| (e.g. 99.99) instead "
                        "of max |x|; outliers saturate")
    p.add_argument("--weights", action="store_true",
                   help="also put one 'weights' type for all float weights in precision.json")
    p.add_argument("--out", default=".",
                   help="directory for precision.json, profile.json, profile.png (default .)")
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("check", help="check a project's estimate against its budgets")
    p.add_argument("project", help="project directory written by `trigc compile`")
    _add_budget_flags(p)
    p.set_defaults(func=cmd_check)
    add_parsers(sub)
    add_trigger_parsers(sub)

    p = sub.add_parser("csim", help="C-simulate a project with g++ and compare every bit")
    p.add_argument("project", help="project directory written by `trigc compile`")
    p.add_argument("--inputs", help=".npy file of inputs (default: the project's tb_data)")
    p.add_argument("-n", type=int, default=0, help="use only the first N events")
    p.set_defaults(func=cmd_csim)

    p = sub.add_parser("build", help="run Vitis HLS on a project (needs vitis_hls)")
    p.add_argument("project")
    p.add_argument("--csim", action="store_true", help="also run Vitis csim")
    p.add_argument("--cosim", action="store_true", help="also run C/RTL co-simulation")
    p.add_argument("--export", action="store_true", help="also export the IP catalog")
    p.set_defaults(func=cmd_build)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``trigc`` command. Every failure is one line on stderr and exit status
    2 (130 on Ctrl-C); ``--debug`` shows the traceback instead."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s: %(message)s")
    try:
        return args.func(args)
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("trigc: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the CLI's one place that reports everything
        if args.debug:
            raise
        print(f"trigc: error: {_one_line(exc)}", file=sys.stderr)
        return 2


def _one_line(exc: BaseException) -> str:
    """The error as one printable line: typed errors as they are (their first line),
    OS errors with the file, anything else marked as a trigc bug."""
    if isinstance(exc, TrigcError):
        text = str(exc)
    elif isinstance(exc, OSError):
        path = f" {str(exc.filename)!r}" if exc.filename is not None else ""
        text = f"{exc.strerror or exc}:{path}" if path else str(exc.strerror or exc)
        text += "; check the path, its permissions and the free disk space"
    elif isinstance(exc, MemoryError):
        text = "out of memory; process fewer events at a time (e.g. --chunk-size, -n)"
    else:
        text = (f"internal error {type(exc).__name__}: {exc} (a bug in trigc; rerun with "
                "--debug for the traceback and report it)")
    lines = text.splitlines() or [""]
    first = lines[0].encode("ascii", "backslashreplace").decode("ascii")
    if len(lines) > 1:
        first += f" ({len(lines) - 1} more line(s) with --debug)"
    return first


if __name__ == "__main__":
    sys.exit(main())

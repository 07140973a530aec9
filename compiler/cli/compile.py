"""``trigc inspect``, ``trigc compile`` and ``trigc profile``: from a model file."""

from __future__ import annotations

import argparse
from pathlib import Path

from trigc.api import load
from trigc.cli.options import (
    add_budget_options, add_model_options, add_target_options, budget_args, load_arrays,
    precision_args, target_kwargs, type_args,
)
from trigc.cli.project import report_budgets
from trigc.config import read_config
from trigc.errors import ConfigError
from trigc.outputs import refuse_inputs
from trigc.project import compile as compile_model
from trigc.target import IO_MODES


def cmd_inspect(args: argparse.Namespace) -> int:
    graph = load(args.model, precision=precision_args(args))
    print(graph)
    for report in graph.precision_report:
        print(f"warning: {report}")
    return 0


def cmd_compile(args: argparse.Namespace) -> int:
    config = read_config(args.config) if args.config else None
    precision = type_args(args)
    tb = load_arrays(args.tb_inputs, "--tb-inputs") if args.tb_inputs else None
    calibration = _calibration_args(args)
    project = compile_model(args.model, args.output, reuse=args.reuse, config=config,
                            precision=precision, tb_inputs=tb, budgets=budget_args(args),
                            overwrite=args.overwrite, io=args.io, **calibration,
                            **target_kwargs(args))
    print(f"wrote {project.path} ({len(project.graph.nodes)} layers, II={project.meta['ii']})")
    if args.compare_io:
        print(project.compare_io())
    if project.calibration is not None:
        print(project.calibration.summary())
        saturating = len(project.meta["precision_report"])
        if saturating:
            print(f"note: {saturating} calibrated layer output(s) saturate values beyond "
                  "the calibration range (trigc.json precision_report)")
    else:
        for report in project.meta["precision_report"]:
            print(f"warning: {report}")
    return report_budgets(project, project.budgets())


def _calibration_args(args: argparse.Namespace) -> dict:
    """The calibration keywords of ``trigc.compile`` (none without --calibration)."""
    if args.calibration is None:
        if args.calibration_bits is not None or args.calibration_target is not None:
            raise ConfigError("--calibration-bits and --calibration-target tune "
                              "--calibration; add --calibration X.npy (float inputs)")
        return {}
    arrays = load_arrays(args.calibration, "--calibration", keep_names=True)
    data = arrays if len(arrays) > 1 else next(iter(arrays.values()))
    return {"calibration": data, "calibration_bits": args.calibration_bits,
            "calibration_target": args.calibration_target}


def cmd_profile(args: argparse.Namespace) -> int:
    arrays = load_arrays(args.data, "--data", keep_names=True)
    data = arrays if len(arrays) > 1 else next(iter(arrays.values()))
    for name in ("precision.json", "profile.json", "profile.png"):
        refuse_inputs(Path(args.out) / name, [args.model, args.data])
    from trigc.profile import profile  # onnx and the PTQ machinery: only for this command

    result = profile(args.model, data, width=args.width, percentile=args.percentile)
    print(result.table())
    paths = result.write(args.out, weights=args.weights)
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def add_calibration_options(p: argparse.ArgumentParser) -> None:
    """``--calibration``, ``--calibration-bits``, ``--calibration-target``."""
    p.add_argument("--calibration", metavar="X.npy",
                   help="calibrated post-training quantization of a FLOAT model: run it on "
                        "these inputs (N, *input_shape; .npz for several inputs) and set "
                        "every type (input, folded weights and biases, layer outputs) from "
                        "the observed ranges; prints the widths and the argmax agreement "
                        "with the float model on these inputs")
    p.add_argument("--calibration-bits", type=int, metavar="N",
                   help="width of every calibrated type (default 16): more bits, closer "
                        "to the float model; with --calibration-target, the widest allowed")
    p.add_argument("--calibration-target", type=float, metavar="A",
                   help="choose the narrowest width (from 4 bits up) whose argmax agreement "
                        "with the float model on the calibration inputs reaches A, e.g. "
                        "0.99")


def add_parsers(sub) -> None:
    """Register ``inspect``, ``compile`` and ``profile`` on the subparsers ``sub``."""
    p = sub.add_parser("inspect", help="print the final IR: ops, shapes, fixed-point types")
    p.add_argument("model", help="ONNX / QONNX file")
    add_model_options(p)
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("compile", help="write a Vitis HLS project for a model")
    p.add_argument("model", help="ONNX / QONNX file")
    p.add_argument("-o", "--output", required=True, help="project directory to write")
    add_target_options(p)
    p.add_argument("--reuse", type=int, help="reuse factor of every Dense/Conv (default 1)")
    p.add_argument("--io", choices=IO_MODES,
                   help="parallel (default: every layer unrolled, tensors in registers) or "
                        "stream (Vitis DATAFLOW: one FIFO word per pixel, one process per "
                        "layer reused across pixels; for conv nets on larger images)")
    p.add_argument("--compare-io", action="store_true",
                   help="also print the estimates of both io modes side by side")
    add_model_options(p)
    p.add_argument("--tb-inputs", help=".npy file of testbench inputs (N, *input_shape)")
    add_calibration_options(p)
    p.add_argument("--overwrite", action="store_true",
                   help="when OUTPUT holds files trigc did not write (yours, Vitis's "
                        "<name>_prj/, ip/), replace only trigc's files and keep those")
    add_budget_options(p)
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

"""``trigc rtlsim`` and ``trigc synth``: on a Verilog project (rtl/, port_map.json)."""

from __future__ import annotations

import argparse

from trigc.cli.options import load_arrays
from trigc.rtlsim import run as rtl_run
from trigc.synth import run as synth_run
from trigc.synth import run_asic


def cmd_rtlsim(args: argparse.Namespace) -> int:
    inputs = None
    if args.inputs:
        arrays = load_arrays(args.inputs, "--inputs")
        inputs = [x[: args.n] if args.n else x for x in arrays]
    result = rtl_run(args.project, inputs, n=args.n or 10000, seed=args.seed)
    print(result)
    return 0 if result.ok else 1


def cmd_synth(args: argparse.Namespace) -> int:
    if args.asic:
        asic = run_asic(args.project, per_layer=args.per_layer)
        print(asic)
        print(f"report: {asic.report_path}")
        return 0
    result = synth_run(args.project, per_layer=args.per_layer)
    print(result)
    if result.comparison is not None:
        print()
        print(result.comparison, end="")
    return 0


def add_parsers(sub) -> None:
    """Register ``rtlsim`` and ``synth`` on the subparsers ``sub``."""
    p = sub.add_parser("rtlsim", help="simulate a Verilog project with Verilator at II 1 and "
                                      "compare every bit with the emulator")
    p.add_argument("project", help="Verilog project directory (rtl/, port_map.json)")
    p.add_argument("--inputs", help=".npy/.npz file of inputs (default: random events over "
                                    "each input type's range)")
    p.add_argument("-n", type=int, default=0,
                   help="number of random events (default 10000), or the first N of --inputs")
    p.add_argument("--seed", type=int, default=0, help="seed of the random events")
    p.set_defaults(func=cmd_rtlsim)

    p = sub.add_parser("synth", help="synthesize a Verilog project with Yosys "
                                     "(synth_xilinx, UltraScale+) and count resources")
    p.add_argument("project", help="Verilog project directory (rtl/, port_map.json)")
    p.add_argument("--per-layer", action="store_true",
                   help="also a hierarchical run, with the resources of each module")
    p.add_argument("--asic", action="store_true",
                   help="gate-level area instead: Yosys generic synthesis to simple gates, "
                        "NAND2 equivalents and CMOS transistors (a technology-independent "
                        "proxy; writes synth/asic_report.json)")
    p.set_defaults(func=cmd_synth)

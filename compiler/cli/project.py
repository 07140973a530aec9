"""``trigc check``, ``trigc csim`` and ``trigc build``: on a compiled project."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys

from trigc.backends.vitis.synth_report import parse_csynth, report_path
from trigc.cli.options import add_budget_options, budget_args, load_arrays
from trigc.estimate import Budgets, check, format_table, format_violations
from trigc.project import Project


def report_budgets(project: Project, budgets: Budgets) -> int:
    """Print the estimate against ``budgets``; 1 (and the violations on stderr) when
    any is exceeded."""
    est = project.estimate()
    print(format_table(est, budgets))
    violations = check(est, budgets)
    if violations:
        print(format_violations(violations), end="", file=sys.stderr)
        return 1
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    project = Project(args.project)
    return report_budgets(project, project.budgets(**budget_args(args)))


def cmd_csim(args: argparse.Namespace) -> int:
    project = Project(args.project)
    if args.inputs:
        inputs = [x[: args.n] if args.n else x for x in load_arrays(args.inputs, "--inputs")]
    else:
        inputs = [x[: args.n] if args.n else x for x in project.tb_inputs()]
    if args.size_fifos:
        sizing = project.size_fifos(*inputs)
        print(sizing)
        project = Project(args.project)  # rewritten with the sized depths
    result = project.compare(*inputs)
    print(result)
    if project.io_mode == "stream":
        print(project.stream_stats(*inputs))
    return 0 if result.ok else 1


def _vendor_tool(name: str, command: str, product: str, project: Project) -> str | None:
    """The vendor tool's path, or None after saying on stderr how to run it by hand."""
    tool = shutil.which(name)
    if tool is None:
        print(f"trigc: {name} is not on PATH; run `{command}` on a machine with {product}, "
              f"in {project.path}", file=sys.stderr)
    return tool


def _build_catapult(project: Project, args: argparse.Namespace) -> int:
    """Run Catapult HLS on the project's build_prj.tcl (its csim and synthesis steps)."""
    tool = _vendor_tool("catapult", "catapult -shell -file build_prj.tcl", "Catapult HLS",
                        project)
    if tool is None:
        return 2
    steps = f"csim={int(args.csim)} synth=1 tech=asic"
    return subprocess.run([tool, "-shell", "-file", "build_prj.tcl", "--", steps],
                          cwd=project.path, check=False).returncode


def cmd_build(args: argparse.Namespace) -> int:
    project = Project(args.project)
    if project.backend == "catapult":
        return _build_catapult(project, args)
    tool = _vendor_tool("vitis_hls", "vitis_hls -f build_prj.tcl", "Vitis HLS", project)
    if tool is None:
        return 2
    steps = f"csim={int(args.csim)} synth=1 cosim={int(args.cosim)} export={int(args.export)}"
    code = subprocess.run([tool, "-f", "build_prj.tcl", steps], cwd=project.path,
                          check=False).returncode
    if code != 0:
        return code
    print(parse_csynth(report_path(project.path, project.name)))
    est = project.estimate()
    print(f"trigc estimate: latency {est.latency_cycles} cycles, DSP {est.total.dsp}, "
          f"LUT {est.total.lut}, FF {est.total.ff}, BRAM_18K {est.total.bram}")
    return 0


def add_parsers(sub) -> None:
    """Register ``check``, ``csim`` and ``build`` on the subparsers ``sub``."""
    p = sub.add_parser("check", help="check a project's estimate against its budgets")
    p.add_argument("project", help="project directory written by `trigc compile`")
    add_budget_options(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("csim", help="C-simulate a project with g++ and compare every bit")
    p.add_argument("project", help="project directory written by `trigc compile`")
    p.add_argument("--inputs", help=".npy file of inputs (default: the project's tb_data)")
    p.add_argument("-n", type=int, default=0, help="use only the first N events")
    p.add_argument("--size-fifos", action="store_true",
                   help="io stream: run the C-sim with unbounded FIFOs, then write each "
                        "stream's peak occupancy back into the project as its depth")
    p.set_defaults(func=cmd_csim)

    p = sub.add_parser("build", help="run Vitis HLS on a project (needs vitis_hls; catapult "
                       "for a Catapult project)")
    p.add_argument("project")
    p.add_argument("--csim", action="store_true", help="also run the vendor tool's csim")
    p.add_argument("--cosim", action="store_true", help="also run C/RTL co-simulation")
    p.add_argument("--export", action="store_true", help="also export the IP catalog")
    p.set_defaults(func=cmd_build)

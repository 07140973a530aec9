"""``trigc boards`` and ``trigc export``: the board table and the IP core export."""

from __future__ import annotations

import argparse
import json
import sys

from trigc.backends.vitis.synth_report import parse_csynth, report_path
from trigc.cli.options import add_target_options, target_kwargs
from trigc.export.boards import BOARDS, board_device, format_boards
from trigc.export.common import BUNDLE, DEFAULT_LIBRARY, DEFAULT_VENDOR, DEFAULT_VERSION
from trigc.export.ip import export_ip


def cmd_boards(args: argparse.Namespace) -> int:
    if args.json:
        rows = [{**b.to_json(), "device": (d.name if (d := board_device(b)) else None)}
                for b in BOARDS.values()]
        print(json.dumps(rows, indent=1))
    else:
        print(format_boards(), end="")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    result = export_ip(args.project, vendor=args.vendor, library=args.library,
                       ip_name=args.ip_name, ip_version=args.ip_version,
                       description=args.description, output_dir=args.output,
                       run_tool=False if args.no_run else None, overwrite=args.overwrite,
                       **target_kwargs(args))
    est = result.estimate
    print(f"exported {result.path}: IP {result.vlnv}, part {est.part}, clock "
          f"{est.clock_ns:g} ns; estimate (not synthesis): latency {est.latency_cycles} "
          f"cycles ({est.latency_ns:g} ns)")
    print(f"  README: {result.path / 'README.md'}")
    print(f"  port map: {result.path / 'port_map.json'}")
    if result.ip_repo is not None:
        print(f"  IP repository: {result.ip_repo}")
    if result.ip_zip is not None:
        print(f"  IP archive: {result.ip_zip}")
        _print_synthesis(result)
        return 0
    reason = "--no-run was given" if args.no_run else f"{result.tool} is not on PATH"
    done = "nothing was packaged" if result.tool == "vivado" else "nothing was synthesized"
    print(f"{reason}: {done}. Wrote {result.bundle}, a ready-to-run bundle; on a machine "
          f"with {result.tool} run, next to {BUNDLE}:\n  {result.command}", file=sys.stderr)
    return 0


def _print_synthesis(result) -> None:
    """Vitis HLS's own numbers, when its csynth report is there."""
    path = report_path(result.path, result.estimate.model)
    if path.is_file():
        print(parse_csynth(path))


def add_parsers(subparsers) -> None:
    """Register ``trigc boards`` and ``trigc export`` on the main parser's subparsers."""
    p = subparsers.add_parser("boards", help="list the board targets (part, clock, source)")
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    p.set_defaults(func=cmd_boards)

    p = subparsers.add_parser(
        "export", help="export a project as a Vivado IP core (Vitis HLS export_design; "
                       "Verilog projects: Vivado's IP packager)")
    p.add_argument("project", help="project directory written by `trigc compile`")
    add_target_options(p)
    p.add_argument("--vendor", default=DEFAULT_VENDOR,
                   help=f"IP vendor, e.g. cern.ch (default {DEFAULT_VENDOR})")
    p.add_argument("--library", default=DEFAULT_LIBRARY,
                   help=f"IP library (default {DEFAULT_LIBRARY})")
    p.add_argument("--ip-name", help="IP name (default: the model's name)")
    p.add_argument("--ip-version", default=DEFAULT_VERSION,
                   help=f"IP version MAJOR.MINOR (default {DEFAULT_VERSION})")
    p.add_argument("--description", help="IP description shown in the Vivado IP catalog")
    p.add_argument("-o", "--output",
                   help="write the exported project here instead of updating PROJECT")
    p.add_argument("--no-run", action="store_true",
                   help="do not run vitis_hls (vivado for a Verilog project) even when it "
                        "is on PATH; write the bundle")
    p.add_argument("--overwrite", action="store_true",
                   help="when the output folder holds files trigc did not write (<name>_prj/"
                        " and ip/ of an earlier run, yours), replace only trigc's files and "
                        "keep those")
    p.set_defaults(func=cmd_export)

"""``trigc boards`` and ``trigc export``, plus the ``--board``/``--interface`` flags that
``trigc compile`` shares. ``compiler/cli.py`` calls :func:`add_parsers`."""

from __future__ import annotations

import json
import sys

from trigc.backends.vitis.interfaces import AXIS_MAX_WORD_BITS, interface_names


def add_target_flags(p, with_clock: bool = False) -> None:
    """``--board``, ``--interface`` and ``--axis-word-bits`` (``trigc compile``, export)."""
    p.add_argument("--board", help="target board: sets the FPGA part and the default clock "
                                   "(`trigc boards` lists them)")
    if with_clock:
        p.add_argument("--clock-ns", type=float,
                       help="clock period in ns (default: the board's)")
    p.add_argument("--interface", choices=interface_names(),
                   help="top-function interface: hs (ap_ctrl_hs + ap_vld, the default), "
                        "pipeline (free-running ap_ctrl_none + ap_none, II=1), pipeline_vld "
                        "(ap_ctrl_none + ap_vld, II=1), axis (AXI4-Stream, packed words)")
    p.add_argument("--axis-word-bits", type=int, metavar="BITS",
                   help="AXI4-Stream word width, a multiple of 8 up to "
                        f"{AXIS_MAX_WORD_BITS} (default: one word per tensor)")


def target_kwargs(args) -> dict:
    """The keyword arguments of ``trigc.compile`` for the flags of add_target_flags."""
    return {"board": args.board, "interface": args.interface,
            "axis_word_bits": args.axis_word_bits}


def cmd_boards(args) -> int:
    from trigc.export.boards import BOARDS, board_device, format_boards

    if args.json:
        rows = [{**b.to_json(), "device": (d.name if (d := board_device(b)) else None)}
                for b in BOARDS.values()]
        print(json.dumps(rows, indent=1))
    else:
        print(format_boards(), end="")
    return 0


def cmd_export(args) -> int:
    from trigc.export.ip import BUNDLE, TOOL, export_ip

    result = export_ip(args.project, args.board, args.interface, vendor=args.vendor,
                       library=args.library, ip_name=args.ip_name,
                       ip_version=args.ip_version, description=args.description,
                       clock_ns=args.clock_ns, axis_word_bits=args.axis_word_bits,
                       output_dir=args.output, run_tool=False if args.no_run else None,
                       overwrite=args.overwrite)
    est = result.estimate
    print(f"exported {result.path}: IP {result.vlnv}, part {est.part}, clock "
          f"{est.clock_ns:g} ns; estimate (not synthesis): latency {est.latency_cycles} "
          f"cycles ({est.latency_ns:g} ns)")
    print(f"  README: {result.path / 'README.md'}")
    print(f"  port map: {result.path / 'port_map.json'}")
    if result.ip_zip is not None:
        print(f"  IP archive: {result.ip_zip}")
        _print_synthesis(result)
        return 0
    reason = "--no-run was given" if args.no_run else f"{TOOL} is not on PATH"
    print(f"{reason}: nothing was synthesized. Wrote {result.bundle}, a ready-to-run "
          f"bundle; on a machine with Vitis HLS run, next to {BUNDLE}:\n  {result.command}",
          file=sys.stderr)
    return 0


def _print_synthesis(result) -> None:
    """Vitis HLS's own numbers, when its csynth report is there."""
    from trigc.backends.vitis.synth_report import parse_csynth, report_path

    path = report_path(result.path, result.estimate.model)
    if path.is_file():
        print(parse_csynth(path))


def add_parsers(subparsers) -> None:
    """Register ``trigc boards`` and ``trigc export`` on the main parser's subparsers."""
    from trigc.export.ip import DEFAULT_LIBRARY, DEFAULT_VENDOR, DEFAULT_VERSION

    p = subparsers.add_parser("boards", help="list the board targets (part, clock, source)")
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    p.set_defaults(func=cmd_boards)

    p = subparsers.add_parser(
        "export", help="export a project as a Vivado IP core (Vitis HLS export_design)")
    p.add_argument("project", help="project directory written by `trigc compile`")
    add_target_flags(p, with_clock=True)
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
                   help="do not run vitis_hls even when it is on PATH; write the bundle")
    p.add_argument("--overwrite", action="store_true",
                   help="when the output folder holds files trigc did not write (<name>_prj/"
                        " and ip/ of an earlier run, yours), replace only trigc's files and "
                        "keep those")
    p.set_defaults(func=cmd_export)

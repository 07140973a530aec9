"""``trigc emulate``: run a trigger menu over an event file with a compiled project.

Exit status: 0 on success, 1 when the golden check fails, 2 on a usage error.
Outputs are never written over an input and appear only when complete; a missing
output folder is created.
"""

from __future__ import annotations

import argparse
import json
import sys

from trigc.errors import ConfigError, TrigcError
from trigc.outputs import atomic_write
from trigc.trigger.files import check_outputs, event_file, plot_files
from trigc.trigger.inputs import parse_map
from trigc.trigger.plots import write_plots
from trigc.trigger.run import check_workers, emulate_events, max_workers
from trigc.trigger.stats import format_summary

EPILOG = """\
examples:
  trigc emulate prj --data events.npz --menu menu.toml --out golden.parquet
  trigc emulate prj --data events.npz --menu menu.toml --golden golden.parquet --junit golden.xml
  trigc emulate prj --data run.root:Events --map x=j_mass,j_tau21,... --labels label
  trigc emulate prj --data big.parquet --menu menu.toml --workers 2 --plots plots/
  trigc emulate prj --data big.h5 --menu menu.toml --dask tcp://scheduler:8786

outputs (--out, --junit, --summary, --plots) are written to a temporary file and renamed
when complete, never over an input (--data, --menu, --golden, the project's files), and
their folders are created if missing.
"""


def _workers(text: str):
    if text == "auto":
        return text
    try:
        return check_workers(int(text))
    except ValueError as exc:  # int() or WorkerError (a ConfigError, so a ValueError)
        message = str(exc) if isinstance(exc, TrigcError) else \
            f"--workers takes a whole number 1..{max_workers()} or 'auto', not {text!r}"
        raise argparse.ArgumentTypeError(message) from None


def _positive(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, not {text!r}")
    return value


def add_parsers(subparsers) -> None:
    """Register ``emulate`` on the ``trigc`` command's subparsers."""
    p = subparsers.add_parser(
        "emulate", help="run a trigger menu over an event file: decisions, rates, golden check",
        description="Emulate the firmware's trigger decisions, bit-exact, over an event file.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("project", help="project directory written by `trigc compile`")
    p.add_argument("--data", required=True, metavar="EVENTS",
                   help=".npy, .npz, .h5/.hdf5, .parquet or .root (file.root:TREE) events")
    p.add_argument("--menu", help="trigger menu (.toml or .yaml); without one, only raw "
                                  "outputs are written and compared")
    p.add_argument("--out", metavar="DECISIONS",
                   help="write per-event decisions and raw outputs (.parquet or .npz; "
                        "missing folders are created)")
    p.add_argument("--golden", help="decision file to compare with event by event; "
                                    "exit 1 on any difference")
    p.add_argument("--junit", metavar="FILE", help="write the golden check as JUnit XML")
    p.add_argument("--decisions-only", action="store_true",
                   help="golden check: compare decision bits only, not raw outputs")
    p.add_argument("--max-listed", type=_positive, default=10, metavar="N",
                   help="golden check: list this many differing events (default 10)")
    p.add_argument("--backend", choices=("emulator", "csim"), default="emulator",
                   help="bit-exact numpy emulator (default) or the project's g++ C-sim")
    p.add_argument("--workers", type=_workers, default="auto", metavar="N",
                   help="local worker processes, or 'auto' (the default): one per core, at "
                        "most one per chunk; at most 4 per core")
    p.add_argument("--dask", metavar="ADDR",
                   help="run the chunks on a Dask cluster, e.g. tcp://scheduler:8786 (the "
                        "event file and project must be visible to the workers)")
    p.add_argument("--chunk-size", type=_positive, default=50_000, metavar="N",
                   help="events per chunk (default 50000); bounds the memory per worker")
    p.add_argument("--max-events", type=_positive, metavar="N",
                   help="use only the first N events")
    p.add_argument("--map", action="append", metavar="INPUT=COLS",
                   help="feed model input INPUT from a column (x=features) or from columns "
                        "concatenated per event (x=a,b,c); overrides the menu's [inputs]")
    p.add_argument("--labels", metavar="COLUMN", help="integer class labels, for efficiencies")
    p.add_argument("--background", metavar="LABELS",
                   help="comma-separated background classes: rates use only their events")
    p.add_argument("--tree", help="ROOT TTree name (or write file.root:TREE)")
    p.add_argument("--bx-mhz", type=float, metavar="F",
                   help="bunch-crossing frequency in MHz (default 40.079, the LHC's)")
    p.add_argument("--filled-bunches", type=int, metavar="N", help="filled bunches (default 2808)")
    p.add_argument("--total-bunches", type=int, metavar="N",
                   help="bunch slots per orbit (default 3564)")
    p.add_argument("--summary", metavar="FILE.json", help="write counts, rates, "
                                                          "efficiencies and overlaps as JSON")
    p.add_argument("--plots", metavar="DIR",
                   help="write rate_vs_threshold.png and efficiency_vs_rate.png")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar with events/s on stderr (default: when it is a tty)")
    p.set_defaults(func=cmd_emulate)


def _bunches(args) -> dict:
    keys = {"bx_frequency_mhz": args.bx_mhz, "filled_bunches": args.filled_bunches,
            "total_bunches": args.total_bunches}
    return {k: v for k, v in keys.items() if v is not None}


def _background(text: str | None):
    if text is None:
        return None
    return [int(b) if b.strip().isdigit() else b.strip() for b in text.split(",") if b.strip()]


def cmd_emulate(args: argparse.Namespace) -> int:
    if args.junit and not args.golden:
        raise ConfigError("--junit writes the golden check: give --golden GOLDEN as well")
    _check_outputs(args)
    result = emulate_events(
        args.project, args.data, args.menu, out=args.out, golden=args.golden,
        junit=args.junit, backend=args.backend, workers=args.workers, dask=args.dask,
        chunk_size=args.chunk_size, max_events=args.max_events, mapping=parse_map(args.map),
        labels=args.labels, background=_background(args.background), bunches=_bunches(args),
        tree=args.tree, compare_raw=not args.decisions_only, max_listed=args.max_listed,
        progress=args.progress)
    print(result.headline())
    print(format_summary(result.stats))
    if args.summary:
        summary = {"run": {"events": result.events, "seconds": result.seconds,
                           "events_per_second": result.events_per_second,
                           "backend": result.backend, "workers": result.workers},
                   **result.stats.to_dict()}
        atomic_write(args.summary, json.dumps(summary, indent=2), make_parents=True)
        print(f"wrote {args.summary}")
    if args.plots:
        for path in write_plots(result.stats, args.plots):
            print(f"wrote {path}")
    if args.out:
        print(f"wrote {args.out} ({result.events} events)")
    if result.golden is None:
        return 0
    if args.junit:
        print(f"wrote {args.junit}")
    if result.golden.ok:
        print(result.golden)
        return 0
    print(result.golden, file=sys.stderr)
    return 1


def _check_outputs(args) -> None:
    """Before the run: no output over an input or another output; folders created."""
    outputs = {"--out": args.out, "--junit": args.junit, "--summary": args.summary,
               **(plot_files(args.plots) if args.plots else {})}
    inputs = {"--data": event_file(args.data), "--menu": args.menu, "--golden": args.golden}
    check_outputs(outputs, inputs, args.project)

"""The ``trigc`` parser and :func:`main`, the command's one error policy."""

from __future__ import annotations

import argparse
import logging
import sys

from trigc import __version__
from trigc.cli import compile as compile_commands
from trigc.cli import export as export_commands
from trigc.cli import project as project_commands
from trigc.cli import rtl as rtl_commands
from trigc.cli import trigger as trigger_commands
from trigc.errors import TrigcError


def build_parser() -> argparse.ArgumentParser:
    """The ``trigc`` parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="trigc", description="Compile QAT neural networks into bit-exact FPGA trigger firmware")
    parser.add_argument("--version", action="version", version=f"trigc {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log compiler decisions")
    parser.add_argument("--debug", action="store_true",
                        help="show the full error and traceback instead of one line")
    sub = parser.add_subparsers(dest="command", required=True)
    compile_commands.add_parsers(sub)
    project_commands.add_parsers(sub)
    export_commands.add_parsers(sub)
    trigger_commands.add_parsers(sub)
    rtl_commands.add_parsers(sub)
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


"""The ``trigc`` command line."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from trigc.errors import ConfigError, TrigcError


def _precision_args(args) -> dict:
    precision: dict = {}
    if args.config:
        path = Path(args.config)
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"Cannot read precision config {str(path)!r}: {exc}") from None
        precision.update(data.get("precision", data))
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


def build_parser() -> argparse.ArgumentParser:
    from trigc import __version__

    parser = argparse.ArgumentParser(
        prog="trigc", description="Compile QAT neural networks into bit-exact FPGA trigger firmware")
    parser.add_argument("--version", action="version", version=f"trigc {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log compiler decisions")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("inspect", help="print the final IR: ops, shapes, fixed-point types")
    p.add_argument("model", help="ONNX / QONNX file")
    p.add_argument("--config", help="JSON file: {\"precision\": {name: type}}")
    p.add_argument("--type", action="append", metavar="NAME=TYPE",
                   help="override a tensor/layer type, e.g. input=fixed<16,6>")
    p.set_defaults(func=cmd_inspect)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s: %(message)s")
    try:
        return args.func(args)
    except TrigcError as exc:
        print(f"trigc: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

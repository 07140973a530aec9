"""Options shared by several ``trigc`` subcommands, each defined once here, and the
reading of array files the commands take.

- model options (``inspect``, ``compile``): ``--config FILE`` and ``--type NAME=TYPE``;
- target options (``compile``, ``export``): ``--part`` or ``--board``, ``--clock-ns``,
  ``--backend``, ``--interface`` and ``--axis-word-bits``;
- budget options (``compile``, ``check``): ``--latency-ns``, ``--dsp``, ...
"""

from __future__ import annotations

import argparse
import zipfile

import numpy as np

from trigc.backends.vitis.interfaces import AXIS_MAX_WORD_BITS
from trigc.config import read_config
from trigc.errors import ConfigError
from trigc.target import (
    BACKENDS, DEFAULT_BACKEND, DEFAULT_CLOCK_NS, DEFAULT_PART, INTERFACES,
)

BUDGET_FLAGS = {"latency_ns": float, "latency_cycles": int, "ii": int, "dsp": int, "lut": int,
                "ff": int, "bram": int}
TARGET_DESTS = ("part", "board", "clock_ns", "backend", "interface", "axis_word_bits",
                "stage_ns", "dsp_digits")


def add_model_options(p: argparse.ArgumentParser) -> None:
    """``--config`` and ``--type``: the model's types (and, for ``compile``, the build
    options of the config file)."""
    p.add_argument("--config", help="JSON file: precision {name: type}, reuse (per layer), "
                                    "part or board, clock_ns, interface, budgets, ...")
    p.add_argument("--type", action="append", metavar="NAME=TYPE",
                   help="override a tensor/layer type, e.g. input=fixed<16,6>")


def add_target_options(p: argparse.ArgumentParser) -> None:
    """``--part``/``--board``, ``--clock-ns``, ``--backend``, ``--interface``,
    ``--axis-word-bits``: the keyword arguments of :func:`target_kwargs`."""
    p.add_argument("--part", help=f"FPGA part (default: the board's, else {DEFAULT_PART})")
    p.add_argument("--board", help="target board: sets the FPGA part and the default "
                                       "clock (`trigc boards` lists them)")
    p.add_argument("--clock-ns", type=float,
                   help=f"clock period in ns (default: the board's, else {DEFAULT_CLOCK_NS:g})")
    p.add_argument("--backend", choices=BACKENDS,
                   help=f"code generator (default {DEFAULT_BACKEND}: Vitis HLS C++; verilog: "
                        "pipelined RTL, proved with `trigc rtlsim`, measured with `trigc "
                        "synth`; catapult: Catapult HLS C++ with ac_fixed, for ASICs)")
    p.add_argument("--stage-ns", type=float, metavar="NS",
                   help="verilog backend: combinational budget per pipeline stage (default: "
                        "the clock less 12.5%%; larger: fewer registers and cycles at a "
                        "lower clock; 0: combinational between the port registers)")
    p.add_argument("--dsp-digits", type=int, metavar="N",
                   help="verilog backend: weights with at least N signed digits become "
                        "multipliers (DSPs when wide) instead of shift-adds")
    p.add_argument("--interface", choices=INTERFACES,
                   help="top-function interface: hs (ap_ctrl_hs + ap_vld, the default), "
                        "pipeline (free-running ap_ctrl_none + ap_none, II=1), pipeline_vld "
                        "(ap_ctrl_none + ap_vld, II=1), axis (AXI4-Stream, packed words)")
    p.add_argument("--axis-word-bits", type=int, metavar="BITS",
                   help="AXI4-Stream word width, a multiple of 8 up to "
                        f"{AXIS_MAX_WORD_BITS} (default: one word per tensor)")


def target_kwargs(args: argparse.Namespace) -> dict:
    """The keyword arguments of ``trigc.compile`` and ``export_ip`` for the flags of
    :func:`add_target_options` (None where not given)."""
    return {dest: getattr(args, dest) for dest in TARGET_DESTS}


def type_args(args: argparse.Namespace) -> dict:
    """``{name: type}`` of the ``--type NAME=TYPE`` flags."""
    precision = {}
    for item in args.type or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--type takes NAME=TYPE (e.g. input=fixed<16,6>), got {item!r}")
        precision[key] = value
    return precision


def precision_args(args: argparse.Namespace) -> dict:
    """The config file's ``precision`` with the ``--type`` flags over it."""
    precision: dict = {}
    if args.config:
        precision.update(read_config(args.config).get("precision", {}))
    precision.update(type_args(args))
    return precision


def add_budget_options(p: argparse.ArgumentParser) -> None:
    """``--latency-ns``, ``--dsp``, ...: one flag per budget of :data:`BUDGET_FLAGS`."""
    for key, kind in BUDGET_FLAGS.items():
        p.add_argument(f"--{key.replace('_', '-')}", type=kind, dest=key,
                       help=f"budget: maximum {key.replace('_', ' ')}")


def budget_args(args: argparse.Namespace) -> dict:
    """The budgets given as flags."""
    return {k: getattr(args, k) for k in BUDGET_FLAGS if getattr(args, k) is not None}


def load_arrays(path: str, flag: str, keep_names: bool = False):
    """The numeric arrays of a ``.npy`` file (one) or ``.npz`` file (one per model
    input, in file order): a list, or ``{name: array}`` with ``keep_names``. Pickled,
    object, string and empty arrays are refused with a typed error."""
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


__all__ = ["BUDGET_FLAGS", "add_budget_options", "add_model_options", "add_target_options",
           "budget_args", "load_arrays", "precision_args",
           "target_kwargs", "type_args"]

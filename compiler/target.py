"""The build target and options a user names, typed and checked in one place, below
everything that reads them: the FPGA part and clock (:class:`Target`, with the board
table that sets both) and the build options (:class:`BuildOptions`: backend, io mode,
reuse factors, top-function interface, budgets).

A part is written into ``build_prj.tcl`` and the IP export, so it is matched exactly
against the table below (case-insensitively) and returned in its canonical spelling;
nothing the user typed is ever written verbatim. An unknown part is a
:class:`UnknownPartError` that lists the closest known parts.

The table holds the dies trigc's estimator knows (:mod:`trigc.estimate.devices`), in
the packages and speed/temperature grades of AMD's product selection guides:
UltraScale+ (DS923 Virtex, DS922 Kintex, DS891 Zynq), UltraScale (DS890 Kintex) and
the Alveo cards (DS962, DS978; one part each, as their Vitis platforms name it).
A part missing here is added to :data:`PACKAGES` with its data-sheet source.

:data:`OPTION_KEYS` is the one list of option names: a user's config file
(:mod:`trigc.config`) takes these plus ``precision``, and :meth:`BuildOptions.from_json`
takes exactly these.
"""

from __future__ import annotations

import difflib
import math
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from trigc.errors import ConfigError


class UnknownPartError(ConfigError):
    """The FPGA part is not one trigc knows."""


class ClockError(ConfigError):
    """The clock period is not a finite number of nanoseconds in the supported range."""


# Clock periods trigc accepts: 1 GHz down to 1 MHz. FPGA fabric tops out well below
# 1 GHz; a slower clock than 1 MHz is almost certainly a unit mistake (us, not ns).
MIN_CLOCK_NS = 1.0
MAX_CLOCK_NS = 1000.0

# Speed and temperature grades as they appear in the part number (``-2-e``, ``-2L-e``).
_ULTRASCALE_PLUS_GRADES = ("1-e", "1-i", "1L-i", "2-e", "2-i", "2L-e", "3-e")
_ULTRASCALE_GRADES = ("1-c", "1-i", "1L-i", "2-e", "2-i", "3-e")

# die -> (packages, grades)
PACKAGES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "xcvu9p": (("flga2104", "flgb2104", "flgc2104", "fsgd2104", "flga2577"),
               _ULTRASCALE_PLUS_GRADES),
    "xcvu13p": (("fhga2104", "fhgb2104", "fhgc2104", "figd2104", "flga2577", "fsga2577"),
                _ULTRASCALE_PLUS_GRADES),
    "xcku5p": (("ffva676", "ffvb676", "ffvd900", "sfvb784"), _ULTRASCALE_PLUS_GRADES),
    "xczu9eg": (("ffvb1156", "ffvc900"), _ULTRASCALE_PLUS_GRADES),
    "xcku115": (("flva1517", "flvd1517", "flvb1760", "flvf1924", "flva2104", "flvb2104"),
                _ULTRASCALE_GRADES),
    "xcu250": (("figd2104",), ("2L-e",)),
    "xcu55c": (("fsvh2892",), ("2L-e",)),
}


def _all_parts() -> dict[str, str]:
    """Lower-case key -> canonical part number."""
    parts = {}
    for die, (packages, grades) in PACKAGES.items():
        for package in packages:
            for grade in grades:
                part = f"{die}-{package}-{grade}"
                parts[part.lower()] = part
    return parts


KNOWN_PARTS: dict[str, str] = _all_parts()


def check_part(part: object) -> str:
    """The canonical spelling of a known FPGA part; :class:`UnknownPartError` naming
    the closest known parts otherwise."""
    if not isinstance(part, str) or not part.strip():
        raise UnknownPartError(
            f"The FPGA part must be a part number such as xcvu9p-flga2104-2L-e, not "
            f"{_show(part)}; `trigc boards` lists boards and their parts")
    key = part.strip().lower()
    if key in KNOWN_PARTS:
        return KNOWN_PARTS[key]
    close = difflib.get_close_matches(key, list(KNOWN_PARTS), n=4, cutoff=0.6)
    hint = (f"closest known parts: {', '.join(KNOWN_PARTS[c] for c in close)}" if close
            else f"known dies: {', '.join(PACKAGES)}")
    raise UnknownPartError(
        f"Unknown FPGA part {_show(part)}; {hint}. Give the exact AMD part number "
        "(device-package-speed-temperature), or a board with --board (`trigc boards`)")


def check_clock(clock_ns: object, what: str = "clock period") -> float:
    """A finite clock period in [MIN_CLOCK_NS, MAX_CLOCK_NS] ns, as a float."""
    if isinstance(clock_ns, bool) or not isinstance(clock_ns, (int, float, str)):
        raise ClockError(f"The {what} must be a number of nanoseconds, not {_show(clock_ns)}")
    try:
        value = float(clock_ns)
    except ValueError:
        raise ClockError(
            f"The {what} must be a number of nanoseconds, not {_show(clock_ns)}") from None
    if not math.isfinite(value) or not MIN_CLOCK_NS <= value <= MAX_CLOCK_NS:
        raise ClockError(
            f"The {what} is {_show(clock_ns)} ns; trigc targets clocks from "
            f"{MIN_CLOCK_NS:g} ns (1 GHz) to {MAX_CLOCK_NS:g} ns (1 MHz). Give the period "
            "in nanoseconds, e.g. --clock-ns 5 for 200 MHz")
    return value


def _show(value: object, limit: int = 60) -> str:
    """A short, printable repr of a user value for an error message."""
    text = repr(value)
    text = text.encode("ascii", "backslashreplace").decode("ascii")
    return text if len(text) <= limit else text[:limit] + "...'"




# ---- boards ---------------------------------------------------------------------------
# A board names its FPGA part and a default clock; everything about the device itself
# (resource totals, family) lives in trigc.estimate.devices, looked up by part number.
# Default clocks: the CMS Phase-2 Level-1 trigger boards run their algorithms at
# 360 MHz (9 x the 40 MHz LHC bunch clock; the CMS L1T HLS projects use
# ``create_clock -period 2.777``); the Alveo cards default to the 300 MHz kernel clock
# of their Vitis shells; the evaluation boards get trigc's default 200 MHz target, a
# clock their MMCMs derive from the on-board oscillators. ``clock_ns`` overrides any.

class UnknownBoardError(ConfigError):
    """The board is not in trigc's board table."""


@dataclass(frozen=True)
class Board:
    """One board target: ``name`` is what users type (``--board NAME``)."""

    name: str
    title: str
    part: str  # AMD part number: device-package-speed-temperature
    clock_ns: float  # default target clock period
    kind: str  # "trigger processor", "evaluation board", "accelerator card"
    source: str  # where the facts come from

    @property
    def speed_grade(self) -> str:
        """The speed grade of the part, e.g. ``-2L`` for ``xcvu9p-flga2104-2L-e``."""
        return "-" + self.part.split("-")[2]

    @property
    def temperature_grade(self) -> str:
        return self.part.split("-")[3].upper()

    @property
    def clock_mhz(self) -> float:
        return 1000.0 / self.clock_ns

    def to_json(self) -> dict:
        return {"name": self.name, "title": self.title, "part": self.part,
                "speed_grade": self.speed_grade, "clock_ns": self.clock_ns,
                "kind": self.kind, "source": self.source}


BOARDS: dict[str, Board] = {b.name: b for b in (
    Board("apd1", "CMS APx APd1 ATCA processor (Virtex UltraScale+ VU9P)",
          "xcvu9p-flga2577-2-e", 2.777, "trigger processor",
          "CMS Phase-2 L1 trigger TDR, CERN-LHCC-2020-004 (APx platform, APd1 "
          "demonstrator); VU9P in the A2577 package as targeted by the CMS L1T "
          "correlator HLS projects"),
    Board("serenity_s1", "CMS Serenity-S1 ATCA processor (Virtex UltraScale+ VU13P)",
          "xcvu13p-flga2577-2-e", 2.777, "trigger processor",
          "T. Mehner et al., Lessons learned while developing the Serenity-S1 ATCA "
          "card, TWEPP 2023, arXiv:2311.02222 (single VU13P in the A2577 package)"),
    Board("kcu116", "AMD KCU116 evaluation kit (Kintex UltraScale+ KU5P)",
          "xcku5p-ffvb676-2-e", 5.0, "evaluation board",
          "AMD UG1239 KCU116 Board User Guide (XCKU5P-2FFVB676E)"),
    Board("kcu1500", "AMD KCU1500 acceleration board (Kintex UltraScale KU115)",
          "xcku115-flvb2104-2-e", 5.0, "accelerator card",
          "AMD UG1260 KCU1500 Board User Guide (XCKU115-2FLVB2104E)"),
    Board("vcu118", "AMD VCU118 evaluation kit (Virtex UltraScale+ VU9P)",
          "xcvu9p-flga2104-2L-e", 5.0, "evaluation board",
          "AMD UG1224 VCU118 Evaluation Board User Guide (XCVU9P-L2FLGA2104E)"),
    Board("zcu102", "AMD ZCU102 evaluation kit (Zynq UltraScale+ ZU9EG)",
          "xczu9eg-ffvb1156-2-e", 5.0, "evaluation board",
          "AMD UG1182 ZCU102 Evaluation Board User Guide (XCZU9EG-2FFVB1156E)"),
    Board("alveo_u250", "AMD Alveo U250 data-center card (XCU250)",
          "xcu250-figd2104-2L-e", 3.333, "accelerator card",
          "AMD DS962 Alveo U200 and U250 Data Center Accelerator Cards Data Sheet; "
          "part as in the U250 Vitis platforms"),
    Board("alveo_u55c", "AMD Alveo U55C data-center card (XCU55C, HBM)",
          "xcu55c-fsvh2892-2L-e", 3.333, "accelerator card",
          "AMD DS978 Alveo U55C Data Center Accelerator Card Data Sheet; part as in "
          "the U55C Vitis platforms"),
)}


def known_boards() -> list[str]:
    return list(BOARDS)


def get_board(name: str) -> Board:
    """The board called ``name`` (case-insensitive); raises :class:`UnknownBoardError`
    listing the known boards otherwise."""
    key = name.strip().lower() if isinstance(name, str) else None
    if key in BOARDS:
        return BOARDS[key]
    close = difflib.get_close_matches(key or "", list(BOARDS), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise UnknownBoardError(
        f"Unknown board {_show(name)}; {hint}Known boards: {', '.join(known_boards())} "
        "(`trigc boards` lists their parts and clocks); or give the FPGA part instead")


# ---- the target: part, clock, board -----------------------------------------------------

DEFAULT_PART = "xcvu9p-flga2104-2L-e"
DEFAULT_CLOCK_NS = 5.0


@dataclass(frozen=True)
class Target:
    """The FPGA part (canonical spelling), the clock period in ns and the board that
    set them (None when the part was given directly). Checked on construction;
    :meth:`resolve` fills in the defaults from what a user gave."""

    part: str = DEFAULT_PART
    clock_ns: float = DEFAULT_CLOCK_NS
    board: str | None = None

    def __post_init__(self) -> None:
        part = check_part(self.part)
        if self.board is not None:
            board = get_board(self.board)
            if part != board.part:
                raise ConfigError(
                    f"Board {board.name!r} carries the part {board.part}, but the part "
                    f"{_show(self.part)} was also given; give either the board or the "
                    "part, not both")
            object.__setattr__(self, "board", board.name)
        object.__setattr__(self, "part", part)
        object.__setattr__(self, "clock_ns", check_clock(self.clock_ns))

    @classmethod
    def resolve(cls, part: str | None = None, clock_ns: float | None = None,
                board: str | None = None) -> Target:
        """The target of what the user gave: a board sets the part and the default
        clock; an explicit clock overrides the board's; a part that differs from the
        board's is an error. Without either, :data:`DEFAULT_PART` and
        :data:`DEFAULT_CLOCK_NS`."""
        if board is None:
            return cls(DEFAULT_PART if part is None else part,
                       DEFAULT_CLOCK_NS if clock_ns is None else clock_ns)
        b = get_board(board)
        return cls(b.part if part is None else part,
                   b.clock_ns if clock_ns is None else clock_ns, b.name)


def resolve_target(part: str | None, clock_ns: float | None, board: str | None
                   ) -> tuple[str, float, str | None]:
    """(part, clock_ns, board name) of :meth:`Target.resolve`."""
    target = Target.resolve(part, clock_ns, board)
    return target.part, target.clock_ns, target.board


# ---- option values ------------------------------------------------------------------------

BACKENDS = ("vitis", "verilog", "catapult")
IO_MODES = ("parallel", "stream")
INTERFACES = ("hs", "pipeline", "pipeline_vld", "axis")
DEFAULT_BACKEND = "vitis"
DEFAULT_IO_MODE = "parallel"
DEFAULT_INTERFACE = "hs"
MAX_REUSE = 1 << 20


class InterfaceError(ConfigError):
    """The interface is unknown or cannot be used with this model."""


def check_interface(name: object) -> str:
    """The canonical (lower-case) name of a top-function interface."""
    if isinstance(name, str) and name.strip().lower() in INTERFACES:
        return name.strip().lower()
    raise InterfaceError(
        f"Unknown interface {name!r}; choose one of {', '.join(INTERFACES)} "
        "(hs: ap_ctrl_hs handshake, pipeline/pipeline_vld: free-running ap_ctrl_none, "
        "axis: AXI4-Stream)")


def check_name_map(value: object, what: str, check_value: Callable[[object, str], object],
                   expected: str) -> dict:
    """``{name: check_value(item)}`` of a mapping with non-empty string names."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"{what} must be {expected}, not a {type(value).__name__}")
    out = {}
    for name, item in value.items():
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{what}: names must be non-empty strings, not {name!r}")
        out[name] = check_value(item, f"{what}, entry {name!r}")
    return out


def _reuse(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_REUSE:
        raise ConfigError(f"{what} must be an integer reuse factor from 1 to {MAX_REUSE}, "
                          f"not {value!r}")
    return value


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{what} must be a finite number, not {value!r}")
    return value


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{what} must be a non-empty string, not {value!r}")
    return value


def _word_bits(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{what} must be an integer number of bits, not {value!r}")
    return value


def _stage_ns(value: object, what: str) -> float:
    value = _number(value, what)
    if not 0 <= value <= MAX_CLOCK_NS:
        raise ConfigError(f"{what} must be from 0 to {MAX_CLOCK_NS} ns, not {value!r}")
    return float(value)


def _digits(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 64:
        raise ConfigError(f"{what} must be an integer number of signed digits from 2 to 64, "
                          f"not {value!r}")
    return value


MAX_FIFO_DEPTH = 1 << 24


def _depth(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= MAX_FIFO_DEPTH:
        raise ConfigError(f"{what} must be an integer FIFO depth from 2 to {MAX_FIFO_DEPTH}, "
                          f"not {value!r}")
    return value


def _choice(choices: tuple[str, ...], planned: str | None = None
            ) -> Callable[[object, str], str]:
    def check(value: object, what: str) -> str:
        if value not in choices:
            later = f" (planned: {planned})" if planned else ""
            raise ConfigError(f"{what} must be one of {', '.join(choices)}{later}, not "
                              f"{_show(value)}")
        return value
    return check


SOFTMAX_MODES = ("lut", "exact")
"""The Softmax modes (trigc.ops.softmax): exp and inverse tables, or the correctly
rounded softmax to within half an output LSB plus 2^-28."""


def check_softmax_mode(value: object, what: str) -> str | dict[str, str]:
    """A softmax option (config key ``softmax``, ``trigc.load(softmax=...)``): one mode
    for every Softmax, or {layer name: mode}."""
    def one(v: object, w: str) -> str:
        if v not in SOFTMAX_MODES:
            raise ConfigError(f"{w} must be a softmax mode ({' or '.join(SOFTMAX_MODES)}), "
                              f"not {_show(v)}")
        return v
    if isinstance(value, Mapping):
        return {str(k): one(v, f"{what}[{str(k)!r}]") for k, v in value.items()}
    return one(value, what)


# key -> (what the value is, its check). The one list of option names.
_OPTIONS: dict[str, tuple[str, Callable[[object, str], object]]] = {
    "reuse": ("an object {layer name: reuse factor (integer >= 1)}",
              lambda v, w: check_name_map(v, w, _reuse, OPTION_KEYS["reuse"])),
    "default_reuse": ("the reuse factor of every other Dense/Conv (integer >= 1)", _reuse),
    "part": ("an FPGA part number such as \"xcvu9p-flga2104-2L-e\"", _text),
    "board": ("a board name from `trigc boards`", _text),
    "clock_ns": ("the clock period in ns (number)", _number),
    "interface": ("the top-function interface: hs, pipeline, pipeline_vld or axis",
                  lambda v, w: check_interface(v)),
    "axis_word_bits": ("the AXI4-Stream word width in bits (integer)", _word_bits),
    "budgets": ("an object {latency_ns, latency_cycles, ii, dsp, lut, ff, bram, ...: limit}",
                lambda v, w: check_name_map(v, w, _number, OPTION_KEYS["budgets"])),
    "backend": ("the code generator: vitis (Vitis HLS C++, ap_fixed), verilog (pipelined "
                "RTL) or catapult (Catapult HLS C++, ac_fixed)", _choice(BACKENDS)),
    "stage_ns": ("verilog backend: the combinational delay budget per pipeline stage in ns "
                 "(default: the clock period less 12.5% uncertainty; larger trades clock "
                 "frequency for fewer registers and cycles; 0: combinational between the "
                 "port registers)", _stage_ns),
    "dsp_digits": ("verilog backend: weights with at least this many signed digits become "
                   "multipliers, which synthesis may map to DSPs (default: shift-adds only)",
                   _digits),
    "io_mode": ("how tensors move between layers: parallel (every tensor in registers, "
                "every layer unrolled) or stream (one FIFO word per pixel, one process "
                "per layer; Vitis backend)", _choice(IO_MODES)),
    "fifo_depths": ("io stream: an object {stream name: FIFO depth (integer >= 2)}, as "
                    "`trigc csim --size-fifos` writes it; other streams get a safe depth",
                    lambda v, w: check_name_map(v, w, _depth, OPTION_KEYS["fifo_depths"])),
}
OPTION_KEYS: dict[str, str] = {key: text for key, (text, _) in _OPTIONS.items()}


def check_option(key: str, value: object, what: str) -> object:
    """The checked value of option ``key`` (its type and range; the part, board and
    clock are checked strictly by :class:`Target`); ``what`` names it in errors."""
    return _OPTIONS[key][1](value, what)


def unknown_key_error(key: object, known, where: str) -> ConfigError:
    """The error for a key that is not one of ``known``: a close match and the list."""
    close = difflib.get_close_matches(str(key), list(known), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return ConfigError(f"Unknown key {str(key)!r} in the {where}; {hint}known keys: "
                       f"{', '.join(known)}")


# ---- build options --------------------------------------------------------------------------

# Options added after trigc 0.1 appear in the JSON form only when set, so the
# ``settings`` of projects written before them read back unchanged, and stay the same.
_OMITTED_AT_DEFAULT = {"backend": DEFAULT_BACKEND, "io_mode": DEFAULT_IO_MODE, "budgets": {},
                       "stage_ns": None, "dsp_digits": None, "fifo_depths": {}}
_TARGET_KEYS = ("part", "clock_ns", "board")


@dataclass(frozen=True)
class BuildOptions:
    """Everything a build is made with besides the model: the :class:`Target`, the
    backend and io mode, the reuse factors (``reuse`` by layer, node or source name;
    ``default_reuse`` for every other Dense/Conv), the top-function interface and
    AXI4-Stream word width (None: one word per tensor), and the budgets the estimate
    is checked against. Checked on construction; ``reuse`` and ``budgets`` are
    read-only mappings."""

    target: Target = field(default_factory=Target)
    backend: str = DEFAULT_BACKEND
    io_mode: str = DEFAULT_IO_MODE
    default_reuse: int = 1
    reuse: Mapping[str, int] = field(default_factory=dict)
    interface: str = DEFAULT_INTERFACE
    axis_word_bits: int | None = None
    budgets: Mapping[str, float] = field(default_factory=dict)
    stage_ns: float | None = None
    dsp_digits: int | None = None
    fifo_depths: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.target, Target):
            raise ConfigError(f"target must be a trigc.target.Target, not "
                              f"{type(self.target).__name__}")
        for key in ("backend", "io_mode", "default_reuse", "interface"):
            value = check_option(key, getattr(self, key), f"{key!r} in the build options")
            object.__setattr__(self, key, value)
        for key in ("axis_word_bits", "stage_ns", "dsp_digits"):
            if getattr(self, key) is not None:
                object.__setattr__(self, key, check_option(
                    key, getattr(self, key), f"{key!r} in the build options"))
        for key in ("reuse", "budgets", "fifo_depths"):
            value = check_option(key, getattr(self, key), f"{key!r} in the build options")
            object.__setattr__(self, key, types.MappingProxyType(dict(sorted(value.items()))))

    @property
    def part(self) -> str:
        return self.target.part

    @property
    def clock_ns(self) -> float:
        return self.target.clock_ns

    @property
    def board(self) -> str | None:
        return self.target.board

    @property
    def stage_budget_ns(self) -> float | None:
        """The Verilog backend's combinational budget per stage: ``stage_ns`` (0 means
        none: combinational), else the clock period less 12.5% uncertainty."""
        if self.stage_ns is None:
            return self.clock_ns * 0.875
        return self.stage_ns or None

    def reuse_for(self, node) -> int:
        """The reuse factor configured for ``node`` (by node name, then by the source
        layer's name), else ``default_reuse``; which ops it applies to is the
        backend's and estimator's business."""
        for key in (node.name, node.source):
            if key in self.reuse:
                return self.reuse[key]
        return self.default_reuse

    def check_layers(self, names: set[str], layers: list[str]) -> None:
        """Every per-layer reuse factor names one of ``names`` (the graph's node and
        source names); ``layers`` is what the error lists."""
        unknown = sorted(set(self.reuse) - set(names))
        if unknown:
            raise ConfigError(f"Reuse factors given for unknown layers {unknown}; layers "
                              f"are {layers}")

    def replace(self, **changes) -> BuildOptions:
        """These options with the given fields replaced."""
        return replace(self, **changes)

    def to_json(self) -> dict:
        """The flat JSON form (a project's ``meta['settings']``, plus ``budgets``);
        :meth:`from_json` reads it back to equal options."""
        data = {"part": self.part, "clock_ns": self.clock_ns, "board": self.board,
                "backend": self.backend, "io_mode": self.io_mode,
                "default_reuse": self.default_reuse, "reuse": dict(self.reuse),
                "interface": self.interface, "axis_word_bits": self.axis_word_bits,
                "budgets": dict(self.budgets), "stage_ns": self.stage_ns,
                "dsp_digits": self.dsp_digits, "fifo_depths": dict(self.fifo_depths)}
        return {k: v for k, v in data.items()
                if k not in _OMITTED_AT_DEFAULT or v != _OMITTED_AT_DEFAULT[k]}

    @classmethod
    def from_json(cls, data: Mapping | None, *, where: str = "build options",
                  **overrides) -> BuildOptions:
        """Options from their JSON form; unknown keys are a :class:`ConfigError`
        listing the valid ones, and null values mean the default. Keyword arguments
        replace single fields; a new ``board`` also replaces the stored part and clock
        (the board's part and default clock, unless given too)."""
        data = dict(data or {})
        for key in (*data, *overrides):
            if key not in OPTION_KEYS:
                raise unknown_key_error(key, OPTION_KEYS, where)
        values = {k: v for k, v in data.items() if v is not None}
        if overrides.get("board") not in (None, values.get("board")):
            values.pop("part", None)
            values.pop("clock_ns", None)
        values.update({k: v for k, v in overrides.items() if v is not None})
        target = Target.resolve(*(values.pop(k, None) for k in _TARGET_KEYS))
        return cls(target, **values)


__all__ = [
    "BACKENDS", "BOARDS", "DEFAULT_BACKEND", "DEFAULT_CLOCK_NS", "DEFAULT_INTERFACE",
    "DEFAULT_IO_MODE", "DEFAULT_PART",
    "INTERFACES", "IO_MODES", "KNOWN_PARTS", "MAX_CLOCK_NS", "MIN_CLOCK_NS", "OPTION_KEYS",
    "Board", "BuildOptions", "ClockError", "InterfaceError", "Target", "UnknownBoardError",
    "UnknownPartError", "check_clock", "check_interface", "check_option", "check_part",
    "get_board", "known_boards", "resolve_target",
]

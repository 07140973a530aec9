"""Board targets: the FPGA boards of collider trigger systems and common development
boards, as data.

A board names its FPGA part and a default clock; everything about the device itself
(resource totals, family) lives in :mod:`trigc.estimate.devices` and is looked up by
part number, never repeated here. ``source`` says where each board's facts come from.

Default clocks: the CMS Phase-2 Level-1 trigger boards run their algorithms at
360 MHz (9 x the 40 MHz LHC bunch clock; the CMS L1T HLS projects use
``create_clock -period 2.777``); the Alveo cards default to the 300 MHz kernel clock
of their Vitis shells; the evaluation boards get trigc's default 200 MHz target, a
clock their MMCMs derive from the on-board oscillators. Any clock can be overridden
with ``clock_ns``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from trigc.errors import ConfigError
from trigc.target import _show, check_clock, check_part


class UnknownBoardError(ConfigError):
    """The board is not in trigc's board table."""


@dataclass(frozen=True)
class Board:
    name: str  # the key users type: --board NAME
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


def resolve_target(part: str | None, clock_ns: float | None, board: str | None,
                   default_part: str, default_clock_ns: float
                   ) -> tuple[str, float, str | None]:
    """(part, clock_ns, board name) from what the user gave: a board sets the part and
    the default clock; an explicit clock overrides the board's; a part that differs
    from the board's is an error."""
    if board is None:
        part = check_part(default_part if part is None else part)
        return part, check_clock(default_clock_ns if clock_ns is None else clock_ns), None
    b = get_board(board)
    if part is not None and check_part(part) != b.part:
        raise ConfigError(
            f"Board {b.name!r} carries the part {b.part}, but the part {_show(part)} was "
            "also given; give either the board or the part, not both")
    return b.part, check_clock(b.clock_ns if clock_ns is None else clock_ns), b.name


def board_device(b: Board):
    """The estimator's device entry of the board's part, or None when the estimator
    does not know the part yet."""
    from trigc.estimate.devices import UnknownPartError, lookup

    try:
        return lookup(b.part)
    except UnknownPartError:
        return None


def format_boards() -> str:
    """The board table: a header line, then one board per line (name, part, ...)."""
    rows = [("board", "part", "speed", "clock", "device", "kind", "description", "source")]
    for b in BOARDS.values():
        device = board_device(b)
        rows.append((b.name, b.part, b.speed_grade,
                     f"{b.clock_ns:g} ns ({b.clock_mhz:.0f} MHz)",
                     device.name if device else "(not in estimator)", b.kind, b.title,
                     b.source))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)) + "  " + r[-1]
             for r in rows]
    return "\n".join(line.rstrip() for line in lines) + "\n"

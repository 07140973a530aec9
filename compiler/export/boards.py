"""Board targets for ``trigc boards``: the table itself (the FPGA boards of collider
trigger systems and common development boards, as data) lives in :mod:`trigc.target`,
next to the part table, and is re-exported here; this module adds what needs the
estimator's device database (:func:`board_device`, :func:`format_boards`)."""

from __future__ import annotations

from trigc.estimate.devices import UnknownPartError, lookup
from trigc.target import BOARDS, Board, UnknownBoardError, get_board, known_boards, resolve_target


def board_device(b: Board):
    """The estimator's device entry of the board's part, or None when the estimator
    does not know the part yet."""
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


__all__ = ["BOARDS", "Board", "UnknownBoardError", "board_device", "format_boards",
           "get_board", "known_boards", "resolve_target"]

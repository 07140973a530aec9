"""IP core export for detector boards: the board table, ``trigc boards`` and
``trigc export`` (see :mod:`trigc.export.ip`; Verilog projects:
:mod:`trigc.export.verilog`)."""

from trigc.export.boards import (
    BOARDS,
    Board,
    UnknownBoardError,
    format_boards,
    get_board,
    known_boards,
)
from trigc.export.common import ExportError, ExportResult, VLNVError, make_vlnv
from trigc.export.docs import VLNV
from trigc.export.ip import export_ip

__all__ = [
    "BOARDS", "VLNV", "Board", "ExportError", "ExportResult", "UnknownBoardError",
    "VLNVError", "export_ip", "format_boards", "get_board", "known_boards", "make_vlnv",
]

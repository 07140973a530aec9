"""The hardware target a user names: FPGA part numbers and clock periods, checked
strictly before anything reaches a report, a tcl script or the estimator.

A part is written into ``build_prj.tcl`` and the IP export, so it is matched exactly
against the table below (case-insensitively) and returned in its canonical spelling;
nothing the user typed is ever written verbatim. An unknown part is a
:class:`UnknownPartError` that lists the closest known parts.

The table holds the dies trigc's estimator knows (:mod:`trigc.estimate.devices`), in
the packages and speed/temperature grades of AMD's product selection guides:
UltraScale+ (DS923 Virtex, DS922 Kintex, DS891 Zynq), UltraScale (DS890 Kintex) and
the Alveo cards (DS962, DS978; one part each, as their Vitis platforms name it).
A part missing here is added to :data:`PACKAGES` with its data-sheet source.
"""

from __future__ import annotations

import difflib
import math

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


__all__ = ["KNOWN_PARTS", "MAX_CLOCK_NS", "MIN_CLOCK_NS", "ClockError", "UnknownPartError",
           "check_clock", "check_part"]

"""Read the Vitis HLS synthesis report (``<name>_prj/solution1/syn/report/<name>_csynth.xml``)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path

from trigc.errors import TrigcError


class SynthReportError(TrigcError, ValueError):
    """The synthesis report is missing or unreadable."""


@dataclass(frozen=True)
class SynthReport:
    """Numbers Vitis HLS reported (not trigc estimates)."""

    part: str
    clock_ns: float
    estimated_clock_ns: float
    latency_min: int
    latency_max: int
    ii_min: int
    ii_max: int
    bram_18k: int
    dsp: int
    ff: int
    lut: int
    uram: int

    def to_json(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return (f"Vitis HLS synthesis report ({self.part}, target {self.clock_ns} ns, "
                f"estimated {self.estimated_clock_ns} ns): latency {self.latency_min}-"
                f"{self.latency_max} cycles, II {self.ii_min}-{self.ii_max}; "
                f"DSP {self.dsp}, LUT {self.lut}, FF {self.ff}, BRAM_18K {self.bram_18k}, "
                f"URAM {self.uram}")


def _text(root: ET.Element, path: str, default: str | None = None) -> str:
    node = root.find(path)
    if node is None or node.text is None:
        if default is not None:
            return default
        raise SynthReportError(f"synthesis report has no {path}")
    return node.text.strip()


def _int(root: ET.Element, path: str, default: str | None = None) -> int:
    text = _text(root, path, default)
    try:
        return int(float(text))
    except ValueError:
        raise SynthReportError(f"synthesis report field {path} is {text!r}, not a number") \
            from None


def report_path(project: Path, name: str) -> Path:
    return Path(project) / f"{name}_prj" / "solution1" / "syn" / "report" / f"{name}_csynth.xml"


def parse_csynth(path: Path) -> SynthReport:
    """Parse a ``*_csynth.xml`` written by Vitis HLS csynth_design."""
    path = Path(path)
    if not path.is_file():
        raise SynthReportError(f"no synthesis report at {str(path)!r}; run csynth first")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise SynthReportError(f"{str(path)!r} is not valid XML: {exc}") from None
    latency = "PerformanceEstimates/SummaryOfOverallLatency/"
    area = "AreaEstimates/Resources/"
    dsp_path = area + ("DSP" if root.find(area + "DSP") is not None else "DSP48E")
    return SynthReport(
        part=_text(root, "UserAssignments/Part", "?"),
        clock_ns=float(_text(root, "UserAssignments/TargetClockPeriod", "0")),
        estimated_clock_ns=float(_text(root, "PerformanceEstimates/SummaryOfTimingAnalysis/"
                                             "EstimatedClockPeriod", "0")),
        latency_min=_int(root, latency + "Best-caseLatency"),
        latency_max=_int(root, latency + "Worst-caseLatency"),
        ii_min=_int(root, latency + "Interval-min"),
        ii_max=_int(root, latency + "Interval-max"),
        bram_18k=_int(root, area + "BRAM_18K", "0"),
        dsp=_int(root, dsp_path, "0"),
        ff=_int(root, area + "FF", "0"),
        lut=_int(root, area + "LUT", "0"),
        uram=_int(root, area + "URAM", "0"),
    )

"""Parsing the Vitis HLS csynth.xml report, and `trigc build` without the tool."""

import shutil

import pytest

from trigc.backends.vitis.synth_report import SynthReportError, parse_csynth

# Shape of a Vitis HLS 2023.x <top>_csynth.xml (the fields trigc reads).
REPORT = """<?xml version="1.0" encoding="UTF-8"?>
<profile>
  <ReportVersion><Version>2023.2</Version></ReportVersion>
  <UserAssignments>
    <unit>ns</unit><ProductFamily>virtexuplus</ProductFamily>
    <Part>xcvu9p-flga2104-2L-e</Part><TopModelName>mlp</TopModelName>
    <TargetClockPeriod>5.00</TargetClockPeriod>
  </UserAssignments>
  <PerformanceEstimates>
    <SummaryOfTimingAnalysis><unit>ns</unit><EstimatedClockPeriod>4.312</EstimatedClockPeriod>
    </SummaryOfTimingAnalysis>
    <SummaryOfOverallLatency>
      <unit>clock cycles</unit><Best-caseLatency>9</Best-caseLatency>
      <Average-caseLatency>9</Average-caseLatency><Worst-caseLatency>9</Worst-caseLatency>
      <Interval-min>1</Interval-min><Interval-max>1</Interval-max>
    </SummaryOfOverallLatency>
  </PerformanceEstimates>
  <AreaEstimates>
    <Resources><BRAM_18K>0</BRAM_18K><DSP>124</DSP><FF>7511</FF><LUT>36410</LUT>
      <URAM>0</URAM></Resources>
  </AreaEstimates>
</profile>
"""


def test_parse_csynth(tmp_path):
    path = tmp_path / "mlp_csynth.xml"
    path.write_text(REPORT)
    r = parse_csynth(path)
    assert (r.latency_min, r.latency_max, r.ii_min, r.ii_max) == (9, 9, 1, 1)
    assert (r.dsp, r.lut, r.ff, r.bram_18k) == (124, 36410, 7511, 0)
    assert r.part == "xcvu9p-flga2104-2L-e" and r.estimated_clock_ns == 4.312
    assert "synthesis report" in str(r)


def test_older_reports_name_dsps_dsp48e(tmp_path):
    path = tmp_path / "r.xml"
    path.write_text(REPORT.replace("<DSP>124</DSP>", "<DSP48E>124</DSP48E>"))
    assert parse_csynth(path).dsp == 124


def test_missing_or_broken_report(tmp_path):
    with pytest.raises(SynthReportError, match="run csynth first"):
        parse_csynth(tmp_path / "none.xml")
    (tmp_path / "bad.xml").write_text("<profile>")
    with pytest.raises(SynthReportError, match="not valid XML"):
        parse_csynth(tmp_path / "bad.xml")
    (tmp_path / "empty.xml").write_text("<profile/>")
    with pytest.raises(SynthReportError, match="Best-caseLatency"):
        parse_csynth(tmp_path / "empty.xml")


@pytest.mark.skipif(shutil.which("vitis_hls") is not None, reason="vitis_hls is installed")
def test_build_without_vitis_says_so(tmp_path, capsys):
    from trigc.cli import main
    from trigc.frontends.qonnx_builder import quantized_mlp
    import trigc

    trigc.compile(quantized_mlp(sizes=(4, 3)), tmp_path / "p")
    assert main(["build", str(tmp_path / "p")]) == 2
    assert "vitis_hls is not on PATH" in capsys.readouterr().err


@pytest.mark.vitis
def test_build_with_vitis(tmp_path, capsys):
    from trigc.cli import main
    from trigc.frontends.qonnx_builder import quantized_mlp
    import trigc

    trigc.compile(quantized_mlp(sizes=(4, 3)), tmp_path / "p")
    assert main(["build", str(tmp_path / "p")]) == 0
    assert "Vitis HLS synthesis report" in capsys.readouterr().out

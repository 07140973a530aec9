"""Reports: the table, report.txt / report.json / report.svg, determinism."""

import dataclasses
import json
from xml.etree import ElementTree

from tests.unit.estimate.models import dense_4x2
from trigc.estimate import Budgets, estimate, format_table, report_json, write_reports

SVG = "{http://www.w3.org/2000/svg}"


def test_table_lists_layers_totals_and_budgets():
    est = estimate(dense_4x2())
    text = format_table(est, Budgets(dsp=1, latency_ns=20))
    assert "not a synthesis result" in text
    assert "xcvu9p-flga2104-2L-e (VU9P" in text
    assert "fc" in text and "Dense" in text
    assert "latency 2 cycles = 10 ns, II = 1" in text
    assert "latency_ns     10 / 20 ns  OK" in text
    assert "dsp            2 / 1 DSP  OVER by 1" in text
    assert "6,840" in text  # VU9P DSPs available


def test_write_reports(tmp_path):
    est = estimate(dense_4x2())
    budgets = Budgets(dsp=1)
    paths = write_reports(est, budgets, tmp_path / "out")
    assert [p.name for p in paths] == ["report.txt", "report.json", "report.svg"]
    txt = paths[0].read_text()
    assert "over budget dsp: 2 DSP > 1 DSP" in txt
    data = json.loads(paths[1].read_text())
    assert data["fits"] is False and data["budgets"] == {"dsp": 1}
    assert data["estimate"]["latency_cycles"] == 2
    assert data["estimate"]["layers"][0]["dsp"] == 2
    assert "not a synthesis result" in data["estimate"]["kind"]
    assert data["violations"][0]["over"] == 1
    svg = ElementTree.parse(paths[2]).getroot()  # well-formed XML
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    bars = [r for r in svg.iter("{http://www.w3.org/2000/svg}rect") if r.find(SVG + "title")
            is not None]
    names = [r.find(SVG + "title").text for r in bars]
    # one bar per layer and panel, each titled with its value
    assert len(bars) == 5 * len(est.layers)
    assert "fc DSP: 2" in names and any(n.startswith("fc cycles: ") for n in names)
    widths = {n: float(r.get("width")) for n, r in zip(names, bars)}
    assert widths["fc DSP: 2"] > 0


def test_svg_escapes_layer_names(tmp_path):
    """A layer label from a hostile model file stays text in the SVG."""
    est = estimate(dense_4x2())
    evil = '</text><script>alert("x")</script>&'
    est = dataclasses.replace(est, layers=tuple(dataclasses.replace(layer, source=evil)
                                                for layer in est.layers))
    paths = write_reports(est, None, tmp_path)
    text = paths[2].read_text()
    assert "<script>" not in text
    svg = ElementTree.parse(paths[2]).getroot()
    labels = [t.text for t in svg.iter(SVG + "text")]
    assert any(evil in label for label in labels)


def test_reports_are_deterministic(tmp_path):
    est = estimate(dense_4x2(), {"default_reuse": 2})
    a = write_reports(est, None, tmp_path / "a")
    b = write_reports(est, None, tmp_path / "b")
    for x, y in zip(a, b):
        assert x.read_bytes() == y.read_bytes(), x.name
    assert report_json(est)["fits"] is True

"""Reports of an estimate: a text table, JSON, and an SVG bar chart.

Every report says what it is: a static model of the generated design, not a
synthesis result. Output is deterministic (sorted JSON keys, an SVG without
timestamps or version metadata)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from trigc.estimate import arith
from trigc.estimate.budgets import UNITS, Budgets, Violation, check
from trigc.estimate.datapath import RESOURCE_NAMES
from trigc.estimate.summary import Estimate

log = logging.getLogger(__name__)

DISCLAIMER = ("static estimate from trigc's timing and cost model, not a synthesis result; "
              "run Vitis HLS (trigc build) for reported numbers")
COLUMNS = ("DSP", "LUT", "FF", "BRAM18")


def _n(v: float) -> str:
    return f"{int(v):,}" if float(v).is_integer() else f"{v:,.1f}"


def _header(est: Estimate) -> list[str]:
    return [
        f"trigc estimate for '{est.model}' ({DISCLAIMER})",
        f"part {est.part} ({est.device.name}, {est.device.family}), clock {est.clock_ns:g} ns "
        f"({1000 / est.clock_ns:.1f} MHz), logic per cycle "
        f"{arith.budget_ns(est.clock_ns):.2f} ns after {arith.CLOCK_UNCERTAINTY:.0%} "
        "clock uncertainty",
    ]


def _budget_rows(est: Estimate, budgets: Budgets, width: int) -> list[str]:
    rows = []
    for name, value, unit in (("latency_ns", est.latency_ns, "ns"),
                              ("latency_cycles", est.latency_cycles, "cycles"),
                              ("ii", est.ii, "cycles")):
        limit = getattr(budgets, name)
        if limit is not None:
            state = "OK" if value <= limit + 1e-9 else f"OVER by {_n(value - limit)}"
            rows.append(f"  {name:<{width}} {_n(value)} / {_n(limit)} {unit}  {state}")
    for resource in RESOURCE_NAMES:
        limit, name = budgets.limit(resource, est)
        if limit is None:
            continue
        value = est.total.get(resource)
        state = "OK" if value <= limit + 1e-9 else f"OVER by {_n(value - limit)}"
        rows.append(f"  {name:<{width}} {_n(value)} / {_n(round(limit, 1))} "
                    f"{UNITS[resource]}  {state}")
    return rows


def format_table(estimate: Estimate, budgets: Budgets | None = None) -> str:
    """The per-layer table (cycles, DSP, LUT, FF, BRAM) and the totals against budget."""
    est = estimate
    budgets = budgets or Budgets()
    name_w = max([len("layer")] + [len(layer.label) for layer in est.layers]) + 2
    head = (f"{'layer':<{name_w}}{'op':<11}{'reuse':>5}{'start':>7}{'cycles':>7}"
            + "".join(f"{c:>11}" for c in COLUMNS))
    lines = _header(est) + ["", head, "-" * len(head)]
    for layer in est.layers:
        mark = "*" if layer.critical else " "
        r = layer.resources
        lines.append(f"{layer.label:<{name_w}}{layer.op:<11}{layer.reuse:>5}"
                     f"{layer.start_cycle:>7}{layer.cycles:>6}{mark}"
                     + "".join(f"{_n(r.get(k)):>11}" for k in RESOURCE_NAMES))
    lines.append("-" * len(head))
    pre = name_w + 11 + 5 + 7
    lines.append(f"{'total':<{pre}}{est.latency_cycles:>7}"
                 + "".join(f"{_n(est.total.get(k)):>11}" for k in RESOURCE_NAMES))
    lines.append(f"{'available':<{pre + 7}}"
                 + "".join(f"{_n(est.device.capacity(k)):>11}" for k in RESOURCE_NAMES))
    lines.append(f"{'utilization':<{pre + 7}}"
                 + "".join(f"{est.utilization(k):>10.2f}%" for k in RESOURCE_NAMES))
    lines += ["", f"latency {est.latency_cycles} cycles = {est.latency_ns:g} ns, "
              f"II = {est.ii} cycle(s) ({est.ii * est.clock_ns:g} ns between inputs); "
              "* = on the critical path"]
    rows = _budget_rows(est, budgets, max(len(k) for k in Budgets.keys()))
    if rows:
        lines += ["", "budgets:"] + rows
    return "\n".join(lines) + "\n"


def format_violations(violations: list[Violation]) -> str:
    if not violations:
        return "all budgets met\n"
    return "".join(f"{v}\n" for v in violations)


def report_json(estimate: Estimate, budgets: Budgets | None = None) -> dict:
    budgets = budgets or Budgets()
    violations = check(estimate, budgets)
    return {"estimate": estimate.to_json(), "budgets": budgets.to_json(),
            "violations": [v.to_json() for v in violations], "fits": not violations,
            "note": DISCLAIMER}


def write_reports(estimate: Estimate, budgets: Budgets | None, out_dir) -> list[Path]:
    """Write ``report.txt``, ``report.json`` and ``report.svg`` into ``out_dir``;
    returns the paths written."""
    budgets = budgets or Budgets()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    violations = check(estimate, budgets)
    text = format_table(estimate, budgets)
    if budgets:
        text += "\n" + format_violations(violations)
    paths = [out / "report.txt", out / "report.json", out / "report.svg"]
    paths[0].write_text(text)
    paths[1].write_text(json.dumps(report_json(estimate, budgets), indent=1, sort_keys=True)
                        + "\n")
    plot(estimate, paths[2])
    log.info("wrote %s", ", ".join(str(p) for p in paths))
    return paths


SVG_FONT = 11  # px; the chart is sized from it
SVG_BAR = "#2e86c1"
SVG_CRITICAL = "#c0392b"  # a layer on the critical path, in the cycles panel


def _esc(text: str) -> str:
    """Text for an SVG element: layer labels come from the model file."""
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def plot(estimate: Estimate, path) -> None:
    """``report.svg``: horizontal bars per layer for cycles, DSP, LUT, FF and BRAM_18K,
    each bar labelled with its value (the critical-path layers red in the cycles
    panel). Plain SVG text, written without a plotting library: compiling a model
    does not pay for matplotlib's import and rendering (0.7 s)."""
    layers = estimate.layers
    panels = [("cycles", [layer.cycles for layer in layers])]
    panels += [(c, [layer.resources.get(k) or 0 for layer in layers])
               for c, k in zip(COLUMNS, RESOURCE_NAMES)]
    char = 0.6 * SVG_FONT  # a generous average glyph width
    label_w = round(char * max([len(layer.label) for layer in layers] + [5])) + 12
    row, top, panel_w, gap = round(1.8 * SVG_FONT), 3 * SVG_FONT + 8, 170, 14
    bar_w = panel_w - round(char * 8)  # room for the value after the longest bar
    height = top + row * max(len(layers), 1) + SVG_FONT
    width = label_w + len(panels) * (panel_w + gap)
    title = (f"{estimate.model}: {estimate.latency_cycles} cycles ({estimate.latency_ns:g} ns), "
             f"II {estimate.ii}, {estimate.part} @ {estimate.clock_ns:g} ns - static "
             "estimate, not synthesis")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" '
           f'font-size="{SVG_FONT}">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="4" y="{SVG_FONT + 2}" font-weight="bold">{_esc(title)}</text>']
    for i, layer in enumerate(layers):
        y = top + i * row + row // 2 + SVG_FONT // 3
        out.append(f'<text x="{label_w - 6}" y="{y}" text-anchor="end">'
                   f'{_esc(layer.label)}</text>')
    for p, (name, values) in enumerate(panels):
        x0 = label_w + p * (panel_w + gap)
        out.append(f'<text x="{x0 + panel_w // 2}" y="{top - 6}" text-anchor="middle" '
                   f'font-weight="bold">{name}</text>')
        out.append(f'<line x1="{x0}" y1="{top}" x2="{x0}" y2="{height - SVG_FONT}" '
                   'stroke="#555"/>')
        peak = max([v for v in values if v] + [1])
        for i, (layer, v) in enumerate(zip(layers, values)):
            y = top + i * row + 3
            w = bar_w * v / peak if v else 0
            color = SVG_CRITICAL if layer.critical and name == "cycles" else SVG_BAR
            out.append(f'<rect x="{x0}" y="{y}" width="{w:.1f}" height="{row - 6}" '
                       f'fill="{color}"><title>{_esc(layer.label)} {name}: '
                       f'{_n(v)}</title></rect>')
            out.append(f'<text x="{x0 + w + 3:.1f}" y="{y + row // 2}" '
                       f'font-size="{SVG_FONT - 1}">{_n(v)}</text>')
    out.append("</svg>")
    Path(path).write_text("\n".join(out) + "\n")


# ---- measured vs estimated (trigc synth) ----------------------------------------------
COMPARISON_TITLE = "measured (Yosys) vs estimated (trigc)"
"""The first words of the comparison section in report.txt (``trigc synth`` replaces
everything from that line on)."""
COMPARISON_NOTE = ("diff = (estimated - measured) / measured; BRAM in 18 Kb blocks; the "
                   "total is the flattened run, the layers the hierarchical one "
                   "(--per-layer); MUXF and LUTRAM/SRL cells are not compared")
COMPARED = (("lut", "LUT"), ("ff", "FF"), ("carry", "CARRY4"), ("dsp", "DSP"),
            ("bram", "BRAM18"))


def _cell(value) -> str:
    return "-" if value is None else _n(value)


def _pct(value) -> str:
    if value is None:
        return "n/a"
    return "0.0%" if value == 0 else f"{value:+.1f}%"


def format_comparison(comparison: dict) -> str:
    """The side-by-side table of a comparison's JSON (:mod:`trigc.synth.compare`): per
    resource the measured and estimated value and their difference in percent of the
    measured one, for the total and each layer."""
    rows = [comparison["total"], *comparison["layers"]]
    name_w = max(len("layer"), *(len(r["label"]) for r in rows)) + 2
    sub = 8, 8, 8
    head1 = " " * name_w + "".join(f"|{title:^{sum(sub)}}" for _, title in COMPARED)
    head2 = f"{'layer':<{name_w}}" + "".join(
        f"|{'meas':>{sub[0]}}{'est':>{sub[1]}}{'diff':>{sub[2]}}" for _ in COMPARED)
    lines = [f"{COMPARISON_TITLE}: {comparison['tool']}, top {comparison['top']}",
             COMPARISON_NOTE,
             "", head1.rstrip(), head2.rstrip(), "-" * len(head2)]
    for i, row in enumerate(rows):
        cells = ""
        for key, _ in COMPARED:
            r = row["resources"][key]
            cells += (f"|{_cell(r['measured']):>{sub[0]}}{_cell(r['estimated']):>{sub[1]}}"
                      f"{_pct(r['diff_pct']):>{sub[2]}}")
        lines.append(f"{row['label']:<{name_w}}" + cells)
        if i == 0 and len(rows) > 1:
            lines.append("-" * len(head2))
    return "\n".join(lines) + "\n"

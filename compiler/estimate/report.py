"""Reports of an estimate: a text table, JSON, and a PNG bar chart (matplotlib, Agg).

Every report says what it is: a static model of the generated design, not a
synthesis result. Output is deterministic (sorted JSON keys, a PNG without
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
    """Write ``report.txt``, ``report.json`` and ``report.png`` into ``out_dir``;
    returns the paths written."""
    budgets = budgets or Budgets()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    violations = check(estimate, budgets)
    text = format_table(estimate, budgets)
    if budgets:
        text += "\n" + format_violations(violations)
    paths = [out / "report.txt", out / "report.json", out / "report.png"]
    paths[0].write_text(text)
    paths[1].write_text(json.dumps(report_json(estimate, budgets), indent=1, sort_keys=True)
                        + "\n")
    plot(estimate, paths[2])
    log.info("wrote %s", ", ".join(str(p) for p in paths))
    return paths


def plot(estimate: Estimate, path) -> None:
    """Horizontal bars per layer: cycles, DSP, LUT, FF, BRAM_18K."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    layers = estimate.layers
    labels = [layer.label for layer in layers]
    panels = [("cycles", [layer.cycles for layer in layers])]
    panels += [(c, [layer.resources.get(k) for layer in layers])
               for c, k in zip(COLUMNS, RESOURCE_NAMES)]
    fig = Figure(figsize=(3.2 * len(panels), 1.2 + 0.32 * max(len(layers), 1)))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(panels), sharey=True)
    positions = list(range(len(layers)))
    for ax, (title, values) in zip(axes, panels):
        colors = ["#c0392b" if layer.critical and title == "cycles" else "#2e86c1"
                  for layer in layers]
        ax.barh(positions, values, color=colors)
        if not any(values):
            ax.set_xlim(0, 1)
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.invert_yaxis()
    axes[0].set_yticks(positions)
    axes[0].set_yticklabels(labels)
    fig.suptitle(f"{estimate.model}: {estimate.latency_cycles} cycles "
                 f"({estimate.latency_ns:g} ns), II {estimate.ii}, {estimate.part} @ "
                 f"{estimate.clock_ns:g} ns - static estimate, not synthesis", fontsize=9)
    fig.tight_layout()
    fig.savefig(str(path), format="png", dpi=100, metadata={"Software": None})


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

"""Latency and resource estimation, device targets and budget checks.

``estimate(graph, settings)`` predicts, without vendor tools, what the Vitis
HLS backend's design will need: a static schedule at the target clock
(per-layer cycles, total latency in cycles and ns, II = largest reuse factor)
and DSP48E2 / LUT / FF / BRAM_18K per layer and in total, with utilization of
the target device. ``check(estimate, budgets)`` lists the exceeded budgets;
``write_reports`` writes report.txt / report.json / report.svg. With
``io_mode="stream"`` the streaming design is estimated instead
(:mod:`trigc.estimate.stream`: one kernel per process, line buffers and FIFOs
mapped to LUTs or BRAM by :mod:`trigc.estimate.memory`, II = cycles per image);
``compare_io(graph, settings)`` gives both designs side by side.

The models are documented where they live: operator delays and costs in
:mod:`trigc.estimate.arith`, the schedule in :mod:`trigc.estimate.latency`,
Dense/Conv in :mod:`trigc.estimate.linear`, the other ops in
:mod:`trigc.estimate.resources`, device totals in :mod:`trigc.estimate.devices`.

These are estimates of a model, never synthesis results. Calibration against
published hls4ml results for the 16-64-32-32-5 jet-tagging MLP at 200 MHz,
reuse 1 (AutoQKeras, Nat. Mach. Intell. 3 (2021) 675, VU9P; hls4ml PRs #86 and
#142; see ``tests/unit/estimate/test_estimate_calibration.py``): DSPs within
~10 % for ap_fixed<16,6> (3.5k vs ~3.8k) and near zero for 6-bit QAT (0 vs
~0.1k); latency within ~4 cycles (13 vs ~9 for <16,6>, 8 vs ~11 for 6-bit);
LUTs within ~20 %; flip-flops only within a factor of 2-4 (register placement
is the least certain part). trigc's exact accumulators are wider than hls4ml's
<16,6> ones, and the published designs include a softmax.

Typical use::

    est = estimate(project.graph, project.meta["settings"])
    text = format_table(est, budgets)  # per-layer table against the budgets
    violations = check(est, budgets)
"""

from trigc.estimate.budgets import Budgets, Violation, check, enforce
from trigc.estimate.compare import compare_io
from trigc.estimate.datapath import Resources
from trigc.estimate.devices import DEVICES, Device, UnknownPartError, known_parts, lookup
from trigc.estimate.report import format_table, format_violations, report_json, write_reports
from trigc.estimate.stream import estimate_stream
from trigc.estimate.summary import Estimate, LayerEstimate, estimate

__all__ = [
    "DEVICES", "Budgets", "Device", "Estimate", "LayerEstimate", "Resources",
    "UnknownPartError", "Violation", "check", "compare_io", "enforce", "estimate",
    "estimate_stream", "format_table", "format_violations", "known_parts", "lookup",
    "report_json", "write_reports",
]

"""``compare_io(graph, settings)``: the io_parallel and io_stream estimates side by side."""

from __future__ import annotations

from trigc.estimate.datapath import RESOURCE_NAMES
from trigc.estimate.stream import estimate_stream
from trigc.estimate.summary import Estimate, build_options, estimate
from trigc.ir.graph import Graph

IO_MODES = ("parallel", "stream")
ROWS = (("latency_cycles", "latency (cycles)"), ("latency_ns", "latency (ns)"),
        ("ii", "II (cycles)"), ("lut", "LUT"), ("ff", "FF"), ("dsp", "DSP"),
        ("bram", "BRAM18"))


def _figures(est: Estimate) -> dict:
    return {"latency_cycles": est.latency_cycles, "latency_ns": round(est.latency_ns, 6),
            "ii": est.ii, **{r: est.total.get(r) for r in RESOURCE_NAMES}}


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 4) if b else None


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.3g}" if abs(v) < 100 else f"{v:,.1f}"
    return f"{int(v):,}"


def _table(data: dict) -> str:
    par, stream, ratio = data["parallel"], data["stream"], data["ratio"]
    lines = [f"io_parallel vs io_stream for '{data['model']}' (part {data['part']}, clock "
             f"{data['clock_ns']:g} ns; {data['kind']})", "",
             "| | io_parallel | io_stream | parallel/stream |",
             "|---|---:|---:|---:|"]
    for key, label in ROWS:
        lines.append(f"| {label} | {_fmt(par[key])} | {_fmt(stream[key])} "
                     f"| {_fmt(ratio[key])} |")
    return "\n".join(lines) + "\n"


def compare_io(graph: Graph, settings=None) -> tuple[dict, str]:
    """Estimate ``graph`` (the final IR) as an io_parallel and as an io_stream design
    with ``settings`` (:class:`~trigc.target.BuildOptions` or its JSON form; its own
    ``io_mode`` is ignored) and return both side by side: a JSON-ready dict (the two
    modes' latency in cycles and ns, II in cycles, LUT, FF, DSP, BRAM_18K, and every
    figure's parallel/stream ratio, None where the stream figure is 0) and a Markdown
    table of the same. A model the stream plan cannot build raises its
    :class:`~trigc.errors.UnsupportedOpError`."""
    options = build_options(settings, graph)
    ests = {"parallel": estimate(graph, options.replace(io_mode="parallel")),
            "stream": estimate_stream(graph, options.replace(io_mode="stream"))}
    figures = {mode: _figures(est) for mode, est in ests.items()}
    data = {"kind": "trigc static estimates (not synthesis results)",
            "model": graph.name, "part": options.part, "clock_ns": options.clock_ns,
            **figures,
            "ratio": {key: _ratio(figures["parallel"][key], figures["stream"][key])
                      for key, _ in ROWS}}
    return data, _table(data)


__all__ = ["IO_MODES", "compare_io"]

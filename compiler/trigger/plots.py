"""Rate-vs-threshold and efficiency-vs-rate (ROC-like) plots as PNG (matplotlib Agg,
without pyplot, so it is safe in threads and on machines without a display)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from trigc.outputs import atomic_write
from trigc.trigger.conditions import Element
from trigc.trigger.files import prepare_folder
from trigc.trigger.stats import Curve, Stats

log = logging.getLogger(__name__)


def _figure(title: str):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 5), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    return fig, ax


def _rates(stats: Stats, curve: Curve) -> np.ndarray:
    f = stats.menu.bunches.effective_hz
    return Curve.passing(curve.rate_hist) / max(stats.n_rate, 1) * f


def rate_vs_threshold(stats: Stats, path) -> Path | None:
    """One curve per quantity the menu cuts on: the rate of ``quantity >= x``."""
    if not stats.curves or stats.n_rate == 0:
        log.info("no quantities or no rate-sample events: skipping %s", path)
        return None
    fig, ax = _figure(f"{stats.menu.name}: rate vs threshold ({stats.n_rate} events)")
    lo, hi = np.inf, -np.inf
    for curve in stats.curves:
        rates, edges = _rates(stats, curve), curve.edges()
        keep = rates > 0
        line, = ax.step(edges[keep], rates[keep], where="post", label=curve.quantity.text)
        moving = np.nonzero(keep & (rates < rates[0]))[0]  # where a cut removes events
        if moving.size:
            lo = min(lo, edges[max(moving[0] - 1, 0)])
            hi = max(hi, edges[moving[-1]])
        for bit, op, value in curve.markers:
            ax.axvline(value, color=line.get_color(), linestyle="--", alpha=0.7,
                       label=f"{bit}: {curve.quantity.text} {op} {value:g}")
            lo, hi = min(lo, value), max(hi, value)
    if np.isfinite(lo) and hi > lo:
        pad = 0.05 * (hi - lo)
        ax.set_xlim(lo - pad, hi + pad)
    ax.set_yscale("log")
    ax.set_xlabel("threshold x (rate of quantity >= x)")
    ax.set_ylabel("rate [Hz]")
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    return Path(path)


def _classes_of(stats: Stats, curve: Curve, classes: list) -> list:
    """A named output element (score["t"]) is plotted for its own class only."""
    q = curve.quantity
    if isinstance(q, Element):
        info = next(o for o in stats.menu.outputs if o.alias == q.output)
        if info.elements is not None:
            match = [k for k in classes if stats.menu.labels.name(k) == info.elements[q.flat]]
            if match:
                return match
    return classes


def efficiency_vs_rate(stats: Stats, path) -> Path | None:
    """For each quantity and signal class: efficiency vs rate over every threshold, and
    each bit's (rate, efficiency) for the class it selects best. Needs labels."""
    classes = stats.signal_classes()
    if not classes or stats.n_rate == 0:
        log.info("no labelled signal classes: skipping %s", path)
        return None
    names = stats.menu.labels.name
    fig, ax = _figure(f"{stats.menu.name}: efficiency vs rate")
    for curve in stats.curves:
        rates = _rates(stats, curve)
        for label in _classes_of(stats, curve, classes):
            hist = curve.class_hist.get(label)
            if hist is None:
                continue
            eff = Curve.passing(hist) / stats.class_n[label]
            keep = rates > 0
            ax.plot(rates[keep], eff[keep], label=f"{curve.quantity.text}, {names(label)}")
    for bit in stats.to_dict()["bits"]:
        if not bit["rate_hz"]:
            continue
        label = max(classes, key=lambda k: bit["efficiency"][names(k)])  # the bit's signal
        eff = bit["efficiency"][names(label)]
        ax.plot([bit["rate_hz"]], [eff], "k*", markersize=8)
        ax.annotate(f"{bit['name']} ({names(label)})", (bit["rate_hz"], eff), fontsize=7,
                    xytext=(4, 4), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("rate [Hz]")
    ax.set_ylabel("signal efficiency")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    return Path(path)


def write_plots(stats: Stats, directory) -> list:
    """Both plots into ``directory`` (created if missing), each written atomically;
    returns the files written."""
    directory = prepare_folder(directory, f"--plots {str(directory)!r}")
    written = [rate_vs_threshold(stats, directory / "rate_vs_threshold.png"),
               efficiency_vs_rate(stats, directory / "efficiency_vs_rate.png")]
    return [p for p in written if p is not None]


__all__ = ["efficiency_vs_rate", "rate_vs_threshold", "write_plots"]

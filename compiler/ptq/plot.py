"""The profile plot, like hls4ml's profiling: per tensor a box/whisker of log2|x| (box:
quartiles of the nonzero |x|, whiskers: smallest and largest), over a grey bar
spanning the suggested type (LSB to largest magnitude); in percentile mode a red mark
at the percentile. Uses a bare Figure and the Agg canvas (no pyplot, so no global
state and no display backend)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the result module imports this one to draw itself
    from trigc.ptq.result import Profile, TensorProfile

EDGE = "#1b4f72"


def plot_profile(profile: Profile, path) -> Path:
    """Draw ``profile`` to the PNG file ``path``."""
    # matplotlib is a heavy import only plotting needs (trigc profile, not compile)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    groups = [(title, rows) for title, rows in
              (("weights and biases", profile.weights), ("activations", profile.activations))
              if rows]
    n_rows = sum(len(rows) for _, rows in groups)
    fig = Figure(figsize=(9.0, 1.6 + 0.34 * max(n_rows, 1) + 0.5 * len(groups)))
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(groups), 1, squeeze=False, gridspec_kw={
        "height_ratios": [max(len(rows), 1) + 1 for _, rows in groups]})[:, 0]
    for ax, (title, rows) in zip(axes, groups):
        _draw_group(ax, title, rows, profile.percentile)
    mode = (f"p{profile.percentile:g} of |x|" if profile.percentile is not None
            else "max |x|")
    fig.suptitle(f"{profile.model}: {profile.n_samples} samples; boxes: nonzero |x| "
                 f"quartiles, whiskers min/max; grey: suggested type ({profile.width} bits, "
                 f"{mode})", fontsize=8)
    fig.tight_layout()
    fig.savefig(str(path), format="png", dpi=100, metadata={"Software": None})
    return Path(path)


def _draw_group(ax, title: str, rows: list[TensorProfile], percentile: float | None) -> None:
    """One axes: a row per tensor, labelled with its layer, name and suggested type."""
    lows, highs = [], []
    for i, t in enumerate(rows):
        low, high = _draw_row(ax, i, t, percentile)
        lows += low
        highs += high
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{t.layer}: {t.name}  {t.suggested}" if t.layer
                        else f"{t.name}  {t.suggested}" for t in rows], fontsize=7)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    if lows:
        ax.set_xlim(math.floor(min(lows)) - 1, math.ceil(max(highs)) + 1)
    ax.set_xlabel("log2 |x|", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    ax.grid(axis="x", linewidth=0.3, alpha=0.6)
    ax.set_title(title, fontsize=9)


def _draw_row(ax, i: int, t: TensorProfile, percentile: float | None
              ) -> tuple[list[float], list[float]]:
    """Row ``i``: the type's bar, the box/whiskers and the percentile mark; returns the
    log2 extents drawn (lows, highs)."""
    from matplotlib.patches import Rectangle

    st = t.suggested
    lsb = math.log2(st.lsb)
    top = math.log2(max(abs(st.min_value), abs(st.max_value), st.lsb))
    ax.add_patch(Rectangle((lsb, i - 0.4), top - lsb, 0.8, facecolor="#d5d8dc",
                           edgecolor="#909497", linewidth=0.6, zorder=0))
    if t.abs_box is None:
        return [lsb], [top]
    # drawn by hand: Axes.bxp reads every rcParam, which imports pyplot
    lo, q1, med, q3, hi = (math.log2(v) for v in t.abs_box)
    ax.add_patch(Rectangle((q1, i - 0.25), max(q3 - q1, 1e-3), 0.5, facecolor="#5dade2",
                           edgecolor=EDGE, linewidth=0.8, zorder=2))
    ax.plot([med, med], [i - 0.25, i + 0.25], color=EDGE, linewidth=1.2, zorder=3)
    ax.plot([lo, q1], [i, i], color=EDGE, linewidth=0.8, zorder=1)
    ax.plot([q3, hi], [i, i], color=EDGE, linewidth=0.8, zorder=1)
    for end in (lo, hi):
        ax.plot([end, end], [i - 0.12, i + 0.12], color=EDGE, linewidth=0.8, zorder=1)
    if percentile is not None and t.kind in ("input", "activation"):
        ax.plot([math.log2(t.bound)] * 2, [i - 0.4, i + 0.4], color="#c0392b",
                linewidth=1.0, zorder=3)
    return [lsb, lo], [top, hi]


__all__ = ["plot_profile"]

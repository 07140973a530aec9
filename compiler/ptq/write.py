"""Writing a profile: the precision config ``trigc inspect/compile --config`` reads, the
full statistics as JSON, and the plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from trigc.ptq.plot import plot_profile

if TYPE_CHECKING:  # the result module imports this one to write itself
    from trigc.ptq.result import Profile


def write_profile(profile: Profile, out_dir, weights: bool = False) -> list[Path]:
    """Write ``precision.json`` (``{"precision": {...}}``), ``profile.json`` and
    ``profile.png`` into ``out_dir``; ``weights`` adds the 'weights' key."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "precision.json", out / "profile.json", out / "profile.png"]
    paths[0].write_text(json.dumps({"precision": profile.precision_config(weights)},
                                   indent=1) + "\n")
    paths[1].write_text(profile.to_json())
    plot_profile(profile, paths[2])
    return paths


__all__ = ["write_profile"]

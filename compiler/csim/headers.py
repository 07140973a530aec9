"""Locate the real Xilinx ``ap_fixed.h`` headers shipped inside the hls4ml wheel.

trigc never copies these headers; it includes them from the installed package."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

from trigc.errors import TrigcError


class HeaderNotFoundError(TrigcError, FileNotFoundError):
    """The ap_fixed.h headers could not be located."""


@lru_cache(maxsize=1)
def ap_types_dir() -> Path:
    """Directory holding ``ap_fixed.h`` (``hls4ml/templates/vivado/ap_types``)."""
    spec = importlib.util.find_spec("hls4ml")
    if spec is None or not spec.submodule_search_locations:
        raise HeaderNotFoundError(
            "hls4ml is not installed, so ap_fixed.h cannot be found; "
            "run `pip install hls4ml` (trigc only uses its headers)"
        )
    for root in spec.submodule_search_locations:
        candidate = Path(root) / "templates" / "vivado" / "ap_types"
        if (candidate / "ap_fixed.h").is_file():
            return candidate
    raise HeaderNotFoundError(
        "The installed hls4ml package has no templates/vivado/ap_types/ap_fixed.h; "
        "reinstall hls4ml>=1.1"
    )


@lru_cache(maxsize=1)
def ac_types_dir() -> Path:
    """Directory holding the Algorithmic C ``ac_fixed.h`` (Catapult's types, Apache-2.0),
    shipped by the hls4ml wheel under ``templates/catapult/ac_types/include``."""
    spec = importlib.util.find_spec("hls4ml")
    if spec is None or not spec.submodule_search_locations:
        raise HeaderNotFoundError(
            "hls4ml is not installed, so ac_fixed.h cannot be found; "
            "run `pip install hls4ml` (trigc only uses its headers)"
        )
    for root in spec.submodule_search_locations:
        base = Path(root) / "templates" / "catapult" / "ac_types"
        for candidate in (base / "include", base):
            if (candidate / "ac_fixed.h").is_file():
                return candidate
    raise HeaderNotFoundError(
        "The installed hls4ml package has no templates/catapult/ac_types/include/ac_fixed.h; "
        "reinstall hls4ml>=1.1"
    )

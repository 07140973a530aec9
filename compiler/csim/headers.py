"""Locate the real Xilinx ``ap_fixed.h`` headers shipped inside the hls4ml wheel.

trigc never copies these headers; it includes them from the installed package."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

from trigc.errors import TrigcError


class HeaderNotFoundError(TrigcError, FileNotFoundError):
    """The ap_fixed.h headers could not be located."""


def _hls4ml_headers(parts: tuple[str, ...], header: str) -> Path:
    """The directory below the installed hls4ml package (``templates/<parts...>``, or
    its ``include`` folder) that holds ``header``."""
    spec = importlib.util.find_spec("hls4ml")
    if spec is None or not spec.submodule_search_locations:
        raise HeaderNotFoundError(
            f"hls4ml is not installed, so {header} cannot be found; "
            "run `pip install hls4ml` (trigc only uses its headers)"
        )
    for root in spec.submodule_search_locations:
        base = Path(root, "templates", *parts)
        for candidate in (base, base / "include"):
            if (candidate / header).is_file():
                return candidate
    raise HeaderNotFoundError(
        f"The installed hls4ml package has no templates/{'/'.join(parts)}/{header}; "
        "reinstall hls4ml>=1.1"
    )


@lru_cache(maxsize=1)
def ap_types_dir() -> Path:
    """Directory holding ``ap_fixed.h`` (``hls4ml/templates/vivado/ap_types``)."""
    return _hls4ml_headers(("vivado", "ap_types"), "ap_fixed.h")


@lru_cache(maxsize=1)
def ac_types_dir() -> Path:
    """Directory holding the Algorithmic C ``ac_fixed.h`` (Catapult's types, Apache-2.0),
    shipped by the hls4ml wheel under ``templates/catapult/ac_types/include``."""
    return _hls4ml_headers(("catapult", "ac_types"), "ac_fixed.h")

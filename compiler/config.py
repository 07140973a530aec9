"""The project configuration a user writes (``trigc compile --config FILE`` or
``trigc.compile(config=...)``), read and checked before anything is compiled.

A configuration is a JSON object. Every key is known and every value has the type
its key needs; anything else is a :class:`ConfigError` that names the key, what was
found and what to write instead. Values that reach generated files (part, clock)
are checked again, strictly, by :mod:`trigc.target`.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Mapping
from pathlib import Path

from trigc.errors import ConfigError

# Largest configuration file read (a real one is a few kB).
MAX_CONFIG_BYTES = 16 * 1024 * 1024
MAX_REUSE = 1 << 20

KEYS = {
    "precision": "an object {tensor, node or layer name: type such as \"fixed<16,6>\"}",
    "reuse": "an object {layer name: reuse factor (integer >= 1)}",
    "default_reuse": "the reuse factor of every other Dense/Conv (integer >= 1)",
    "part": "an FPGA part number such as \"xcvu9p-flga2104-2L-e\"",
    "board": "a board name from `trigc boards`",
    "clock_ns": "the clock period in ns (number)",
    "interface": "the top-function interface: hs, pipeline, pipeline_vld or axis",
    "axis_word_bits": "the AXI4-Stream word width in bits (integer)",
    "budgets": "an object {latency_ns, latency_cycles, ii, dsp, lut, ff, bram, ...: limit}",
}


def read_config(config, *, where: str = "config") -> dict:
    """The checked configuration from a dict, a JSON file path, or None (``{}``)."""
    if config is None:
        return {}
    if isinstance(config, (str, Path)):
        where = f"config file {str(config)!r}"
        config = _load_json(Path(config))
    return check_config(config, where)


def _load_json(path: Path):
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"Config file {str(path)!r} is larger than "
                              f"{MAX_CONFIG_BYTES >> 20} MiB; is it the right file?")
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"Cannot read config file {str(path)!r}: "
                          f"{exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"Config file {str(path)!r} is not UTF-8 text (byte {exc.start}); "
                          "write it as a UTF-8 JSON file") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"Config file {str(path)!r} is not valid JSON: {exc.msg} at line "
                          f"{exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise ConfigError(f"Config file {str(path)!r} nests too deeply to be a trigc "
                          "config") from None


def check_config(config, where: str = "config") -> dict:
    """Check every key and value type of a configuration mapping; returns a copy."""
    if not isinstance(config, Mapping):
        raise ConfigError(f"The {where} must be a JSON object {{\"precision\": ..., "
                          f"\"reuse\": ...}}, not a {type(config).__name__}")
    out = {}
    for key, value in config.items():
        if key not in KEYS:
            close = difflib.get_close_matches(str(key), list(KEYS), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"Unknown key {str(key)!r} in the {where}; {hint}known keys: "
                              f"{', '.join(KEYS)}")
        out[key] = _CHECKS[key](value, f"{key!r} in the {where}")
    return out


def _name_map(value, what: str, check_value, expected: str) -> dict:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{what} must be {expected}, not a {type(value).__name__}")
    out = {}
    for name, item in value.items():
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{what}: names must be non-empty strings, not {name!r}")
        out[name] = check_value(item, f"{what}, entry {name!r}")
    return out


def _type_text(value, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{what} must be a type such as \"fixed<16,6>\", not {value!r}")
    return value


def _reuse(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_REUSE:
        raise ConfigError(f"{what} must be an integer reuse factor from 1 to {MAX_REUSE}, "
                          f"not {value!r}")
    return value


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{what} must be a finite number, not {value!r}")
    return value


def _text(value, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{what} must be a non-empty string, not {value!r}")
    return value


def _word_bits(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{what} must be an integer number of bits, not {value!r}")
    return value


def _budgets(value, what: str) -> dict:
    return _name_map(value, what, _number, KEYS["budgets"])


_CHECKS = {
    "precision": lambda v, w: _name_map(v, w, _type_text, KEYS["precision"]),
    "reuse": lambda v, w: _name_map(v, w, _reuse, KEYS["reuse"]),
    "default_reuse": _reuse,
    "part": _text,
    "board": _text,
    "clock_ns": _number,
    "interface": _text,
    "axis_word_bits": _word_bits,
    "budgets": _budgets,
}


__all__ = ["KEYS", "check_config", "read_config"]

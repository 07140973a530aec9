"""The project configuration a user writes (``trigc compile --config FILE`` or
``trigc.compile(config=...)``), read and checked before anything is compiled.

A configuration is a JSON object. Every key is known and every value has the type
its key needs; anything else is a :class:`ConfigError` that names the key, what was
found and what to write instead. Values that reach generated files (part, clock)
are checked again, strictly, by :mod:`trigc.target`, which owns the option keys.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from trigc.errors import ConfigError
from trigc.target import (OPTION_KEYS, check_name_map, check_option, check_softmax_mode,
                          unknown_key_error)

# Largest configuration file read (a real one is a few kB).
MAX_CONFIG_BYTES = 16 * 1024 * 1024

# ``precision`` is the model's; every other key is a build option (trigc.target).
KEYS = {
    "precision": "an object {tensor, node or layer name: type such as \"fixed<16,6>\"}",
    "softmax": "the softmax mode, \"lut\" (default) or \"exact\", or an object "
               "{layer name: mode}",
    **OPTION_KEYS,
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
            raise unknown_key_error(key, KEYS, where)
        what = f"{key!r} in the {where}"
        if key == "precision":
            out[key] = check_name_map(value, what, _type_text, KEYS["precision"])
        elif key == "softmax":
            out[key] = check_softmax_mode(value, what)
        else:
            out[key] = check_option(key, value, what)
    return out


def _type_text(value, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{what} must be a type such as \"fixed<16,6>\", not {value!r}")
    return value


__all__ = ["KEYS", "check_config", "read_config"]

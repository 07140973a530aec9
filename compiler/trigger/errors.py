"""Typed errors of trigger emulation. Both are ``ConfigError`` (and so ``TrigcError``):
the CLI reports them as ``trigc: error: ...`` and exits 2."""

from __future__ import annotations

from trigc.errors import ConfigError


class MenuError(ConfigError):
    """A trigger menu is invalid: a bad expression, an unknown output, a threshold the
    output's fixed-point type cannot represent, a bad prescale."""


class EventDataError(ConfigError):
    """An event file cannot be read or does not map onto the model inputs."""


__all__ = ["EventDataError", "MenuError"]

"""Typed errors of trigger emulation. All are ``ConfigError`` (and so ``TrigcError``):
the CLI reports them as ``trigc: error: ...`` and exits 2. ``OutputError`` (an output
that would overwrite an input, or cannot be written) is trigc's own, re-exported."""

from __future__ import annotations

from trigc.errors import ConfigError, OutputError


class MenuError(ConfigError):
    """A trigger menu is invalid: a bad expression, an unknown output, a threshold the
    output's fixed-point type cannot represent, a bad prescale."""


class EventDataError(ConfigError):
    """An event file cannot be read or does not map onto the model inputs."""


class WorkerError(ConfigError):
    """A worker count is out of range, or a worker process failed."""


__all__ = ["EventDataError", "MenuError", "OutputError", "WorkerError"]

"""Typed errors. Each message names the model's layer, the op, and what to do."""

from __future__ import annotations


class TrigcError(Exception):
    """Base class of every error trigc raises on purpose."""


class PrecisionError(TrigcError, ValueError):
    """A fixed-point type is invalid, cannot hold a value, or cannot be inferred."""


class UnsupportedOpError(TrigcError, NotImplementedError):
    """The model uses an op, attribute or configuration trigc does not implement."""


class ModelError(TrigcError, ValueError):
    """The model file is malformed: bad graph, dynamic shapes, missing tensors."""


class IRError(TrigcError, AssertionError):
    """The IR broke an invariant (a compiler bug, reported by ``verify``)."""


class ConfigError(TrigcError, ValueError):
    """A user configuration (precision overrides, settings) is invalid."""


class BudgetError(TrigcError):
    """An estimate exceeds a user budget."""


class OutputError(ConfigError):
    """An output path cannot be used: it holds files trigc did not write, is a file
    where a folder is needed (or the reverse), is an input, is read-only, or the disk
    is full. The message names the path and what to do."""


class ProjectError(TrigcError, ValueError):
    """A project directory is missing, truncated or corrupted (``trigc.json``,
    ``tb_data``); recompiling it with ``trigc compile`` repairs it."""

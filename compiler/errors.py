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

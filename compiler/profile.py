"""``trigc.profile``: the PTQ profiling API, kept at this name for the CLI and users;
it lives in :mod:`trigc.ptq`."""

from trigc.ptq import Profile, TensorProfile, holds, profile, suggest_type

__all__ = ["Profile", "TensorProfile", "holds", "profile", "suggest_type"]

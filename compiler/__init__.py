"""trigc: compile QAT neural networks into bit-exact FPGA trigger firmware."""

from trigc.errors import (
    BudgetError, ConfigError, IRError, ModelError, PrecisionError, TrigcError,
    UnsupportedOpError,
)
from trigc.fixed import FixedType, Overflow, Rounding
from trigc.api import emulate
from trigc.project import Project, compile, load

__version__ = "0.1.0"

__all__ = [
    "BudgetError", "ConfigError", "Project", "compile", "emulate", "load", "FixedType", "IRError", "ModelError", "Overflow",
    "PrecisionError", "Rounding", "TrigcError", "UnsupportedOpError", "__version__",
]

"""trigc: compile QAT neural networks into bit-exact FPGA trigger firmware."""

from trigc.errors import (
    BudgetError, ConfigError, IRError, ModelError, PrecisionError, TrigcError,
    UnsupportedOpError,
)
from trigc.fixed import FixedType, Overflow, Rounding

__version__ = "0.1.0"

__all__ = [
    "BudgetError", "ConfigError", "FixedType", "IRError", "ModelError", "Overflow",
    "PrecisionError", "Rounding", "TrigcError", "UnsupportedOpError", "__version__",
]

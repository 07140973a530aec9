"""QONNX quantizer semantics, shared by the frontends and the passes.

``Quant(x, scale, zero_point, bits; signed, narrow, rounding_mode)`` computes
``scale * (round(clip(x / scale + zero_point, qmin, qmax)) - zero_point)``. This
module holds that float reference, the integer range, and the check that a bit
width is a whole number trigc can compile. It sits below ``frontends`` and
``passes`` (it imports only numpy and ``trigc.errors``), so neither imports the
other for it.
"""

from __future__ import annotations

import math

import numpy as np

from trigc.errors import UnsupportedOpError

# ap_fixed's largest width (AP_INT_MAX_W), and so the largest FixedType
MAX_BIT_WIDTH = 1024

QONNX_ROUNDING = {
    "ROUND": np.round,
    "HALF_EVEN": np.round,
    "FLOOR": np.floor,
    "CEIL": np.ceil,
    "DOWN": np.fix,
    "UP": lambda x: np.sign(x) * np.ceil(np.abs(x)),
    "HALF_UP": lambda x: np.sign(x) * np.floor(np.abs(x) + 0.5),
    "HALF_DOWN": lambda x: np.sign(x) * np.ceil(np.abs(x) - 0.5),
}


def int_range(signed: bool, narrow: bool, bits: int) -> tuple[int, int]:
    """QONNX's integer range of a Quant node."""
    if signed:
        return -(1 << (bits - 1)) + int(narrow), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1 - int(narrow)


def quant(x, scale, zero_point, bits, signed, narrow, rounding_mode) -> np.ndarray:
    """The float result of a QONNX Quant node (a 1-bit signed Quant is a sign)."""
    bits_i = int(np.asarray(bits))
    y = x / scale + zero_point
    if bits_i == 1 and signed:
        y = np.where(y >= 0, 1.0, -1.0)
    else:
        lo, hi = int_range(signed, narrow, bits_i)
        y = QONNX_ROUNDING[rounding_mode](np.clip(y, lo, hi))
    return (y - zero_point) * scale


def check_bit_width(value: np.ndarray, what: str, node: str, minimum: int = 1) -> int:
    """A whole number of bits in [minimum, MAX_BIT_WIDTH], as an int."""
    array = np.asarray(value, dtype=np.float64)
    if array.size != 1:
        raise UnsupportedOpError(
            f"{node}: {what} has {array.size} values {format_values(array)}; trigc needs "
            "one bit width per quantizer. Use a single bit width in training and export again")
    bits = float(array.reshape(()))
    if not math.isfinite(bits):
        raise UnsupportedOpError(
            f"{node}: {what} is {bits}; the exported quantizer has no valid bit width. "
            "Check the quantizer in training and export again")
    if bits != int(bits):
        # QONNX would clip at 2**(bits-1) - 1 etc.: a range no fixed-point type has
        raise UnsupportedOpError(
            f"{node}: {what} {bits:g} is not an integer; trigc needs integer bit widths. "
            "Round the quantizer's bit width in training or export")
    if not minimum <= bits <= MAX_BIT_WIDTH:
        raise UnsupportedOpError(
            f"{node}: {what} {int(bits)} is out of range; trigc needs {minimum} to "
            f"{MAX_BIT_WIDTH} bits. Fix the quantizer's bit width in training or export")
    return int(bits)


def format_values(value) -> str:
    """A short text of an array for error messages: the value, or its first four."""
    flat = np.asarray(value).ravel()
    if flat.size == 1:
        return f"{float(flat[0]):g}"
    text = np.array2string(flat[:4], separator=", ")
    return text if flat.size <= 4 else f"{text[:-1]}, ...]"


__all__ = ["MAX_BIT_WIDTH", "QONNX_ROUNDING", "check_bit_width", "format_values",
           "int_range", "quant"]

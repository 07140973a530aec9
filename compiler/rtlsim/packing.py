"""Raw integers <-> packed little-endian port words, for any field width.

Element ``i`` of a row occupies bits ``[msb:lsb]`` of its field; the packed vector is
stored as ``ceil(bits / 8)`` bytes, least significant byte first. Fields up to 62 bits
use int64 arithmetic; wider ones Python integers (numpy object arrays)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from trigc.backends.verilog.portmap import Field

INT64_BITS = 62


def _weights(width: int) -> np.ndarray:
    if width <= INT64_BITS:
        return np.left_shift(np.int64(1), np.arange(width, dtype=np.int64))
    return np.array([1 << k for k in range(width)], dtype=object)


def _field_range(field: Field) -> tuple[int, int]:
    if field.signed:
        return -(1 << (field.width - 1)), (1 << (field.width - 1)) - 1
    return 0, (1 << field.width) - 1


def pack(raw: np.ndarray, fields: Sequence[Field], bits: int | None = None) -> np.ndarray:
    """``raw`` (events, elements) -> uint8 (events, ceil(bits/8)); ``bits`` defaults to
    the highest field bit + 1. A value outside its field's range is a ``ValueError``."""
    raw = np.asarray(raw)
    if raw.ndim != 2 or raw.shape[1] != len(fields):
        raise ValueError(f"pack needs (events, {len(fields)}) raw values, got {raw.shape}")
    bits = bits if bits is not None else max(f.msb for f in fields) + 1
    matrix = np.zeros((raw.shape[0], (bits + 7) // 8 * 8), dtype=np.uint8)
    for col, field in enumerate(fields):
        values = raw[:, col]
        lo, hi = _field_range(field)
        if values.size and (min(values) < lo or max(values) > hi):
            raise ValueError(f"{field.name}: raw values outside [{lo}, {hi}] of {field.type}")
        if field.width <= INT64_BITS and values.dtype != object:
            shifts = np.arange(field.width, dtype=np.int64)
            column = (values.astype(np.int64)[:, None] >> shifts) & 1
        else:
            shifts = np.arange(field.width).astype(object)
            column = (values.astype(object)[:, None] >> shifts) & 1
        matrix[:, field.lsb:field.msb + 1] = column.astype(np.uint8)
    return np.packbits(matrix, axis=1, bitorder="little")


def unpack(data: np.ndarray, fields: Sequence[Field]) -> np.ndarray:
    """uint8 (rows, bytes) -> raw (rows, elements): int64 when every field fits, else
    Python integers (object)."""
    data = np.asarray(data, dtype=np.uint8)
    bits = np.unpackbits(data, axis=1, bitorder="little")
    if fields and max(f.msb for f in fields) >= bits.shape[1]:
        raise ValueError(f"unpack: {bits.shape[1]} bits per row, fields reach bit "
                         f"{max(f.msb for f in fields)}")
    wide = any(f.width > INT64_BITS for f in fields)
    out = np.zeros((data.shape[0], len(fields)), dtype=object if wide else np.int64)
    for col, field in enumerate(fields):
        column = bits[:, field.lsb:field.msb + 1]
        kind = np.int64 if field.width <= INT64_BITS else object
        value = np.dot(column.astype(kind), _weights(field.width))
        if field.signed:
            value = value - column[:, -1].astype(kind) * (_weights(field.width + 1)[-1])
        out[:, col] = value
    return out

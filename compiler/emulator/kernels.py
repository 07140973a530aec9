"""One kernel per final op, on raw integers.

A kernel gets the node and its inputs as ``Value(raw, frac)`` (raw integer
arrays, batch axis first for activations; constants without batch axis) and
returns the op's *exact* result as ``Exact(raw, frac, den)``: the real value is
``raw * 2**-frac / den`` (``den`` is None except for divisions). The emulator
then assigns it to the output tensor's type; precision inference runs the same
kernels on value bounds to choose that type.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from trigc.errors import IRError, PrecisionError
from trigc.fixed import constant_type
from trigc.ir.graph import Node
from trigc.ir.ops import LutAttrs, Op

FLOAT_EXACT_BITS = 53
FLOAT32_EXACT_BITS = 24


class Value(NamedTuple):
    raw: np.ndarray
    frac: int


class Exact(NamedTuple):
    raw: np.ndarray
    frac: int
    den: np.ndarray | int | None = None


INT64_SAFE_BITS = 62


def _max_abs(raw) -> int:
    raw = np.asarray(raw)
    if raw.size == 0:
        return 0
    return max(abs(int(raw.min())), abs(int(raw.max())))


def widen(raw, extra_bits: int = 0):
    """``raw`` itself, or as Python ints when ``extra_bits`` more bits could leave int64."""
    raw = np.asarray(raw)
    if raw.dtype == object or _max_abs(raw).bit_length() + extra_bits < INT64_SAFE_BITS:
        return raw
    return raw.astype(object)


def shift_left(raw, shift: int):
    return widen(raw, shift) << shift if shift else raw


def align(v: Value, frac: int) -> np.ndarray:
    """Raw integers of ``v`` on a finer grid (exact)."""
    shift = frac - v.frac
    if shift < 0:
        raise IRError(f"cannot align frac {v.frac} down to {frac} exactly")
    return shift_left(v.raw, shift)


def matmul_exact(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Exact integer x @ w: float64 BLAS when every partial sum stays below 2**53."""
    if x.dtype != object and w.dtype != object:
        bound = _max_abs(x) * int(np.abs(w).sum(axis=0).max(initial=0))
        if bound < 2**FLOAT32_EXACT_BITS:  # single precision is exact too, and twice as fast
            return np.matmul(x.astype(np.float32), w.astype(np.float32)).astype(np.int64)
        if bound < 2**FLOAT_EXACT_BITS:
            return np.matmul(x.astype(np.float64), w.astype(np.float64)).astype(np.int64)
        if bound < 2**62:
            return np.matmul(x.astype(np.int64), w.astype(np.int64))
    return np.matmul(x.astype(object), w.astype(object))


def _linear(x: Value, w: Value, b: Value | None, apply) -> Exact:
    frac = x.frac + w.frac
    if b is not None and b.frac > frac:
        out = shift_left(apply(x.raw, w.raw), b.frac - frac)
        return Exact(widen(out, 1) + b.raw, b.frac)
    out = apply(x.raw, w.raw)
    if b is not None:
        bias = align(b, frac)
        out = widen(out, 1) + widen(bias, 1)
    return Exact(out, frac)


def dense(node: Node, args: list[Value]) -> Exact:
    x, w = args[0], args[1]
    b = args[2] if len(args) > 2 else None
    return _linear(x, w, b, matmul_exact)


def _pad(raw: np.ndarray, pads, nd: int, fill) -> np.ndarray:
    if not any(pads):
        return raw
    width = [(0, 0)] + [(pads[i], pads[i + nd]) for i in range(nd)] + [(0, 0)]
    if raw.dtype == object:
        out = np.full(tuple(s + a + b for s, (a, b) in zip(raw.shape, width)), fill,
                      dtype=object)
        out[tuple(slice(a, a + s) for s, (a, _) in zip(raw.shape, width))] = raw
        return out
    return np.pad(raw, width, constant_values=fill)


def windows(raw: np.ndarray, kernel, strides, pads, fill=0) -> np.ndarray:
    """(N, *out_spatial, C, *kernel) sliding windows of a channels-last tensor."""
    nd = len(kernel)
    padded = _pad(raw, pads, nd, fill)
    view = np.lib.stride_tricks.sliding_window_view(padded, kernel, axis=tuple(range(1, nd + 1)))
    index = (slice(None),) + tuple(slice(None, None, s) for s in strides)
    return view[index]


def conv(node: Node, args: list[Value]) -> Exact:
    a = node.attrs
    x, w = args[0], args[1]
    b = args[2] if len(args) > 2 else None
    nd = len(a.kernel_shape)

    def apply(xr, wr):
        win = windows(xr, a.kernel_shape, a.strides, a.pads)  # (N, *o, C, *k)
        # -> (N, *o, *k, C) to match weights (*k, C_in/g, C_out)
        perm = (0, *range(1, nd + 1), *range(nd + 2, 2 * nd + 2), nd + 1)
        win = np.transpose(win, perm)
        lead = win.shape[: nd + 1]
        groups = a.groups
        c_in = win.shape[-1]
        cg = c_in // groups
        c_out = wr.shape[-1]
        og = c_out // groups
        if groups == 1:
            flat = win.reshape(-1, int(np.prod(a.kernel_shape)) * c_in)
            out = matmul_exact(flat, wr.reshape(-1, c_out))
            return out.reshape(*lead, c_out)
        parts = []
        for g in range(groups):
            flat = win[..., g * cg:(g + 1) * cg].reshape(-1, int(np.prod(a.kernel_shape)) * cg)
            wg = wr[..., g * og:(g + 1) * og].reshape(-1, og)
            parts.append(matmul_exact(flat, wg).reshape(*lead, og))
        return np.concatenate(parts, axis=-1)

    return _linear(x, w, b, apply)


def _binary(args: list[Value]) -> tuple[np.ndarray, np.ndarray, int]:
    frac = max(args[0].frac, args[1].frac)
    return align(args[0], frac), align(args[1], frac), frac


def add(node, args):
    a, b, frac = _binary(args)
    return Exact(widen(a, 1) + widen(b, 1), frac)


def sub(node, args):
    a, b, frac = _binary(args)
    return Exact(widen(a, 1) - widen(b, 1), frac)


def mul(node, args):
    a, b = args[0].raw, args[1].raw
    bits_b = _max_abs(b).bit_length()
    return Exact(widen(a, bits_b) * widen(b, _max_abs(a).bit_length()),
                 args[0].frac + args[1].frac)


def div(node, args):
    x, c = args
    # x / c = (x.raw * 2**c.frac) / (c.raw * 2**x.frac); the sign goes to the numerator
    sign = np.where(c.raw < 0, -1, 1)
    return Exact(x.raw * sign, x.frac - c.frac, np.abs(c.raw))


def cast(node, args):
    return Exact(args[0].raw, args[0].frac)


def relu(node, args):
    x = args[0]
    return Exact(np.maximum(x.raw, 0), x.frac)


def scalar_constant(node: Node, value: float) -> Value:
    """An attribute constant (alpha, clip bound) as exact raw integer and frac."""
    try:
        t, raw = constant_type(np.asarray([value]), max_width=48)
    except PrecisionError:
        raise PrecisionError(
            f"{node.where()}: constant {value!r} is not exactly representable in 48 bits; "
            "round it to a power-of-two fraction (e.g. 0.125) when training") from None
    return Value(raw[0], t.frac_bits)


def leaky_relu(node, args):
    x = args[0]
    alpha = scalar_constant(node, node.attrs.alpha)
    frac = x.frac + alpha.frac
    raw = widen(x.raw, max(abs(int(alpha.raw)).bit_length(), alpha.frac))
    return Exact(np.where(raw < 0, raw * int(alpha.raw), raw << alpha.frac), frac)


def clip(node, args):
    x = args[0]
    a = node.attrs
    bounds = [None if v is None else scalar_constant(node, v) for v in (a.low, a.high)]
    frac = max([x.frac] + [b.frac for b in bounds if b is not None])
    out = align(x, frac)
    if bounds[0] is not None:
        out = np.maximum(out, align(bounds[0], frac))
    if bounds[1] is not None:
        out = np.minimum(out, align(bounds[1], frac))
    return Exact(out, frac)


def sign(node, args):
    return Exact(np.where(args[0].raw >= 0, 1, -1).astype(np.int64), 0)


def lut_index(raw: np.ndarray, lut: LutAttrs) -> np.ndarray:
    top = lut.index_low + (len(lut.table) << lut.shift) - 1
    clipped = np.minimum(np.maximum(raw, lut.index_low), top)
    return ((clipped - lut.index_low) >> lut.shift).astype(np.int64)


def lookup(raw: np.ndarray, lut: LutAttrs) -> np.ndarray:
    return lut.table[lut_index(raw, lut)]


def lut(node, args):
    a = node.attrs
    if not len(a.table):
        raise IRError(f"{node.where()}: lookup table not built (run precision inference)")
    return Exact(lookup(args[0].raw, a), a.table_type.frac_bits)


def softmax(node, args):
    a = node.attrs
    x = args[0].raw
    diff = x - x.max(axis=-1, keepdims=True)
    e = lookup(diff, a.exp_lut)
    s = e.sum(axis=-1, keepdims=True)
    inv = lookup(s, a.inv_lut)
    return Exact(e * inv, a.exp_lut.table_type.frac_bits + a.inv_lut.table_type.frac_bits)


def maxpool(node, args):
    a = node.attrs
    x = args[0]
    low = int(x.raw.min()) - 1 if x.raw.size else -1  # below every value: never the max
    raw = widen(x.raw, 1)
    win = windows(raw, a.kernel_shape, a.strides, a.pads, fill=low)
    nd = len(a.kernel_shape)
    best = win.max(axis=tuple(range(-nd, 0)))
    # a window wholly in the padding has no element: 0, as in the firmware
    return Exact(np.where(best == low, 0, best), x.frac)


def pool_divisor(shape, a) -> np.ndarray | int:
    """Number of elements each average-pool window divides by."""
    k = int(np.prod(a.kernel_shape))
    if a.count_include_pad or not any(a.pads):
        return k
    ones = np.ones((1, *shape[:-1], 1), dtype=np.int64)
    win = windows(ones, a.kernel_shape, a.strides, a.pads)
    nd = len(a.kernel_shape)
    return win.sum(axis=tuple(range(-nd, 0)))[0]


def avgpool(node, args):
    a = node.attrs
    x = args[0]
    nd = len(a.kernel_shape)
    count = int(np.prod(a.kernel_shape))
    win = windows(widen(x.raw, count.bit_length()), a.kernel_shape, a.strides, a.pads)
    total = win.sum(axis=tuple(range(-nd, 0)))
    return Exact(total, x.frac, pool_divisor(x.raw.shape[1:], a))


def global_avgpool(node, args):
    x = args[0]
    axes = tuple(range(1, x.raw.ndim - 1))
    count = int(np.prod([x.raw.shape[i] for i in axes]))
    return Exact(widen(x.raw, count.bit_length()).sum(axis=axes, keepdims=True), x.frac, count)


def global_maxpool(node, args):
    x = args[0]
    return Exact(x.raw.max(axis=tuple(range(1, x.raw.ndim - 1)), keepdims=True), x.frac)


def reshape(node, args):
    x = args[0]
    return Exact(x.raw.reshape((x.raw.shape[0], *node.attrs.shape)), x.frac)


def transpose(node, args):
    x = args[0]
    return Exact(np.transpose(x.raw, (0, *(p + 1 for p in node.attrs.perm))), x.frac)


def concat(node, args):
    frac = max(v.frac for v in args)
    return Exact(np.concatenate([align(v, frac) for v in args], axis=node.attrs.axis + 1), frac)


KERNELS = {
    Op.CAST: cast,
    Op.DENSE: dense,
    Op.CONV: conv,
    Op.ADD: add,
    Op.SUB: sub,
    Op.MUL: mul,
    Op.DIV: div,
    Op.RELU: relu,
    Op.LEAKY_RELU: leaky_relu,
    Op.CLIP: clip,
    Op.SIGN: sign,
    Op.SIGMOID: lut,
    Op.TANH: lut,
    Op.SOFTMAX: softmax,
    Op.MAXPOOL: maxpool,
    Op.AVGPOOL: avgpool,
    Op.GLOBAL_AVGPOOL: global_avgpool,
    Op.GLOBAL_MAXPOOL: global_maxpool,
    Op.RESHAPE: reshape,
    Op.TRANSPOSE: transpose,
    Op.CONCAT: concat,
}

"""Exact precision inference.

Walks the graph once in order and keeps, for every tensor, per-element bounds
(raw integers at the tensor's grid). Each op's exact-result bounds come from its
bounds rule in :mod:`trigc.ops`, which runs the op's own kernel on the bounds
(linear ops split weights into their positive and negative parts), so the
inferred type is the narrowest one that can never overflow, with no integer bit
unused for the actual weights.

Types already set (by Quant absorption, the input, or Cast fusion) are part of
the model's semantics and are kept. User overrides (``graph.precision_overrides``,
keyed by tensor, node or layer name) replace the inferred type; an override that
can overflow is reported in ``graph.precision_report`` with the layer and bits.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import NamedTuple

import numpy as np

from trigc.errors import PrecisionError
from trigc.fixed import FixedType, Overflow, Rounding, quantize, requantize, to_float
from trigc.ir.graph import Graph, InexactReport, Node, OverflowReport, Tensor
from trigc.ir.ops import LutAttrs, Op, SoftmaxAttrs
from trigc.ops import Exact, Value, assign, op_def
from trigc.ops.constants import CONSTANT_MAX_WIDTH, exact_constant_type
from trigc.ops.exact import is_one
from trigc.ops.lut import FUNCTIONS
from trigc.ops.softmax import EXACT_EXP_BITS, build_exp_chunks, exact_error_bound

log = logging.getLogger(__name__)

# Extra fractional bits kept by default after an inexact division (average
# pooling over a window whose size is not a power of two, Div by a constant)
# when no Quant follows to say what the model wants.
DIVISION_EXTRA_BITS = 8
DEFAULT_LUT_TYPES = {
    "sigmoid": FixedType(False, 16, 0, Rounding.RND_CONV, Overflow.SAT),
    "tanh": FixedType(True, 16, 1, Rounding.RND_CONV, Overflow.SAT),
}
LUT_TRIM_LIMIT = 1 << 20  # inputs Selu's table start is searched over, at most
SELU_FRAC_BITS = 10  # Selu's default output grid (its integer bits follow the input)
SOFTMAX_EXP_TYPE = FixedType(False, 18, 1, Rounding.RND_CONV, Overflow.SAT)
SOFTMAX_INV_TYPE = FixedType(False, 18, 1, Rounding.RND_CONV, Overflow.SAT)
SOFTMAX_OUT_TYPE = FixedType(False, 17, 1, Rounding.RND_CONV, Overflow.SAT)


class Bounds(NamedTuple):
    lo: np.ndarray
    hi: np.ndarray


def _type_constant(t: Tensor, ptq_type: FixedType | None = None) -> None:
    """The narrowest exact type of a constant; with a post-training-quantization
    type (precision key 'weights' or 'default'), values it cannot hold exactly are
    rounded into it instead."""
    if t.type is not None:
        return
    if ptq_type is not None:
        t_ptq = ptq_type.with_modes(Rounding.RND_CONV, Overflow.SAT)
        approx = to_float(quantize(t.value, t_ptq), t_ptq)
        if not np.array_equal(approx, t.value):
            err = float(np.max(np.abs(approx - t.value)))
            log.info("constant %s (layer %s) quantized to %s (max error %.3g)", t.name,
                     t.source, t_ptq, err)
            t.type, t.value = t_ptq, approx
            return
    try:
        t.type, _ = exact_constant_type(t.value)
    except PrecisionError:
        peak = float(np.max(np.abs(t.value)))
        integer = max(math.frexp(peak)[1], 0) + 1 if peak else 1
        t.type = FixedType(True, CONSTANT_MAX_WIDTH, integer, Rounding.RND_CONV, Overflow.SAT)
        approx = quantize(t.value, t.type) * t.type.lsb
        err = float(np.max(np.abs(approx - t.value)))
        log.warning("constant %s (layer %s) is not exactly representable in %d bits; "
                    "rounded to %s (max error %.3g)", t.name, t.source, CONSTANT_MAX_WIDTH,
                    t.type, err)
        t.value = approx


def _bounds_of_type(t: Tensor) -> Bounds:
    dt = t.type.raw_dtype
    return Bounds(np.full(t.shape, t.type.min_raw, dtype=dt), np.full(t.shape, t.type.max_raw,
                                                                         dtype=dt))


def _const_value(t: Tensor) -> Value:
    return Value(t.raw, t.type.frac_bits)


def _extremes(node: Node, bounds: dict, frac_of) -> tuple[Exact, Exact]:
    """Exact-result bounds (lo, hi) of ``node``, each an ``Exact`` with batch axis 1,
    from its op's bounds rule."""
    lo: list[Value] = []
    hi: list[Value] = []
    for t in node.inputs:
        if t.is_constant:
            lo.append(_const_value(t))
            hi.append(_const_value(t))
        else:
            b = bounds[id(t)]
            lo.append(Value(b.lo[None], frac_of(t)))
            hi.append(Value(b.hi[None], frac_of(t)))
    definition = op_def(node)
    return definition.bounds(node, lambda args: definition.kernel(node, args), lo, hi)


def _exact_type(node: Node, lo: Exact, hi: Exact) -> FixedType:
    """Narrowest type holding the exact result (or a documented default for divisions)."""
    frac = lo.frac
    lo_raw, hi_raw = lo.raw, hi.raw
    if not is_one(lo.den):
        den = np.asarray(lo.den)
        dmax = int(den.max())
        if _inexact_divisor(lo) is None:
            k = dmax.bit_length() - 1
            return FixedType.for_raw_range(int(lo_raw.min()), int(hi_raw.max()), frac + k)
        extra = dmax.bit_length() + DIVISION_EXTRA_BITS
        dmin = int(den.min())
        lo_n, hi_n = int(lo_raw.min()) << extra, int(hi_raw.max()) << extra
        quotients = [lo_n // dmin, lo_n // dmax, -(-hi_n // dmin), -(-hi_n // dmax)]
        t = FixedType.for_raw_range(min(quotients), max(quotients), frac + extra)
        return t.with_modes(rounding=Rounding.RND_CONV)
    return FixedType.for_raw_range(int(lo_raw.min()), int(hi_raw.max()), frac)


def _inexact_divisor(lo: Exact) -> int | None:
    """The largest divisor of an exact result that no binary grid holds exactly
    (None when there is no division, or one by a single power of two)."""
    if is_one(lo.den):
        return None
    den = np.asarray(lo.den)
    dmax = int(den.max())
    if np.all(den == den.flat[0]) and dmax & (dmax - 1) == 0:
        return None
    return dmax


def _division_type(graph: Graph, node: Node, lo: Exact, hi: Exact,
                   exact: FixedType) -> FixedType:
    """The type of a division by a constant that is not a power of two.

    When its only reader is a Cast that fixes a grid and rounding (a Quant or Trunc
    with a non-power-of-two scale), the exact rational is rounded once, straight onto
    that grid, so the pair is exact. Otherwise the quotient is rounded to
    ``DIVISION_EXTRA_BITS`` more fractional bits than the divisor needs: an explicit
    choice, reported in ``graph.precision_report`` (and as a WARNING)."""
    out = node.output
    user = graph.sole_user(out)
    if (user is not None and user.op is Op.CAST and user.attrs.frac_bits is not None
            and user.output.type is None and out not in graph.outputs):
        return _cast_type(user, lo, hi)
    c = np.unique(np.asarray(node.inputs[1].value, dtype=np.float64))
    divisor = f"{float(c[0]):.9g}" if c.size == 1 else f"{c.size} per-channel constants"
    graph.precision_report.append(InexactReport(
        node.source or node.name, node.op.value, out.name, divisor, exact.frac_bits, exact,
        -exact.frac_bits - 1))  # half an LSB (round half to even)
    return exact


# The precision keys with a meaning of their own (trigc.api.SPECIAL_KEYS): 'input'
# types the model inputs, never a layer that happens to be called "input" (QKeras and
# qonnx name an input quantizer so).
SPECIAL_KEYS = ("input", "default", "weights")


def _override_for(graph: Graph, node: Node, t: Tensor) -> FixedType | None:
    o = graph.precision_overrides
    if t.name in o and (t.name not in SPECIAL_KEYS or t in graph.inputs):
        return o[t.name]
    for key in (node.name, node.source):
        if key in o and key not in SPECIAL_KEYS:
            return o[key]
    return None


def _build_lut(node: Node, x: Tensor, xb: Bounds, out_type: FixedType,
               function: str, table_size: int, low=None, high=None,
               params: tuple[float, ...] = ()) -> LutAttrs:
    """A table over the input's raw range, clipped to where the function still
    changes at the output precision; one entry per input value when it fits."""
    fx = x.type.frac_bits if x.type is not None else 0
    lo = int(np.min(xb.lo)) if low is None else low
    hi = int(np.max(xb.hi)) if high is None else high
    if function in ("sigmoid", "tanh", "exp", "selu"):
        # below -reach, exp(x) is under a quarter LSB (Selu: 2^-10 of one, then the
        # table starts where its rounded value first changes)
        extra = 10 if function == "selu" else 2
        reach = (out_type.frac_bits + extra) * math.log(2) + 1.0
        lo = max(lo, math.floor(-reach * 2.0**fx))
        if function in ("sigmoid", "tanh"):
            hi = min(hi, math.ceil(reach * 2.0**fx))
    lo, hi = min(lo, hi), max(lo, hi)
    if function == "selu" and hi - lo < LUT_TRIM_LIMIT:
        lo = _first_change(function, params, lo, hi, fx, out_type)
    count = hi - lo + 1
    shift = max(0, math.ceil(math.log2(count / table_size))) if count > table_size else 0
    entries = -(-count // (1 << shift))
    idx = np.arange(entries, dtype=np.float64)
    centre = lo + idx * (1 << shift) + ((1 << shift) - 1) / 2.0
    centre = np.minimum(centre, hi)
    values = FUNCTIONS[function](np.ldexp(centre, -fx), *params)
    table = quantize(values, out_type)
    return LutAttrs(function, table_size, lo, shift, table, out_type, exact=shift == 0,
                    params=params)


def _first_change(function: str, params: tuple[float, ...], lo: int, hi: int, fx: int,
                  out_type: FixedType) -> int:
    """The raw input below which a non-decreasing function's rounded value no longer
    changes (the inputs under it read the same entry), so a clamped table is exact."""
    raw = np.arange(lo, hi + 1, dtype=np.int64)
    q = quantize(FUNCTIONS[function](np.ldexp(raw.astype(np.float64), -fx), *params),
                 out_type)
    changed = np.flatnonzero(q != q[0])
    return lo + (int(changed[0]) - 1 if len(changed) else hi - lo)


def _default_lut_type(node: Node, x: Tensor, xb: Bounds) -> FixedType:
    """Sigmoid and Tanh are bounded (a fixed type); Selu is not: its type holds
    ``selu`` over the input's bounds at ``SELU_FRAC_BITS`` fractional bits."""
    a = node.attrs
    if a.function != "selu":
        return DEFAULT_LUT_TYPES[a.function]
    fx = x.type.frac_bits if x.type is not None else 0
    ends = np.ldexp(np.array([float(np.min(xb.lo)), float(np.max(xb.hi))]), -fx)
    lo_v, hi_v = FUNCTIONS["selu"](ends, *a.params)
    scale = 2.0**SELU_FRAC_BITS
    t = FixedType.for_raw_range(min(math.floor(lo_v * scale), 0),
                                max(math.ceil(hi_v * scale), 0), SELU_FRAC_BITS)
    return t.with_modes(Rounding.RND_CONV, Overflow.SAT)


def _lut_node(graph: Graph, node: Node, bounds: dict) -> None:
    x = node.inputs[0]
    out = node.output
    out_type = out.type or _override_for(graph, node, out) or _default_lut_type(
        node, x, bounds[id(x)])
    node.attrs = _build_lut(node, x, bounds[id(x)], out_type, node.attrs.function,
                            node.attrs.table_size, params=node.attrs.params)
    out.type = out_type


def _softmax_node(graph: Graph, node: Node, bounds: dict) -> None:
    x = node.inputs[0]
    a = node.attrs
    xb = bounds[id(x)]
    spread = int(np.max(xb.hi)) - int(np.min(xb.lo))
    exp_lut = _build_lut(node, x, xb, SOFTMAX_EXP_TYPE, "exp", a.table_size,
                         low=-spread, high=0)
    n = x.shape[-1]
    sum_lo = int(exp_lut.table.max())  # the maximum element contributes exp(0)
    sum_type = FixedType.for_raw_range(0, int(exp_lut.table.max()) * n,
                                       SOFTMAX_EXP_TYPE.frac_bits)
    sum_hi = int(exp_lut.table.max()) * n
    fake = Tensor("sum", (1,), type=sum_type)
    inv_lut = _build_lut(node, fake, Bounds(np.array([sum_lo]), np.array([sum_hi])),
                         SOFTMAX_INV_TYPE, "inv", a.table_size)
    node.attrs = dataclasses.replace(a, exp_lut=exp_lut, inv_lut=inv_lut, sum_type=sum_type,
                                     diff_type=FixedType.for_raw_range(-spread, 0, fx_of(x)))
    out = node.output
    if out.type is None:
        out.type = _override_for(graph, node, out) or SOFTMAX_OUT_TYPE
    if a.mode == "exact":
        _softmax_exact_tables(node, spread, n)


def _softmax_exact_tables(node: Node, spread: int, n: int) -> None:
    """The exact mode's chunked exp tables and sum type (trigc.ops.softmax)."""
    bits = EXACT_EXP_BITS
    shifts, sizes, table = build_exp_chunks(spread, fx_of(node.inputs[0]), bits)
    node.attrs = dataclasses.replace(
        node.attrs, exp_bits=bits, exp_shifts=shifts, exp_sizes=sizes, exp_table=table,
        sum_type=FixedType.for_raw_range(0, n << bits, bits))
    out = node.output.type
    bound = exact_error_bound(node.attrs, n, out)
    if bound >= out.lsb:
        log.warning("%s: exact softmax guarantees only %.3g (%.2f LSB of %s) over %d "
                    "classes", node.where(), bound, bound / out.lsb, out, n)


def fx_of(t: Tensor) -> int:
    return t.type.frac_bits


def infer_precision(graph: Graph) -> bool:
    graph.precision_report = []
    overrides = graph.precision_overrides
    bounds: dict[int, Bounds] = {}
    for t in graph.inputs:
        if t.name in overrides:
            t.type = overrides[t.name]
        elif t.type is None and "input" in overrides:
            t.type = overrides["input"]
        elif t.type is None and "default" in overrides:
            t.type = overrides["default"]
        if t.type is None:
            feeds = ", ".join(sorted({u.source or u.name for u in t.users}))
            reason = ("it does not feed a Quant node" if not any(
                u.op in (Op.DIV, Op.ADD, Op.SIGN) for u in t.users) else
                "its Quant has a non-power-of-two scale or a zero point, so no ap_fixed type "
                "equals it")
            raise PrecisionError(
                f"Model input {t.name!r} (read by {feeds}) has no fixed-point type: {reason}. "
                "Give the firmware input a type, e.g. "
                f"precision={{'{t.name}': 'fixed<16,6>'}} (or {{'input': ...}})"
            )
        bounds[id(t)] = _bounds_of_type(t)
    ptq_type = overrides.get("weights", overrides.get("default"))
    for t in graph.tensors.values():
        if t.is_constant:
            _type_constant(t, ptq_type)
    for node in graph.nodes:
        _visit(graph, node, bounds)
    for report in graph.precision_report:
        log.warning("%s", report)
    return True


def _visit(graph: Graph, node: Node, bounds: dict) -> None:
    out = node.output
    traits = op_def(node).traits
    if traits.lut and isinstance(node.attrs, SoftmaxAttrs):
        _softmax_node(graph, node, bounds)
    elif traits.lut:
        _lut_node(graph, node, bounds)
    lo, hi = _extremes(node, bounds, fx_of)
    exact = _exact_type(node, lo, hi)
    if traits.accumulates:
        total = FixedType.for_raw_range(int(lo.raw.min()), int(hi.raw.max()), lo.frac)
        node.attrs = dataclasses.replace(node.attrs, accum_type=total)
    override = _override_for(graph, node, out)
    defaults = graph.precision_overrides
    if override is None and out.type is None and "default" in defaults \
            and not traits.layout:
        override = defaults["default"]  # post-training quantization of a float layer
    if override is not None:
        out.type = override
        short = _short_bits(override, lo, hi)
        if short:
            graph.precision_report.append(
                OverflowReport(node.source or node.name, node.op.value, out.name, override,
                               short))
    elif out.type is None and node.op is Op.CAST:
        out.type = _cast_type(node, lo, hi)
    elif out.type is None and node.op is Op.DIV and _inexact_divisor(lo) is not None:
        out.type = _division_type(graph, node, lo, hi, exact)
    elif out.type is None:
        out.type = exact
        if _inexact_divisor(lo) is not None:  # average over a non-power-of-two window
            log.info("%s: division by %s is inexact; result kept to %d fractional bits "
                     "(%s)", node.where(), _inexact_divisor(lo), exact.frac_bits, exact)
    t = out.type
    blo, bhi = assign(Exact(lo.raw, lo.frac, lo.den), t)[0], assign(
        Exact(hi.raw, hi.frac, hi.den), t)[0]
    if t.overflow not in (Overflow.SAT, Overflow.SAT_SYM) and _short_bits(t, lo, hi):
        blo, bhi = _bounds_of_type(out)  # wrapped or zeroed values can land anywhere
    bounds[id(out)] = Bounds(np.minimum(blo, bhi), np.maximum(blo, bhi))


def _short_bits(t: FixedType, lo: Exact, hi: Exact) -> int:
    if not is_one(lo.den):
        den = int(np.asarray(lo.den).min())
        lo_v = int(lo.raw.min()) // den
        hi_v = -(-int(hi.raw.max()) // den)
        return t.overflow_bits(lo_v, hi_v, lo.frac)
    return t.overflow_bits(int(lo.raw.min()), int(hi.raw.max()), lo.frac)


def _cast_type(node: Node, lo: Exact, hi: Exact) -> FixedType:
    """A Cast that only fixes the grid and rounding: integer bits from the bounds."""
    frac = lo.frac if node.attrs.frac_bits is None else node.attrs.frac_bits
    probe = FixedType(True, 1000, 1000 - frac, node.attrs.rounding)
    if is_one(lo.den):
        lo_q = requantize(np.asarray(lo.raw, dtype=object), lo.frac, probe, wrap=False)
        hi_q = requantize(np.asarray(hi.raw, dtype=object), hi.frac, probe, wrap=False)
    else:  # a division rounded straight onto the Cast's grid
        lo_q = assign(Exact(np.asarray(lo.raw, dtype=object), lo.frac, lo.den), probe)
        hi_q = assign(Exact(np.asarray(hi.raw, dtype=object), hi.frac, hi.den), probe)
    t = FixedType.for_raw_range(int(lo_q.min()), int(hi_q.max()), frac)
    return t.with_modes(rounding=node.attrs.rounding)

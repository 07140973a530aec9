"""QKeras quantizers as exact QONNX Quant nodes (QKeras 0.9.0, ``quantizers.py``).

* ``quantized_bits(bits, integer, symmetric, keep_negative, alpha)`` computes
  ``alpha * lsb * clip(tf.round(x / lsb), lo, hi)`` with
  ``lsb = 2**(integer - bits + keep_negative)``, ``tf.round`` = half to even
  (QONNX ROUND), ``[lo, hi] = [-2**(bits-1) + symmetric, 2**(bits-1) - 1]`` (signed,
  narrow when symmetric) or ``[0, 2**bits - 1]`` without keep_negative. Clipping
  after rounding equals clipping before, the bounds being integers.
  On weights, the value QKeras multiplies with is ``quantizer.scale * lsb * z``
  for every alpha: ``quantizer.scale`` is alpha (1 for None) or, for
  ``'auto_po2'``, the per-channel power of two (times ``2**(bits-keep_negative)``)
  it computed from the weights, with ``z`` in the narrow signed range.
* ``quantized_relu(bits, integer)``: unsigned, ``lsb = 2**(integer - bits)``.
* ``quantized_tanh`` / ``quantized_sigmoid`` go through QKeras' internal sigmoid,
  by default ``hard_sigmoid = clip(0.5 x + 0.5, 0, 1)`` (``smooth``: slope 0.1875):
  a Mul/Add by dyadic constants and a Quant.
* Weights of ``quantized_po2``, ``binary`` and ``ternary`` (alpha None, a power of
  two, or ``'auto_po2'``) are 0 or +-powers of two: exported as QKeras' own values
  behind the narrowest Quant grid that holds them all. ``alpha='auto'`` (a float
  least-squares scale) is refused.
* ``binary`` / ``ternary`` / ``binary_tanh`` / ``binary_sigmoid`` activations are
  threshold functions, built exactly from BipolarQuant (+1 where its input is >= 0,
  else -1) on ``x``, ``-x`` or ``x - t``, and dyadic Add/Sub/Mul: no new op.

Anything else raises ``UnsupportedOpError`` naming the layer, the quantizer and the
fix. QKeras returns ``x + stop_gradient(xq - x)`` in float32, which equals ``xq``
only while ``|x| < 2**24 * lsb``; beyond that QKeras' own output leaves its grid,
while the Quant (and the firmware) saturates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from trigc.errors import UnsupportedOpError
from trigc.quantizers import quant as quant_reference


class QuantSpec(NamedTuple):
    """A QONNX Quant (zero point 0, ROUND), or a BipolarQuant, then a power-of-two
    factor ``alpha``."""
    scale: float | np.ndarray
    bits: int
    signed: bool
    narrow: bool
    alpha: float = 1.0
    bipolar: bool = False


def is_po2(values) -> bool:
    v = np.asarray(values, dtype=np.float64)
    return bool(v.size) and bool(np.all(v > 0)) and bool(np.all(np.frexp(v)[0] == 0.5))


def _int(value) -> int:
    return int(np.asarray(value.numpy() if hasattr(value, "numpy") else value).item())


def describe(quantizer) -> str:
    name = getattr(quantizer, "__name__", None)
    return name if type(quantizer).__name__ == "function" and name else str(quantizer)


def where(layer, role: str, quantizer) -> str:
    return (f"Keras layer {layer.name!r} ({type(layer).__name__}): {role} quantizer "
            f"{describe(quantizer)}")


def check_deterministic(layer, role: str, q) -> None:
    if getattr(q, "use_stochastic_rounding", False):
        raise UnsupportedOpError(
            f"{where(layer, role, q)} uses stochastic rounding, which has no fixed-point "
            "equivalent. Retrain with use_stochastic_rounding=False")
    if float(np.asarray(getattr(q, "qnoise_factor", 1.0))) != 1.0:
        raise UnsupportedOpError(
            f"{where(layer, role, q)} has qnoise_factor != 1, so its output mixes in the "
            "unquantized value. Finish training with qnoise_factor=1")


def bits_spec(layer, role: str, q, weights: bool) -> QuantSpec:
    """The Quant equal to a ``quantized_bits`` quantizer."""
    check_deterministic(layer, role, q)
    bits, integer, keep_negative = int(q.bits), _int(q.integer), bool(q.keep_negative)
    alpha = q.alpha
    unsigned_bits = bits - keep_negative
    if isinstance(alpha, str):
        if not weights or alpha != "auto_po2":
            fix = ("weights may use alpha='auto_po2'; activations need alpha=1" if alpha ==
                   "auto_po2" else "use alpha='auto_po2' or alpha=1")
            raise UnsupportedOpError(
                f"{where(layer, role, q)}: alpha={alpha!r} computes a floating-point scale "
                f"that no fixed-point type equals. Retrain: {fix}")
        # 'auto_po2' forces the symmetric signed range whatever keep_negative says
        return QuantSpec(2.0**(integer - unsigned_bits), bits, True, True)
    factor = 1.0 if alpha is None else np.asarray(alpha, dtype=np.float64)
    if np.size(factor) != 1 or not is_po2(factor):
        raise UnsupportedOpError(
            f"{where(layer, role, q)}: alpha={alpha!r} is not a single power of two, so the "
            "quantized values are not fixed-point numbers. Retrain with alpha=1 or "
            "alpha='auto_po2' (weights only)")
    factor = float(np.asarray(factor).item())
    if unsigned_bits <= 0:
        if not (keep_negative and bits == 1):
            raise UnsupportedOpError(f"{where(layer, role, q)}: {bits} bit(s) without a sign")
        return QuantSpec(1.0, 1, True, False, factor, bipolar=True)
    return QuantSpec(2.0**(integer - unsigned_bits), bits, keep_negative,
                     keep_negative and bool(q.symmetric), factor)


def compress(scale: np.ndarray) -> np.ndarray | float:
    """A broadcast scale reduced to its smallest broadcastable shape."""
    s = np.asarray(scale, dtype=np.float64)
    if np.all(s == s.flat[0]):
        return float(s.flat[0])
    for axis in range(s.ndim):
        first = np.take(s, [0], axis=axis)
        if np.all(s == first):
            s = first
    return s


def quantized_weight(layer, quantizer, value: np.ndarray, to_onnx: Callable, role: str
                     ) -> tuple[np.ndarray, QuantSpec]:
    """QKeras' own quantized weights (in ONNX layout) and the Quant whose grid they
    lie on, with the per-channel scale QKeras actually used."""
    kind = type(quantizer).__name__
    if kind in SIGNED_PO2_WEIGHTS:
        return signed_po2_weight(layer, quantizer, value, to_onnx, role)
    if kind != "quantized_bits":
        raise UnsupportedOpError(
            f"{where(layer, role, quantizer)} cannot be mapped to a QONNX Quant node "
            "exactly. Retrain with quantized_bits(bits, integer, alpha=1 or 'auto_po2'), "
            "quantized_po2(bits), binary(alpha=1 or 'auto_po2') or ternary(alpha=1 or "
            "'auto_po2')")
    spec = bits_spec(layer, role, quantizer, weights=True)
    import tensorflow as tf

    quantized = np.asarray(quantizer(tf.constant(value, tf.float32)), dtype=np.float32)
    used = quantizer.scale  # set by the call: alpha, or the 'auto_po2' scales
    used = np.asarray(used.numpy() if hasattr(used, "numpy") else used, dtype=np.float64)
    lsb = 1.0 if spec.bipolar else spec.scale
    q_onnx = np.asarray(to_onnx(quantized))
    scale = compress(to_onnx(np.broadcast_to(used * lsb, value.shape)))
    if spec.bipolar:
        check = np.where(q_onnx >= 0, 1.0, -1.0) * scale
    else:
        check = quant_reference(q_onnx.astype(np.float64), scale, 0.0, spec.bits, spec.signed,
                                spec.narrow, "ROUND")
    if not is_po2(scale) or not np.array_equal(check, q_onnx):
        raise UnsupportedOpError(
            f"{where(layer, role, quantizer)}: QKeras' quantized values are not on a "
            f"power-of-two grid of {spec.bits} bits (scale {used}). Retrain with alpha=1 or "
            "alpha='auto_po2'")
    return q_onnx, spec._replace(scale=scale, alpha=1.0)


# ---- weights that are signed powers of two: quantized_po2, binary, ternary -----------

SIGNED_PO2_WEIGHTS = ("quantized_po2", "binary", "ternary")
MAX_PO2_WEIGHT_BITS = 32
"""The widest grid a tensor of power-of-two weights may span (exponents and sign)."""


def check_alpha(layer, role: str, q, weights: bool) -> float:
    """The factor of a binary/ternary quantizer's alpha (1 for None), refusing what
    is not a fixed-point constant: 'auto' (a float least-squares scale), an alpha that
    is not a power of two, and on activations any string (a scale of each batch)."""
    alpha = q.alpha
    if isinstance(alpha, str):
        if weights and alpha == "auto_po2":
            return 1.0  # per-channel powers of two, read from QKeras' own output
        fix = "use alpha='auto_po2' or alpha=1" if weights else "use alpha=1 (or None)"
        what = ("computes a floating-point per-channel scale that no fixed-point type "
                "equals" if weights else "computes its scale from each batch of data")
        raise UnsupportedOpError(f"{where(layer, role, q)}: alpha={alpha!r} {what}. "
                                 f"Retrain: {fix}")
    if alpha is None:
        return 1.0
    factor = np.asarray(alpha, dtype=np.float64)
    if not is_po2(factor) or (not weights and factor.size != 1):
        single = "" if weights else "single "
        raise UnsupportedOpError(
            f"{where(layer, role, q)}: alpha={alpha!r} is not a {single}power of two, so "
            "the quantized values are not fixed-point numbers. Retrain with alpha=1"
            + (" or alpha='auto_po2'" if weights else ""))
    return float(factor.flat[0])


def signed_po2_weight(layer, quantizer, value: np.ndarray, to_onnx: Callable, role: str
                      ) -> tuple[np.ndarray, QuantSpec]:
    """quantized_po2 / binary / ternary weights: QKeras' own values (0 or +-2**e) and
    the narrowest per-tensor Quant grid that holds every one of them exactly."""
    check_deterministic(layer, role, quantizer)
    if type(quantizer).__name__ != "quantized_po2":
        check_alpha(layer, role, quantizer, weights=True)
    import tensorflow as tf

    quantized = np.asarray(quantizer(tf.constant(value, tf.float32)), dtype=np.float32)
    q_onnx = np.asarray(to_onnx(quantized), dtype=np.float64)
    magnitudes = np.abs(q_onnx[q_onnx != 0])
    if not np.all(np.isfinite(q_onnx)) or (magnitudes.size and not is_po2(magnitudes)):
        odd = magnitudes[~np.isfinite(magnitudes) | (np.frexp(magnitudes)[0] != 0.5)]
        raise UnsupportedOpError(
            f"{where(layer, role, quantizer)}: QKeras' quantized values are not all 0 or "
            f"+-powers of two (e.g. {odd.flat[0]!r}), so no fixed-point grid holds them. "
            "Retrain with alpha=1 or alpha='auto_po2'")
    if not magnitudes.size:
        return q_onnx.astype(np.float32), QuantSpec(1.0, 2, True, False)
    exponents = np.frexp(magnitudes)[1] - 1
    low, high = int(exponents.min()), int(exponents.max())
    bits = high - low + 2  # the largest magnitude 2**(high-low) LSBs, and a sign
    if bits > MAX_PO2_WEIGHT_BITS:
        raise UnsupportedOpError(
            f"{where(layer, role, quantizer)}: the weights range from 2**{low} to "
            f"2**{high}, a {bits}-bit fixed-point grid (trigc allows "
            f"{MAX_PO2_WEIGHT_BITS}). Retrain with a max_value and fewer exponent bits, "
            "or prune the tiny weights")
    spec = QuantSpec(2.0**low, bits, True, False)
    check = quant_reference(q_onnx, spec.scale, 0.0, bits, True, False, "ROUND")
    assert np.array_equal(check, q_onnx), "a power-of-two grid must hold its own values"
    return q_onnx.astype(np.float32), spec


def evaluate(layer, quantizer, value: np.ndarray, role: str) -> np.ndarray:
    """A constant as QKeras uses it (its quantizer run on it); BatchNormalization
    parameters, which trigc folds as float32 constants."""
    value = np.asarray(value, dtype=np.float32)
    if quantizer is None:
        return value
    check_deterministic(layer, role, quantizer)
    import tensorflow as tf

    return np.asarray(quantizer(tf.constant(value)), dtype=np.float32)


# ---- activation quantizers: f(exporter, layer, x, quantizer, role) -> ONNX name ----------

def _quantized_bits(ex, layer, x: str, q, role: str) -> str:
    return ex.apply_spec(layer, x, bits_spec(layer, role, q, weights=False))


def _quantized_relu(ex, layer, x: str, q, role: str) -> str:
    check_deterministic(layer, role, q)
    if q.use_sigmoid or q.negative_slope != 0.0:
        raise UnsupportedOpError(
            f"{where(layer, role, q)}: use_sigmoid / negative_slope are not supported. "
            "Retrain with quantized_relu(bits, integer) (negative_slope=0, use_sigmoid=0)")
    bits, integer = int(q.bits), _int(q.integer)
    y = ex.apply_spec(layer, x, QuantSpec(2.0**(integer - bits), bits, False, False))
    if q.relu_upper_bound and not q.is_quantized_clip:
        bound = ex.b.const(np.float32(q.relu_upper_bound), "upper_bound")
        y = ex.node(layer, "Clip", [y, "", bound])
    return y


def _internal_sigmoid(layer, role: str, q) -> tuple[float, float]:
    """Slope and offset of QKeras' piecewise-linear sigmoid (clip(a*x + 0.5, 0, 1))."""
    from qkeras import quantizers

    if quantizers._sigmoid is quantizers.hard_sigmoid:
        return 0.5, 0.5
    if quantizers._sigmoid is quantizers.smooth_sigmoid:
        return 0.1875, 0.5
    raise UnsupportedOpError(
        f"{where(layer, role, q)} uses the real sigmoid (set_internal_sigmoid('real')), "
        "which no Quant reproduces. Use set_internal_sigmoid('hard') or 'smooth'")


def _quantized_tanh(ex, layer, x: str, q, role: str) -> str:
    check_deterministic(layer, role, q)
    if q.use_real_tanh:
        raise UnsupportedOpError(
            f"{where(layer, role, q)}: use_real_tanh=True is a float tanh that no Quant "
            "reproduces. Retrain with use_real_tanh=False (QKeras' piecewise-linear tanh), "
            "or use a float Activation('tanh') (lookup table, not bit-exact)")
    slope, _ = _internal_sigmoid(layer, role, q)
    bits = int(q.bits)
    # 2 * clip(a*x + 1/2, 0, 1) - 1 = clip(2a*x, -1, 1); the Quant's clip subsumes it
    if slope != 0.5:
        x = ex.node(layer, "Mul", [x, ex.b.const(2 * slope, "slope")])
    return ex.apply_spec(layer, x, QuantSpec(2.0**(1 - bits), bits, True, bool(q.symmetric)))


def _quantized_sigmoid(ex, layer, x: str, q, role: str) -> str:
    check_deterministic(layer, role, q)
    if q.use_real_sigmoid:
        raise UnsupportedOpError(
            f"{where(layer, role, q)}: use_real_sigmoid=True is a float sigmoid that no "
            "Quant reproduces. Retrain with use_real_sigmoid=False")
    slope, offset = _internal_sigmoid(layer, role, q)
    bits = int(q.bits)
    y = ex.node(layer, "Mul", [x, ex.b.const(slope, "slope")])
    y = ex.node(layer, "Add", [y, ex.b.const(offset, "offset")])
    y = ex.apply_spec(layer, y, QuantSpec(2.0**-bits, bits, False, False))
    if q.symmetric:
        y = ex.node(layer, "Clip", [y, ex.b.const(2.0**-bits, "low")])
    return y


def _bipolar(ex, layer, x: str) -> str:
    """+1 where x >= 0, else -1 (a BipolarQuant of scale 1)."""
    return ex.apply_spec(layer, x, QuantSpec(1.0, 1, True, False, bipolar=True))


def _scaled(ex, layer, y: str, factor: float) -> str:
    return y if factor == 1.0 else ex.node(layer, "Mul", [y, ex.b.const(factor, "alpha")])


def _binary(ex, layer, x: str, q, role: str) -> str:
    """QKeras binary: alpha * (x >= 0 ? 1 : -1), or with use_01 alpha * (x >= 0).
    (alpha=None first takes tanh(x), which keeps the sign and, through QKeras'
    straight-through sum, leaves the output exactly +-1.)"""
    check_deterministic(layer, role, q)
    factor = check_alpha(layer, role, q, weights=False)
    y = _bipolar(ex, layer, x)
    if q.use_01:
        y = ex.node(layer, "Add", [y, ex.b.const(1.0, "one")])
        factor *= 0.5
    return _scaled(ex, layer, y, factor)


def _ternary(ex, layer, x: str, q, role: str) -> str:
    """QKeras ternary: alpha * sign(x) * (|x| >= t), t the float32 threshold (0.33 by
    default), with ties (|x| == t) going to +-alpha: half the difference of
    [x >= t] and [x <= -t], each an exact BipolarQuant of x - t and -t - x."""
    check_deterministic(layer, role, q)
    factor = check_alpha(layer, role, q, weights=False)
    threshold = q.default_threshold if q.threshold is None else q.threshold
    if isinstance(threshold, str) or np.size(threshold) != 1 or \
            not np.isfinite(np.float32(np.asarray(threshold, dtype=np.float64).item())):
        raise UnsupportedOpError(
            f"{where(layer, role, q)}: threshold={threshold!r} is not one finite number. "
            "Retrain with a single threshold (e.g. threshold=0.5)")
    t32 = float(np.float32(np.asarray(threshold, dtype=np.float64).item()))
    t = t32 if t32 > 0 else 0.0  # |x| >= t <= 0 always holds: sign(x), 0 at 0
    above = x if t == 0.0 else ex.node(layer, "Sub", [x, ex.b.const(t, "threshold")])
    below = ex.node(layer, "Sub", [ex.b.const(-t, "neg_threshold"), x])
    y = ex.node(layer, "Sub", [_bipolar(ex, layer, above), _bipolar(ex, layer, below)])
    return _scaled(ex, layer, y, 0.5 * factor)


def _not_positive(ex, layer, x: str) -> str:
    """+1 where x <= 0, else -1."""
    return _bipolar(ex, layer, ex.node(layer, "Mul", [x, ex.b.const(-1.0, "minus_one")]))


def _binary_tanh(ex, layer, x: str, role: str) -> str:
    """QKeras binary_tanh = 2 * round(clip(x/2 + 1/2, 0, 1)) - 1 with round half to
    even: +1 for x > 0, -1 for x <= 0 (-1 at 0). QKeras computes x/2 + 1/2 in float32,
    so it also gives -1 for 0 < x <= 2**-24: equal for inputs of <= 23 fractional bits."""
    return ex.node(layer, "Mul", [_not_positive(ex, layer, x), ex.b.const(-1.0, "minus_one")])


def _binary_sigmoid(ex, layer, x: str, role: str) -> str:
    """QKeras binary_sigmoid = round(clip(x/2 + 1/2, 0, 1)): 1 for x > 0, else 0."""
    y = ex.node(layer, "Sub", [ex.b.const(1.0, "one"), _not_positive(ex, layer, x)])
    return ex.node(layer, "Mul", [y, ex.b.const(0.5, "half")])


FUNCTION_QUANTIZERS = {"binary_tanh": _binary_tanh, "binary_sigmoid": _binary_sigmoid}
"""QKeras' quantizing functions (``qkeras.quantizers``), by name."""

ACTIVATION_QUANTIZERS = {
    "quantized_bits": _quantized_bits,
    "quantized_relu": _quantized_relu,
    "quantized_tanh": _quantized_tanh,
    "quantized_sigmoid": _quantized_sigmoid,
    "binary": _binary,
    "ternary": _ternary,
}

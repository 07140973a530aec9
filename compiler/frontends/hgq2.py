"""HGQ2 layers and quantizers -> QONNX, exactly as HGQ2 computes them at inference.

An HGQ2 fixed-point quantizer holds learned bits per element: keep_negative ``k``,
integer bits ``i`` (without the sign) and fractional bits ``f``; an element with
``k + i + f <= 0`` is pruned (always 0). Its inference is ``round(x * 2^f)`` with
the layer's ``round_mode`` (RND = half up, TRN = floor, RND_CONV = half to even, ...),
then the overflow: WRAP (modulo ``2^(i+k)``), SAT, or SAT_SYM. Those are
``ap_fixed<k+i+f, i+k, AP_<round>, AP_<overflow>>`` element by element.

trigc's IR holds one type per tensor, and QONNX's ``Quant`` has neither WRAP nor
half-up rounding, so the exporter emits a ``Quant`` whose output type it also gives
to trigc directly (``Exporter.types``, carried in the model's metadata and applied
as a precision override by ``trigc.load``):

* same bits on every element: one Quant, typed with the exact HGQ2 type;
* per-element bits: an exact chain in an integer frame, all constants powers of two
  or small integers: ``x * 2^f_e`` -> one integer cast with the rounding (wide enough
  for every element) -> the per-element overflow -> ``* 2^-f_e`` (0 where pruned).
  WRAP shifts each element to the top of a common ``B``-bit word
  (``* 2^(B-b_e)``, unsigned elements offset by ``2^(B-1)``), wraps once at ``B``
  bits and shifts back; SAT clips each element with ``hi - Relu(hi - n)`` and
  ``Relu(n - lo) + lo``. The cost: about 4 (WRAP) or 7 (SAT) element-wise ops per
  quantizer instead of one cast, and the result carries the widest type that holds
  every element.

Weights are HGQ2's own quantized kernels and biases (``layer.qkernel``/``qbias``,
pruned weights are 0), behind a Quant on the finest grid they lie on: exact.
"""

from __future__ import annotations

import numpy as np

from trigc.errors import UnsupportedOpError
from trigc.fixed import FixedType, Overflow, Rounding

ROUNDING = {
    "TRN": Rounding.TRN, "RND": Rounding.RND, "RND_CONV": Rounding.RND_CONV,
    "TRN_ZERO": Rounding.TRN_ZERO, "RND_ZERO": Rounding.RND_ZERO,
    "RND_MIN_INF": Rounding.RND_MIN_INF, "RND_INF": Rounding.RND_INF,
}
OVERFLOW = {"WRAP": Overflow.WRAP, "SAT": Overflow.SAT, "SAT_SYM": Overflow.SAT_SYM}
# floor(x * 2^f + c) roundings survive a first truncation of a float input to a finer
# grid (ties-down or ties-even ones would need to know what the truncation dropped)
FLOOR_BASED = ("TRN", "RND")

# HGQ2 layer -> the Keras layer whose export it shares (same attributes). Not here:
# average pools (HGQ2 divides in float32 before the next quantizer rounds, which a
# fixed-point average would round twice), batch norm, einsum, softmax, tables, RNNs.
WRAPPED = {
    "QDense": "Dense", "QConv1D": "Conv1D", "QConv2D": "Conv2D",
    "QMaxPooling1D": "MaxPooling1D", "QMaxPooling2D": "MaxPooling2D",
    "QGlobalMaxPooling1D": "GlobalMaxPooling1D", "QGlobalMaxPooling2D": "GlobalMaxPooling2D",
    "QAdd": "Add",
}
SUPPORTED = "Quantizer, " + ", ".join(WRAPPED)



def is_hgq_layer(layer) -> bool:
    return type(layer).__module__.split(".")[0] == "hgq"


def _numpy(tensor) -> np.ndarray:
    import keras

    return np.asarray(keras.ops.convert_to_numpy(tensor), dtype=np.float64)


def _where(layer, role: str) -> str:
    return f"HGQ2 layer {layer.name!r} ({type(layer).__name__}), {role} quantizer"


def kif_of(layer, q, shape: tuple, role: str):
    """Per-element (k, i, f) integer arrays of the per-sample ``shape``, and the
    HGQ2 round and overflow modes."""
    from hgq.quantizer.internal.fixed_point_quantizer import FixedPointQuantizerBase

    internal = q.quantizer
    if not isinstance(internal, FixedPointQuantizerBase):
        raise UnsupportedOpError(
            f"{_where(layer, role)}: a {type(internal).__name__} (minifloat) has no "
            "fixed-point form; use q_type='kif' or 'kbi' in the QuantizerConfig")
    if q.scaler is not None or q.affine is not None:
        raise UnsupportedOpError(
            f"{_where(layer, role)}: scaler/affine quantizers are not supported; train "
            "without them")
    round_mode = internal.round_mode.removeprefix("S_")  # stochastic only in training
    overflow = internal.overflow_mode
    if round_mode not in ROUNDING or overflow not in OVERFLOW:
        raise UnsupportedOpError(
            f"{_where(layer, role)}: round_mode {internal.round_mode!r} / overflow_mode "
            f"{overflow!r} has no ap_fixed form here; use round_mode in {sorted(ROUNDING)} "
            f"and overflow_mode in {sorted(OVERFLOW)}")
    full = (1, *shape)
    k, i, f = (np.rint(_numpy(internal.bw_mapper.bw_to_x(a, full))).astype(np.int64)
               .reshape(full)[0] for a in internal.kif)
    k, i, f = np.broadcast_arrays(k, i, f)
    return k.copy(), i.copy(), f.copy(), round_mode, overflow


def exact_type(k: int, i: int, f: int, round_mode: str, overflow: str) -> FixedType:
    return FixedType(bool(k), int(k + i + f), int(i + k), ROUNDING[round_mode],
                     OVERFLOW[overflow])


def quantize(ex, layer, v, q, role: str):
    """Apply HGQ2 quantizer ``q`` (a ``hgq.quantizer.Quantizer``) to Value ``v``."""
    k, i, f, round_mode, overflow = kif_of(layer, q, v.shape, role)
    bits = k + i + f
    alive = bits > 0
    if not alive.any():
        zero = ex.node(layer, "Mul", [v.name, ex.b.const(np.float32(0.0), "pruned")])
        return v._replace(name=zero)
    uniform = all(np.all(a == a.flat[0]) for a in (k, i, f))
    if uniform and alive.all():
        t = exact_type(k.flat[0], i.flat[0], f.flat[0], round_mode, overflow)
        if v.name in ex.input_names:  # the model input itself takes the type
            _claim_input(ex, layer, v.name, role, t)
            alias = ex.b.node("Identity", [v.name], name=ex.unique(f"{layer.name}/Identity"))
            return type(v)(alias, v.shape)  # quantized: a later quantizer chains on it
        group = ex.unique(f"{layer.name}/{role}_quant")
        held = ex.b.node("Mul", [v.name, ex.b.const(np.float32(1.0), "one")],
                         name=f"{group}/Mul")
        return type(v)(_typed_cast(ex, group, held, 2.0 ** -float(f.flat[0]), t), v.shape)
    return _per_element(ex, layer, v, (k, i, f, alive), round_mode, overflow, role)


def _claim_input(ex, layer, name: str, role: str, t: FixedType) -> None:
    if name in ex.types:
        raise UnsupportedOpError(
            f"{_where(layer, role)}: the model input {name!r} feeds more than one HGQ2 "
            "quantizer directly; each rounds the float input its own way, which one "
            "fixed-point input type cannot reproduce. Put one Quantizer layer on the input "
            "before the branches and train again")
    ex.types[name] = t


def _typed_cast(ex, group: str, x: str, scale: float, t: FixedType) -> str:
    """A Quant that trigc gives type ``t``, keyed by its layer ``group`` (the ONNX name
    prefix), never by tensor name: trigc's layout pass moves Transposes through
    element-wise ops, which shifts tensor names by one op but keeps node sources. The
    op before the Quant (``x``'s producer) belongs to ``group`` too, so when trigc fuses
    the cast into it the type stays. Every node of ``group`` takes ``t``: the group
    holds only ops whose result ``t`` re-quantizes to the same bits (a multiply by a
    power of two, an integer offset under WRAP)."""
    y = ex.b.quant(x, scale, t.width, t.signed, False, rounding="FLOOR",
                   name=f"{group}/Quant")
    ex.types[group] = t
    return y


def _per_element(ex, layer, v, kifa, round_mode: str, overflow: str, role: str):
    k, i, f, alive = kifa
    # pruned elements: any valid 1-bit setting; the last multiply zeroes them
    k, i, f = np.where(alive, k, 1), np.where(alive, i, 0), np.where(alive, f, 0)
    bits = k + i + f
    top = int(bits.max())
    x = ex.keras_layout(v, layer)
    if x in ex.input_names:
        if round_mode not in FLOOR_BASED:
            raise UnsupportedOpError(
                f"{_where(layer, role)}: per-element bits on the model input with "
                f"round_mode {round_mode!r}: a float input cannot be rounded exactly that "
                f"way in fixed point; use one of {FLOOR_BASED} or one bit width per input")
        integer = int((i + 1).max())
        # truncating to one more fractional bit than any element keeps floor-based
        # rounding exact; the wrap period / saturation range covers every element's
        _claim_input(ex, layer, x, role, FixedType(
            True, integer + int(f.max()) + 1, integer, Rounding.TRN,
            Overflow.WRAP if overflow == "WRAP" else Overflow.SAT))
    tag = f"{layer.name}_{role}"
    wrap = Overflow.WRAP if overflow == "WRAP" else Overflow.SAT

    def const(values, what):
        return ex.b.const(np.asarray(values, np.float32), f"{tag}_{what}")

    def grouped(group, op_name, a, b):
        return ex.b.node(op_name, [a, b], name=ex.unique(f"{group}/{op_name}"))

    def op(name, a, b):
        return ex.node(layer, name, [a, b])

    rounded = ex.unique(f"{layer.name}/{role}_round")
    width = top if overflow == "WRAP" else top + 1
    n = _typed_cast(ex, rounded, grouped(rounded, "Mul", x, const(2.0 ** f, "frac")), 1.0,
                    FixedType(True, width, width, ROUNDING[round_mode], wrap))
    if overflow == "WRAP":
        unsigned = (1 - k) * 2.0 ** (top - 1)
        wrapped_group = ex.unique(f"{layer.name}/{role}_wrap")
        m = grouped(wrapped_group, "Add",
                    grouped(wrapped_group, "Mul", n, const(2.0 ** (top - bits), "align")),
                    const(-unsigned, "off"))
        w = _typed_cast(ex, wrapped_group, m, 1.0,
                        FixedType(True, top, top, Rounding.TRN, Overflow.WRAP))
        y = op("Mul", op("Add", w, const(unsigned, "on")),
               const(np.where(alive, 2.0 ** (bits - top - f), 0.0), "back"))
    else:
        hi = 2.0 ** (bits - k) - 1
        lo = -k * (2.0 ** (bits - 1) - (1 if overflow == "SAT_SYM" else 0))
        below = op("Sub", const(hi, "hi"), ex.node(layer, "Relu", [op("Sub", const(hi, "hi"), n)]))
        clipped = op("Add", ex.node(layer, "Relu", [op("Sub", below, const(lo, "lo"))]),
                     const(lo, "lo"))
        y = op("Mul", clipped, const(np.where(alive, 2.0 ** -f, 0.0), "back"))
    return type(v)(y, v.shape)


def exact_weight(ex, layer, values: np.ndarray, role: str) -> str:
    """HGQ2's quantized constant, behind a Quant on the finest power-of-two grid it
    lies on (so trigc types it exactly)."""
    values = np.asarray(values, np.float64)
    name = ex.b.const(values, f"{layer.name}_{role}")
    nonzero = values[values != 0]
    if nonzero.size == 0:
        return name
    def on_grid(frac: int) -> bool:
        scaled = np.ldexp(nonzero, frac)
        return bool(np.all(scaled == np.rint(scaled)))

    frac = 0
    while frac < 64 and not on_grid(frac):
        frac += 1
    while frac > -64 and on_grid(frac - 1):
        frac -= 1
    top = int(np.abs(np.ldexp(nonzero, frac)).max())
    bits = top.bit_length() + 1
    return ex.b.quant(name, 2.0 ** -frac, bits, True, False,
                      name=ex.unique(f"{layer.name}/{role.capitalize()}Quant"))


def hgq_weight(layer, role: str) -> np.ndarray:
    if role == "kernel":
        return _numpy(layer.qkernel)
    if role == "bias":
        return _numpy(layer.qbias)
    raise UnsupportedOpError(f"HGQ2 layer {layer.name!r}: {role} weights are not supported")


def _input_quantizers(layer) -> list:
    if not getattr(layer, "enable_iq", False):
        return []
    iq = layer.iq
    return list(iq) if hasattr(iq, "quantizers") else [iq]


def wrapped(base_handler):
    """An HGQ2 layer as its Keras base layer between its input and output quantizers."""
    def handler(ex, layer, ins, shape):
        quantizers = _input_quantizers(layer)
        if quantizers:
            ins = [quantize(ex, layer, v, q, "input") for v, q in zip(ins, quantizers)]
        y = base_handler(ex, layer, ins, shape)
        if getattr(layer, "enable_oq", False):
            y = quantize(ex, layer, y, layer.oq, "output")
        return y
    return handler


def quantizer_layer(ex, layer, ins, shape):
    return quantize(ex, layer, ins[0], layer, "activation")


def layers(keras_layers: dict) -> dict:
    """Handlers for the HGQ2 layer classes, from the plain Keras handlers."""
    table = {name: wrapped(keras_layers[base]) for name, base in WRAPPED.items()}
    table["Quantizer"] = quantizer_layer
    return table

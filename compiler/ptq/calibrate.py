"""Calibrated post-training quantization: every type of a float model from its values
on calibration data (``trigc.load/compile(..., calibration=x)``, ``trigc compile
--calibration x.npy``).

1. The float forward pass (:func:`trigc.ptq.profile`) records the range of every
   tensor; ranges are attributed to the firmware tensor that carries those values
   after trigc's passes (a Dense folded with its BatchNorm carries the post-BN range).
2. The model is imported and lowered up to precision inference. Every float constant
   (the *folded* weights and biases) that ``bits`` bits cannot hold exactly is rounded
   to its own ``bits``-bit type (integer bits from its largest magnitude, ``RND_CONV``,
   ``SAT``); a per-channel scale (a Mul's constant) keeps ``bits`` significant bits
   per element.
3. The input and every float layer output get a ``bits``-bit type whose integer bits
   hold the observed range (``RND``, ``SAT``: a held-out value past the calibration
   range saturates instead of wrapping); an (N, F) input whose features span very
   different ranges gets up to 8 more fractional bits. Accumulators keep trigc's
   exact types (no overflow).
4. The compiled model runs on the calibration data; the argmax agreement with the
   float model is logged and returned in :class:`Calibration`. With ``target``, the
   narrowest width whose agreement reaches it is chosen.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from trigc.api import SPECIAL_KEYS, parse_precision, to_onnx
from trigc.emulator import emulate
from trigc.errors import ConfigError
from trigc.fixed import FixedType, Overflow, Rounding, quantize, to_float
from trigc.frontends.onnx_import import import_onnx
from trigc.ir.graph import Graph
from trigc.ir.ops import Op
from trigc.ir.verify import verify
from trigc.ops.softmax import set_softmax_modes
from trigc.passes.infer_precision import infer_precision
from trigc.ptq.forward import OrtRunner, QonnxRunner, forward
from trigc.ptq.lowering import BEFORE_PRECISION
from trigc.ptq.model import check_data, model_inputs, read_model_and_name, uses_custom_ops
from trigc.ptq.profile import profile
from trigc.ptq.result import Profile
from trigc.ptq.types import suggest_type
from trigc.target import check_softmax_mode

log = logging.getLogger(__name__)

DEFAULT_BITS = 16
#: the widths ``target`` searches, narrowest first
SEARCH_BITS = tuple(range(4, 33))
ACTIVATION_MODES = (Rounding.RND, Overflow.SAT)
WEIGHT_MODES = (Rounding.RND_CONV, Overflow.SAT)


@dataclass
class Calibration:
    """What calibrated PTQ chose and how close the result is to the float model."""

    graph: Graph
    bits: int
    agreement: float | None        # on the calibration data; None: no output to compare
    max_error: float               # max |float output - trigc output| on that data
    n_samples: int
    types: dict[str, str]          # precision key (input, layer outputs) -> type
    weight_types: dict[str, str]   # rounded float constant -> type
    tried: list[tuple[int, float | None]] = field(default_factory=list)
    target: float | None = None

    def summary(self) -> str:
        """The chosen widths and the agreement, a few lines for a log or a terminal."""
        agree = ("n/a" if self.agreement is None else f"{100 * self.agreement:.2f}%")
        lines = [f"calibrated PTQ: {self.bits}-bit types, argmax agreement with the float "
                 f"model {agree} on {self.n_samples} calibration samples (max |error| of "
                 f"the output {self.max_error:.3g})"]
        if self.target is not None and len(self.tried) > 1:
            lines.append("  widths tried: " + ", ".join(
                f"{b}: {'n/a' if a is None else f'{100 * a:.2f}%'}" for b, a in self.tried))
        for key, t in self.types.items():
            lines.append(f"  {key}: {t}")
        if self.weight_types:
            lines.append(f"  {len(self.weight_types)} float constants rounded: " + ", ".join(
                f"{k}: {v}" for k, v in self.weight_types.items()))
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"bits": self.bits, "agreement": self.agreement, "max_error": self.max_error,
                "n_samples": self.n_samples, "types": dict(self.types),
                "weight_types": dict(self.weight_types), "target": self.target,
                "tried": [list(t) for t in self.tried]}


def check_knobs(bits, target) -> tuple[list[int], float | None]:
    """The widths to try, or a ``ConfigError`` naming the bad knob."""
    if bits is not None and (not isinstance(bits, int) or isinstance(bits, bool)
                             or not 2 <= bits <= 64):
        raise ConfigError(f"calibration_bits must be an integer between 2 and 64, not "
                          f"{bits!r}")
    if target is not None:
        try:
            target = float(target)
        except (TypeError, ValueError):
            raise ConfigError(f"calibration_target must be an agreement in (0, 1], e.g. "
                              f"0.99, not {target!r}") from None
        if not 0 < target <= 1:
            raise ConfigError(f"calibration_target must be an agreement in (0, 1], e.g. "
                              f"0.99, not {target!r}")
        cap = 32 if bits is None else bits
        return [b for b in SEARCH_BITS if b < cap] + [cap], target
    return [DEFAULT_BITS if bits is None else bits], None


def calibration_arrays(proto, data) -> dict[str, np.ndarray]:
    """The calibration data checked against the model's inputs (shape, NaN, empty)."""
    try:
        return check_data(proto, data)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace("Profiling data", "Calibration data", 1)
                          .replace("profiling data", "calibration data")) from None


def calibrate(model, data, *, bits: int | None = None, target: float | None = None,
              precision: Mapping | None = None, name: str | None = None,
              example_input=None, custom_objects=None, softmax=None) -> Calibration:
    """Compile a float model with every type set from ``data`` (an (N, ...) array, or
    {input name: array}); see the module docstring. ``bits``: the width of every
    type (default 16). ``target``: the smallest argmax agreement (e.g. 0.99) to reach
    on ``data``; the narrowest width from 4 up to ``bits`` (default 32) that reaches it
    is chosen. ``precision`` overrides any chosen type and ``softmax`` picks the
    Softmax mode, as in :func:`trigc.load`."""
    widths, target = check_knobs(bits, target)
    proto = to_onnx(model, example_input, custom_objects)
    proto, model_name = read_model_and_name(proto)
    arrays = calibration_arrays(proto, data)
    user = parse_precision(precision)
    prof = profile(proto, arrays, width=min(widths))
    reference = _float_outputs(proto, arrays)
    inputs = [arrays[vi.name] for vi in model_inputs(proto)]
    n = int(inputs[0].shape[0])
    tried: list[tuple[int, float | None]] = []
    best = None
    for width in widths:
        graph, types, weight_types = _compile(proto, name or model_name, prof, width, user,
                                              arrays, softmax)
        agreed, max_error = _agreement(graph, inputs, reference)
        tried.append((width, agreed))
        best = Calibration(graph, width, agreed, max_error, n, types, weight_types,
                           tried, target)
        if target is None or agreed is None or agreed >= target:
            break
    if target is not None and best.agreement is not None and best.agreement < target:
        log.warning("calibrated PTQ: no width up to %d bits reaches %.2f%% agreement "
                    "(%.2f%% at %d bits); raise calibration_bits", widths[-1],
                    100 * target, 100 * best.agreement, best.bits)
    for line in best.summary().splitlines():
        log.info("%s", line)
    if best.graph.precision_report:
        log.info("calibrated PTQ: %d layer outputs saturate values beyond the calibration "
                 "range (graph.precision_report)", len(best.graph.precision_report))
    best.graph.calibration = best
    return best


def _float_outputs(proto, arrays: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The float model's outputs on the calibration data."""
    names = [vi.name for vi in proto.graph.output]
    runner = (QonnxRunner if uses_custom_ops(proto) else OrtRunner)(proto, names)
    chunks: dict[str, list[np.ndarray]] = {k: [] for k in names}
    for _, out in forward(runner, arrays, 4096):
        for k in names:
            chunks[k].append(np.asarray(out[k], dtype=np.float64))
    return [np.concatenate(chunks[k]) for k in names]


def _compile(proto, name: str, prof: Profile, width: int, user: dict[str, FixedType],
             arrays: Mapping[str, np.ndarray],
             softmax=None) -> tuple[Graph, dict[str, str], dict[str, str]]:
    """The final IR with ``width``-bit calibrated types (and the user's overrides)."""
    graph = import_onnx(proto, name=name)
    known = set(graph.tensors) | {n.name for n in graph.nodes} | {n.source for n in graph.nodes}
    unknown = sorted(set(user) - known - set(SPECIAL_KEYS))
    if unknown:
        raise ConfigError(
            f"Precision config names {unknown}, which are not tensors, nodes or layers of "
            f"the model; known layers: {sorted({n.source for n in graph.nodes})}")
    if softmax is not None:
        set_softmax_modes(graph, check_softmax_mode(softmax, "softmax"))
    for run_pass in BEFORE_PRECISION:
        run_pass(graph)
    weight_types = _round_constants(graph, width)
    types = activation_types(prof, width, arrays)
    graph.precision_overrides = {**types, **user}
    # A calibrated type is sized for the observed range, not the worst case, and
    # saturates beyond it: precision_report lists those layers; one log line says so.
    quiet = logging.getLogger(infer_precision.__module__)
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        infer_precision(graph)
    finally:
        quiet.setLevel(level)
    verify(graph, final=True)
    return graph, {k: str(t) for k, t in types.items()}, weight_types


def activation_types(prof: Profile, width: int,
                     arrays: Mapping[str, np.ndarray] | None = None) -> dict[str, FixedType]:
    """{precision key: ``width``-bit type holding the observed range} of the model's
    untyped inputs and every float layer output in the firmware. An input whose
    features span very different ranges (unstandardized physics features: a pT in
    hundreds of GeV beside an angle below 0.1) gets more fractional bits, so that its
    narrowest feature keeps as many significant bits as its widest one, up to
    ``INPUT_EXTRA_BITS`` more."""
    rounding, overflow = ACTIVATION_MODES
    types: dict[str, FixedType] = {}
    for t in prof.tensors:
        if t.kind == "input" and t.name in prof.input_keys:
            key = prof.input_keys[t.name]
        elif t.kind == "activation" and t.in_config:
            key = t.config_key
        else:
            continue
        typ = suggest_type(t.min, t.max, width, rounding=rounding, overflow=overflow)
        if t.kind == "input" and arrays is not None and t.name in arrays:
            extra = _feature_extra_bits(arrays[t.name])
            typ = FixedType(typ.signed, typ.width + extra, typ.integer_bits, rounding,
                            overflow)
        types[key] = typ
    return types


#: at most this many bits more than ``bits`` for an input of unequal features
INPUT_EXTRA_BITS = 8


def _feature_extra_bits(x: np.ndarray) -> int:
    """Fractional bits to add so that the feature of an (N, F) input with the
    smallest range keeps as many significant bits as the widest one, at most
    ``INPUT_EXTRA_BITS`` (0 for images and other inputs of higher rank)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        return 0
    peaks = np.max(np.abs(x), axis=0)
    peaks = peaks[peaks > 0]
    if peaks.size == 0:
        return 0
    needed = int(np.frexp(peaks.max())[1] - np.frexp(peaks.min())[1])
    return int(min(max(needed, 0), INPUT_EXTRA_BITS))


def _round_constants(graph: Graph, width: int) -> dict[str, str]:
    """Round every float constant that ``width`` bits cannot hold exactly; the values
    stay untyped, so precision inference gives them their narrowest exact type.

    A weight or bias gets one ``width``-bit type (integer bits from its largest
    magnitude); a per-channel scale (the constant of a Mul, e.g. a BatchNorm with
    nothing to fold into) keeps ``width`` significant bits per element, since each
    channel's relative error passes on to the whole channel."""
    rounding, overflow = WEIGHT_MODES
    rounded: dict[str, str] = {}
    for t in graph.tensors.values():
        if not t.is_constant or t.type is not None or t.value is None or t.value.size == 0:
            continue
        value = np.asarray(t.value, dtype=np.float64)
        if not np.all(np.isfinite(value)):
            continue
        if any(u.op is Op.MUL for u in t.users):
            approx = _significant_bits(value, width)
            label = f"{width} significant bits per element"
        else:
            wt = suggest_type(float(value.min()), float(value.max()), width,
                              rounding=rounding, overflow=overflow)
            approx, label = to_float(quantize(value, wt), wt), str(wt)
        if not np.array_equal(approx, value):
            t.value = approx
            rounded[t.name] = label
    return rounded


def _significant_bits(value: np.ndarray, width: int) -> np.ndarray:
    """Each element rounded (half to even) to ``width`` bits: sign and ``width - 1``
    significant bits."""
    mantissa, exponent = np.frexp(value)
    scale = float(2 ** (width - 1))
    return np.ldexp(np.round(mantissa * scale) / scale, exponent)


def _agreement(graph: Graph, inputs: list[np.ndarray],
               reference: list[np.ndarray]) -> tuple[float | None, float]:
    """Argmax agreement of the first output (for a one-value output: agreement of
    ``y > 0``, or ``y > 0.5`` when the float output is never negative) and the max
    absolute error of every output."""
    got = emulate(graph, *inputs)
    got = got if isinstance(got, list) else [got]
    max_error = max(float(np.max(np.abs(g.reshape(r.shape) - r))) if r.size else 0.0
                    for g, r in zip(got, reference))
    return agreement(reference[0], got[0].reshape(reference[0].shape)), max_error


def agreement(reference: np.ndarray, got: np.ndarray) -> float | None:
    """Fraction of samples where ``got`` makes the float model's decision: the same
    argmax over the last axis, or for one value per sample the same side of 0 (0.5
    for a never-negative output, e.g. a sigmoid)."""
    ref = np.asarray(reference, dtype=np.float64)
    out = np.asarray(got, dtype=np.float64)
    if ref.ndim == 0 or ref.shape[0] == 0:
        return None
    ref, out = ref.reshape(ref.shape[0], -1), out.reshape(out.shape[0], -1)
    if ref.shape[1] == 1:
        cut = 0.5 if ref.min() >= 0 else 0.0
        return float(np.mean((ref[:, 0] > cut) == (out[:, 0] > cut)))
    return float(np.mean(ref.argmax(axis=1) == out.argmax(axis=1)))


def check_agreement(calibration: Calibration, model, data, example_input=None,
                    custom_objects=None) -> float | None:
    """The argmax agreement of the calibrated graph with the float ``model`` on other
    (e.g. held-out) ``data``."""
    proto = to_onnx(model, example_input, custom_objects)
    proto, _ = read_model_and_name(proto)
    arrays = calibration_arrays(proto, data)
    reference = _float_outputs(proto, arrays)
    inputs = [arrays[vi.name] for vi in model_inputs(proto)]
    return _agreement(calibration.graph, inputs, reference)[0]


__all__ = ["DEFAULT_BITS", "Calibration", "activation_types", "agreement", "calibrate",
           "check_agreement", "check_knobs"]

"""``profile(model, data)``: the float forward pass on calibration data, a profile row
per tensor (model inputs, node outputs, weights and biases) and what the precision
config does with each."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import numpy_helper

from trigc.errors import ConfigError
from trigc.fixed import Overflow, Rounding
from trigc.ptq.forward import OrtRunner, QonnxRunner, forward
from trigc.ptq.lowering import FIRMWARE_LAYOUT_OPS, Lowering, lower
from trigc.ptq.model import (LAYOUT_OPS, QUANT_OPS, check_data, constant_names, float_derived,
                             model_inputs, read_model_and_name, uses_custom_ops, weight_roles)
from trigc.ptq.result import (NOTE_CONFIG, NOTE_EXACT, NOTE_EXACT_CONST, NOTE_FUSED,
                              NOTE_LAYOUT, NOTE_QUANT, NOTE_QUANT_INPUT, NOTE_WEIGHT, Profile,
                              TensorProfile)
from trigc.ptq.stats import MAX_VALUES, Stats, tensor_profile
from trigc.ptq.types import DEFAULT_WIDTH, parse_overflow, parse_rounding

EXECUTORS = ("auto", "onnxruntime", "qonnx")


@dataclass
class Options:
    """The checked options of one profile (see :func:`profile`)."""

    width: int = DEFAULT_WIDTH
    percentile: float | None = None
    margin: int = 0
    rounding: Rounding = Rounding.TRN
    overflow: Overflow = Overflow.WRAP
    executor: str = "auto"
    batch_size: int = 4096
    max_values: int = MAX_VALUES


def check_options(width, percentile, margin, rounding, overflow, executor, batch_size,
                  max_values) -> Options:
    """The options as :class:`Options`, or a ``ConfigError`` naming the bad one."""
    if not isinstance(width, int) or isinstance(width, bool) or not 1 <= width <= 1024:
        raise ConfigError(f"width must be an integer between 1 and 1024, not {width!r}")
    if percentile is not None:
        try:
            percentile = float(percentile)
        except (TypeError, ValueError):
            raise ConfigError(f"percentile must be a number in (0, 100], not "
                              f"{percentile!r}") from None
        if not 0 < percentile <= 100:
            raise ConfigError(f"percentile must be in (0, 100], not {percentile!r}")
    if not isinstance(margin, int) or margin < 0:
        raise ConfigError(f"margin must be a non-negative integer, not {margin!r}")
    rounding = parse_rounding(rounding)
    overflow = parse_overflow(
        overflow if overflow is not None else ("SAT" if percentile is not None else "WRAP"))
    if executor not in EXECUTORS:
        raise ConfigError(f"executor must be 'auto', 'onnxruntime' or 'qonnx', not "
                          f"{executor!r}")
    return Options(width, percentile, margin, rounding, overflow, executor, batch_size,
                   max_values)


@dataclass
class _Run:
    """What one profile learned about the model, shared by the row builders."""

    proto: onnx.ModelProto
    options: Options
    input_names: list[str]
    roles: dict[str, tuple[str, str, str]]
    op_of: dict[str, str] = field(default_factory=dict)
    stats: dict[str, Stats] = field(default_factory=dict)
    const_values: dict[str, np.ndarray] = field(default_factory=dict)
    lowering: Lowering | None = None
    tainted: set[str] = field(default_factory=set)
    quant_outputs: set[str] = field(default_factory=set)


def profile(model, data, *, width: int = DEFAULT_WIDTH, percentile: float | None = None,
            margin: int = 0, rounding="TRN", overflow=None, executor: str = "auto",
            batch_size: int = 4096, max_values: int = MAX_VALUES) -> Profile:
    """Profile the float forward pass of an ONNX/QONNX model (path or ModelProto) on
    ``data`` (an (N, ...) float array, or {input name: array} for several inputs).

    ``width``: total bits of every suggested type. ``percentile`` (e.g. 99.99): size
    integer bits for that percentile of |x| instead of max |x|, saturating outliers.
    ``margin``: extra integer bits. ``rounding``/``overflow``: modes of the suggested
    activation types (default TRN, and WRAP, or SAT with ``percentile``); weights use
    RND_CONV/SAT, as trigc does when it rounds float constants. ``executor``:
    ``'auto'``, ``'onnxruntime'`` or ``'qonnx'``. Min/max are exact; percentiles come
    from at most ``max_values`` evenly strided values per tensor."""
    opts = check_options(width, percentile, margin, rounding, overflow, executor,
                         batch_size, max_values)
    proto, name = read_model_and_name(model)
    arrays = check_data(proto, data)
    n = next(iter(arrays.values())).shape[0]
    if any(a.shape[0] != n for a in arrays.values()):
        raise ConfigError("Every input's profiling data needs the same number of samples: "
                          f"{ {k: v.shape for k, v in arrays.items()} }")
    if opts.executor == "auto":
        opts.executor = "qonnx" if uses_custom_ops(proto) else "onnxruntime"
    const = constant_names(proto)
    run = _Run(proto, opts, [vi.name for vi in model_inputs(proto)],
               weight_roles(proto, const))
    _observe(run, arrays, n, const)
    run.lowering = lower(proto)
    run.tainted = float_derived(proto, opts.width)
    run.quant_outputs = {o for node in proto.graph.node if node.op_type in QUANT_OPS
                         for o in node.output}
    result, input_keys = _input_rows(run)
    for node in proto.graph.node:
        result.extend(_weight_rows(run, node))
        result.extend(_activation_rows(run, node, result))
    return Profile(model=name, tensors=result, n_samples=int(n), width=opts.width,
                   percentile=opts.percentile, executor=opts.executor, input_keys=input_keys,
                   lowering_error=run.lowering.error)


def _observe(run: _Run, arrays: dict[str, np.ndarray], n: int, const: set[str]) -> None:
    """Run the float forward pass: statistics of every input and float activation, and
    the values of weights computed from initializers."""
    proto, opts = run.proto, run.options
    act_names: list[str] = []
    for node in proto.graph.node:
        for o in node.output:
            if o and o not in const:
                act_names.append(o)
                run.op_of[o] = node.op_type
    act_names = list(dict.fromkeys(act_names))
    initializers = {i.name for i in proto.graph.initializer}
    computed_consts = [c for c in run.roles if c not in initializers]
    runner = (QonnxRunner if opts.executor == "qonnx" else OrtRunner)(
        proto, act_names + computed_consts)
    run.const_values = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer
                        if i.name in run.roles}
    for name in run.input_names:
        a = arrays[name]
        run.stats[name] = _new_stats(a.size, a.shape[1:], opts.max_values)
        run.stats[name].add(a)
    for rows, out in forward(runner, arrays, opts.batch_size):
        for t in act_names:
            v = out.get(t)
            if v is None or not np.issubdtype(np.asarray(v).dtype, np.floating):
                continue
            v = np.asarray(v)
            if t not in run.stats:
                per_sample = v.size // max(rows, 1)
                run.stats[t] = _new_stats(per_sample * n, v.shape[1:], opts.max_values)
            run.stats[t].add(v)
        for c in computed_consts:
            if c not in run.const_values and c in out:
                run.const_values[c] = np.asarray(out[c])


def _new_stats(total: int, shape: tuple, max_values: int) -> Stats:
    st = Stats(math.ceil(total / max_values))
    st.shape = shape
    return st


def _input_rows(run: _Run) -> tuple[list[TensorProfile], dict[str, str]]:
    """The model inputs' rows, and the config key of each input without a type."""
    opts, input_types = run.options, run.lowering.input_types
    untyped = [t for t in run.input_names if t in run.tainted and (
        input_types is None or input_types.get(t) is None)]
    if input_types is None:  # not lowered: an input feeding only Quant nodes has a type
        untyped = [t for t in untyped if any(
            node.op_type not in QUANT_OPS for node in run.proto.graph.node if t in node.input)]
    rows, input_keys = [], {}
    for t in run.input_names:
        tp = tensor_profile(t, "input", "input", "input", run.stats[t], opts.width,
                            opts.percentile, opts.rounding, opts.overflow, opts.margin)
        if t in untyped:
            input_keys[t] = "input" if len(untyped) == 1 else t
            tp.note = NOTE_CONFIG
        else:
            tp.note = NOTE_QUANT_INPUT
        rows.append(tp)
    return rows, input_keys


def _weight_rows(run: _Run, node: onnx.NodeProto) -> list[TensorProfile]:
    """Rows of the weights and biases ``node`` consumes (RND_CONV/SAT types, as trigc
    rounds float constants)."""
    rows = []
    for c in node.input:
        if not (c in run.roles and run.roles[c][2] == node.output[0] and c in run.const_values):
            continue
        kind, op, out_t = run.roles[c]
        # the lowered graph's value: a BatchNorm folded into the layer scales it
        folded = run.lowering.constants.get(c)
        value = np.asarray(run.const_values[c] if folded is None or folded.size !=
                           np.size(run.const_values[c]) else folded, dtype=np.float64)
        if value.size == 0 or not np.all(np.isfinite(value)):
            continue
        st = _new_stats(value.size, value.shape, run.options.max_values)
        st.add(value)
        tp = tensor_profile(c, run.lowering.layers.get(out_t, ""), kind, op, st,
                            run.options.width, None, Rounding.RND_CONV, Overflow.SAT, 0)
        if c in run.tainted:
            tp.note = NOTE_WEIGHT         # float: rounded by the 'weights' key
        elif c in run.quant_outputs:
            tp.note = NOTE_QUANT          # a Quant on the weights
        else:
            tp.note = NOTE_EXACT_CONST    # a narrow type holds it exactly
        rows.append(tp)
    return rows


def _activation_rows(run: _Run, node: onnx.NodeProto,
                     done: list[TensorProfile]) -> list[TensorProfile]:
    """Rows of ``node``'s float outputs not profiled yet, with their config notes."""
    opts = run.options
    rows = []
    for o in node.output:
        if o not in run.stats or o in run.input_names or any(
                r.name == o for r in (*done, *rows)):
            continue
        tp = tensor_profile(o, run.lowering.layers.get(o, ""), "activation", run.op_of[o],
                            run.stats[o], opts.width, opts.percentile, opts.rounding,
                            opts.overflow, opts.margin)
        _note_activation(run, node, o, tp)
        rows.append(tp)
    return rows


def _note_activation(run: _Run, node: onnx.NodeProto, o: str, tp: TensorProfile) -> None:
    """What precision_config() does with activation ``o``."""
    firmware = run.lowering.firmware
    fw = None if firmware is None else firmware.get(o)
    if node.op_type in QUANT_OPS:
        tp.note = NOTE_QUANT
    elif node.op_type in LAYOUT_OPS:
        tp.note = NOTE_LAYOUT
    elif firmware is not None and fw is None:
        tp.note = NOTE_FUSED
    elif fw is not None and fw[1] in FIRMWARE_LAYOUT_OPS:
        tp.note = NOTE_LAYOUT
    elif fw is not None and fw[1] == "Cast":
        tp.note = NOTE_QUANT
    elif o not in run.tainted:
        tp.note = NOTE_EXACT
    else:
        tp.note = NOTE_CONFIG
        if fw is not None:
            tp.key = fw[0]


__all__ = ["EXECUTORS", "Options", "check_options", "profile"]

"""What profiling needs to know about an ONNX model: its inputs and the calibration
data for them, its constants and which of them are weights and biases, and which
tensors depend on unquantized (float) values."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from trigc.errors import ConfigError, ModelError, TrigcError
from trigc.fixed import constant_type
from trigc.frontends.onnx_validate import read_model

QUANT_OPS = ("Quant", "BipolarQuant", "Trunc")
LINEAR_OPS = ("MatMul", "Gemm", "Conv")
LAYOUT_OPS = ("Reshape", "Transpose", "Concat", "Flatten", "Identity", "Dropout")
STANDARD_DOMAINS = ("", "ai.onnx")


def read_model_and_name(model) -> tuple[onnx.ModelProto, str]:
    proto = read_model(model)
    name = Path(model).stem if isinstance(model, (str, Path)) else (proto.graph.name or "model")
    return proto, name


def model_inputs(proto: onnx.ModelProto) -> list:
    inits = {i.name for i in proto.graph.initializer}
    return [vi for vi in proto.graph.input if vi.name not in inits]


def _dims(vi) -> list:
    return [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
            for d in vi.type.tensor_type.shape.dim]


def _np_dtype(vi):
    try:
        dt = onnx.helper.tensor_dtype_to_np_dtype(vi.type.tensor_type.elem_type)
    except Exception:  # unknown element type
        return np.float32
    return dt if np.issubdtype(dt, np.floating) else np.float32


def check_data(proto: onnx.ModelProto, data) -> dict[str, np.ndarray]:
    inputs = model_inputs(proto)
    if not inputs:
        raise ModelError("The model has no non-constant input")
    names = [vi.name for vi in inputs]
    if isinstance(data, Mapping):
        missing = [n for n in names if n not in data]
        extra = [k for k in data if k not in names]
        if missing or extra:
            raise ConfigError(f"Profiling data is keyed {sorted(data)}; the model's inputs "
                              f"are {names}")
        arrays = dict(data)
    else:
        if len(inputs) != 1:
            raise ConfigError(f"The model has {len(inputs)} inputs {names}; pass the profiling "
                              "data as a dict {input name: array}")
        arrays = {names[0]: data}
    out = {}
    for vi in inputs:
        dims = _dims(vi)
        per_sample = dims[1:]
        expected = "(N, " + ", ".join("?" if d is None else str(d) for d in per_sample) + ")"
        if len(per_sample) == 0:
            expected = "(N,)"
        try:
            x = np.asarray(arrays[vi.name])
        except Exception as exc:
            raise ConfigError(f"Profiling data for input {vi.name!r} is not an array: "
                              f"{exc}") from None
        if x.dtype.kind not in "fiub":
            raise ConfigError(f"Profiling data for input {vi.name!r} has dtype {x.dtype}; "
                              f"expected a float array of shape {expected}")
        if x.ndim == len(per_sample) and all(d is None or d == s
                                              for d, s in zip(per_sample, x.shape)):
            raise ConfigError(f"Profiling data for input {vi.name!r} has shape {x.shape}, "
                              f"one sample without the batch axis; expected {expected} "
                              "(use x[None] for a single sample)")
        if x.ndim != len(dims) or any(d is not None and d != s
                                      for d, s in zip(per_sample, x.shape[1:])):
            raise ConfigError(f"Profiling data for input {vi.name!r} has shape {x.shape}; "
                              f"the model expects {expected}")
        if x.shape[0] == 0:
            raise ConfigError(f"Profiling data for input {vi.name!r} is empty (shape "
                              f"{x.shape}); expected {expected} with N >= 1")
        bad = ~np.isfinite(x.astype(np.float64, copy=False))
        if bad.any():
            n_nan = int(np.count_nonzero(np.isnan(x.astype(np.float64, copy=False))))
            raise ConfigError(f"Profiling data for input {vi.name!r} (shape {x.shape}, "
                              f"expected {expected}) holds {n_nan} NaN and "
                              f"{int(bad.sum()) - n_nan} infinite values; clean it first")
        out[vi.name] = x.astype(_np_dtype(vi), copy=False)
    return out


def constant_names(proto: onnx.ModelProto) -> set[str]:
    """Initializers and everything computed only from them."""
    const = {i.name for i in proto.graph.initializer}
    for node in proto.graph.node:
        ins = [n for n in node.input if n]
        if all(n in const for n in ins):
            const.update(o for o in node.output if o)
    return const



def float_derived(proto: onnx.ModelProto, width: int) -> set[str]:
    """Tensors whose values depend on unquantized data: the model inputs and float
    constants that no ``width``-bit type holds exactly, through every op but the
    QONNX quantizers."""
    tainted = {vi.name for vi in model_inputs(proto)}
    for init in proto.graph.initializer:
        if init.data_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE,
                              onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16):
            try:
                constant_type(numpy_helper.to_array(init), max_width=width)
            except TrigcError:
                tainted.add(init.name)
    for node in proto.graph.node:
        if node.op_type in QUANT_OPS:
            continue
        if any(n in tainted for n in node.input if n):
            tainted.update(o for o in node.output if o)
    return tainted


def weight_roles(proto: onnx.ModelProto, const: set[str]) -> dict[str, tuple[str, str, str]]:
    """{constant tensor: (kind, op, output of the consuming node)} for the weights and
    biases of MatMul/Gemm/Conv (and the constant of a bias Add after them)."""
    producer = {o: node for node in proto.graph.node for o in node.output}
    roles: dict[str, tuple[str, str, str]] = {}
    for node in proto.graph.node:
        if node.op_type in LINEAR_OPS:
            for i, n in enumerate(node.input):
                if n and n in const and n not in roles:
                    roles[n] = ("bias" if i == 2 else "weight", node.op_type, node.output[0])
        elif node.op_type in ("Add", "Sub") and len(node.input) == 2:
            a, b = node.input
            for c, other in ((a, b), (b, a)):
                p = producer.get(other)
                if c in const and other not in const and p is not None \
                        and p.op_type in LINEAR_OPS and c not in roles:
                    roles[c] = ("bias", node.op_type, node.output[0])
    return roles


# ---- forward passes -----------------------------------------------------------

def uses_custom_ops(proto: onnx.ModelProto) -> bool:
    return any(node.domain not in STANDARD_DOMAINS for node in proto.graph.node)


__all__ = ["LAYOUT_OPS", "LINEAR_OPS", "QUANT_OPS", "check_data", "constant_names",
           "float_derived", "model_inputs", "read_model_and_name", "uses_custom_ops",
           "weight_roles"]

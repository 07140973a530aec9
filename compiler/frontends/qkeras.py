"""QKeras / Keras models -> QONNX: trigc's own exporter.

``to_qonnx(model)`` walks the Keras layer graph (Sequential or functional, with
branches and several outputs) and emits ONNX opset-13 nodes plus QONNX ``Quant``
nodes, one group of nodes per layer, named ``"<layer>/<Op>"`` so that trigc's
reports speak the user's layer names. Quantizers map exactly or raise
(``qkeras_quantizers``): weights are exported as the values QKeras itself
multiplies with, behind the (per-channel) Quant whose grid they lie on.

Layout: tensors keep the Keras (channels-last) layout at the model's inputs and
outputs and wherever layout matters (Dense, Flatten, Reshape, Add, Concatenate,
Softmax). Conv, pooling and N-d BatchNormalization run channels-first as ONNX
defines them, behind Transposes that trigc's channels-last pass cancels;
element-wise quantizers keep whichever layout their input has. A quantizer on the
model input must come first (before any Reshape) for trigc to take the input's
fixed-point type from it.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # QKeras needs Keras 2 (tf_keras)

import contextlib
import logging
from pathlib import Path
from typing import NamedTuple

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from trigc.errors import ModelError, UnsupportedOpError
from trigc.frontends.keras_safety import check_keras_config, read_keras_config
from trigc.frontends.qkeras_quantizers import (
    ACTIVATION_QUANTIZERS, FUNCTION_QUANTIZERS, QuantSpec, evaluate, quantized_weight, where,
)
from trigc.frontends.qonnx_builder import QONNX_DOMAIN, QonnxBuilder

log = logging.getLogger(__name__)

OPSET = 13
KERAS_ACTIVATIONS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax"}
SUPPORTED_LAYERS = (
    "InputLayer, Dense, QDense, Conv1D, QConv1D, Conv2D, QConv2D, DepthwiseConv2D, "
    "QDepthwiseConv2D, Activation, QActivation, ReLU, Softmax, BatchNormalization, "
    "QBatchNormalization, MaxPooling1D/2D, AveragePooling1D/2D, GlobalAveragePooling1D/2D, "
    "GlobalMaxPooling1D/2D, Flatten, Reshape, Add, Concatenate, Dropout, SpatialDropout1D/2D"
)

BINARYNET_LAYERS = {
    "BinaryDense": "QDense(units, kernel_quantizer=binary(alpha=1)) followed by "
                   "QActivation('binary_tanh')",
    "TernaryDense": "QDense(units, kernel_quantizer=ternary(alpha=1)) followed by "
                    "QActivation(ternary())",
}
"""Layers of the BinaryNet Keras ports (not in QKeras 0.9.0) and their QKeras form."""


class Value(NamedTuple):
    """An exported Keras tensor: ONNX name, per-sample Keras shape, and whether the
    ONNX tensor is channels-first (only ever for rank >= 2 per sample)."""
    name: str
    shape: tuple
    channels_first: bool = False


def load_keras(model, custom_objects=None):
    """The Keras model itself, or loaded from a .h5 / .keras file with QKeras' objects."""
    if not isinstance(model, (str, Path)):
        return model
    path = Path(model)
    _check_model_path(path)
    # before any Keras code runs: a legacy .h5 rebuilds (and calls) Lambda bytecode on
    # load whatever safe_mode says, so the configuration is vetted here first
    check_keras_config(read_keras_config(path), path, LAYERS, (custom_objects or {}).keys())
    import tensorflow as tf
    from qkeras.utils import _add_supported_quantized_objects

    objects: dict = {}
    _add_supported_quantized_objects(objects)
    objects["QActivation"] = _loadable_qactivation()
    for name in ("QDense", "QConv1D", "QConv2D", "QDepthwiseConv2D"):
        objects[name] = _with_loadable_activation(objects[name])
    objects.update(custom_objects or {})
    def load():
        return tf.keras.models.load_model(str(path), custom_objects=objects, compile=False,
                                          safe_mode=True)

    try:
        try:
            # Rebuilding a functional model calls every layer once on symbolic inputs, and
            # AutoGraph transpiles each QKeras call() for it: most of the load time, for
            # graph code that trigc never runs. Without AutoGraph the layers build the same
            # weights and shapes; a layer whose call() needs AutoGraph (Python control flow
            # on tensors) fails to build, and the model then loads the usual way.
            with _autograph_disabled():
                return load()
        except Exception:  # noqa: BLE001 - retried below; its own error is the one shown
            return load()
    except Exception as exc:  # noqa: BLE001 - Keras raises many types while deserialising
        raise ModelError(f"{str(path)!r} could not be loaded as a Keras model: {exc}") from None


def _autograph_disabled():
    """A context in which Keras calls layers without AutoGraph conversion (a no-op
    context if this TensorFlow moved its internal switch)."""
    try:
        from tensorflow.python.autograph.core import ag_ctx
        return ag_ctx.ControlStatusCtx(status=ag_ctx.Status.DISABLED)
    except (ImportError, AttributeError):
        return contextlib.nullcontext()


def _check_model_path(path: Path) -> None:
    if path.is_dir():
        raise ModelError(f"{str(path)!r} is a directory, not a Keras model file; give the "
                         ".h5 or .keras file that model.save() wrote")
    if not path.is_file():
        raise ModelError(f"Keras model file {str(path)!r} does not exist; check the path")
    if path.stat().st_size == 0:
        raise ModelError(f"Keras model file {str(path)!r} is empty (0 bytes); the save did "
                         "not finish, save the model again")


def _loadable_qactivation():
    """QKeras 0.9.0's QActivation, except that it deserialises its quantizer: in a
    .keras file the quantizer is saved as a config dict, which QActivation would
    otherwise keep (and call) as is."""
    from qkeras import QActivation
    from qkeras.quantizers import get_quantizer

    class LoadableQActivation(QActivation):
        def __init__(self, activation, **kwargs):
            if isinstance(activation, dict):
                activation = get_quantizer(dict(activation))
            super().__init__(activation, **kwargs)

    LoadableQActivation.__name__ = "QActivation"  # the exporter dispatches on the name
    return LoadableQActivation


def _with_loadable_activation(layer_class):
    """A QKeras layer class that reloads its QKeras activation function: QKeras saves
    ``QDense(activation='binary_tanh')`` as ``{'class_name': 'function', 'config':
    'binary_tanh'}``, which its own loader then fails to find."""
    class Loadable(layer_class):
        def __init__(self, *args, activation=None, **kwargs):
            if isinstance(activation, dict) and activation.get("class_name") == "function" \
                    and activation.get("config") in FUNCTION_QUANTIZERS:
                activation = activation["config"]  # a name QKeras' get_quantizer resolves
            super().__init__(*args, activation=activation, **kwargs)

    Loadable.__name__ = layer_class.__name__  # the exporter dispatches on the name
    return Loadable


def to_qonnx(model, custom_objects=None) -> onnx.ModelProto:
    """Export a QKeras/Keras model (object, or path to .h5 / .keras) to QONNX (opset 13).

    Inputs and outputs keep the Keras layout (N, ..., C). Raises
    ``UnsupportedOpError`` (naming the layer, the quantizer and the fix) for any
    layer or quantizer that the export cannot reproduce exactly."""
    keras_model = load_keras(model, custom_objects)
    if getattr(keras_model, "inputs", None) is None or getattr(keras_model, "outputs", None) \
            is None:
        raise ModelError(
            f"Keras model {getattr(keras_model, 'name', keras_model)!r} is not built; give "
            "its first layer an input_shape (or call it on data) before exporting")
    return _Exporter(keras_model).run()


def _topological(model) -> list:
    """(layer, node) pairs of the model's graph, producers first."""
    order, seen = [], set()

    def visit(kt):
        layer, node_index, _ = kt._keras_history
        node = layer._inbound_nodes[node_index]
        if id(node) in seen:
            return
        seen.add(id(node))
        for t in node.keras_inputs:
            visit(t)
        order.append((layer, node))

    for kt in model.outputs:
        visit(kt)
    return order


class _Exporter:
    def __init__(self, model) -> None:
        self.model = model
        self.b = QonnxBuilder(model.name)
        self.values: dict[int, Value] = {}
        self.node_names: set[str] = set()
        self.layout_cache: dict[tuple[str, bool], str] = {}

    # ---- graph ------------------------------------------------------------------
    def run(self) -> onnx.ModelProto:
        import tensorflow as tf

        inputs = []
        for kt in self.model.inputs:
            name = kt._keras_history[0].name
            shape = tuple(int(d) for d in kt.shape[1:])
            self.values[id(kt)] = Value(name, shape)
            inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", *shape]))
        for layer, node in _topological(self.model):
            if type(layer).__name__ == "InputLayer":
                continue
            handler = LAYERS.get(type(layer).__name__)
            if handler is None and type(layer).__name__ in BINARYNET_LAYERS:
                raise UnsupportedOpError(
                    f"Keras layer {layer.name!r}: {type(layer).__name__} is not a QKeras "
                    "layer but a custom BinaryNet-style class, whose quantization trigc "
                    "cannot read. Rebuild it as "
                    f"{BINARYNET_LAYERS[type(layer).__name__]} with the same weights")
            if handler is None:
                raise UnsupportedOpError(
                    f"Keras layer {layer.name!r}: {type(layer).__name__} is not supported by "
                    f"trigc's QKeras exporter. Supported layers: {SUPPORTED_LAYERS}. Replace "
                    "the layer, or export the model to (Q)ONNX another way")
            ins = [self.values[id(t)] for t in node.keras_inputs]
            outs = tf.nest.flatten(node.outputs)
            value = handler(self, layer, ins, tuple(int(d) for d in outs[0].shape[1:]))
            self.values[id(outs[0])] = value
        outputs, names = [], []
        for kt in self.model.outputs:
            v = self.values[id(kt)]
            name = self.keras_layout(v, "output")
            if name in names or name in {i.name for i in inputs}:
                name = self.b.node("Identity", [name], name=self.unique(f"{v.name}/Identity"))
            names.append(name)
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", *v.shape]))
        graph = helper.make_graph(self.b.nodes, self.model.name, inputs, outputs,
                                  initializer=self.b.initializers)
        return helper.make_model(graph, producer_name="trigc.frontends.qkeras",
                                 opset_imports=[helper.make_opsetid("", OPSET),
                                                helper.make_opsetid(QONNX_DOMAIN, 1)])

    def unique(self, name: str) -> str:
        base, i = name, 0
        while name in self.node_names:
            i += 1
            name = f"{base}_{i}"
        self.node_names.add(name)
        return name

    def node(self, layer, op: str, inputs: list[str], **attrs) -> str:
        return self.b.node(op, inputs, name=self.unique(f"{layer.name}/{op}"), **attrs)

    def int_const(self, values, base: str) -> str:
        name = self.b._fresh(base)
        self.b.initializers.append(numpy_helper.from_array(np.asarray(values, np.int64), name))
        return name

    # ---- layout -------------------------------------------------------------------
    def _transpose(self, v: Value, to_first: bool, user: str) -> str:
        key = (v.name, to_first)
        if key not in self.layout_cache:
            rank = len(v.shape)
            perm = (0, rank, *range(1, rank)) if to_first else (0, *range(2, rank + 1), 1)
            self.layout_cache[key] = self.b.node(
                "Transpose", [v.name], name=self.unique(f"{user}/Transpose"), perm=list(perm))
        return self.layout_cache[key]

    def keras_layout(self, v: Value, user) -> str:
        """``v`` channels-last, for the layer (or "output") ``user``."""
        user = getattr(user, "name", user)
        return self._transpose(v, False, user) if v.channels_first else v.name

    def onnx_layout(self, v: Value, user) -> str:
        """``v`` channels-first (ONNX Conv/Pool/BatchNormalization layout)."""
        if v.channels_first or len(v.shape) < 2:
            return v.name
        return self._transpose(v, True, user.name)

    # ---- constants and quantizers ---------------------------------------------------
    def weight(self, layer, quantizer, value, to_onnx, role: str) -> str:
        """A constant (kernel, bias) as QKeras uses it, behind its exact Quant."""
        value = np.asarray(value, dtype=np.float32)
        if quantizer is None:
            return self.b.const(to_onnx(value), f"{layer.name}_{role}")
        quantized, spec = quantized_weight(layer, quantizer, value, to_onnx, role)
        return self.apply_spec(layer, self.b.const(quantized, f"{layer.name}_{role}"), spec,
                               f"{role.capitalize()}Quant")

    def quantize(self, layer, v: Value, q, role: str = "activation") -> Value:
        """Apply an activation quantizer (or a Keras activation function) to ``v``."""
        if q is None:
            return v
        kind = type(q).__name__
        fn = getattr(q, "__name__", None) if kind == "function" else None
        if fn == "linear":
            return v
        if fn in FUNCTION_QUANTIZERS and getattr(q, "__module__", "") == "qkeras.quantizers":
            return v._replace(name=FUNCTION_QUANTIZERS[fn](self, layer, v.name, role))
        if fn in KERAS_ACTIVATIONS:
            op = KERAS_ACTIVATIONS[fn]
            if op == "Softmax":
                x = self.keras_layout(v, layer)
                return Value(self.node(layer, op, [x], axis=-1), v.shape)
            return v._replace(name=self.node(layer, op, [v.name]))
        handler = ACTIVATION_QUANTIZERS.get(kind)
        if handler is None:
            raise UnsupportedOpError(
                f"{where(layer, role, q)} cannot be mapped to QONNX exactly. Supported: "
                "quantized_bits, quantized_relu, quantized_tanh, quantized_sigmoid, binary, "
                f"ternary, {', '.join(FUNCTION_QUANTIZERS)} and the Keras activations "
                f"linear, {', '.join(KERAS_ACTIVATIONS)}")
        return v._replace(name=handler(self, layer, v.name, q, role))

    def apply_spec(self, layer, x: str, spec: QuantSpec, op_name: str = "Quant") -> str:
        if spec.bipolar:
            y = self.b.node("BipolarQuant", [x, self.b.const(spec.scale, "scale")],
                            domain=QONNX_DOMAIN, name=self.unique(f"{layer.name}/{op_name}"))
        else:
            y = self.b.quant(x, spec.scale, spec.bits, spec.signed, spec.narrow,
                             name=self.unique(f"{layer.name}/{op_name}"))
        if spec.alpha != 1.0:
            y = self.node(layer, "Mul", [y, self.b.const(spec.alpha, "alpha")])
        return y


# ---- layers --------------------------------------------------------------------------

def _quantizer(layer, attr: str):
    """The quantizer a QKeras layer applies (its ``*_internal``), or None."""
    return getattr(layer, f"{attr}_internal") if getattr(layer, attr, None) else None


def _identity(ex, layer, ins, shape) -> Value:
    return ins[0]


def _dense(ex: _Exporter, layer, ins, shape) -> Value:
    x = ex.keras_layout(ins[0], layer)
    w = ex.weight(layer, _quantizer(layer, "kernel_quantizer"), layer.kernel.numpy(),
                  lambda a: a, "kernel")
    y = ex.node(layer, "MatMul", [x, w])
    if layer.use_bias:
        b = ex.weight(layer, _quantizer(layer, "bias_quantizer"), layer.bias.numpy(),
                      lambda a: a, "bias")
        y = ex.b.node("Add", [y, b], name=ex.unique(f"{layer.name}/BiasAdd"))
    return ex.quantize(layer, Value(y, shape), layer.activation)


def _pads(in_sizes, kernel, strides, padding: str, layer, dilations=None) -> list[int]:
    dilations = dilations or (1,) * len(kernel)
    begin, end = [], []
    for n, k, s, d in zip(in_sizes, kernel, strides, dilations):
        reach = (k - 1) * d + 1
        if padding == "valid":
            total, before = 0, 0
        elif padding == "same":
            total = max((-(-n // s) - 1) * s + reach - n, 0)
            before = total // 2
        elif padding == "causal":
            total, before = reach - 1, reach - 1
        else:
            raise UnsupportedOpError(f"Keras layer {layer.name!r}: padding {padding!r}")
        begin.append(before)
        end.append(total - before)
    return begin + end


def _check_spatial(layer) -> None:
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise UnsupportedOpError(
            f"Keras layer {layer.name!r}: data_format={layer.data_format!r}; only "
            "channels_last is supported. Build the model channels-last")


def _conv_nodes(ex: _Exporter, layer, v: Value, shape, w: str, b: str | None,
                group: int) -> Value:
    _check_spatial(layer)
    kernel = tuple(layer.kernel_size)
    if any(d != 1 for d in layer.dilation_rate):
        raise UnsupportedOpError(
            f"Keras layer {layer.name!r}: dilation_rate={layer.dilation_rate} is not supported")
    pads = _pads(v.shape[:-1], kernel, layer.strides, layer.padding, layer)
    inputs = [ex.onnx_layout(v, layer), w] + ([b] if b is not None else [])
    y = ex.node(layer, "Conv", inputs, kernel_shape=list(kernel), strides=list(layer.strides),
                pads=pads, dilations=[1] * len(kernel), group=group)
    return ex.quantize(layer, Value(y, shape, True), layer.activation)


def _bias(ex: _Exporter, layer) -> str | None:
    if not layer.use_bias:
        return None
    return ex.weight(layer, _quantizer(layer, "bias_quantizer"), layer.bias.numpy(),
                     lambda a: a, "bias")


def _conv(ex: _Exporter, layer, ins, shape) -> Value:
    nd = len(layer.kernel_size)
    # Keras (*k, C_in/g, C_out) -> ONNX (C_out, C_in/g, *k)
    perm = (nd + 1, nd, *range(nd))
    w = ex.weight(layer, _quantizer(layer, "kernel_quantizer"), layer.kernel.numpy(),
                  lambda a: np.transpose(a, perm), "kernel")
    return _conv_nodes(ex, layer, ins[0], shape, w, _bias(ex, layer), int(layer.groups))


def _depthwise(ex: _Exporter, layer, ins, shape) -> Value:
    # Keras (kh, kw, C, M): output channel c*M + m -> ONNX grouped (C*M, 1, kh, kw)
    def to_onnx(a):
        kh, kw, c, m = a.shape
        return np.transpose(a.reshape(kh, kw, c * m), (2, 0, 1))[:, None]

    w = ex.weight(layer, _quantizer(layer, "depthwise_quantizer"),
                  layer.depthwise_kernel.numpy(), to_onnx, "kernel")
    return _conv_nodes(ex, layer, ins[0], shape, w, _bias(ex, layer), int(ins[0].shape[-1]))


def _pool(op: str):
    def handler(ex: _Exporter, layer, ins, shape) -> Value:
        _check_spatial(layer)
        v = ins[0]
        kernel, strides = tuple(layer.pool_size), tuple(layer.strides)
        pads = _pads(v.shape[:-1], kernel, strides, layer.padding, layer)
        attrs = {"count_include_pad": 0} if op == "AveragePool" else {}
        y = ex.node(layer, op, [ex.onnx_layout(v, layer)], kernel_shape=list(kernel),
                    strides=list(strides), pads=pads, **attrs)
        return Value(y, shape, True)
    return handler


def _global_pool(op: str):
    def handler(ex: _Exporter, layer, ins, shape) -> Value:
        _check_spatial(layer)
        v = ins[0]
        pooled = Value(ex.node(layer, op, [ex.onnx_layout(v, layer)]),
                       (1,) * (len(v.shape) - 1) + v.shape[-1:], True)
        if getattr(layer, "keepdims", False):
            return pooled
        # channels-last before Flatten, so trigc cancels the Transposes
        return Value(ex.node(layer, "Flatten", [ex.keras_layout(pooled, layer)], axis=1),
                     shape)
    return handler


def _activation(ex: _Exporter, layer, ins, shape) -> Value:
    return ex.quantize(layer, ins[0], layer.activation)


def _qactivation(ex: _Exporter, layer, ins, shape) -> Value:
    return ex.quantize(layer, ins[0], layer.quantizer)


def _relu(ex: _Exporter, layer, ins, shape) -> Value:
    v = ins[0]
    slope, threshold = float(layer.negative_slope), float(layer.threshold)
    if threshold != 0.0:
        raise UnsupportedOpError(f"Keras layer {layer.name!r} (ReLU): threshold={threshold}")
    if slope != 0.0:
        y = ex.node(layer, "LeakyRelu", [v.name], alpha=slope)
    else:
        y = ex.node(layer, "Relu", [v.name])
    if layer.max_value is not None:
        y = ex.node(layer, "Clip", [y, "", ex.b.const(np.float32(layer.max_value), "max")])
    return v._replace(name=y)


def _softmax(ex: _Exporter, layer, ins, shape) -> Value:
    axis = layer.axis if isinstance(layer.axis, int) else list(layer.axis)
    if axis not in (-1, len(shape), [-1], [len(shape)]):
        raise UnsupportedOpError(
            f"Keras layer {layer.name!r} (Softmax): only the last axis is supported")
    y = ex.node(layer, "Softmax", [ex.keras_layout(ins[0], layer)], axis=-1)
    return Value(y, shape)


def _batchnorm(ex: _Exporter, layer, ins, shape) -> Value:
    v = ins[0]
    axes = [layer.axis] if isinstance(layer.axis, int) else list(layer.axis)
    if [a % (len(shape) + 1) for a in axes] != [len(shape)]:
        raise UnsupportedOpError(
            f"Keras layer {layer.name!r} ({type(layer).__name__}): normalising axis "
            f"{layer.axis}; only the channel (last) axis is supported")
    n = shape[-1]
    is_q = type(layer).__name__ == "QBatchNormalization"

    def param(var, default, attr, role):
        value = var.numpy() if var is not None else np.full(n, default, np.float32)
        return evaluate(layer, _quantizer(layer, attr) if is_q else None, value, role)

    gamma = param(layer.gamma if layer.scale else None, 1.0, "gamma_quantizer", "gamma")
    beta = param(layer.beta if layer.center else None, 0.0, "beta_quantizer", "beta")
    mean = param(layer.moving_mean, 0.0, "mean_quantizer", "mean")
    var = param(layer.moving_variance, 1.0, "variance_quantizer", "variance")
    consts = [ex.b.const(a, f"{layer.name}_{r}") for a, r in
              ((gamma, "gamma"), (beta, "beta"), (mean, "mean"), (var, "var"))]
    y = ex.node(layer, "BatchNormalization", [ex.onnx_layout(v, layer), *consts],
                epsilon=float(layer.epsilon))
    return Value(y, shape, len(shape) >= 2)


def _flatten(ex: _Exporter, layer, ins, shape) -> Value:
    return Value(ex.node(layer, "Flatten", [ex.keras_layout(ins[0], layer)], axis=1), shape)


def _reshape(ex: _Exporter, layer, ins, shape) -> Value:
    target = ex.int_const([0, *shape], f"{layer.name}_shape")
    return Value(ex.node(layer, "Reshape", [ex.keras_layout(ins[0], layer), target]), shape)


def _add(ex: _Exporter, layer, ins, shape) -> Value:
    # channels-last, so the Transposes around convolutions cancel in trigc
    names = [ex.keras_layout(v, layer) for v in ins]
    y = names[0]
    for other in names[1:]:
        y = ex.node(layer, "Add", [y, other])
    return Value(y, shape)


def _concatenate(ex: _Exporter, layer, ins, shape) -> Value:
    axis = layer.axis % (len(shape) + 1)
    if axis == 0:
        raise UnsupportedOpError(f"Keras layer {layer.name!r}: concatenation along the batch")
    # pairwise: trigc's backends join two run-time tensors per Concat
    names = [ex.keras_layout(v, layer) for v in ins]
    y = names[0]
    for other in names[1:]:
        y = ex.node(layer, "Concat", [y, other], axis=axis)
    return Value(y, shape)


LAYERS = {
    "Dense": _dense, "QDense": _dense,
    "Conv1D": _conv, "QConv1D": _conv, "Conv2D": _conv, "QConv2D": _conv,
    "DepthwiseConv2D": _depthwise, "QDepthwiseConv2D": _depthwise,
    "Activation": _activation, "QActivation": _qactivation, "ReLU": _relu,
    "Softmax": _softmax,
    "BatchNormalization": _batchnorm, "QBatchNormalization": _batchnorm,
    "MaxPooling1D": _pool("MaxPool"), "MaxPooling2D": _pool("MaxPool"),
    "AveragePooling1D": _pool("AveragePool"), "AveragePooling2D": _pool("AveragePool"),
    "GlobalAveragePooling1D": _global_pool("GlobalAveragePool"),
    "GlobalAveragePooling2D": _global_pool("GlobalAveragePool"),
    "GlobalMaxPooling1D": _global_pool("GlobalMaxPool"),
    "GlobalMaxPooling2D": _global_pool("GlobalMaxPool"),
    "Flatten": _flatten, "Reshape": _reshape,
    "Add": _add, "Concatenate": _concatenate,
    "Dropout": _identity, "SpatialDropout1D": _identity, "SpatialDropout2D": _identity,
}

Exporter = _Exporter  # extended by the Keras 3 frontend (keras3.py) for its layer walk
__all__ = ["Exporter", "load_keras", "to_qonnx"]

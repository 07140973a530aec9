"""Keras 3 models (plain float, or HGQ2) -> QONNX: trigc's own exporter.

The layer graph is walked the Keras 3 way (``KerasTensor._keras_history``, ``Node.
input_tensors``); each layer is exported by the same handlers as trigc's QKeras
exporter (``qkeras.LAYERS``: Dense, Conv, pooling, BatchNormalization, ...), and
HGQ2 layers by ``hgq2``'s wrappers around them, with HGQ2's quantized weights. The
types that QONNX cannot spell (HGQ2's WRAP and half-up rounding) travel in the
model's metadata (``TYPES_KEY``), which ``trigc.load`` applies as precision
overrides, below any the user gives.

Keras 3 is imported here, lazily, only for Keras 3 models: QKeras models keep
running on tf_keras in the same process (``qkeras_import``).
"""

from __future__ import annotations

import json
from pathlib import Path

import onnx
from onnx import TensorProto, helper

from trigc.errors import ModelError, UnsupportedOpError
from trigc.frontends import hgq2
from trigc.frontends.keras3_safety import vet_keras3_file
from trigc.frontends.qkeras import LAYERS as KERAS_LAYERS
from trigc.frontends.qkeras import OPSET, Exporter, Value
from trigc.frontends.qonnx_builder import QONNX_DOMAIN

PRODUCER = "trigc.frontends.keras3"
TYPES_KEY = "trigc.types"
PLAIN_LAYERS = {name: fn for name, fn in KERAS_LAYERS.items() if not name.startswith("Q")}
LAYERS = {**PLAIN_LAYERS, **hgq2.layers(KERAS_LAYERS)}
SUPPORTED_LAYERS = ", ".join(sorted(PLAIN_LAYERS)) + "; HGQ2: " + hgq2.SUPPORTED


def load_keras3(model, custom_objects=None):
    """The Keras 3 model itself, or loaded (safe mode, config vetted first) from a file."""
    if not isinstance(model, (str, Path)):
        return model
    path = Path(model)
    vet_keras3_file(path, LAYERS, (custom_objects or {}).keys())
    import keras

    if _uses_hgq(path):
        import hgq  # noqa: F401 - registers HGQ2's serialisable classes with Keras
    try:
        return keras.saving.load_model(str(path), custom_objects=custom_objects,
                                       compile=False, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types while deserialising
        text = " ".join(str(exc).split())[:300]
        raise ModelError(f"{str(path)!r} could not be loaded as a Keras 3 model: {text}; "
                         "re-save it with model.save('model.keras')") from None


def _uses_hgq(path: Path) -> bool:
    from trigc.frontends.keras_safety import read_keras_config

    return '"hgq' in json.dumps(read_keras_config(path))


def to_qonnx(model, custom_objects=None) -> onnx.ModelProto:
    """Export a Keras 3 / HGQ2 model (object or .keras path) to QONNX (opset 13)."""
    keras_model = load_keras3(model, custom_objects)
    try:
        inputs, outputs = keras_model.inputs, keras_model.outputs
    except (AttributeError, ValueError):
        inputs = outputs = None
    if not inputs or not outputs:
        raise ModelError(
            f"Keras model {getattr(keras_model, 'name', keras_model)!r} is not built; give "
            "it an Input (keras.Input(shape=...)) before exporting")
    return Keras3Exporter(keras_model).run()


def types_of(model: onnx.ModelProto) -> dict[str, str]:
    """The exact types the Keras 3 exporter recorded, {tensor name: type text}."""
    if model.producer_name != PRODUCER:
        return {}
    for prop in model.metadata_props:
        if prop.key == TYPES_KEY:
            return json.loads(prop.value)
    return {}


def _topological(model) -> list:
    order, seen = [], set()

    def visit(tensor):
        layer, node_index, _ = tensor._keras_history
        node = layer._inbound_nodes[node_index]
        if id(node) in seen:
            return
        seen.add(id(node))
        for t in node.input_tensors:
            visit(t)
        order.append((layer, node))

    for tensor in model.outputs:
        visit(tensor)
    return order


class Keras3Exporter(Exporter):
    """The QKeras exporter's graph building, with Keras 3's layer walk and HGQ2
    weights."""

    def __init__(self, model) -> None:
        super().__init__(model)
        self.types: dict[str, object] = {}
        self.input_names: set[str] = set()

    def weight(self, layer, quantizer, value, to_onnx, role: str) -> str:
        if hgq2.is_hgq_layer(layer):
            return hgq2.exact_weight(self, layer, to_onnx(hgq2.hgq_weight(layer, role)), role)
        return super().weight(layer, quantizer, value, to_onnx, role)

    def run(self) -> onnx.ModelProto:
        inputs = []
        for tensor in self.model.inputs:
            name = tensor._keras_history[0].name
            shape = tuple(int(d) for d in tensor.shape[1:])
            self.values[id(tensor)] = Value(name, shape)
            self.input_names.add(name)
            inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", *shape]))
        for layer, node in _topological(self.model):
            kind = type(layer).__name__
            if kind == "InputLayer":
                continue
            handler = LAYERS.get(kind)
            if handler is None:
                raise UnsupportedOpError(self._unsupported(layer))
            ins = [self.values[id(t)] for t in node.input_tensors]
            shape = tuple(int(d) for d in node.output_tensors[0].shape[1:])
            self.values[id(node.output_tensors[0])] = handler(self, layer, ins, shape)
        return self._model(inputs)

    def _unsupported(self, layer) -> str:
        kind = type(layer).__name__
        what = "HGQ2 layer" if hgq2.is_hgq_layer(layer) else "Keras 3 layer"
        return (f"{what} {layer.name!r}: {kind} is not supported by trigc's Keras 3 "
                f"exporter. Supported layers: {SUPPORTED_LAYERS}. Replace the layer, or "
                "export the model to (Q)ONNX another way")

    def _model(self, inputs) -> onnx.ModelProto:
        outputs, names = [], []
        for tensor in self.model.outputs:
            v = self.values[id(tensor)]
            name = self.keras_layout(v, "output")
            if name in names or name in self.input_names:
                name = self.b.node("Identity", [name], name=self.unique(f"{v.name}/Identity"))
            names.append(name)
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", *v.shape]))
        graph = helper.make_graph(self.b.nodes, self.model.name, inputs, outputs,
                                  initializer=self.b.initializers)
        model = helper.make_model(graph, producer_name=PRODUCER,
                                  opset_imports=[helper.make_opsetid("", OPSET),
                                                 helper.make_opsetid(QONNX_DOMAIN, 1)])
        if self.types:
            helper.set_model_props(model, {TYPES_KEY: json.dumps(
                {name: str(t) for name, t in self.types.items()})})
        return model


__all__ = ["load_keras3", "to_qonnx", "types_of"]

"""Which firmware node computes each ONNX tensor: the model is imported and run through
every pass before precision inference, so the profile keys its precision config by
the names ``trigc.load`` accepts and names tensors by the user's layers."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import onnx

from trigc.errors import TrigcError
from trigc.frontends.onnx_import import import_onnx, layer_name, torch_scope
from trigc.ir.graph import Graph
from trigc.passes import PIPELINE
from trigc.passes.infer_precision import infer_precision

log = logging.getLogger(__name__)

FIRMWARE_LAYOUT_OPS = ("Reshape", "Transpose", "Concat")
#: the passes that decide the firmware's nodes; precision inference would need types
BEFORE_PRECISION = PIPELINE[:PIPELINE.index(infer_precision)]


@dataclass
class Lowering:
    """What lowering told about the model (``firmware`` and ``input_types`` are None
    when trigc could not lower it, and ``error`` says why)."""

    layers: dict            # tensor name -> the user's layer (trigc's node source)
    firmware: dict | None   # ONNX tensor -> (precision key, trigc op) of the firmware node
    input_types: dict | None
    error: str = ""
    #: float constants of the lowered graph by name: the weights and biases the
    #: firmware uses (BatchNorm folded into them)
    constants: dict = field(default_factory=dict)


def lower(proto: onnx.ModelProto) -> Lowering:
    """Import the model with trigc and run every pass before precision inference:
    the user's layer of each tensor, and which firmware node computes each ONNX tensor
    (None: it exists only inside a fused node, e.g. the MatMul before its bias Add).

    A firmware node is keyed by its output tensor's name when that is the ONNX name,
    else (a layout pass renamed its output, e.g. a Relu between channels-last
    Transposes) by the node's name; ``trigc.load`` accepts both as precision keys."""
    fallback = _node_layers(proto)
    try:
        graph = import_onnx(proto)
    except TrigcError as exc:
        log.info("profile: trigc cannot import the model (%s); layer names from node names",
                 exc)
        return Lowering(fallback, None, None, str(exc))
    layers = dict(fallback)
    layers.update({name: t.source for name, t in graph.tensors.items() if t.source})
    onnx_names = {o for node in proto.graph.node for o in node.output if o}
    made_by = {name: t.producer.name for name, t in graph.tensors.items()
               if name in onnx_names and t.producer is not None}
    try:
        for run_pass in BEFORE_PRECISION:
            run_pass(graph)
    except TrigcError as exc:
        log.info("profile: trigc cannot lower the model (%s)", exc)
        return Lowering(layers, None, None, str(exc))
    constants = {name: t.value for name, t in graph.tensors.items()
                 if t.is_constant and t.value is not None and t.type is None}
    return Lowering(layers, _firmware_nodes(graph, made_by, onnx_names),
                    {t.name: t.type for t in graph.inputs}, constants=constants)


def _node_layers(proto: onnx.ModelProto) -> dict[str, str]:
    """Each ONNX tensor's layer from its node's torch scope or name, as the importer
    names them (used when trigc cannot import the model)."""
    layers = {}
    for i, node in enumerate(proto.graph.node):
        source = torch_scope(node) or layer_name(node.name or f"{node.op_type}_{i}")
        for o in node.output:
            layers[o] = source
    return layers


def _firmware_nodes(graph: Graph, made_by: dict[str, str],
                    onnx_names: set[str]) -> dict[str, tuple[str, str]]:
    """{ONNX tensor: (precision key, op)} of the lowered graph's nodes."""
    by_node: dict[str, list[str]] = {}
    for o, n in made_by.items():
        by_node.setdefault(n, []).append(o)
    firmware: dict[str, tuple[str, str]] = {}
    layout = [n for n in graph.nodes if n.op.value in FIRMWARE_LAYOUT_OPS]
    compute = [n for n in graph.nodes if n.op.value not in FIRMWARE_LAYOUT_OPS]
    for node in layout + compute:  # a compute node wins over a layout node
        out = node.output.name
        if out in onnx_names:
            firmware[out] = (out, node.op.value)
        elif len(node.outputs) == 1 and len(by_node.get(node.name, [])) == 1:
            firmware[by_node[node.name][0]] = (node.name, node.op.value)
    return firmware


__all__ = ["BEFORE_PRECISION", "FIRMWARE_LAYOUT_OPS", "Lowering", "lower"]

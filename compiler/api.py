"""The Python API: ``trigc.load`` and ``trigc.emulate``."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from typing import TYPE_CHECKING

from trigc.emulator import emulate as emulate_graph
from trigc.errors import ConfigError, UnsupportedOpError
from trigc.fixed import FixedType
from trigc.ir.graph import Graph

if TYPE_CHECKING:
    import onnx

# onnx, the frontends and the passes are imported when a model is loaded: emulating a
# compiled project (``trigc emulate``) never pays for them (onnx alone takes ~1 s)

SPECIAL_KEYS = ("input", "default", "weights")


def parse_precision(precision: Mapping | None) -> dict[str, FixedType]:
    """Normalise a user precision config: {tensor/node/layer name or 'input': type}."""
    out: dict[str, FixedType] = {}
    for key, value in (precision or {}).items():
        if isinstance(value, FixedType):
            out[str(key)] = value
        elif isinstance(value, str):
            out[str(key)] = FixedType.parse(value)
        else:
            raise ConfigError(
                f"Precision for {key!r} must be a FixedType or a string like 'fixed<16,6>', "
                f"not {value!r}")
    return out


def _is_torch_module(model) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


def _is_keras_model(model) -> bool:
    if isinstance(model, (str, Path)):
        return Path(model).suffix in (".h5", ".keras")
    return type(model).__module__.split(".")[0] in ("keras", "tf_keras", "tensorflow", "qkeras",
                                                    "hgq")


def _is_keras3_model(model) -> bool:
    """A Keras 3 / HGQ2 model object or .keras file (decided without importing Keras);
    everything else Keras-like goes to the QKeras (tf_keras) exporter."""
    from trigc.frontends.keras3_safety import is_keras3_file, keras_version_of

    if isinstance(model, (str, Path)):
        return is_keras3_file(Path(model))
    return keras_version_of(model) == "3"


# pickle-based files: unpickling one runs whatever code its author put in it
PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".pkl", ".pickle")


def _refuse_pickle(model) -> None:
    if isinstance(model, (str, Path)) and Path(model).suffix.lower() in PICKLE_SUFFIXES:
        raise UnsupportedOpError(
            f"{str(model)!r} is a PyTorch checkpoint (a pickle); trigc never unpickles files, "
            "because unpickling runs code stored in them. Build your module, load the "
            "weights with torch.load(path, weights_only=True), and pass the module (with "
            "example_input) or its QONNX export (brevitas.export.export_qonnx)")


def to_onnx(model, example_input=None, custom_objects=None) -> onnx.ModelProto | str | Path:
    """Bring any supported model to (Q)ONNX: ONNX paths and protos pass through,
    torch/Brevitas modules are exported with ``brevitas.export.export_qonnx``,
    Keras/QKeras models (objects or .h5/.keras files) with trigc's QKeras exporter."""
    import onnx

    if isinstance(model, onnx.ModelProto):
        return model
    _refuse_pickle(model)
    if _is_keras_model(model) and _is_keras3_model(model):
        from trigc.frontends.keras3 import to_qonnx as keras3_to_qonnx

        return keras3_to_qonnx(model, custom_objects=custom_objects)
    if _is_keras_model(model):
        from trigc.frontends.keras3_safety import check_h5_for_hgq1

        if isinstance(model, (str, Path)):
            check_h5_for_hgq1(Path(model))  # an HGQ v1 file: refused by name, with the fix
        from trigc.frontends.qkeras_import import import_qkeras

        import_qkeras()  # before the exporter's own import: without Keras 3 (its doc)
        from trigc.frontends.qkeras import to_qonnx

        return to_qonnx(model, custom_objects=custom_objects)
    if _is_torch_module(model):
        if example_input is None:
            raise ConfigError(
                "A torch/Brevitas module needs example_input (a tensor shaped like one "
                "batch of inputs, e.g. torch.randn(1, 16)) to be exported")
        from trigc.frontends.brevitas import export_module

        return export_module(model, example_input)
    return model


def load(model, precision: Mapping | None = None, name: str | None = None,
         check: bool | None = None, example_input=None, custom_objects=None,
         softmax: str | Mapping | None = None) -> Graph:
    """Import a model and compile it to the final IR: an ONNX/QONNX path or ModelProto,
    a torch/Brevitas ``nn.Module`` (with ``example_input``), or a Keras/QKeras model
    (object or .h5/.keras path).

    ``precision`` overrides tensor types by tensor, node or layer name. Special keys:
    ``'input'`` types unquantized inputs; ``'default'`` quantizes every float layer
    output (and input) after training, as hls4ml's default precision does;
    ``'weights'`` (else ``'default'``) rounds float constants that it cannot hold
    exactly. Quantized (QONNX Quant) tensors keep their trained types.

    ``softmax`` picks the Softmax mode: ``"lut"`` (default: exp and inverse tables)
    or ``"exact"`` (the correctly rounded softmax to within half an output LSB plus
    2^-28; trigc.ops.softmax), for every Softmax or as {layer name: mode}.

    (``trigc.load``, :func:`trigc.project.load`, adds calibrated post-training
    quantization on top of this.)"""
    from trigc.frontends.onnx_import import import_onnx
    from trigc.ops.softmax import set_softmax_modes
    from trigc.target import check_softmax_mode
    from trigc.passes import run_pipeline

    exported = to_onnx(model, example_input, custom_objects)
    graph = import_onnx(exported, name=name)
    overrides = {**_frontend_types(model, exported), **parse_precision(precision)}
    known = set(graph.tensors) | {n.name for n in graph.nodes} | {n.source for n in graph.nodes}
    unknown = sorted(set(overrides) - known - set(SPECIAL_KEYS))
    if unknown:
        raise ConfigError(
            f"Precision config names {unknown}, which are not tensors, nodes or layers of "
            f"the model; known layers: {sorted({n.source for n in graph.nodes})}")
    graph.precision_overrides = overrides
    if softmax is not None:
        set_softmax_modes(graph, check_softmax_mode(softmax, "softmax"))
    return run_pipeline(graph, check=check)


def _frontend_types(model, exported) -> dict[str, FixedType]:
    """Exact types a Keras 3 / HGQ2 export records beside its QONNX (types QONNX cannot
    spell: WRAP, half-up rounding); only from trigc's own exporter, never a file's."""
    if not _is_keras_model(model) or not _is_keras3_model(model):
        return {}
    from trigc.frontends.keras3 import types_of

    return parse_precision(types_of(exported))


def emulate(graph: Graph, *inputs, raw: bool = False, workers: int | None = None,
            engine: str | None = None):
    """Bit-exact emulation of the compiled graph on float inputs (N, *shape), on
    ``workers`` threads (default: every core). ``engine``: ``"auto"`` (default: the
    generated C kernel when available, see :mod:`trigc.emulator`), ``"fast"`` or
    ``"interpreter"``; every engine gives the same bits."""
    return emulate_graph(graph, *inputs, raw=raw, workers=workers, engine=engine)

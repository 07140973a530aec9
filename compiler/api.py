"""The Python API: ``trigc.load`` and ``trigc.emulate``."""

from __future__ import annotations

from collections.abc import Mapping

from trigc.errors import ConfigError
from trigc.fixed import FixedType
from trigc.frontends.onnx_import import import_onnx
from trigc.ir.graph import Graph
from trigc.passes import run_pipeline

SPECIAL_KEYS = ("input",)


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


def load(model, precision: Mapping | None = None, name: str | None = None,
         check: bool | None = None) -> Graph:
    """Import an ONNX/QONNX model (path or ModelProto) and compile it to the final IR.

    ``precision`` overrides tensor types by tensor, node or layer name, and gives
    the type of unquantized inputs with the key ``'input'``."""
    graph = import_onnx(model, name=name)
    overrides = parse_precision(precision)
    known = set(graph.tensors) | {n.name for n in graph.nodes} | {n.source for n in graph.nodes}
    unknown = sorted(set(overrides) - known - set(SPECIAL_KEYS))
    if unknown:
        raise ConfigError(
            f"Precision config names {unknown}, which are not tensors, nodes or layers of "
            f"the model; known layers: {sorted({n.source for n in graph.nodes})}")
    graph.precision_overrides = overrides
    return run_pipeline(graph, check=check)


def emulate(graph: Graph, *inputs, raw: bool = False):
    """Bit-exact emulation of the compiled graph on float inputs (N, *shape)."""
    from trigc.emulator import emulate as _emulate

    return _emulate(graph, *inputs, raw=raw)

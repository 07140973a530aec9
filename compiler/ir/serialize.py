"""Lossless JSON form of the final IR (``trigc.json`` in a generated project), so a
project can be emulated without the original model."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from trigc.errors import ModelError
from trigc.fixed import FixedType, Rounding
from trigc.ir.graph import Graph
from trigc.ir.ops import ATTRS_FOR, LutAttrs, Op

FORMAT_VERSION = 1


def _encode(value: Any) -> Any:
    if isinstance(value, FixedType):
        return {"fixed": str(value)}
    if isinstance(value, Rounding):
        return {"rounding": value.name}
    if isinstance(value, LutAttrs):
        return {"lut": _attrs_to_json(value)}
    if isinstance(value, np.ndarray):
        return [int(v) for v in value.ravel()]
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any, field_type: str) -> Any:
    if isinstance(value, dict):
        if "fixed" in value:
            return FixedType.parse(value["fixed"])
        if "rounding" in value:
            return Rounding[value["rounding"]]
        if "lut" in value:
            return _attrs_from_json(LutAttrs, value["lut"])
    if isinstance(value, list):
        if "ndarray" in field_type:
            return np.asarray(value, dtype=np.int64)
        return tuple(value)
    return value


def _attrs_to_json(attrs) -> dict:
    return {f.name: _encode(getattr(attrs, f.name)) for f in dataclasses.fields(attrs)}


def _attrs_from_json(cls, data: dict):
    fields = {f.name: str(f.type) for f in dataclasses.fields(cls)}
    return cls(**{k: _decode(v, fields[k]) for k, v in data.items()})


def graph_to_json(graph: Graph) -> dict:
    tensors = []
    for t in graph.tensors.values():
        entry = {"name": t.name, "shape": list(t.shape),
                 "type": str(t.type) if t.type else None, "source": t.source}
        if t.is_constant:
            entry["raw"] = [int(v) for v in t.raw.ravel()]
        tensors.append(entry)
    nodes = [{"name": n.name, "op": n.op.value, "source": n.source,
              "inputs": [t.name for t in n.inputs], "outputs": [t.name for t in n.outputs],
              "attrs": _attrs_to_json(n.attrs)} for n in graph.nodes]
    return {"format": FORMAT_VERSION, "name": graph.name,
            "inputs": [t.name for t in graph.inputs], "outputs": [t.name for t in graph.outputs],
            "tensors": tensors, "nodes": nodes}


def graph_from_json(data: dict) -> Graph:
    if data.get("format") != FORMAT_VERSION:
        raise ModelError(
            f"trigc.json has format {data.get('format')!r}, this trigc reads {FORMAT_VERSION}; "
            "recompile the project with this version")
    graph = Graph(data["name"])
    for entry in data["tensors"]:
        t_type = FixedType.parse(entry["type"]) if entry["type"] else None
        value = None
        if "raw" in entry:
            raw = np.asarray(entry["raw"], dtype=np.float64).reshape(entry["shape"])
            value = np.ldexp(raw, -t_type.frac_bits)
        t = graph.add_tensor(entry["name"], entry["shape"], t_type, value, entry["source"])
        t.shape = tuple(entry["shape"])
    for entry in data["nodes"]:
        op = Op(entry["op"])
        cls = ATTRS_FOR[op]
        attrs = _attrs_from_json(cls, entry["attrs"])
        graph.add_node(op, [graph.tensors[n] for n in entry["inputs"]],
                       [graph.tensors[n] for n in entry["outputs"]], attrs, entry["name"],
                       entry["source"])
    graph.inputs = [graph.tensors[n] for n in data["inputs"]]
    graph.outputs = [graph.tensors[n] for n in data["outputs"]]
    return graph


__all__ = ["graph_from_json", "graph_to_json"]

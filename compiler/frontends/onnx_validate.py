"""Checks on what a (Q)ONNX model file gives trigc, before anything trusts it.

``read_model`` reads a model file and says accurately what is wrong with one that
is not an ONNX model (missing, a directory, empty, another format, truncated,
undecodable names). The value checks refuse, naming the layer, node and op, what
trigc cannot compile faithfully: NaN or infinite constants, non-positive scales,
and bit widths that are not whole numbers of bits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx

from trigc.errors import ModelError, UnsupportedOpError
from trigc.quantizers import MAX_BIT_WIDTH, check_bit_width, format_values

# what a file that is not ONNX usually is, from its first bytes
MAGIC = (
    (b"PK\x03\x04", "a zip archive (a PyTorch checkpoint or a .keras model?)"),
    (b"\x80", "a Python pickle (a PyTorch checkpoint?)"),
    (b"\x89HDF", "an HDF5 file (a Keras .h5 model? give it the .h5 suffix)"),
)


def read_model(model) -> onnx.ModelProto:
    if isinstance(model, onnx.ModelProto):
        return model
    if not isinstance(model, (str, Path)):
        raise ModelError(
            f"Expected an ONNX ModelProto or a path to a .onnx file, got {type(model).__name__}")
    path = Path(model)
    if path.is_dir():
        raise ModelError(f"{str(path)!r} is a directory, not an ONNX model file; give the "
                         ".onnx file itself")
    if not path.is_file():
        raise ModelError(f"Model file {str(path)!r} does not exist; check the path")
    data = path.read_bytes()
    if not data:
        raise ModelError(f"Model file {str(path)!r} is empty (0 bytes); the export did not "
                         "finish or the copy failed, export the model again")
    for magic, kind in MAGIC:
        if data.startswith(magic):
            raise ModelError(f"{str(path)!r} is {kind}, not an ONNX model; export the model "
                             "to (Q)ONNX and give that file")
    if _is_text(data[:512]):
        raise ModelError(f"{str(path)!r} is a text file, not an ONNX model (a binary "
                         "protobuf); export the model to (Q)ONNX and give that file")
    try:
        proto = onnx.load_from_string(data)
        if any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer):
            onnx.load_external_data_for_model(proto, str(path.parent))
    except Exception as exc:  # noqa: BLE001 - protobuf raises DecodeError and friends
        raise ModelError(f"{str(path)!r} is not a valid ONNX file: it is truncated or corrupt "
                         f"({exc}); export or download it again") from None
    if not proto.HasField("graph") or not proto.graph.node:
        raise ModelError(f"{str(path)!r} holds no ONNX graph (no nodes): it is not an "
                         "exported model, export the model again")
    _check_names(proto, str(path))
    return proto


def _is_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(head) < 512 or exc.start < len(head) - 3:
            return False
        text = head[:exc.start].decode("utf-8")  # only a character cut by the 512 bytes
    return all(c.isprintable() or c in "\t\r\n" for c in text)


def _check_names(proto: onnx.ModelProto, where: str) -> None:
    """Every name must be text: protobuf keeps undecodable (non-UTF-8) strings as bytes."""
    g = proto.graph
    named = [("graph", g.name)]
    for vi in (*g.input, *g.output, *g.value_info, *g.initializer):
        named.append(("tensor", vi.name))
    for i, node in enumerate(g.node):
        named += [(f"node #{i}", node.name), (f"node #{i} op", node.op_type),
                  (f"node #{i} domain", node.domain)]
        named += [(f"node #{i} ({node.name!r}) tensor", t) for t in (*node.input,
                                                                    *node.output)]
    for what, name in named:
        if isinstance(name, bytes):
            raise ModelError(f"{where!r}: the {what} name {name!r} is not valid UTF-8 text; "
                             "the file is corrupt or its exporter wrote raw bytes, give "
                             "that name plain text and export again")


def where(name: str, source: str, op_type: str) -> str:
    """How these errors name a node: the user's layer, then the node and its op."""
    if source and source != name:
        return f"layer {source!r} (node {name!r}, {op_type})"
    return f"node {name!r} ({op_type})"


def check_finite(value: np.ndarray, what: str, node: str, allow_inf: bool = False) -> None:
    """Refuse NaN (and, unless ``allow_inf``, infinite) values in a constant."""
    value = np.asarray(value, dtype=np.float64)
    bad = np.isnan(value) if allow_inf else ~np.isfinite(value)
    if not bad.any():
        return
    first = f" (first at index {tuple(int(i) for i in np.argwhere(bad)[0])})" \
        if value.ndim else ""
    kinds = "NaN" if np.isnan(value).any() else "infinite"
    raise ModelError(
        f"{node}: {what} holds {int(bad.sum())} {kinds} value(s){first}; "
        "the trained parameters are corrupt or training diverged. Retrain or fix the "
        "parameters, and export the model again")


def check_scale(value: np.ndarray, what: str, node: str) -> None:
    """QONNX scales are finite and positive."""
    check_finite(value, what, node)
    if np.any(np.asarray(value) <= 0):
        raise UnsupportedOpError(
            f"{node}: {what} {format_values(value)} is not positive; QONNX quantizers need "
            "positive scales. Check the quantizer's scaling in training and export again")


# check_bit_width and MAX_BIT_WIDTH live in trigc.quantizers (the passes check bit
# widths too); they stay importable from here for the importer
__all__ = ["MAX_BIT_WIDTH", "check_bit_width", "check_finite", "check_scale", "read_model",
           "where"]

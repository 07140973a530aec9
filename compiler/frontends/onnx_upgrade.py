"""Bring old and unusual ONNX exports to the form the importer translates, before
anything expensive runs. Each step works on the ONNX graph and says what it did.

* :func:`check_op_types`: a quick scan of every node's op type and domain right
  after loading, so that an unsupported op is refused at once, by name;
* :func:`upgrade_opset`: opsets below :data:`TARGET_OPSET` (keras2onnx and old
  torch exports use 7 to 12) are upgraded with ``onnx.version_converter``;
* :func:`expand_channels_last`: QONNX ``qonnx.custom_op.channels_last`` ops (Conv,
  MaxPool, BatchNormalization on NHWC tensors) become the standard op between two
  Transposes, exactly qonnx's own semantics (the passes cancel the Transposes);
* :func:`add_batch_axis`: a model whose input has no batch axis (shape ``[16]``
  rather than ``[N, 16]``) gets one;
* :func:`fold_shape_subgraphs`: ``Shape``/``Gather``/``Concat``/``Unsqueeze``/
  ``Slice``/``Cast``/arithmetic nodes computing a ``Reshape`` target from static
  shapes (torch ``x.view(x.size(0), -1)``, keras2onnx) are evaluated into constants.
"""

from __future__ import annotations

import copy
import logging

import numpy as np
import onnx
from onnx import helper, numpy_helper

from trigc.errors import ModelError, UnsupportedOpError

log = logging.getLogger(__name__)

TARGET_OPSET = 13
QONNX_DOMAINS = ("qonnx.custom_op.general", "finn.custom_op.general", "onnx.brevitas",
                 "finn")
CHANNELS_LAST_DOMAIN = "qonnx.custom_op.channels_last"
STANDARD_DOMAINS = ("", "ai.onnx")
QONNX_OPS = ("Quant", "BipolarQuant", "Trunc")
CHANNELS_LAST_OPS = ("Conv", "MaxPool", "BatchNormalization")
# ops that may appear only in static shape computations (folded into constants)
SHAPE_OPS = ("Shape", "Gather", "Unsqueeze", "Squeeze", "Slice", "Cast", "ConstantOfShape",
             "ReduceProd", "Size", "Floor", "Ceil", "Neg", "Range", "Expand")
ARITH_OPS = ("Add", "Sub", "Mul", "Div")


def _node_label(node: onnx.NodeProto, index: int) -> str:
    return f"Node {node.name or f'{node.op_type}_{index}'!r} ({node.op_type})"


def check_op_types(proto: onnx.ModelProto, supported) -> None:
    """Refuse, before any other work, a node whose op or domain trigc cannot import.
    ``supported`` is the importer's op table; shape-computation ops are accepted
    here and must fold away later."""
    for i, node in enumerate(proto.graph.node):
        domain = node.domain
        op = node.op_type
        if domain in STANDARD_DOMAINS:
            if op in supported or op in SHAPE_OPS:
                continue
            raise UnsupportedOpError(
                f"{_node_label(node, i)}: ONNX op {op!r} is not supported by trigc. "
                f"Supported ops: {', '.join(supported)}. Replace the layer with a supported "
                "one, or fold it away before export")
        if domain in QONNX_DOMAINS:
            if op in QONNX_OPS:
                continue
            raise UnsupportedOpError(
                f"{_node_label(node, i)}: op {op!r} of domain {domain!r} is not supported; "
                f"trigc takes the QONNX quantizers {', '.join(QONNX_OPS)} from that domain. "
                "Export the model to plain QONNX (qonnx.util.cleanup, without FINN "
                "streamlining)")
        elif domain == CHANNELS_LAST_DOMAIN:
            if op in CHANNELS_LAST_OPS:
                continue
            raise UnsupportedOpError(
                f"{_node_label(node, i)}: channels-last op {op!r} (domain {domain!r}) is "
                f"not supported; trigc takes {', '.join(CHANNELS_LAST_OPS)} from that "
                "domain. Export the model before qonnx's ConvertToChannelsLastAndClean")
        else:
            raise UnsupportedOpError(
                f"{_node_label(node, i)}: op {op!r} of custom domain {domain!r} is not "
                "supported by trigc. Replace the layer with standard ONNX or QONNX ops "
                "and export again")


# ---- opset upgrade ------------------------------------------------------------

def default_opset(proto: onnx.ModelProto) -> int:
    return next((o.version for o in proto.opset_import if o.domain in STANDARD_DOMAINS),
                TARGET_OPSET)


def upgrade_opset(proto: onnx.ModelProto) -> onnx.ModelProto:
    """``proto`` itself when its opset is at least TARGET_OPSET, else upgraded."""
    from onnx import version_converter

    old = default_opset(proto)
    if old >= TARGET_OPSET:
        return proto
    try:
        new = version_converter.convert_version(proto, TARGET_OPSET)
    except Exception as exc:  # noqa: BLE001 - the converter raises RuntimeError and friends
        op = _failing_op(proto, old)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnsupportedOpError(
            f"ONNX opset {old} could not be upgraded to {TARGET_OPSET} with "
            f"onnx.version_converter{f' at op {op!r}' if op else ''} ({first}). "
            f"Re-export the model with opset_version={TARGET_OPSET} or newer") from None
    log.warning("ONNX opset %d upgraded to %d with onnx.version_converter "
                "(re-export with opset_version=%d to skip this)", old, TARGET_OPSET,
                TARGET_OPSET)
    return new


def _failing_op(proto: onnx.ModelProto, opset: int) -> str:
    """The first standard op type the converter cannot upgrade on its own."""
    from onnx import version_converter

    seen = set()
    for node in proto.graph.node:
        if node.domain not in STANDARD_DOMAINS or node.op_type in seen:
            continue
        seen.add(node.op_type)
        one = copy.deepcopy(node)
        names = [n for n in (*one.input, *one.output) if n]
        inits = {i.name: i for i in proto.graph.initializer}
        ins = [helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None)
               for n in one.input if n and n not in inits]
        outs = [helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None)
                for n in one.output if n]
        del names
        g = helper.make_graph([one], "probe", ins, outs,
                              initializer=[inits[n] for n in one.input if n in inits])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
        try:
            version_converter.convert_version(m, TARGET_OPSET)
        except Exception:  # noqa: BLE001
            return node.op_type
    return ""


# ---- channels-last QONNX ops ------------------------------------------------------

def _first_perm(rank: int) -> list[int]:
    """NHWC -> NCHW (qonnx's to_channels_first_args)."""
    return [0, rank - 1, *range(1, rank - 1)]


def _last_perm(rank: int) -> list[int]:
    """NCHW -> NHWC (qonnx's to_channels_last_args)."""
    return [0, *range(2, rank), 1]


# ops whose output has the rank of their first input
_SAME_RANK = {"Quant", "BipolarQuant", "Trunc", "Relu", "Add", "Sub", "Mul", "Div", "Clip",
              "Resize",
              "Sigmoid", "Tanh", "Selu", "LeakyRelu", "Identity", "Abs", "Dropout", "Conv", "MaxPool",
              "BatchNormalization", "AveragePool"}


def _rank_of(proto: onnx.ModelProto, name: str) -> int | None:
    """The rank of tensor ``name`` from the graph's declared shapes, kernel shapes and
    rank-keeping ops (shape inference cannot run before channels-last ops expand)."""
    g = proto.graph
    declared = {vi.name: vi for vi in (*g.input, *g.value_info, *g.output)}
    producers = {o: n for n in g.node for o in n.output}
    for _ in range(len(g.node) + 1):
        vi = declared.get(name)
        if vi is not None and vi.type.tensor_type.HasField("shape"):
            return len(vi.type.tensor_type.shape.dim)
        node = producers.get(name)
        if node is None or node.op_type not in _SAME_RANK:
            return None
        kernel = _attr(node, "kernel_shape")
        if kernel:
            return len(kernel) + 2
        name = node.input[0]
    return None


def expand_channels_last(proto: onnx.ModelProto) -> bool:
    """Each channels-last op becomes Transpose(to NCHW), the standard op (a Conv's
    weight transposed too, as qonnx does), Transpose(back to NHWC)."""
    g = proto.graph
    if not any(n.domain == CHANNELS_LAST_DOMAIN for n in g.node):
        return False
    nodes = []
    for i, node in enumerate(list(g.node)):
        if node.domain != CHANNELS_LAST_DOMAIN:
            nodes.append(node)
            continue
        kernel = _attr(node, "kernel_shape")
        rank = len(kernel) + 2 if kernel else _rank_of(proto, node.input[0])
        if rank not in (3, 4):
            raise UnsupportedOpError(
                f"{_node_label(node, i)} (domain {CHANNELS_LAST_DOMAIN!r}): its input must "
                f"be a rank-3 or rank-4 NHWC tensor of known rank, got rank {rank}. Export "
                "the model before qonnx's ConvertToChannelsLastAndClean")
        if len(node.output) > 1 and any(node.output[1:]):
            raise UnsupportedOpError(f"{_node_label(node, i)}: only its first output")
        name = node.name or f"{node.op_type}_{i}"
        std = copy.deepcopy(node)
        std.domain = ""
        std.name = name
        ins = list(node.input)
        ins[0] = f"{name}__nchw_in"
        nodes.append(helper.make_node("Transpose", [node.input[0]], [ins[0]],
                                      name=f"{name}__to_nchw", perm=_first_perm(rank)))
        if node.op_type == "Conv" and len(ins) > 1:
            ins[1] = f"{name}__nchw_w"
            nodes.append(helper.make_node("Transpose", [node.input[1]], [ins[1]],
                                          name=f"{name}__w_to_nchw", perm=_first_perm(rank)))
        out = f"{name}__nchw_out"
        del std.input[:]
        std.input.extend(ins)
        del std.output[:]
        std.output.append(out)
        nodes.append(std)
        nodes.append(helper.make_node("Transpose", [out], [node.output[0]],
                                      name=f"{name}__to_nhwc", perm=_last_perm(rank)))
    del g.node[:]
    g.node.extend(nodes)
    for o in proto.opset_import:
        if o.domain == CHANNELS_LAST_DOMAIN:
            proto.opset_import.remove(o)
            break
    log.info("channels-last QONNX ops expanded to Transpose, op, Transpose")
    return True


# ---- inputs without a batch axis ---------------------------------------------------

# ops through which a prepended batch axis just rides along (no axis attributes)
_AXIS_FREE = {"Add", "Sub", "Mul", "Div", "MatMul", "Relu", "Sigmoid", "Tanh", "Selu", "Abs",
              "LeakyRelu", "Clip", "Identity", "Dropout", "Quant", "BipolarQuant", "Trunc"}


def _inputs(proto: onnx.ModelProto) -> list:
    inits = {i.name for i in proto.graph.initializer}
    return [vi for vi in proto.graph.input if vi.name not in inits]


def _vi_dims(vi) -> list:
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
            for d in vi.type.tensor_type.shape.dim]


def add_batch_axis(proto: onnx.ModelProto) -> bool:
    """Give a batch axis to a model whose inputs are all rank-1 static vectors."""
    g = proto.graph
    inputs = _inputs(proto)
    if not inputs:
        return False
    ranks = [len(_vi_dims(vi)) if vi.type.tensor_type.HasField("shape") else None
             for vi in inputs]
    for vi, r in zip(inputs, ranks):
        if r == 0:
            raise ModelError(
                f"Input {vi.name!r} is a scalar (rank 0) and has no batch axis; trigc needs "
                "a batch axis and at least one feature axis. Export the model with the input "
                "shaped [N, 1]")
    if not all(r == 1 and isinstance(_vi_dims(vi)[0], int) and _vi_dims(vi)[0] > 0
               for vi, r in zip(inputs, ranks)):
        return False
    if any(node.op_type == "Gemm" for node in g.node):
        return False  # Gemm needs rank 2: the single axis is the batch
    inits = {i.name: i for i in g.initializer}
    shifted = set()
    for vi in inputs:
        dims = vi.type.tensor_type.shape.dim
        new = onnx.TensorShapeProto.Dimension(dim_value=1)
        dims.insert(0, new)
        shifted.add(vi.name)
    consts = {}
    for node in g.node:
        if node.op_type == "Constant":
            consts[node.output[0]] = node
    for i, node in enumerate(g.node):
        if not any(n in shifted for n in node.input):
            continue
        op = node.op_type
        label = _node_label(node, i)
        if op in _AXIS_FREE:
            pass
        elif op in ("Softmax", "LogSoftmax", "Concat", "Flatten"):
            for a in node.attribute:
                if a.name == "axis" and a.i >= 0:
                    a.i += 1
            if op == "Flatten":
                continue  # Flatten's 2-D output is the same as before
        elif op == "Transpose":
            for a in node.attribute:
                if a.name == "perm":
                    perm = list(a.ints)
                    del a.ints[:]
                    a.ints.extend([0] + [p + 1 for p in perm])
        elif op in ("Reshape", "Unsqueeze", "Squeeze") and len(node.input) > 1:
            name = node.input[1]
            if name in inits:
                value = numpy_helper.to_array(inits[name])
            elif name in consts:
                value = numpy_helper.to_array(consts[name].attribute[0].t)
            else:
                raise UnsupportedOpError(
                    f"{label}: input {node.input[0]!r} has no batch axis and its "
                    f"{'target shape' if op == 'Reshape' else 'axes'} is computed; export "
                    "the model with a batch axis on the input")
            value = np.asarray(value, dtype=np.int64).reshape(-1)
            if op == "Reshape":
                value = np.concatenate([[1], value])
            else:
                value = np.where(value >= 0, value + 1, value)
            new_name = f"{name}__batched_{i}"
            g.initializer.append(numpy_helper.from_array(value.astype(np.int64), new_name))
            node.input[1] = new_name
        else:
            raise UnsupportedOpError(
                f"{label}: the model input has no batch axis (shape [{_vi_dims(inputs[0])[-1]}]) "
                f"and trigc cannot add one through {op}. Export the model with a batch axis "
                "on the input (shape [N, ...])")
        shifted.update(o for o in node.output if o)
    for vi in g.output:
        if vi.name in shifted and vi.type.tensor_type.HasField("shape"):
            vi.type.tensor_type.shape.dim.insert(0, onnx.TensorShapeProto.Dimension(
                dim_value=1))
    del g.value_info[:]
    log.warning("model input(s) %s have no batch axis; trigc added one (shape [N, ...])",
                [vi.name for vi in inputs])
    return True


# ---- static shape subgraphs ----------------------------------------------------

class _V:
    """A folded integer value: ``value`` and, per element, whether it is the batch
    size (``batch``) or was computed from it (``tainted``)."""

    def __init__(self, value, batch=None, tainted=None):
        self.value = np.asarray(value)
        self.batch = np.zeros(self.value.shape, bool) if batch is None else np.asarray(batch)
        self.tainted = np.zeros(self.value.shape, bool) if tainted is None \
            else np.asarray(tainted)

    def map(self, f):
        return _V(f(self.value), f(self.batch), f(self.tainted))


def _attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _axes(node, vals, index):
    if len(node.input) > index and node.input[index]:
        return [int(a) for a in vals[node.input[index]].value.reshape(-1)]
    a = _attr(node, "axes")
    return None if a is None else [int(x) for x in a]


def _eval(node, vals: dict, shapes: dict) -> list[_V] | None:
    """The node's outputs, or None when it cannot be folded."""
    op = node.op_type
    ins = [vals.get(n) if n else None for n in node.input]
    if op == "Shape":
        dims = shapes.get(node.input[0])
        if dims is None:
            return None
        start, end = _attr(node, "start", 0), _attr(node, "end", None)
        sl = slice(start, end)
        static = [d if isinstance(d, int) and d > 0 else 1 for d in dims]
        batch = [i == 0 for i in range(len(dims))]
        if any(not (isinstance(d, int) and d > 0) for d in dims[1:]):
            return None
        return [_V(np.asarray(static, np.int64)[sl], np.asarray(batch)[sl])]
    if op == "Size":
        dims = shapes.get(node.input[0])
        if dims is None or any(not (isinstance(d, int) and d > 0) for d in dims[1:]):
            return None
        return [_V(np.int64(np.prod([d if isinstance(d, int) else 1 for d in dims])),
                   False, True)]
    if any(v is None for v, n in zip(ins, node.input) if n):
        return None
    if op == "Constant":
        return None  # constants stay as they are
    if op == "Identity":
        return [ins[0]]
    if op == "Cast":
        to = helper.tensor_dtype_to_np_dtype(_attr(node, "to"))
        return [_V(ins[0].value.astype(to), ins[0].batch, ins[0].tainted)]
    if op == "Gather":
        axis = int(_attr(node, "axis", 0))
        idx = ins[1].value.astype(np.int64)
        return [ins[0].map(lambda a: np.take(a, idx, axis=axis))]
    if op == "Concat":
        axis = int(_attr(node, "axis", 0))
        parts = [v for v in ins if v is not None]
        return [_V(np.concatenate([np.atleast_1d(p.value) for p in parts], axis),
                   np.concatenate([np.atleast_1d(p.batch) for p in parts], axis),
                   np.concatenate([np.atleast_1d(p.tainted) for p in parts], axis))]
    if op == "Unsqueeze":
        axes = sorted(a % (ins[0].value.ndim + len(_axes(node, vals, 1)))
                      for a in _axes(node, vals, 1))
        return [ins[0].map(lambda a: np.expand_dims(a, tuple(axes)))]
    if op == "Squeeze":
        axes = _axes(node, vals, 1)
        return [ins[0].map(lambda a: np.squeeze(a, None if axes is None else tuple(axes)))]
    if op == "Slice":
        x = ins[0]
        if len(node.input) > 1:
            starts = [int(s) for s in ins[1].value.reshape(-1)]
            ends = [int(s) for s in ins[2].value.reshape(-1)]
            axes = [int(s) for s in ins[3].value.reshape(-1)] if len(ins) > 3 and ins[3] \
                else list(range(len(starts)))
            steps = [int(s) for s in ins[4].value.reshape(-1)] if len(ins) > 4 and ins[4] \
                else [1] * len(starts)
        else:
            starts, ends = list(_attr(node, "starts")), list(_attr(node, "ends"))
            axes = list(_attr(node, "axes", range(len(starts))))
            steps = [1] * len(starts)
        index = [slice(None)] * x.value.ndim
        for s, e, a, st in zip(starts, ends, axes, steps):
            index[a] = slice(s, e, st)
        return [x.map(lambda a: a[tuple(index)])]
    if op in ARITH_OPS:
        a, b = ins
        fn = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply}.get(op)
        if op == "Div":
            if np.issubdtype(a.value.dtype, np.integer) and np.issubdtype(b.value.dtype,
                                                                          np.integer):
                if np.any(b.value == 0):
                    return None
                fn = lambda p, q: (np.trunc(p / q)).astype(p.dtype)  # noqa: E731
            else:
                fn = np.divide
        value = fn(a.value, b.value)
        taint = np.broadcast_to(a.batch | a.tainted | b.batch | b.tainted, value.shape)
        # x * 1, x + 0, x / 1 keep a batch element as it is
        keep = None
        if op in ("Mul", "Div") and np.all(b.value == 1) or op in ("Add", "Sub") \
                and np.all(b.value == 0):
            keep = np.broadcast_to(a.batch, value.shape)
        elif op == "Mul" and np.all(a.value == 1) or op == "Add" and np.all(a.value == 0):
            keep = np.broadcast_to(b.batch, value.shape)
        if keep is not None:
            return [_V(value, keep, taint & ~keep)]
        return [_V(value, np.zeros(value.shape, bool), taint)]
    if op in ("Floor", "Ceil", "Neg"):
        fn = {"Floor": np.floor, "Ceil": np.ceil, "Neg": np.negative}[op]
        x = ins[0]
        return [_V(fn(x.value), np.zeros(x.value.shape, bool), x.batch | x.tainted)]
    if op == "ReduceProd":
        x = ins[0]
        axes = _axes(node, vals, 1)
        keep = bool(_attr(node, "keepdims", 1))
        value = np.prod(x.value, axis=None if axes is None else tuple(axes), keepdims=keep)
        any_b = np.any(x.batch | x.tainted, axis=None if axes is None else tuple(axes),
                       keepdims=keep)
        return [_V(value, np.zeros(np.shape(value), bool), any_b)]
    if op == "ConstantOfShape":
        if np.any(ins[0].batch | ins[0].tainted):
            return None
        t = _attr(node, "value")
        fill = numpy_helper.to_array(t).reshape(-1)[0] if t is not None else np.float32(0)
        return [_V(np.full(tuple(int(d) for d in ins[0].value), fill))]
    return None


def _reshape_target(node, v: _V, in_dims: list, label: str) -> np.ndarray:
    """A Reshape target with its batch element written as -1 (resolving another -1
    from the static per-sample size)."""
    target = v.value.astype(np.int64).reshape(-1).copy()
    batch, tainted = v.batch.reshape(-1), v.tainted.reshape(-1)
    if tainted.any():
        raise UnsupportedOpError(
            f"{label}: its target shape is computed from the batch size at run time "
            f"(elements {np.flatnonzero(tainted).tolist()}); trigc needs a static per-sample "
            "shape. Reshape with the batch axis kept first (x.view(x.size(0), -1)), or "
            "export with a fixed shape")
    if not batch.any():
        return target
    if batch.sum() > 1 or not batch[0]:
        raise UnsupportedOpError(
            f"{label}: its target shape moves the batch size away from the first axis; "
            "trigc needs the batch axis first. Keep the batch axis first when reshaping")
    rest = target[1:]
    if (rest == -1).sum() == 1:
        per_sample = int(np.prod([d for d in in_dims[1:]]))
        known = int(np.prod([d for d in rest if d != -1])) or 1
        rest = np.where(rest == -1, per_sample // known, rest)
    return np.concatenate([[-1], rest]).astype(np.int64)


def fold_shape_subgraphs(proto: onnx.ModelProto, shapes: dict) -> bool:
    """Evaluate shape computations (rooted at Shape/Size nodes) into constants. Returns
    whether the graph changed; ``shapes`` maps tensor names to inferred dims."""
    g = proto.graph
    if not any(n.op_type in ("Shape", "Size") for n in g.node):
        return False
    vals: dict[str, _V] = {}
    for init in g.initializer:
        if init.data_type in (onnx.TensorProto.INT64, onnx.TensorProto.INT32):
            vals[init.name] = _V(numpy_helper.to_array(init))
    derived = set()  # outputs computed from a Shape/Size
    folded = []
    for node in g.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            vals[node.output[0]] = _V(numpy_helper.to_array(node.attribute[0].t))
            continue
        roots = node.op_type in ("Shape", "Size")
        from_shape = any(n in derived for n in node.input)
        known = all(n in vals for n in node.input if n)
        # shape ops on integer constants (a Cast of a Constant index) fold as well
        if not roots and not (known and (
                node.op_type in SHAPE_OPS
                or from_shape and node.op_type in ARITH_OPS + ("Concat", "Identity"))):
            continue
        out = _eval(node, vals, shapes)
        if out is None:
            continue
        for name, v in zip(node.output, out):
            vals[name] = v
            derived.add(name)
        folded.append(node)
    if not folded:
        return False
    folded_ids = {id(n) for n in folded}
    keep = [n for n in g.node if id(n) not in folded_ids]
    needed = {n for node in keep for n in node.input} | {o.name for o in g.output}
    for i, node in enumerate(keep):
        if node.op_type == "Reshape" and len(node.input) > 1 and node.input[1] in derived:
            label = _node_label(node, i)
            target = _reshape_target(node, vals[node.input[1]], shapes.get(node.input[0]) or [],
                                     label)
            name = f"{node.input[1]}__folded_{i}"
            g.initializer.append(numpy_helper.from_array(target, name))
            node.input[1] = name
    needed = {n for node in keep for n in node.input} | {o.name for o in g.output}
    for name in sorted(derived & needed):
        v = vals[name]
        if np.any(v.batch | v.tainted):
            user = next((n for n in keep if name in n.input), None)
            raise UnsupportedOpError(
                f"{_node_label(user, 0) if user is not None else repr(name)}: reads "
                f"{name!r}, computed from the batch size at run time; trigc needs static "
                "per-sample shapes. Export the model with fixed shapes (only Reshape targets "
                "may use the batch size)")
        g.initializer.append(numpy_helper.from_array(np.asarray(v.value), name))
    del g.node[:]
    g.node.extend(keep)
    del g.value_info[:]
    log.info("folded %d static shape-computation node(s) (%s) into constants", len(folded),
             ", ".join(sorted({n.op_type for n in folded})))
    return True


def static_shapes(proto: onnx.ModelProto) -> dict:
    g = proto.graph
    return {vi.name: _vi_dims(vi) for vi in (*g.input, *g.value_info, *g.output)}


def flatten_axis0(proto: onnx.ModelProto, shapes: dict) -> None:
    """``Flatten(axis=0)`` of a batch-1 tensor is ``Flatten(axis=1)``."""
    for i, node in enumerate(proto.graph.node):
        if node.op_type != "Flatten" or int(_attr(node, "axis", 1)) != 0:
            continue
        dims = shapes.get(node.input[0]) or []
        if not dims or dims[0] != 1:
            raise UnsupportedOpError(
                f"{_node_label(node, i)}: axis=0 flattens the batch axis into the features "
                f"(input shape {dims}); trigc accepts it only on batch-1 graphs. Flatten "
                "with axis=1 (torch.flatten(x, 1)) and export again")
        for a in node.attribute:
            if a.name == "axis":
                a.i = 1
        log.info("%s: Flatten(axis=0) on a batch-1 tensor taken as axis=1",
                 _node_label(node, i))


__all__ = ["TARGET_OPSET", "add_batch_axis", "check_op_types", "expand_channels_last",
           "flatten_axis0", "fold_shape_subgraphs", "static_shapes", "upgrade_opset"]

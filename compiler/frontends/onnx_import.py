"""Import ONNX / QONNX models into the trigc IR, faithfully (no lowering here).

The importer only translates: each ONNX node becomes one IR node (or none, for
Identity/Dropout), names are kept, ONNX layout (channels-first) is kept. The
pass pipeline does every rewrite. Shapes come from ONNX shape inference run
through qonnx (which knows the Quant/Trunc/BipolarQuant custom ops).
"""

from __future__ import annotations

import ast
import copy
import logging
import re
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from trigc.errors import ModelError, UnsupportedOpError
from trigc.frontends.onnx_upgrade import (
    add_batch_axis, check_op_types, expand_channels_last, flatten_axis0,
    fold_shape_subgraphs, static_shapes, upgrade_opset,
)
from trigc.frontends.onnx_validate import (
    check_bit_width, check_finite, check_scale, read_model, where,
)
from trigc.ir.graph import Graph, Tensor
from trigc.ir import ops as O
from trigc.ir.ops import Op
from trigc.names import identifier
from trigc.ops.lut import SELU_ALPHA, SELU_GAMMA

log = logging.getLogger(__name__)

MIN_OPSET, MAX_OPSET = 13, 21  # older opsets are upgraded (onnx_upgrade.upgrade_opset)

def layer_name(onnx_name: str) -> str:
    """The user's layer name inside an exporter's node name ("/fc1/Gemm" -> "fc1")."""
    parts = [p for p in re.split(r"[/:]", onnx_name) if p]
    if len(parts) > 1:
        return "/".join(parts[:-1])
    return onnx_name


def _infer_shapes(model: onnx.ModelProto) -> onnx.ModelProto:
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.infer_shapes import InferShapes

    try:
        return ModelWrapper(model).transform(InferShapes()).model
    except Exception as exc:  # shape inference failures come in many types
        raise ModelError(f"ONNX shape inference failed on this model: {exc}") from None


def _attr(node: onnx.NodeProto, name: str, default=None):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _dims(vi) -> list:
    shape = vi.type.tensor_type.shape
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in shape.dim]


class _Importer:
    def __init__(self, model: onnx.ModelProto, name: str) -> None:
        self.model = model
        self.graph = Graph(name)
        self.onnx_graph = model.graph
        self.shapes: dict[str, list] = {}
        self._const_derived: set[str] = set()  # outputs computed only from constants
        self.opset = next(
            (o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13
        )

    # ---- tensors ----------------------------------------------------------
    def run(self) -> Graph:
        g = self.onnx_graph
        if not (MIN_OPSET <= self.opset <= MAX_OPSET):
            raise ModelError(
                f"ONNX opset {self.opset} is not supported (use {MIN_OPSET}-{MAX_OPSET}); "
                "re-export the model with a supported opset_version"
            )
        for vi in (*g.input, *g.value_info, *g.output):
            self.shapes[vi.name] = _dims(vi)
        initializers = {init.name: init for init in g.initializer}
        for init in g.initializer:
            value = numpy_helper.to_array(init).astype(np.float64)
            self.graph.add_tensor(init.name, (), value=value)
        for vi in g.input:
            if vi.name in initializers:
                continue
            self.graph.inputs.append(self._activation(vi.name, is_input=True))
        for node in g.node:
            self._node(node)
        for vi in g.output:
            if vi.name not in self.graph.tensors:
                raise ModelError(f"Graph output {vi.name!r} is not produced by any node")
            self.graph.outputs.append(self.graph.tensors[vi.name])
        if not self.graph.inputs:
            raise ModelError("The model has no non-constant input")
        return self.graph

    def _activation(self, name: str, is_input: bool = False, source: str = "") -> Tensor:
        dims = self.shapes.get(name)
        if dims is None:
            raise ModelError(
                f"Tensor {name!r} has no inferred shape; the model may have dynamic shapes. "
                "Export it with fixed input shapes (only the batch axis may be dynamic)"
            )
        if not dims:
            raise ModelError(f"Tensor {name!r} is a scalar; trigc needs a leading batch axis")
        per_sample = dims[1:]
        if any(isinstance(d, int) and d <= 0 for d in per_sample):
            raise ModelError(
                f"Tensor {name!r}{f' of layer {source!r}' if source else ''} has shape "
                f"{dims}, with a zero-sized axis; every axis but the batch axis needs at "
                "least one element. Export the model with its real input shape")
        if any(not isinstance(d, int) or d <= 0 for d in per_sample):
            raise ModelError(
                f"Tensor {name!r} has dynamic shape {dims}; only the first (batch) axis may be "
                "dynamic. Export the model with fixed input shapes"
            )
        if is_input and isinstance(dims[0], int) and dims[0] not in (0, 1):
            log.info("input %s has batch size %s in the model; trigc treats axis 0 as batch",
                     name, dims[0])
        return self.graph.add_tensor(name, per_sample, source=source)

    def _input(self, name: str, node: onnx.NodeProto) -> Tensor:
        if name not in self.graph.tensors:
            raise ModelError(
                f"Node {node.name!r} ({node.op_type}) reads {name!r}, which nothing produces"
            )
        return self.graph.tensors[name]

    def _output(self, name: str, inputs: list[Tensor], source: str) -> Tensor:
        # Values computed only from constants keep their full shape; the
        # constant-folding pass evaluates them.
        if all(t.is_constant or t.name in self._const_derived for t in inputs):
            self._const_derived.add(name)
            t = self.graph.add_tensor(name, tuple(self.shapes.get(name) or ()), source=source)
            return t
        return self._activation(name, source=source)

    # ---- nodes ------------------------------------------------------------
    def _node(self, node: onnx.NodeProto) -> None:
        op_type = node.op_type
        name = node.name or f"{op_type}_{len(self.graph.nodes)}"
        source = layer_name(name)
        scope = torch_scope(node)
        if scope:  # torch.onnx (dynamo) names nodes "node_linear"; the module path is here
            source = scope
            name = f"{scope}/{op_type}"
        ins = [self._input(n, node) if n else None for n in node.input]
        # a quantizer's scale, zero point and bit widths get their own checks
        params = ins[1:] if op_type in ("Quant", "BipolarQuant", "Trunc") else ()
        for i, t in enumerate(ins):
            if t is not None and t.value is not None and all(t is not p for p in params):
                # Clip may bound by +-inf; nothing else in a model is meant to be
                check_finite(t.value, f"constant input {i} ({t.name!r})",
                             where(name, source, op_type), allow_inf=op_type == "Clip")
        handler = HANDLERS.get(op_type)
        if handler is None:
            raise UnsupportedOpError(
                f"Node {name!r}: ONNX op {op_type!r} is not supported by trigc. "
                f"Supported ops: {SUPPORTED}. Replace the layer or fold it before export"
            )
        handler(self, node, name, source, ins)

    def _emit(self, op: Op, node, name, source, ins, attrs=None, out_index=0) -> None:
        ins = [t for t in ins if t is not None]
        out = self._output(node.output[out_index], ins, source)
        self.graph.add_node(op, ins, [out], attrs, name=_c_name(name), source=source)

    def _alias(self, node, ins) -> None:
        """Identity-like node: its output is its input."""
        src = ins[0]
        out_name = node.output[0]
        self.graph.tensors[out_name] = src
        if src.name in self._const_derived:
            self._const_derived.add(out_name)

    def _constant_input(self, t: Tensor | None, node, what: str) -> np.ndarray | None:
        if t is None:
            return None
        if not t.is_constant:
            raise UnsupportedOpError(
                f"Node {node.name!r} ({node.op_type}): {what} must be a constant, but it is "
                f"computed at run time ({t.name!r}). Make it an initializer"
            )
        return t.value

    # QONNX
    def _op_Quant(self, node, name, source, ins):
        if len(ins) != 4 or any(t is None for t in ins):
            raise ModelError(f"Node {name!r}: Quant needs 4 inputs, got {len(ins)}")
        for t, what in zip(ins[1:], ("scale", "zero point", "bit width")):
            self._constant_input(t, node, what)
        at = where(name, source, "Quant")
        check_scale(ins[1].value, "scale", at)
        check_finite(ins[2].value, "zero point", at)
        check_bit_width(ins[3].value, "bit width", at)
        attrs = O.QuantAttrs(
            signed=bool(_attr(node, "signed", 1)),
            narrow=bool(_attr(node, "narrow", 0)),
            rounding_mode=_decode(_attr(node, "rounding_mode", "ROUND")).upper(),
        )
        self._emit(Op.QUANT, node, name, source, ins, attrs)

    def _op_BipolarQuant(self, node, name, source, ins):
        self._constant_input(ins[1], node, "scale")
        check_scale(ins[1].value, "scale", where(name, source, "BipolarQuant"))
        self._emit(Op.BIPOLAR_QUANT, node, name, source, ins)

    def _op_Trunc(self, node, name, source, ins):
        if len(ins) == 5:
            what = ("scale", "zero point", "input bit width", "output bit width")
        elif len(ins) == 6:
            what = ("scale", "zero point", "input bit width", "output scale",
                    "output bit width")
        else:
            raise UnsupportedOpError(
                f"Node {name!r}: Trunc needs 5 (QONNX v1) or 6 (v2) inputs, got {len(ins)}")
        if any(t is None for t in ins):
            raise ModelError(f"Node {name!r}: Trunc has an empty input")
        for t, label in zip(ins[1:], what):
            self._constant_input(t, node, label)
        at = where(name, source, "Trunc")
        for t, label in zip(ins[1:], what):
            if "scale" in label:
                check_scale(t.value, label, at)
            elif "bit width" in label:
                check_bit_width(t.value, label, at)
            else:
                check_finite(t.value, label, at)
        mode = _decode(_attr(node, "rounding_mode", "FLOOR")).upper()
        attrs = O.TruncAttrs(mode, version=len(ins) - 4, signed=bool(_attr(node, "signed", 1)),
                             narrow=bool(_attr(node, "narrow", 0)))
        self._emit(Op.TRUNC, node, name, source, ins, attrs)

    # linear algebra
    def _op_Gemm(self, node, name, source, ins):
        if _attr(node, "transA", 0):
            raise UnsupportedOpError(f"Node {name!r} (Gemm): transA=1 is not supported")
        a, b = ins[0], ins[1]
        if _attr(node, "transB", 0):
            b = self._insert(Op.TRANSPOSE, [b], f"{name}_transB", source,
                             O.TransposeAttrs((1, 0)), shape=tuple(reversed(b.shape)))
        alpha, beta = float(_attr(node, "alpha", 1.0)), float(_attr(node, "beta", 1.0))
        if alpha != 1.0:
            b = self._insert(Op.MUL, [b, self.graph.add_constant(f"{name}_alpha", alpha)],
                             f"{name}_alpha", source, shape=b.shape)
        c = ins[2] if len(ins) > 2 else None
        if c is None:
            self._emit(Op.MATMUL, node, name, source, [a, b])
            return
        mm_name = self.graph.unique_name(f"{node.output[0]}_matmul")
        self.shapes[mm_name] = self.shapes.get(node.output[0])
        mm = self._output(mm_name, [a, b], source)
        self.graph.add_node(Op.MATMUL, [a, b], [mm], name=_c_name(name), source=source)
        if beta != 1.0:
            c = self._insert(Op.MUL, [c, self.graph.add_constant(f"{name}_beta", beta)],
                             f"{name}_beta", source, shape=c.shape)
        out = self._output(node.output[0], [mm, c], source)
        self.graph.add_node(Op.ADD, [mm, c], [out], name=_c_name(f"{name}_bias"), source=source)

    def _insert(self, op, ins, name, source, attrs=None, shape=()):
        out_name = self.graph.unique_name(name)
        if all(t.is_constant or t.name in self._const_derived for t in ins):
            self._const_derived.add(out_name)
        out = self.graph.add_tensor(out_name, shape, source=source)
        self.graph.add_node(op, ins, [out], attrs, name=_c_name(name), source=source)
        return out

    def _op_MatMul(self, node, name, source, ins):
        self._emit(Op.MATMUL, node, name, source, ins)

    # elementwise
    def _op_Add(self, node, name, source, ins):
        self._emit(Op.ADD, node, name, source, ins)

    def _op_Sub(self, node, name, source, ins):
        self._emit(Op.SUB, node, name, source, ins)

    def _op_Mul(self, node, name, source, ins):
        self._emit(Op.MUL, node, name, source, self._broadcast_mask(node, name, source, ins))

    def _broadcast_mask(self, node, name, source, ins):
        """Deep Sets masking, ``h * mask`` with a run-time (objects, 1) mask: the mask
        is repeated along its size-1 axes by Concats (wires), so the Mul multiplies
        two equal-shape tensors, as every kernel does."""
        runtime = [t is not None and not t.is_constant and t.name not in self._const_derived
                   for t in ins[:2]]
        out = self.shapes.get(node.output[0])
        if len(ins) != 2 or not all(runtime) or not out:
            return ins
        out = tuple(out[1:])
        return [self._repeat_to(t, out, name, source)
                if t.shape != out and len(t.shape) == len(out) and all(
                    a in (1, b) for a, b in zip(t.shape, out)) else t for t in ins]

    def _repeat_to(self, t, shape, name, source):
        for axis, (have, want) in enumerate(zip(t.shape, shape)):
            if have == want:
                continue
            doubled, pieces, step = t, [], 1
            while step <= want:  # t repeated 1, 2, 4, ... times along axis
                if want & step:
                    pieces.append(doubled)
                step <<= 1
                if step <= want:
                    doubled = self._concat2(doubled, doubled, axis, name, source)
            t = pieces[0]
            for piece in pieces[1:]:
                t = self._concat2(t, piece, axis, name, source)
        return t

    def _concat2(self, a, b, axis, name, source):
        shape = tuple(d + (e if i == axis else 0) for i, (d, e) in
                      enumerate(zip(a.shape, b.shape)))
        return self._insert(Op.CONCAT, [a, b], f"{name}_broadcast", source,
                            O.ConcatAttrs(axis), shape=shape)

    def _op_Div(self, node, name, source, ins):
        if ins[1] is not None and not ins[1].is_constant and \
                ins[1].name not in self._const_derived:
            # the masked-mean pattern of Deep Sets: sum(h * mask) / sum(mask)
            raise UnsupportedOpError(
                f"Node {name!r} (Div, layer {source!r}): the divisor {ins[1].name!r} is "
                "computed at run time (e.g. the count of real objects of a masked mean); "
                "division by a run-time value is not exact in fixed point. Use sum pooling "
                "(ReduceSum over the objects, no division) or a mean over the fixed object "
                "count (exact when it is a power of two)")
        self._constant_input(ins[1], node, "divisor")
        self._emit(Op.DIV, node, name, source, ins)

    # convolution and normalisation
    def _op_Conv(self, node, name, source, ins):
        w = ins[1]
        k = tuple(int(d) for d in (_attr(node, "kernel_shape") or w.shape[2:]))
        nd = len(k)
        if nd not in (1, 2):
            raise UnsupportedOpError(f"Node {name!r} (Conv): only 1D and 2D convolutions")
        if any(d != 1 for d in (_attr(node, "dilations") or [1] * nd)):
            raise UnsupportedOpError(
                f"Node {name!r} (Conv): dilation other than 1 is not supported")
        strides = tuple(_attr(node, "strides") or [1] * nd)
        pads = self._pads(node, name, k, strides, ins[0])
        attrs = O.ConvAttrs(k, strides, pads, int(_attr(node, "group", 1)))
        self._emit(Op.CONV, node, name, source, ins, attrs)

    def _pads(self, node, name, kernel, strides, x) -> tuple[int, ...]:
        nd = len(kernel)
        auto = _decode(_attr(node, "auto_pad", "NOTSET"))
        if auto in ("NOTSET", ""):
            return tuple(int(p) for p in (_attr(node, "pads") or [0] * (2 * nd)))
        if auto == "VALID":
            return (0,) * (2 * nd)
        spatial = x.shape[1:]
        begin, end = [], []
        for size, k, s in zip(spatial, kernel, strides):
            out = -(-size // s)
            total = max((out - 1) * s + k - size, 0)
            small, large = total // 2, total - total // 2
            begin.append(small if auto == "SAME_UPPER" else large)
            end.append(large if auto == "SAME_UPPER" else small)
        return tuple(begin + end)

    def _op_BatchNormalization(self, node, name, source, ins):
        for t, what in zip(ins[1:5], ("scale", "bias", "mean", "variance")):
            self._constant_input(t, node, what)
        if _attr(node, "training_mode", 0):
            raise UnsupportedOpError(f"Node {name!r}: BatchNormalization in training mode")
        attrs = O.BatchNormAttrs(float(_attr(node, "epsilon", 1e-5)))
        self._emit(Op.BATCHNORM, node, name, source, ins[:5], attrs)

    # activations
    def _op_Relu(self, node, name, source, ins):
        self._emit(Op.RELU, node, name, source, ins)

    def _op_Abs(self, node, name, source, ins):
        self._emit(Op.ABS, node, name, source, ins)

    def _op_LeakyRelu(self, node, name, source, ins):
        self._emit(Op.LEAKY_RELU, node, name, source, ins,
                   O.LeakyReluAttrs(float(_attr(node, "alpha", 0.01))))

    def _op_Clip(self, node, name, source, ins):
        if self.opset < 11:
            low, high = _attr(node, "min"), _attr(node, "max")
        else:
            low_t = ins[1] if len(ins) > 1 else None
            high_t = ins[2] if len(ins) > 2 else None
            low = self._constant_input(low_t, node, "min")
            high = self._constant_input(high_t, node, "max")
        attrs = O.ClipAttrs(None if low is None else float(np.asarray(low)),
                            None if high is None else float(np.asarray(high)))
        self._emit(Op.CLIP, node, name, source, ins[:1], attrs)

    def _op_Sigmoid(self, node, name, source, ins):
        self._emit(Op.SIGMOID, node, name, source, ins, O.LutAttrs("sigmoid"))

    def _op_Tanh(self, node, name, source, ins):
        self._emit(Op.TANH, node, name, source, ins, O.LutAttrs("tanh"))

    def _op_Selu(self, node, name, source, ins):
        alpha = float(_attr(node, "alpha", SELU_ALPHA))
        gamma = float(_attr(node, "gamma", SELU_GAMMA))
        if not (alpha >= 0 and gamma > 0):
            raise UnsupportedOpError(
                f"Node {name!r} (Selu): alpha={alpha:g}, gamma={gamma:g}; the lookup table "
                "needs a non-decreasing Selu (alpha >= 0, gamma > 0). Use the defaults")
        self._emit(Op.SELU, node, name, source, ins, O.LutAttrs("selu", params=(alpha, gamma)))

    def _op_Softmax(self, node, name, source, ins):
        rank = len(self.shapes.get(node.input[0]) or [])
        axis = int(_attr(node, "axis", -1 if self.opset >= 13 else 1))
        axis = axis + rank if axis < 0 else axis
        if axis != rank - 1:
            raise UnsupportedOpError(
                f"Node {name!r} (Softmax): only softmax over the last axis is supported")
        self._emit(Op.SOFTMAX, node, name, source, ins, O.SoftmaxAttrs(axis=-1))

    # pooling
    def _pool(self, node, name, source, ins, op):
        if _attr(node, "ceil_mode", 0):
            raise UnsupportedOpError(f"Node {name!r} ({node.op_type}): ceil_mode=1")
        k = tuple(int(d) for d in _attr(node, "kernel_shape"))
        if any(d != 1 for d in (_attr(node, "dilations") or [1] * len(k))):
            raise UnsupportedOpError(f"Node {name!r} ({node.op_type}): dilation other than 1")
        strides = tuple(_attr(node, "strides") or [1] * len(k))
        pads = self._pads(node, name, k, strides, ins[0])
        attrs = O.PoolAttrs(k, strides, pads, bool(_attr(node, "count_include_pad", 0)))
        self._emit(op, node, name, source, ins[:1], attrs)

    def _op_MaxPool(self, node, name, source, ins):
        if len(node.output) > 1 and node.output[1]:
            raise UnsupportedOpError(f"Node {name!r} (MaxPool): the indices output")
        self._pool(node, name, source, ins, Op.MAXPOOL)

    def _op_AveragePool(self, node, name, source, ins):
        self._pool(node, name, source, ins, Op.AVGPOOL)

    def _op_GlobalAveragePool(self, node, name, source, ins):
        self._emit(Op.GLOBAL_AVGPOOL, node, name, source, ins, O.GlobalPoolAttrs())

    def _op_GlobalMaxPool(self, node, name, source, ins):
        self._emit(Op.GLOBAL_MAXPOOL, node, name, source, ins, O.GlobalPoolAttrs())

    # reductions over objects (Deep Sets pooling) or spatial positions
    def _op_ReduceMean(self, node, name, source, ins):
        self._reduce(node, name, source, ins, Op.GLOBAL_AVGPOOL, O.GlobalPoolAttrs)

    def _op_ReduceMax(self, node, name, source, ins):
        self._reduce(node, name, source, ins, Op.GLOBAL_MAXPOOL, O.GlobalPoolAttrs)

    def _op_ReduceSum(self, node, name, source, ins):
        self._reduce(node, name, source, ins, Op.GLOBAL_AVGPOOL,
                     lambda **kw: O.GlobalPoolAttrs(divide=False, **kw))

    def _reduce(self, node, name, source, ins, op, make_attrs):
        """ReduceMean/Max/Sum as a global pool: over every axis but the last of
        (batch, objects..., features) (channels-last: Deep Sets pooling over
        objects), or every axis but the first (channels-first, as GlobalAveragePool)."""
        x = ins[0]
        fix = ("reduce over the objects axis of a (batch, objects, features) tensor "
               "(axis 1; x.mean(dim=1), .sum(dim=1), .amax(dim=1)) or over every axis but "
               "the channels of a (batch, channels, ...) tensor")
        if x.is_constant or x.name in self._const_derived:
            raise UnsupportedOpError(f"Node {name!r} ({node.op_type}): reduction of a "
                                     "constant; fold it before export")
        axes_t = ins[1] if len(ins) > 1 else None
        axes = _attr(node, "axes") if axes_t is None else \
            self._constant_input(axes_t, node, "axes")
        shape = x.shape
        rank = len(shape) + 1  # with the batch axis
        if axes is None or np.asarray(axes).size == 0:
            if _attr(node, "noop_with_empty_axes", 0):
                self._alias(node, ins)
                return
            axes = range(rank)
        per_sample = sorted({int(a) % rank for a in np.asarray(axes).reshape(-1)})
        if 0 in per_sample:
            raise UnsupportedOpError(
                f"Node {name!r} ({node.op_type}, layer {source!r}): the reduction includes "
                f"the batch axis 0 (axes {per_sample}); trigc computes one event at a time. "
                f"{fix[0].upper()}{fix[1:]}")
        per_sample = [a - 1 for a in per_sample]
        n = len(shape)
        if n >= 2 and per_sample == list(range(n - 1)):
            channels_last, pooled = True, (*(1,) * (n - 1), shape[-1])
        elif n >= 2 and per_sample == list(range(1, n)):
            channels_last, pooled = False, (shape[0], *(1,) * (n - 1))
        else:
            raise UnsupportedOpError(
                f"Node {name!r} ({node.op_type}, layer {source!r}): reduction over axes "
                f"{[a + 1 for a in per_sample]} of a tensor of shape (batch, "
                f"{', '.join(map(str, shape))}) is not supported; {fix}")
        attrs = make_attrs(channels_last=channels_last)
        if _attr(node, "keepdims", 1):
            self._emit(op, node, name, source, ins[:1], attrs)
            return
        pooled_t = self._insert(op, ins[:1], f"{name}_pool", source, attrs, shape=pooled)
        out = self._output(node.output[0], [pooled_t], source)
        self.graph.add_node(Op.RESHAPE, [pooled_t], [out], O.ReshapeAttrs(tuple(out.shape)),
                            name=_c_name(f"{name}_squeeze"), source=source)

    # layout
    def _op_Flatten(self, node, name, source, ins):
        if int(_attr(node, "axis", 1)) != 1:
            raise UnsupportedOpError(f"Node {name!r} (Flatten): only axis=1 is supported")
        shape = (int(np.prod(ins[0].shape)),)
        self._emit(Op.RESHAPE, node, name, source, ins[:1], O.ReshapeAttrs(shape))

    def _op_Unsqueeze(self, node, name, source, ins):
        self._axes_reshape(node, name, source, ins, out_rank=True)

    def _op_Squeeze(self, node, name, source, ins):
        self._axes_reshape(node, name, source, ins, out_rank=False)

    def _axes_reshape(self, node, name, source, ins, out_rank: bool):
        """Unsqueeze/Squeeze: a reshape to the inferred output shape, refused when it
        would add or drop the batch axis."""
        dims = self.shapes.get(node.output[0])
        if dims is None:
            raise ModelError(f"Node {name!r} ({node.op_type}): output shape could not be "
                             "inferred; export the model with fixed input shapes")
        if ins[0].is_constant or ins[0].name in self._const_derived:
            self._emit(Op.RESHAPE, node, name, source, ins[:1],
                       O.ReshapeAttrs(tuple(int(d) for d in dims)))
            return
        axes_t = ins[1] if len(ins) > 1 else None
        axes = _attr(node, "axes") if axes_t is None else \
            self._constant_input(axes_t, node, "axes")
        rank = len(dims) if out_rank else len(self.shapes.get(node.input[0]) or [])
        if axes is None:  # Squeeze without axes drops every 1, maybe the batch axis
            in_dims = self.shapes.get(node.input[0]) or []
            axes = [i for i, d in enumerate(in_dims) if d == 1]
        if any(int(a) % max(rank, 1) == 0 for a in np.asarray(axes).reshape(-1)):
            raise UnsupportedOpError(
                f"Node {name!r} ({node.op_type}): axes {list(np.asarray(axes).reshape(-1))} "
                "include the batch axis 0; trigc keeps the batch axis first. Export with "
                "axes >= 1 (and a batch axis on the input)")
        self._emit(Op.RESHAPE, node, name, source, ins[:1],
                   O.ReshapeAttrs(tuple(int(d) for d in dims[1:])))

    def _op_Reshape(self, node, name, source, ins):
        self._constant_input(ins[1], node, "target shape")
        if ins[0].is_constant or ins[0].name in self._const_derived:
            target = tuple(int(d) for d in ins[1].value)
            self._emit(Op.RESHAPE, node, name, source, ins[:1], O.ReshapeAttrs(target))
            return
        dims = self.shapes.get(node.output[0])
        if not dims:
            raise ModelError(f"Node {name!r} (Reshape): output shape could not be inferred")
        self._emit(Op.RESHAPE, node, name, source, ins[:1],
                   O.ReshapeAttrs(tuple(int(d) for d in dims[1:])))

    def _op_Transpose(self, node, name, source, ins):
        x = ins[0]
        perm = _attr(node, "perm")
        if x.is_constant or x.name in self._const_derived:
            perm = tuple(perm) if perm is not None else tuple(reversed(range(len(x.shape))))
            self._emit(Op.TRANSPOSE, node, name, source, ins, O.TransposeAttrs(perm))
            return
        if perm is None or perm[0] != 0:
            raise UnsupportedOpError(
                f"Node {name!r} (Transpose): permutations that move the batch axis are not "
                "supported")
        self._emit(Op.TRANSPOSE, node, name, source, ins,
                   O.TransposeAttrs(tuple(int(p) - 1 for p in perm[1:])))

    def _op_Concat(self, node, name, source, ins):
        axis = int(_attr(node, "axis"))
        if all(t.is_constant or t.name in self._const_derived for t in ins):
            self._emit(Op.CONCAT, node, name, source, ins, O.ConcatAttrs(axis))
            return
        rank = len(ins[0].shape) + 1
        axis = axis + rank if axis < 0 else axis
        if axis == 0:
            raise UnsupportedOpError(f"Node {name!r} (Concat): concatenation along the batch")
        self._emit(Op.CONCAT, node, name, source, ins, O.ConcatAttrs(axis - 1))

    def _op_Resize(self, node, name, source, ins):
        """Nearest upsampling by integer factors on the spatial axes: pure wiring
        (``Op.RESIZE``); every other variant is refused by name with the fix."""
        where_ = f"Node {name!r} (Resize)"
        fix = "use mode='nearest' with an integer scale_factor, or ConvTranspose"
        mode = _decode(_attr(node, "mode", "nearest"))
        if mode != "nearest":
            raise UnsupportedOpError(f"{where_}: mode {mode!r} is not supported; {fix}")
        in_dims = self.shapes.get(node.input[0]) or []
        out_dims = self.shapes.get(node.output[0]) or []
        x = ins[0]
        if x.is_constant or x.name in self._const_derived or len(in_dims) < 3:
            raise UnsupportedOpError(
                f"{where_}: only a run-time (N, C, *spatial) tensor can be resized; {fix}")
        factors = self._resize_factors(node, where_, fix, ins, in_dims, out_dims)
        coord = _decode(_attr(node, "coordinate_transformation_mode", "half_pixel"))
        nearest = _decode(_attr(node, "nearest_mode", "round_prefer_floor"))
        for n_in, f in zip(in_dims[2:], factors):
            got = _nearest_sources(coord, nearest, int(n_in), f)
            if got is None or not np.array_equal(got, np.arange(n_in * f) // f):
                raise UnsupportedOpError(
                    f"{where_}: coordinate_transformation_mode={coord!r} with "
                    f"nearest_mode={nearest!r} does not copy input pixel o // {f} to output "
                    f"pixel o; export with coordinate_transformation_mode='asymmetric' and "
                    "nearest_mode='floor' (torch nn.Upsample(mode='nearest') does), or "
                    "'half_pixel' with 'round_prefer_floor' (the ONNX defaults)")
        if all(f == 1 for f in factors):
            self._alias(node, ins)
            return
        self._emit(Op.RESIZE, node, name, source, ins[:1], O.ResizeAttrs(tuple(factors)))

    def _resize_factors(self, node, where_, fix, ins, in_dims, out_dims) -> list[int]:
        """The integer factor of each spatial axis, from ``scales`` or ``sizes``
        (opset 18's ``axes`` listing the axes they cover); 1 on batch and channels."""
        rank = len(in_dims)
        scales_t = ins[2] if len(ins) > 2 else None  # opset >= 13: (X, roi, scales, sizes)
        sizes_t = ins[3] if len(ins) > 3 else None
        axes = _attr(node, "axes")
        axes = list(range(rank)) if axes is None else [a + rank if a < 0 else a for a in axes]
        scales = self._constant_input(scales_t, node, "scales")
        sizes = self._constant_input(sizes_t, node, "sizes")
        full = [1.0] * rank
        if sizes is not None and np.asarray(sizes).size:
            policy = _decode(_attr(node, "keep_aspect_ratio_policy", "stretch"))
            if policy != "stretch":
                raise UnsupportedOpError(
                    f"{where_}: keep_aspect_ratio_policy={policy!r}; give integer scales "
                    f"instead; {fix}")
            for a, s in zip(axes, np.asarray(sizes).ravel()):
                if a > 0:  # the batch entry says nothing about the per-sample graph
                    full[a] = float(s) / float(in_dims[a])
        elif scales is not None and np.asarray(scales).size:
            for a, s in zip(axes, np.asarray(scales).ravel()):
                full[a] = float(s)
        else:
            raise UnsupportedOpError(f"{where_}: neither scales nor sizes is given; {fix}")
        if full[0] != 1.0 or full[1] != 1.0:
            raise UnsupportedOpError(
                f"{where_}: scales {full} resize the batch or channel axis; only the "
                f"spatial axes (2 and up) can be upsampled; {fix}")
        factors = []
        for a in range(2, rank):
            f = full[a]
            if f < 1.0 or f != int(f):
                kind = "down-sampling" if f < 1.0 else "a non-integer factor"
                raise UnsupportedOpError(
                    f"{where_}: scale {f:g} on axis {a} is {kind}; {fix}")
            factors.append(int(f))
        if out_dims and list(out_dims[2:]) != [d * f for d, f in zip(in_dims[2:], factors)]:
            raise UnsupportedOpError(
                f"{where_}: output shape {out_dims} is not the input's {in_dims} times "
                f"{factors}; {fix}")
        return factors

    def _op_Identity(self, node, name, source, ins):
        self._alias(node, ins)

    def _op_Dropout(self, node, name, source, ins):
        if len(node.output) > 1 and node.output[1]:
            raise UnsupportedOpError(f"Node {name!r} (Dropout): the mask output")
        self._alias(node, ins)

    def _op_Constant(self, node, name, source, ins):
        for a in node.attribute:
            if a.name == "value":
                value = numpy_helper.to_array(a.t)
            elif a.name in ("value_float", "value_int"):
                value = np.asarray(onnx.helper.get_attribute_value(a))
            elif a.name in ("value_floats", "value_ints"):
                value = np.asarray(list(onnx.helper.get_attribute_value(a)))
            else:
                raise UnsupportedOpError(f"Node {name!r} (Constant): attribute {a.name!r}")
            self.graph.add_tensor(node.output[0], (), value=value.astype(np.float64),
                                  source=source)
            return
        raise ModelError(f"Node {name!r} (Constant) has no value")


# ONNX op type -> handler: the one list of what the importer takes (greppable).
HANDLERS = {
    "Quant": _Importer._op_Quant, "BipolarQuant": _Importer._op_BipolarQuant,
    "Trunc": _Importer._op_Trunc, "Gemm": _Importer._op_Gemm, "MatMul": _Importer._op_MatMul,
    "Add": _Importer._op_Add, "Sub": _Importer._op_Sub, "Mul": _Importer._op_Mul,
    "Div": _Importer._op_Div, "Conv": _Importer._op_Conv,
    "BatchNormalization": _Importer._op_BatchNormalization, "Relu": _Importer._op_Relu,
    "Abs": _Importer._op_Abs, "LeakyRelu": _Importer._op_LeakyRelu, "Clip": _Importer._op_Clip,
    "Sigmoid": _Importer._op_Sigmoid, "Tanh": _Importer._op_Tanh, "Selu": _Importer._op_Selu,
    "Softmax": _Importer._op_Softmax, "MaxPool": _Importer._op_MaxPool,
    "AveragePool": _Importer._op_AveragePool,
    "GlobalAveragePool": _Importer._op_GlobalAveragePool,
    "GlobalMaxPool": _Importer._op_GlobalMaxPool, "Flatten": _Importer._op_Flatten,
    "ReduceMean": _Importer._op_ReduceMean, "ReduceMax": _Importer._op_ReduceMax,
    "ReduceSum": _Importer._op_ReduceSum,
    "Reshape": _Importer._op_Reshape, "Transpose": _Importer._op_Transpose,
    "Concat": _Importer._op_Concat, "Unsqueeze": _Importer._op_Unsqueeze,
    "Squeeze": _Importer._op_Squeeze, "Identity": _Importer._op_Identity,
    "Dropout": _Importer._op_Dropout, "Constant": _Importer._op_Constant,
    "Resize": _Importer._op_Resize,
}
SUPPORTED = ", ".join(HANDLERS)


def torch_scope(node: onnx.NodeProto) -> str:
    """The module path torch.onnx records for a node (e.g. "fc1"), or ""."""
    for prop in node.metadata_props:
        if prop.key == "pkg.torch.onnx.name_scopes":
            try:
                scopes = ast.literal_eval(prop.value)
            except (ValueError, SyntaxError):
                return ""
            return next((str(s) for s in scopes if s), "")
    return ""


def _decode(v):
    return v.decode() if isinstance(v, bytes) else v


def _nearest_sources(coord: str, nearest: str, n_in: int, f: int) -> np.ndarray | None:
    """The input pixel ONNX Resize (mode 'nearest') reads for each output pixel of an
    axis upsampled by the integer ``f`` (the operator's formulas), or None for a mode
    it does not define."""
    o = np.arange(n_in * f, dtype=np.float64)
    n_out = n_in * f
    if coord in ("half_pixel", "half_pixel_symmetric"):
        x = (o + 0.5) / f - 0.5
    elif coord == "pytorch_half_pixel":
        x = (o + 0.5) / f - 0.5 if n_out > 1 else np.zeros_like(o)
    elif coord == "asymmetric":
        x = o / f
    elif coord == "align_corners":
        x = o * (n_in - 1) / (n_out - 1) if n_out > 1 else np.zeros_like(o)
    elif coord == "tf_half_pixel_for_nn":
        x = (o + 0.5) / f
    else:
        return None
    frac = x - np.floor(x)
    if nearest == "floor":
        i = np.floor(x)
    elif nearest == "ceil":
        i = np.ceil(x)
    elif nearest == "round_prefer_floor":
        i = np.where(frac == 0.5, np.floor(x), np.round(x))
    elif nearest == "round_prefer_ceil":
        i = np.where(frac == 0.5, np.ceil(x), np.round(x))
    else:
        return None
    return np.clip(i, 0, n_in - 1).astype(np.int64)


def _c_name(name: str, prefix: str = "n") -> str:
    """A safe C identifier from an exporter's node name ("/fc1/Gemm" -> "fc1_Gemm"),
    from :func:`trigc.names.identifier`; the node keeps the original as its source."""
    return identifier(name, prefix=prefix)


def prepare(proto: onnx.ModelProto) -> onnx.ModelProto:
    """Refuse unsupported ops at once, then bring old exports to the importer's form
    (:mod:`trigc.frontends.onnx_upgrade`) and infer shapes. ``proto`` is not changed."""
    check_op_types(proto, HANDLERS)
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 13)
    if opset > MAX_OPSET:
        raise ModelError(
            f"ONNX opset {opset} is not supported (use {MIN_OPSET}-{MAX_OPSET}; older "
            "opsets are upgraded); re-export the model with a supported opset_version")
    upgraded = upgrade_opset(proto)
    proto = copy.deepcopy(proto) if upgraded is proto else upgraded
    add_batch_axis(proto)
    expand_channels_last(proto)
    proto = _infer_shapes(proto)
    shapes = static_shapes(proto)
    changed = fold_shape_subgraphs(proto, shapes)
    flatten_axis0(proto, shapes)
    if changed:
        proto = _infer_shapes(proto)
    return proto


def import_onnx(model, name: str | None = None) -> Graph:
    """Translate an ONNX/QONNX model (path or ModelProto) into an un-lowered IR graph."""
    proto = read_model(model)
    if name is None:
        name = Path(model).stem if isinstance(model, (str, Path)) else (
            proto.graph.name or "model")
    proto = prepare(proto)
    graph = _Importer(proto, _c_name(name, prefix="model")).run()
    graph.prune_tensors()
    return graph

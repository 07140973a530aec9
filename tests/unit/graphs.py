"""Hand-built IR graphs and tiny ONNX/QONNX models for the unit tests."""

from __future__ import annotations

import numpy as np

from trigc.fixed import FixedType
from trigc.frontends.onnx_import import import_onnx
from trigc.frontends.qonnx_builder import QonnxBuilder
from trigc.ir import Graph, Op, Tensor
from trigc.ir import ops as O

# ---- IR building ----------------------------------------------------------------------

def graph(name: str = "g") -> Graph:
    return Graph(name)


def inp(g: Graph, name: str, shape, type: FixedType | None = None) -> Tensor:
    t = g.add_tensor(name, tuple(shape), type)
    g.inputs.append(t)
    return t


def const(g: Graph, value, name: str = "c", type: FixedType | None = None) -> Tensor:
    return g.add_constant(name, np.asarray(value, dtype=np.float64), type)


def node(g: Graph, op: Op, inputs, attrs=None, shape=None, type: FixedType | None = None,
         name: str = "", out: str | None = None, source: str = "") -> Tensor:
    """Append ``op(*inputs)``; its output gets ``shape`` (default: input 0's)."""
    shape = inputs[0].shape if shape is None else tuple(shape)
    t = g.add_tensor(g.unique_name(out or f"{name or op.value.lower()}_out"), shape, type,
                     source=source)
    g.add_node(op, list(inputs), [t], attrs, name=name, source=source)
    return t


def outputs(g: Graph, *ts: Tensor) -> Graph:
    g.outputs = list(ts)
    return g


def ops_of(g: Graph) -> list[Op]:
    return [n.op for n in g.nodes]


def conv_out_shape(spatial, kernel, strides, pads):
    nd = len(kernel)
    return tuple((spatial[i] + pads[i] + pads[i + nd] - kernel[i]) // strides[i] + 1
                 for i in range(nd))


# ---- float execution of (un-lowered) graphs, for pass equivalence checks -----------------

def _conv_cf(x, w, b, a: O.ConvAttrs):
    """Channels-first float conv via the channels-last loop reference."""
    from tests.unit.reference import conv_ref

    nd = len(a.kernel_shape)
    xl = np.moveaxis(x, 1, -1)
    wl = np.transpose(w, (*range(2, 2 + nd), 1, 0))
    y = conv_ref(xl, wl, b, a.strides, a.pads, a.groups).astype(np.float64)
    return np.moveaxis(y, -1, 1)


def _pool(x, a, kind, channels_last):
    from tests.unit.reference import pool_ref

    xl = x if channels_last else np.moveaxis(x, 1, -1)
    y = pool_ref(xl, a.kernel_shape, a.strides, a.pads, kind, a.count_include_pad)
    y = y.astype(np.float64)
    return y if channels_last else np.moveaxis(y, -1, 1)


def float_run(g: Graph, *xs) -> list[np.ndarray]:
    """Float64 execution (batch axis first) of a graph of import/final ops, ignoring
    fixed-point types: used to check that layout and folding passes keep the maths."""
    env = {id(t): np.asarray(t.value, dtype=np.float64) for t in g.tensors.values()
           if t.is_constant}
    for t, x in zip(g.inputs, xs):
        env[id(t)] = np.asarray(x, dtype=np.float64)
    for n in g.nodes:
        args = [env[id(t)] for t in n.inputs]
        a = n.attrs
        op = n.op
        if op in (Op.ADD, Op.SUB, Op.MUL, Op.DIV):
            f = {Op.ADD: np.add, Op.SUB: np.subtract, Op.MUL: np.multiply,
                 Op.DIV: np.divide}[op]
            y = f(args[0], args[1])
        elif op is Op.MATMUL:
            y = args[0] @ args[1]
        elif op is Op.DENSE:
            y = args[0] @ args[1] + (args[2] if len(args) > 2 else 0)
        elif op is Op.RELU:
            y = np.maximum(args[0], 0)
        elif op is Op.CAST:
            y = args[0]
        elif op is Op.BATCHNORM:
            gamma, beta, mean, var = args[1:5]
            shape = (1, -1) + (1,) * (args[0].ndim - 2)
            y = (args[0] - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + a.epsilon) \
                * gamma.reshape(shape) + beta.reshape(shape)
        elif op is Op.CONV:
            if a.channels_last:
                from tests.unit.reference import conv_ref
                b = args[2] if len(args) > 2 else None
                y = conv_ref(args[0], args[1], b, a.strides, a.pads, a.groups).astype(float)
            else:
                y = _conv_cf(args[0], args[1], args[2] if len(args) > 2 else None, a)
        elif op in (Op.MAXPOOL, Op.AVGPOOL):
            y = _pool(args[0], a, "max" if op is Op.MAXPOOL else "avg", a.channels_last)
        elif op is Op.TRANSPOSE:
            y = np.transpose(args[0], (0, *(p + 1 for p in a.perm)))
        elif op is Op.RESHAPE:
            y = args[0].reshape((args[0].shape[0], *a.shape))
        else:
            raise NotImplementedError(op)
        env[id(n.output)] = y
    return [env[id(t)] for t in g.outputs]


# ---- tiny ONNX / QONNX models ---------------------------------------------------------

class Onnx(QonnxBuilder):
    """``trigc.frontends.qonnx_builder.QonnxBuilder`` plus ``build()``, which imports
    the model into an (un-lowered) IR graph."""

    def build(self, inputs: dict, output: str, out_shape, opset: int = 13) -> Graph:
        return import_onnx(self.model(inputs, output, out_shape, opset))

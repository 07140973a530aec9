"""Hand-built QONNX models (onnx.helper) and their reference execution via qonnx."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

QONNX_DOMAIN = "qonnx.custom_op.general"


class Builder:
    """Tiny QONNX graph builder: every call appends nodes and returns the output name."""

    def __init__(self, name="model"):
        self.name = name
        self.nodes, self.inits, self.count = [], [], 0

    def _n(self, base):
        self.count += 1
        return f"{base}_{self.count}"

    def const(self, value, base="c"):
        name = self._n(base)
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    def node(self, op, inputs, domain="", name=None, **attrs):
        out = self._n(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=name or self._n(op),
                                           domain=domain, **attrs))
        return out

    def quant(self, x, scale, bits, signed=True, narrow=False, rounding="ROUND", zp=0.0,
              name=None):
        return self.node("Quant", [x, self.const(scale, "scale"), self.const(zp, "zp"),
                                   self.const(bits, "bits")], domain=QONNX_DOMAIN, name=name,
                         signed=int(signed), narrow=int(narrow), rounding_mode=rounding)

    def model(self, inputs: dict, output: str, out_shape, opset=13):
        g = helper.make_graph(
            self.nodes, self.name,
            [helper.make_tensor_value_info(k, TensorProto.FLOAT, list(v)) for k, v in
             inputs.items()],
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, list(out_shape))],
            initializer=self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset),
                                                helper.make_opsetid(QONNX_DOMAIN, 1)])
        return m


def qonnx_execute(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    """Reference forward pass with qonnx's executor (float32, per batch)."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx

    from qonnx.transformation.infer_shapes import InferShapes
    from qonnx.util.basic import qonnx_make_model  # noqa: F401  (qonnx import check)

    w = ModelWrapper(model)
    inp = w.graph.input[0]
    inp.type.tensor_type.shape.dim[0].dim_value = x.shape[0]
    for vi in w.graph.output:
        vi.type.tensor_type.shape.dim[0].dim_value = x.shape[0]
    w = w.transform(InferShapes())
    iname = w.graph.input[0].name
    oname = w.graph.output[0].name
    return execute_onnx(w, {iname: x.astype(np.float32)})[oname]


def mlp(sizes=(16, 64, 32, 32, 5), w_bits=6, a_bits=6, seed=0, in_scale=2**-4,
        softmax=False, per_channel=False):
    """A QONNX MLP: input Quant, then per layer: Quant'd weights, MatMul, Add bias,
    Relu, Quant. Power-of-two scales throughout."""
    rng = np.random.default_rng(seed)
    b = Builder("mlp")
    x = b.quant("x", in_scale, 8, signed=True)
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = rng.normal(0, 1 / np.sqrt(n_in), (n_in, n_out)).astype(np.float32)
        w_scale = (2.0 ** rng.integers(-5, -3, n_out)).astype(np.float32) if per_channel \
            else 2.0**-4
        wq = b.quant(b.const(w, "w"), w_scale, w_bits, narrow=True)
        bias = b.quant(b.const(rng.normal(0, 0.1, n_out), "b"), 2.0**-6, 8)
        h = b.node("MatMul", [x, wq], name=f"dense_{i}/MatMul")
        h = b.node("Add", [h, bias], name=f"dense_{i}/BiasAdd")
        if i < len(sizes) - 2:
            h = b.node("Relu", [h], name=f"relu_{i}/Relu")
            x = b.quant(h, 2.0**-3, a_bits, signed=False, name=f"relu_{i}/Quant")
        else:
            x = b.quant(h, 2.0**-3, 10, signed=True, name=f"out/Quant")
    if softmax:
        x = b.node("Softmax", [x], axis=-1, name="softmax/Softmax")
    return b.model({"x": (1, sizes[0])}, x, (1, sizes[-1]))

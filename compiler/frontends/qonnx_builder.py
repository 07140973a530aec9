"""Build QONNX models in code: a thin layer over ``onnx.helper`` that knows the
QONNX ``Quant`` op. Used for synthetic demo models and in tests."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

QONNX_DOMAIN = "qonnx.custom_op.general"


class QonnxBuilder:
    """Append nodes one call at a time; each call returns its output tensor name."""

    def __init__(self, name: str = "model") -> None:
        self.name = name
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.count = 0

    def _fresh(self, base: str) -> str:
        self.count += 1
        return f"{base}_{self.count}"

    def const(self, value, base: str = "c") -> str:
        name = self._fresh(base)
        self.initializers.append(
            numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], domain: str = "", name: str | None = None,
             **attrs) -> str:
        out = self._fresh(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=name or self._fresh(op),
                                           domain=domain, **attrs))
        return out

    def quant(self, x: str, scale, bits: int, signed: bool = True, narrow: bool = False,
              rounding: str = "ROUND", zero_point=0.0, name: str | None = None) -> str:
        inputs = [x, self.const(scale, "scale"), self.const(zero_point, "zp"),
                  self.const(bits, "bits")]
        return self.node("Quant", inputs, domain=QONNX_DOMAIN, name=name, signed=int(signed),
                         narrow=int(narrow), rounding_mode=rounding)

    def model(self, inputs: dict[str, tuple], output: str, output_shape: tuple,
              opset: int = 13) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes, self.name,
            [helper.make_tensor_value_info(k, TensorProto.FLOAT, list(v))
             for k, v in inputs.items()],
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, list(output_shape))],
            initializer=self.initializers)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset),
                                                       helper.make_opsetid(QONNX_DOMAIN, 1)])


def quantized_mlp(sizes=(16, 64, 32, 32, 5), weight_bits: int = 6, act_bits: int = 6,
                  seed: int = 0, input_scale: float = 2**-4, per_channel: bool = False,
                  softmax: bool = False, opset: int = 13) -> onnx.ModelProto:
    """A QONNX MLP with random (untrained) weights, power-of-two scales, ReLU:
    input Quant; per layer Quant'd weights, MatMul, bias Add, Relu, Quant."""
    rng = np.random.default_rng(seed)
    b = QonnxBuilder("mlp")
    x = b.quant("x", input_scale, 8, signed=True, name="input/Quant")
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = rng.normal(0, 1 / np.sqrt(n_in), (n_in, n_out))
        w_scale = 2.0 ** rng.integers(-5, -3, n_out) if per_channel else 2.0**-4
        wq = b.quant(b.const(w, "w"), w_scale, weight_bits, narrow=True)
        bias = b.quant(b.const(rng.normal(0, 0.1, n_out), "b"), 2.0**-6, 8)
        h = b.node("MatMul", [x, wq], name=f"dense_{i}/MatMul")
        h = b.node("Add", [h, bias], name=f"dense_{i}/BiasAdd")
        if i < len(sizes) - 2:
            h = b.node("Relu", [h], name=f"relu_{i}/Relu")
            x = b.quant(h, 2.0**-3, act_bits, signed=False, name=f"relu_{i}/Quant")
        else:
            x = b.quant(h, 2.0**-3, 10, signed=True, name="output/Quant")
    if softmax:
        x = b.node("Softmax", [x], axis=-1, name="softmax/Softmax")
    return b.model({"x": (1, sizes[0])}, x, (1, sizes[-1]), opset=opset)

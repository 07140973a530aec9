"""A model whose input is reshaped before its first Quant still gets that Quant's
type as the input type (layout ops commute with a cast)."""

import copy
import sys
from pathlib import Path

import numpy as np

import trigc
from trigc.frontends.qonnx_builder import QonnxBuilder
from trigc.ir import Op

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from helpers.qonnx_models import qonnx_execute  # noqa: E402


def test_quant_after_reshape_types_the_input():
    b = QonnxBuilder("reshaped")
    shape = b.node("Constant", [], value=__import__("onnx").numpy_helper.from_array(
        np.array([-1, 8], dtype=np.int64)))
    h = b.node("Reshape", ["x", shape])
    h = b.quant(h, 2.0**-4, 8, name="in/Quant")
    y = b.node("Relu", [h], name="act/Relu")
    model = b.model({"x": (1, 2, 4)}, y, (1, 8))
    graph = trigc.load(model)
    assert str(graph.inputs[0].type) == "fixed<8,4,RND_CONV,SAT>"
    assert not graph.find(Op.CAST)
    x = np.random.default_rng(0).normal(0, 4, (500, 2, 4)).astype(np.float32)
    np.testing.assert_array_equal(trigc.emulate(graph, x),
                                  qonnx_execute(copy.deepcopy(model), x))

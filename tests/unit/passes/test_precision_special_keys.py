"""The precision key 'input' types the model inputs; it is not also an override of a
layer that happens to be called "input" (qonnx and QKeras name an input quantizer
``input/Quant``). With a non-power-of-two input Quant the layer's rescale used to take
the input's type and overflow ("needs N more integer bits")."""

from __future__ import annotations

import logging

import numpy as np

import trigc
from trigc import api
from trigc.frontends.qonnx_builder import QonnxBuilder
from trigc.passes.infer_precision import SPECIAL_KEYS


def _model(quant_name: str):
    rng = np.random.default_rng(4)
    b = QonnxBuilder("special")
    x = b.quant("x", 0.0123, 8, name=quant_name)  # not a power of two
    w = b.quant(b.const(rng.normal(0, 1, (4, 3)).astype(np.float32), "w"), 2.0**-4, 6,
                narrow=True)
    y = b.quant(b.node("MatMul", [x, w], name="fc/MatMul"), 2.0**-3, 10, name="out/Quant")
    return b.model({"x": (1, 4)}, y, (1, 3))


def test_input_key_is_not_a_layer_override(caplog):
    x = np.random.default_rng(0).normal(0, 2, (500, 4))
    with caplog.at_level(logging.WARNING):
        named_input = trigc.load(_model("input/Quant"), precision={"input": "fixed<16,6>"})
    assert not [r for r in caplog.records if "more integer bit" in r.getMessage()], \
        [r.getMessage() for r in caplog.records]
    other = trigc.load(_model("inq/Quant"), precision={"input": "fixed<16,6>"})
    assert str(named_input.inputs[0].type) == "fixed<16,6>"
    np.testing.assert_array_equal(trigc.emulate(named_input, x, raw=True),
                                  trigc.emulate(other, x, raw=True))


def _sigmoid_model(name: str):
    b = QonnxBuilder("lut")
    y = b.node("Sigmoid", ["x"], name=name)  # a float input: typed by precision['input']
    return b.model({"x": (1, 4)}, y, (1, 4))


def test_input_key_does_not_type_a_layer_named_input():
    """A lookup-table activation called "input/Sigmoid" keeps its own (default) output
    type under precision={'input': ...}; it used to take the model input's type."""
    precision = {"input": "fixed<16,6>"}
    named_input = trigc.load(_sigmoid_model("input/Sigmoid"), precision=precision)
    other = trigc.load(_sigmoid_model("act/Sigmoid"), precision=precision)
    assert str(named_input.inputs[0].type) == "fixed<16,6>"
    assert named_input.outputs[0].type == other.outputs[0].type
    assert str(other.outputs[0].type) != "fixed<16,6>"
    x = np.random.default_rng(1).normal(0, 4, (300, 4))
    np.testing.assert_array_equal(trigc.emulate(named_input, x, raw=True),
                                  trigc.emulate(other, x, raw=True))


def test_special_keys_agree():
    assert SPECIAL_KEYS == api.SPECIAL_KEYS

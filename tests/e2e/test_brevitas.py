"""End to end from Brevitas: real QuantLinear / QuantConv2d models with power-of-two
(fixed-point) scales, exported with ``brevitas.export.export_qonnx`` and compiled
with trigc. trigc's emulation must equal, bit for bit,

(a) the qonnx executor on the exported file, and
(b) the Brevitas module's own float32 forward pass in eval mode.

Exact equality is expected: inputs are quantized to a power-of-two grid, weights
are 6-bit on a power-of-two grid, biases are ``Int16Bias`` (on the accumulator's
grid), and every sum stays far below 2**24, so float32 computes them exactly.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest

import trigc
from trigc.ir.ops import Op
from helpers.qonnx_models import qonnx_execute
from e2e_util import CONV_SHAPE, MLP_SHAPE, batch_agnostic, input_quant_params, quant_inputs


def inputs_for(model: onnx.ModelProto, shape, seed=0) -> np.ndarray:
    """Tie-heavy inputs for the exported input Quant, plus plain Gaussian ones."""
    scale, bits, signed = input_quant_params(model)
    assert np.log2(scale) == int(np.log2(scale)), f"scale {scale} is not a power of two"
    ties = quant_inputs(shape, scale, bits, signed, n=1500, seed=seed)
    gauss = np.random.default_rng(seed).normal(0, 3, (500, *shape)).astype(np.float32)
    return np.concatenate([ties, gauss])


def check_against_references(module, path, shape, bmodels):
    model = onnx.load(path)
    x = inputs_for(model, shape)
    graph = trigc.load(path)
    got = trigc.emulate(graph, x)
    ref = qonnx_execute(batch_agnostic(model), x).astype(np.float64)
    torch_out = bmodels.forward(module, x)
    np.testing.assert_array_equal(ref, torch_out)  # the two references agree
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(got, torch_out)
    assert len(np.unique(got)) > 100
    return graph


@pytest.mark.slow
def test_mlp_default_export(bmodels, brevitas_mlp):
    """The 16->64->32->32->5 MLP exported with the defaults (torch's dynamo
    exporter: qonnx opset 2, value_info pinned to batch 1)."""
    module, path = brevitas_mlp
    graph = check_against_references(module, path, MLP_SHAPE, bmodels)
    assert [n.attrs.n_out for n in graph.find(Op.DENSE)] == [64, 32, 32, 5]
    # each QuantReLU is a Relu into an unsigned saturating type: one Cast, no comparator
    assert len(graph.find(Op.RELU)) == 0 and len(graph.find(Op.CAST)) == 3


@pytest.mark.slow
def test_mlp_torchscript_export(bmodels, tmp_path):
    """The same MLP through the TorchScript exporter (``dynamo=False``), which
    writes Gemm nodes named after the modules ("/body/body.0/Gemm")."""
    module = bmodels.calibrated(bmodels.QuantMLP(), MLP_SHAPE, seed=1)
    path = bmodels.export(module, MLP_SHAPE, tmp_path / "mlp_ts.onnx", dynamo=False)
    check_against_references(module, path, MLP_SHAPE, bmodels)


@pytest.mark.slow
def test_convnet(bmodels, tmp_path):
    module = bmodels.calibrated(bmodels.QuantConvNet(), CONV_SHAPE, seed=2)
    path = bmodels.export(module, CONV_SHAPE, tmp_path / "conv.onnx")
    graph = check_against_references(module, path, CONV_SHAPE, bmodels)
    assert len(graph.find(Op.CONV)) == 2
    assert all(n.attrs.channels_last for n in graph.find(Op.CONV))


@pytest.mark.slow
def test_trunc_avgpool(bmodels, tmp_path):
    module = bmodels.calibrated(bmodels.TruncAvgPoolNet(), CONV_SHAPE, seed=3)
    path = bmodels.export(module, CONV_SHAPE, tmp_path / "trunc_avg.onnx")
    check_against_references(module, path, CONV_SHAPE, bmodels)

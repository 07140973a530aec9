"""Small Brevitas models with power-of-two (fixed-point) scales, for export to QONNX.

Imported lazily by the tests (torch and brevitas take a few seconds to import).
Nothing is trained: random initialisation, then a few forward passes in training
mode so the activation quantizers calibrate their (power-of-two) scales."""

from __future__ import annotations

import torch
import brevitas.nn as qnn
from brevitas.export import export_qonnx
from brevitas.quant import (
    Int8ActPerTensorFixedPoint, Int8WeightPerTensorFixedPoint, Int16Bias,
    Uint8ActPerTensorFixedPoint,
)

BIT_WIDTH = 6


def _input_quant(bit_width=BIT_WIDTH):
    return qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint, bit_width=bit_width,
                             return_quant_tensor=True)


def _relu(bit_width=BIT_WIDTH):
    return qnn.QuantReLU(act_quant=Uint8ActPerTensorFixedPoint, bit_width=bit_width,
                         return_quant_tensor=True)


def _linear(n_in, n_out, last=False, bit_width=BIT_WIDTH):
    # Int16Bias: the bias is quantized to the accumulator's grid (input scale x
    # weight scale), so every sum is exact in float32 as well.
    return qnn.QuantLinear(n_in, n_out, bias=True, weight_quant=Int8WeightPerTensorFixedPoint,
                           weight_bit_width=bit_width, bias_quant=Int16Bias,
                           return_quant_tensor=not last)


def _conv(c_in, c_out, k=3, groups=1, bit_width=BIT_WIDTH):
    return qnn.QuantConv2d(c_in, c_out, k, padding=k // 2, groups=groups, bias=True,
                           weight_quant=Int8WeightPerTensorFixedPoint,
                           weight_bit_width=bit_width, bias_quant=Int16Bias,
                           return_quant_tensor=True)


class QuantMLP(torch.nn.Module):
    """QuantIdentity input quant, QuantLinear + QuantReLU layers, a float output."""

    def __init__(self, sizes=(16, 64, 32, 32, 5)):
        super().__init__()
        self.inp = _input_quant()
        layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            last = i == len(sizes) - 2
            layers.append(_linear(n_in, n_out, last=last))
            if not last:
                layers.append(_relu())
        self.body = torch.nn.Sequential(*layers)

    def forward(self, x):
        return self.body(self.inp(x))


class QuantConvNet(torch.nn.Module):
    """2x8x8 input: QuantConv2d 3x3 + QuantReLU, MaxPool 2, grouped QuantConv2d
    (channel multiplier 2) + QuantReLU, flatten, QuantLinear."""

    def __init__(self):
        super().__init__()
        self.inp = _input_quant()
        self.conv1 = _conv(2, 4)
        self.relu1 = _relu()
        self.pool = torch.nn.MaxPool2d(2)
        self.conv2 = _conv(4, 8, groups=4)
        self.relu2 = _relu()
        self.fc = _linear(8 * 4 * 4, 5, last=True)

    def forward(self, x):
        h = self.pool(self.relu1(self.conv1(self.inp(x))))
        h = self.relu2(self.conv2(h))
        return self.fc(h.flatten(1))


class TruncAvgPoolNet(torch.nn.Module):
    """QuantConv2d + QuantReLU, then Brevitas's TruncAvgPool2d (exports Trunc)."""

    def __init__(self):
        super().__init__()
        self.inp = _input_quant()
        self.conv1 = _conv(2, 4)
        self.relu1 = _relu()
        self.pool = qnn.TruncAvgPool2d(kernel_size=2, stride=2, bit_width=8,
                                       return_quant_tensor=False)

    def forward(self, x):
        return self.pool(self.relu1(self.conv1(self.inp(x))))


def calibrated(module: torch.nn.Module, input_shape, seed=0, steps=8, spread=3.0):
    """Random init plus a few training-mode forward passes (activation scale
    calibration), then eval mode."""
    torch.manual_seed(seed)
    module.train()
    with torch.no_grad():
        for _ in range(steps):
            module(torch.randn(256, *input_shape) * spread)
    return module.eval()


def export(module: torch.nn.Module, input_shape, path, **kwargs) -> str:
    """``export_qonnx`` with a batch-1 example input (the exporter's default
    settings unless ``kwargs`` say otherwise)."""
    export_qonnx(module, torch.randn(1, *input_shape), str(path), **kwargs)
    return str(path)


def forward(module: torch.nn.Module, x) -> "np.ndarray":  # noqa: F821
    """The module's own float32 forward pass in eval mode, as numpy float64."""
    import numpy as np

    with torch.no_grad():
        out = module(torch.from_numpy(np.asarray(x, dtype=np.float32)))
    out = getattr(out, "value", out)
    return out.numpy().astype(np.float64)

"""A QONNX CNV-1W1A-style network (FINN / BNN-PYNQ "CNV", CIFAR-10), rebuilt in code.

The QONNX model zoo's ``CNV_1W1A`` is Brevitas' ``bnn_pynq`` CNV exported to QONNX;
the zoo files cannot be downloaded here, so this builds the same topology with
random, deterministic parameters, spelled the way Brevitas' QONNX export spells it:

* input ``x`` (N, 3, H, W) -> ``Quant`` 8-bit signed, scale 2**-7, not narrow (the
  Q1.7 input: values in [-1, 1 - 2**-7]). Brevitas' forward computes ``2 x - 1`` on
  [0, 1] images before this Quant; that preprocessing is left out here (the model
  takes images already in [-1, 1)) so that the Quant reads the graph input;
* six conv blocks: ``Conv`` 3x3, valid (no padding), no bias, weights
  ``BipolarQuant(w, scale=1)`` (binary +-1), ``BatchNormalization`` (eps 2**-16),
  activation ``BipolarQuant(h, scale=1)`` (+1 where h >= 0, else -1); a ``MaxPool``
  2x2 after blocks 2 and 4. Channels 64, 64, 128, 128, 256, 256;
* ``Flatten`` (axis 1), then two FC blocks: ``MatMul`` with ``BipolarQuant`` (in,
  out) weights, ``BatchNormalization``, ``BipolarQuant`` activation; 512, 512;
* the last FC: ``MatMul`` to 10 classes with ``BipolarQuant`` weights, then
  Brevitas' ``TensorNorm`` (one scalar affine), written as ``Mul`` and ``Add``.

``batchnorm=False`` writes each BatchNormalization as the folded per-channel affine
``Mul`` + ``Add`` instead (the same values), the form a "folded BN before the sign"
takes; MultiThreshold (FINN's streamlined form) is not used: it is a FINN op, not a
QONNX one, and trigc does not read it.

Exactness: every parameter is chosen so that the float32 reference (qonnx's
executor) is itself exact: BN scales gamma / sqrt(var + eps) are signed powers of
two (var = 1/4 - eps, eps = 2**-16, both exact in float32), means and betas lie on
a 2**-3 grid with magnitudes below 2**11, and the accumulators are integers (times
2**-7 in the first conv) far below 2**24. So trigc's fixed-point emulation must
equal the reference bit for bit, including every sign decision taken exactly at 0.

Sizes. ``width`` scales every hidden channel count: c(n) = max(1, round(n * width))
for the conv channels 64/128/256 and the FC features 512 (the 10 classes stay);
e.g. width=0.125 gives convs 8, 8, 16, 16, 32, 32 and FC 64, 64, 10. ``image`` is
the square input side H = W. The conv stack shrinks it as
H -> H-2 -> H-4 -> /2 (floor) -> -2 -> -2 -> /2 -> -2 -> -2, i.e. for 32:
32 -> 30 -> 28 -> 14 -> 12 -> 10 -> 5 -> 3 -> 1. A valid 3x3 conv needs at least
3x3 input, so the legal sizes are image >= 32 (every image >= 32 works; 32 and 33
give a 1x1 final map, 36 a 2x2, ...). Smaller images (e.g. 16: 16 -> 14 -> 12 -> 6
-> 4 -> 2 -> 1 -> no room for the last two convs) are rejected with a ValueError.
The first FC then reads c(256) * f * f features, f the final side.
"""

from __future__ import annotations

import numpy as np
import onnx

from trigc.frontends.qonnx_builder import QONNX_DOMAIN, QonnxBuilder

CONV_CHANNELS = (64, 64, 128, 128, 256, 256)
POOL_AFTER = (False, True, False, True, False, False)
FC_FEATURES = (512, 512)
N_CLASSES = 10
IN_CHANNELS = 3
IN_SCALE, IN_BITS = 2.0**-7, 8
BN_EPS = 2.0**-16


def scaled(n: int, width: float) -> int:
    return max(1, int(round(n * width)))


def final_side(image: int) -> int:
    """The spatial side after the conv stack, or a ValueError when it does not fit."""
    side = image
    trace = [side]
    for pool in POOL_AFTER:
        side -= 2
        if side < 1:
            raise ValueError(
                f"CNV needs image >= 32: the valid 3x3 convs shrink {image} as "
                f"{' -> '.join(map(str, trace))} -> {side}, which leaves no room")
        trace.append(side)
        if pool:
            side //= 2
            trace.append(side)
    return side


def _bipolar(b: QonnxBuilder, x: str, name: str, scale: float = 1.0) -> str:
    return b.node("BipolarQuant", [x, b.const(scale, "scale")], domain=QONNX_DOMAIN,
                  name=name)


def _norm(b: QonnxBuilder, h: str, n: int, fan_in: int, rng, name: str, batchnorm: bool,
          spatial: bool) -> str:
    """A BatchNormalization of ``n`` channels with exact (power-of-two) parameters,
    centred on the accumulator's spread (+-sqrt(fan_in) for +-1 products) so that
    the binary activations after it are not constant."""
    shift = rng.integers(-3, 1, n)  # |gamma / sqrt(var + eps)| = 2**shift
    sign = rng.choice([-1.0, 1.0], n, p=[0.2, 0.8])
    factor = sign * 2.0**shift
    mean = np.round(rng.normal(0, 0.5 * np.sqrt(fan_in), n) * 8) / 8
    beta = np.round(rng.normal(0, 0.5, n) * 8) / 8
    if batchnorm:
        var = np.full(n, 0.25 - BN_EPS)  # var + eps = 1/4, sqrt = 1/2
        gamma = factor / 2
        return b.node("BatchNormalization",
                      [h, b.const(gamma, "bn_gamma"), b.const(beta, "bn_beta"),
                       b.const(mean, "bn_mean"), b.const(var, "bn_var")],
                      name=f"{name}/BatchNormalization", epsilon=BN_EPS)
    # folded: (h - mean) * factor + beta = h * factor + (beta - mean * factor)
    shape = (n, 1, 1) if spatial else (n,)
    h = b.node("Mul", [h, b.const(factor.reshape(shape), "bn_mul")], name=f"{name}/Mul")
    return b.node("Add", [h, b.const((beta - mean * factor).reshape(shape), "bn_add")],
                  name=f"{name}/Add")


def cnv_model(width: float = 1.0, seed: int = 0, image: int = 32,
              batchnorm: bool = True) -> onnx.ModelProto:
    """The CNV-1W1A-style QONNX model (see the module docstring): binary weights and
    activations, 8-bit input, random deterministic parameters from ``seed``."""
    if width <= 0:
        raise ValueError(f"width must be positive, got {width}")
    side = final_side(image)
    rng = np.random.default_rng(seed)
    b = QonnxBuilder("cnv_1w1a")
    h = b.quant("x", IN_SCALE, IN_BITS, signed=True, narrow=False, name="input/Quant")
    c_in = IN_CHANNELS
    for i, (c, pool) in enumerate(zip(CONV_CHANNELS, POOL_AFTER)):
        c_out = scaled(c, width)
        w = _bipolar(b, b.const(rng.uniform(-1, 1, (c_out, c_in, 3, 3)), "w"),
                     f"conv{i}/weight/BipolarQuant")
        h = b.node("Conv", [h, w], name=f"conv{i}/Conv", kernel_shape=[3, 3],
                   pads=[0, 0, 0, 0], strides=[1, 1])
        h = _norm(b, h, c_out, 9 * c_in, rng, f"bn{i}", batchnorm, spatial=True)
        h = _bipolar(b, h, f"act{i}/BipolarQuant")
        if pool:
            h = b.node("MaxPool", [h], name=f"pool{i}/MaxPool", kernel_shape=[2, 2],
                       strides=[2, 2])
        c_in = c_out
    h = b.node("Flatten", [h], name="flatten/Flatten", axis=1)
    n_in = c_in * side * side
    for j, f in enumerate(FC_FEATURES):
        n_out = scaled(f, width)
        w = _bipolar(b, b.const(rng.uniform(-1, 1, (n_in, n_out)), "w"),
                     f"fc{j}/weight/BipolarQuant")
        h = b.node("MatMul", [h, w], name=f"fc{j}/MatMul")
        h = _norm(b, h, n_out, n_in, rng, f"bn_fc{j}", batchnorm, spatial=False)
        h = _bipolar(b, h, f"act_fc{j}/BipolarQuant")
        n_in = n_out
    w = _bipolar(b, b.const(rng.uniform(-1, 1, (n_in, N_CLASSES)), "w"),
                 "fc_out/weight/BipolarQuant")
    h = b.node("MatMul", [h, w], name="fc_out/MatMul")
    # Brevitas' TensorNorm: one scalar affine (power-of-two scale, 2**-4 grid bias)
    h = b.node("Mul", [h, b.const(np.float32(2.0**-3), "tn_scale")], name="tensor_norm/Mul")
    h = b.node("Add", [h, b.const(np.float32(0.3125), "tn_bias")], name="tensor_norm/Add")
    return b.model({"x": (1, IN_CHANNELS, image, image)}, h, (1, N_CLASSES))


def parameter_count(model: onnx.ModelProto) -> dict[str, int]:
    """Weights (the binary conv/FC tensors) and all other initializer elements."""
    from onnx import numpy_helper

    weights = {n.input[0] for n in model.graph.node
               if n.op_type == "BipolarQuant" and "weight" in n.name}
    count = {"weights": 0, "other": 0}
    for init in model.graph.initializer:
        size = int(np.prod(numpy_helper.to_array(init).shape))
        count["weights" if init.name in weights else "other"] += size
    return count

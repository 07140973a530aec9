"""Hand-built QONNX models (onnx.helper) and their reference execution via qonnx."""

from __future__ import annotations

import numpy as np
import onnx

from trigc.frontends.qonnx_builder import QONNX_DOMAIN, QonnxBuilder  # noqa: F401


class Builder(QonnxBuilder):
    """trigc's QonnxBuilder, with the short ``zp=`` keyword the tests use."""

    def quant(self, x, scale, bits, signed=True, narrow=False, rounding="ROUND", zp=0.0,
              name=None):
        return super().quant(x, scale, bits, signed=signed, narrow=narrow, rounding=rounding,
                             zero_point=zp, name=name)


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


def convnet(seed=0, dims=2, avg_kernel=2, batchnorm=True, opset=13):
    """A QONNX conv net (channels-first, as exporters write it): Quant input, Conv
    with Quant weights, BatchNorm (float), Relu, Quant, MaxPool, depthwise Conv,
    AveragePool, Flatten, Gemm(transB=1), Quant."""
    rng = np.random.default_rng(seed)
    b = Builder("convnet")
    c_in, size = 2, 8
    spatial = (size,) * dims
    k = (3,) * dims
    x = b.quant("x", 2.0**-4, 8)
    w1 = b.quant(b.const(rng.normal(0, 0.4, (4, c_in, *k))), 2.0**-4, 6, narrow=True)
    h = b.node("Conv", [x, w1, b.const(rng.normal(0, 0.1, 4))], name="conv1/Conv",
               pads=[1] * (2 * dims), kernel_shape=list(k))
    if batchnorm:
        h = b.node("BatchNormalization",
                   [h, b.const(rng.uniform(0.5, 1.5, 4)), b.const(rng.normal(0, 0.1, 4)),
                    b.const(rng.normal(0, 0.1, 4)), b.const(rng.uniform(0.5, 2, 4))],
                   name="bn1/BatchNormalization")
    h = b.node("Relu", [h], name="relu1/Relu")
    h = b.quant(h, 2.0**-3, 6, signed=False, name="relu1/Quant")
    h = b.node("MaxPool", [h], name="pool1/MaxPool", kernel_shape=[2] * dims,
               strides=[2] * dims)
    wd = b.quant(b.const(rng.normal(0, 0.4, (4, 1, *k))), 2.0**-4, 6, narrow=True)
    h = b.node("Conv", [h, wd], name="dw/Conv", group=4, kernel_shape=list(k),
               pads=[1] * (2 * dims), strides=[1] * dims)
    h = b.quant(h, 2.0**-4, 8, name="dw/Quant")
    h = b.node("AveragePool", [h], name="avg/AveragePool", kernel_shape=[avg_kernel] * dims,
               strides=[avg_kernel] * dims)
    h = b.quant(h, 2.0**-5, 8, name="avg/Quant")
    h = b.node("Flatten", [h], name="flatten/Flatten", axis=1)
    n_flat = 4 * (size // 2 // avg_kernel) ** dims
    wf = b.quant(b.const(rng.normal(0, 0.3, (3, n_flat))), 2.0**-5, 6, narrow=True)
    h = b.node("Gemm", [h, wf, b.const(rng.normal(0, 0.1, 3))], name="fc/Gemm", transB=1)
    out = b.quant(h, 2.0**-4, 10, name="fc/Quant")
    return b.model({"x": (1, c_in, *spatial)}, out, (1, 3), opset=opset)


def convnet_exact(seed=0, dims=2, avg_kernel=2, batchnorm=True, opset=13):
    """convnet() with every parameter on a power-of-two grid, so that the float32
    reference is itself exact: the conv bias is a Quant'd constant (2**-8 grid) and
    the BatchNormalization (when present) has gamma / sqrt(var + eps) a power of two
    (var = 1/4 - eps, eps = 2**-16) and mean and beta on a 2**-4 grid."""
    rng = np.random.default_rng(seed)
    b = Builder("convnet_exact")
    c_in, size = 2, 8
    spatial = (size,) * dims
    k = (3,) * dims
    x = b.quant("x", 2.0**-4, 8)
    w1 = b.quant(b.const(rng.normal(0, 0.4, (4, c_in, *k))), 2.0**-4, 6, narrow=True)
    bias = b.quant(b.const(rng.normal(0, 0.1, 4)), 2.0**-8, 8)
    h = b.node("Conv", [x, w1, bias], name="conv1/Conv", pads=[1] * (2 * dims),
               kernel_shape=list(k))
    if batchnorm:
        eps = 2.0**-16
        h = b.node("BatchNormalization",
                   [h, b.const(rng.choice([0.25, 0.5, 1.0], 4)),
                    b.const(rng.integers(-4, 5, 4) / 16), b.const(rng.integers(-4, 5, 4) / 16),
                    b.const(np.full(4, 0.25 - eps))],
                   name="bn1/BatchNormalization", epsilon=eps)
    h = b.node("Relu", [h], name="relu1/Relu")
    h = b.quant(h, 2.0**-3, 6, signed=False, name="relu1/Quant")
    h = b.node("MaxPool", [h], name="pool1/MaxPool", kernel_shape=[2] * dims,
               strides=[2] * dims)
    wd = b.quant(b.const(rng.normal(0, 0.4, (4, 1, *k))), 2.0**-4, 6, narrow=True)
    h = b.node("Conv", [h, wd], name="dw/Conv", group=4, kernel_shape=list(k),
               pads=[1] * (2 * dims), strides=[1] * dims)
    h = b.quant(h, 2.0**-4, 8, name="dw/Quant")
    h = b.node("AveragePool", [h], name="avg/AveragePool", kernel_shape=[avg_kernel] * dims,
               strides=[avg_kernel] * dims)
    h = b.quant(h, 2.0**-5, 8, name="avg/Quant")
    h = b.node("Flatten", [h], name="flatten/Flatten", axis=1)
    n_flat = 4 * (size // 2 // avg_kernel) ** dims
    wf = b.quant(b.const(rng.normal(0, 0.3, (3, n_flat))), 2.0**-5, 6, narrow=True)
    bf = b.quant(b.const(rng.normal(0, 0.1, 3)), 2.0**-8, 8)
    h = b.node("Gemm", [h, wf, bf], name="fc/Gemm", transB=1)
    out = b.quant(h, 2.0**-4, 10, name="fc/Quant")
    return b.model({"x": (1, c_in, *spatial)}, out, (1, 3), opset=opset)


def _dense(b, x, n_in, n_out, rng, name, w_scale=2.0**-4, w_bits=6, bias=True):
    """Quant'd weights (power-of-two scale, narrow), MatMul, Quant'd bias Add."""
    w = b.quant(b.const(rng.normal(0, 1 / np.sqrt(n_in), (n_in, n_out))), w_scale, w_bits,
                narrow=True)
    h = b.node("MatMul", [x, w], name=f"{name}/MatMul")
    if bias:
        h = b.node("Add", [h, b.quant(b.const(rng.normal(0, 0.2, n_out)), 2.0**-6, 8)],
                   name=f"{name}/BiasAdd")
    return h


def residual_mlp(n=16, seed=0):
    """x -> Quant -> Dense -> Relu -> Quant (unsigned) -> Add(with the quantized
    input: a residual of two branches on different grids) -> Quant."""
    rng = np.random.default_rng(seed)
    b = Builder("residual_mlp")
    x = b.quant("x", 2.0**-4, 8)
    h = _dense(b, x, n, n, rng, "fc1")
    h = b.quant(b.node("Relu", [h], name="relu1/Relu"), 2.0**-3, 6, signed=False,
                name="relu1/Quant")
    s = b.node("Add", [x, h], name="residual/Add")
    out = b.quant(s, 2.0**-3, 8, name="out/Quant")
    return b.model({"x": (1, n)}, out, (1, n))


def concat_mlp(n=12, seed=0):
    """Two Dense branches with different output types (signed 2**-3, unsigned
    2**-5) concatenated on the feature axis, then a Dense reading the concatenation."""
    rng = np.random.default_rng(seed)
    b = Builder("concat_mlp")
    x = b.quant("x", 2.0**-4, 8)
    h1 = b.quant(_dense(b, x, n, 6, rng, "branch1"), 2.0**-3, 6, name="branch1/Quant")
    h2 = b.node("Relu", [_dense(b, x, n, 5, rng, "branch2")], name="branch2/Relu")
    h2 = b.quant(h2, 2.0**-5, 8, signed=False, name="branch2/Quant")
    cat = b.node("Concat", [h1, h2], name="concat/Concat", axis=-1)
    out = b.quant(_dense(b, cat, 11, 4, rng, "head"), 2.0**-4, 10, name="head/Quant")
    return b.model({"x": (1, n)}, out, (1, 4))


def conv_branches(seed=0):
    """Channels-first conv branches joined twice: a Concat on the channel axis (a 3x3
    and a 1x1 conv with different output grids), a conv over the concatenation, and a
    residual Add of that conv with the 1x1 branch."""
    rng = np.random.default_rng(seed)
    b = Builder("conv_branches")
    x = b.quant("x", 2.0**-4, 8)
    w3 = b.quant(b.const(rng.normal(0, 0.4, (3, 2, 3, 3))), 2.0**-4, 6, narrow=True)
    c1 = b.quant(b.node("Conv", [x, w3], name="c3x3/Conv", kernel_shape=[3, 3], pads=[1] * 4),
                 2.0**-3, 8, name="c3x3/Quant")
    w1 = b.quant(b.const(rng.normal(0, 0.4, (2, 2, 1, 1))), 2.0**-3, 6, narrow=True)
    c2 = b.quant(b.node("Conv", [x, w1], name="c1x1/Conv", kernel_shape=[1, 1]), 2.0**-4, 8,
                 name="c1x1/Quant")
    cat = b.node("Concat", [c1, c2], name="concat/Concat", axis=1)
    w = b.quant(b.const(rng.normal(0, 0.3, (2, 5, 3, 3))), 2.0**-4, 6, narrow=True)
    h = b.node("Conv", [cat, w], name="mix/Conv", kernel_shape=[3, 3], pads=[1] * 4)
    s = b.node("Add", [h, c2], name="residual/Add")
    out = b.quant(s, 2.0**-3, 8, name="out/Quant")
    return b.model({"x": (1, 2, 5, 5)}, out, (1, 2, 5, 5))

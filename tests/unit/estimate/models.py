"""The jet-tagging MLP (16-64-32-32-5) at ap_fixed<16,6> everywhere, as in the hls4ml
papers: every weight, bias and activation is quantized to 16 bits with 10
fractional bits (QONNX Quant, bitwidth 16, scale 2^-10), optionally with the
smallest weights pruned to zero (the papers' 70 %-pruned model)."""

from __future__ import annotations

import numpy as np

from trigc.frontends.qonnx_builder import QonnxBuilder

SIZES = (16, 64, 32, 32, 5)


def mlp_fixed16_6(sizes=SIZES, prune: float = 0.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    scale = 2.0**-10  # ap_fixed<16,6>: 16 bits, 6 integer bits
    b = QonnxBuilder("mlp16")
    x = b.quant("x", scale, 16, signed=True, name="input/Quant")
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = rng.normal(0, 1 / np.sqrt(n_in), (n_in, n_out))
        if prune:
            w[np.abs(w) < np.quantile(np.abs(w), prune)] = 0.0
        wq = b.quant(b.const(w, "w"), scale, 16)
        bias = b.quant(b.const(rng.normal(0, 0.1, n_out), "b"), scale, 16)
        h = b.node("MatMul", [x, wq], name=f"dense_{i}/MatMul")
        h = b.node("Add", [h, bias], name=f"dense_{i}/BiasAdd")
        if i < len(sizes) - 2:
            h = b.node("Relu", [h], name=f"relu_{i}/Relu")
        x = b.quant(h, scale, 16, signed=True, name=f"act_{i}/Quant")
    return b.model({"x": (1, sizes[0])}, x, (1, sizes[-1]))


def dense_4x2(reuse_bias: bool = True):
    """A hand-checkable final-IR graph: x (4,) fixed<16,6> -> Dense 4x2 -> fixed<26,8>.

    Weights (fixed<8,2>, raw = value * 64), one kind of product each:
        col 0: 1.0 (64, shift)   0.75 (48, LUT)   0.3125 (20, LUT)   0 (free)
        col 1: 0 (free)         -0.5 (-32, shift) 0.828125 (53, DSP) 0.6875 (44, DSP)
    bias (fixed<8,2>): 0.5 on output 0, 0 on output 1."""
    from trigc.fixed import FixedType
    from trigc.ir import Graph, Op
    from trigc.ir.ops import DenseAttrs

    g = Graph("dense4x2")
    x_t, w_t, acc_t = FixedType(True, 16, 6), FixedType(True, 8, 2), FixedType(True, 26, 8)
    x = g.add_tensor("x", (4,), x_t)
    g.inputs.append(x)
    w = g.add_constant("w", np.array([[1.0, 0.0], [0.75, -0.5], [0.3125, 0.828125],
                                      [0.0, 0.6875]]), w_t)
    b = g.add_constant("b", np.array([0.5 if reuse_bias else 0.0, 0.0]), w_t)
    y = g.add_tensor("y", (2,), acc_t)
    g.add_node(Op.DENSE, [x, w, b], [y], DenseAttrs(4, 2, acc_t), name="fc", source="fc")
    g.outputs = [y]
    return g

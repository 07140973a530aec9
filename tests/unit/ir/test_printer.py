"""trigc.ir.printer: the text dump names ops, shapes, types, attributes and layers."""

from __future__ import annotations

import numpy as np

from tests.unit.graphs import const, graph, inp, node, outputs
from trigc.fixed import FixedType, Overflow, Rounding
from trigc.ir import Op, format_graph
from trigc.ir.ops import ConvAttrs, DenseAttrs, LutAttrs, ReshapeAttrs, SoftmaxAttrs


def test_format_graph_lists_ops_shapes_types_and_attrs():
    g = graph("demo")
    x = inp(g, "x", (4, 4, 2), FixedType(True, 8, 3))
    w = const(g, np.ones((3, 3, 2, 5)), "w", FixedType(False, 1, 1))
    c = node(g, Op.CONV, [x, w], ConvAttrs((3, 3), (1, 1), (1, 1, 1, 1), channels_last=True),
             shape=(4, 4, 5), name="conv", out="h", source="block1/conv")
    r = node(g, Op.RESHAPE, [c], ReshapeAttrs((80,)), shape=(80,), name="flat", out="f")
    wd = const(g, np.ones((80, 3)), "wd")
    d = node(g, Op.DENSE, [r, wd], DenseAttrs(80, 3), shape=(3,), name="fc", out="y",
             type=FixedType(True, 20, 10, Rounding.RND_CONV, Overflow.SAT))
    s = node(g, Op.SIGMOID, [d], LutAttrs("sigmoid", table=np.zeros(16, dtype=np.int64),
                                          table_type=FixedType(False, 8, 0), shift=2),
             name="sig", out="p")
    m = node(g, Op.SOFTMAX, [s], SoftmaxAttrs(), name="sm", out="q")
    outputs(g, m)
    text = format_graph(g)
    lines = text.splitlines()
    assert lines[0] == "graph demo"
    assert "  input  x[4x4x2]:fixed<8,3>" in lines
    conv_line = next(ln for ln in lines if ln.startswith("  conv:"))
    assert "Conv(x[4x4x2]:fixed<8,3>, const w[3x3x2x5]:ufixed<1,1>) -> h[4x4x5]:?" in conv_line
    assert "kernel_shape=(3, 3)" in conv_line and "channels_last=True" in conv_line
    assert conv_line.endswith("# block1/conv")
    assert "Reshape(h[4x4x5]:?) -> f[80]:?" in text and "shape=(80,)" in text
    assert "Dense(" in text and "-> y[3]:fixed<20,10,RND_CONV,SAT>" in text
    assert "n_in=80 n_out=3" in text
    assert "const wd[80x3]:?" in text
    sig_line = next(ln for ln in lines if ln.startswith("  sig:"))
    assert "fn=sigmoid entries=16 shift=2 table=ufixed<8,0> exact=False" in sig_line
    assert "Softmax(" in text and "axis=-1 exp_entries=0" in text
    assert lines[-1] == "  output q[3]:?"
    assert str(g) == text


def test_scalar_shape_and_no_attrs():
    g = graph("s")
    x = inp(g, "x", (), FixedType(False, 4, 4))
    y = node(g, Op.RELU, [x], name="r", out="y")
    outputs(g, y)
    text = format_graph(g)
    assert "  r: Relu(x[]:ufixed<4,4>) -> y[]:?" in text.splitlines()

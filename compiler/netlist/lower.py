"""Lower the final IR to a netlist: each op's exact result as netlist nodes, then the
output type's cast — the emulator's semantics, element by element.

Every tensor becomes a numpy array (object dtype) of netlist signal ids with the
tensor's per-sample shape; layout ops only rearrange that array. Dense and Conv
are constant matrices times vectors, built by the shift-add solver
(:mod:`trigc.netlist.cmvm`) once per distinct matrix and applied per output pixel.
Every node is attributed to the IR layer it comes from (``Node.layer``), so the
Verilog has one module per layer and Yosys can report per layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from trigc.errors import UnsupportedOpError
from trigc.fixed import FixedType
from trigc.ir.graph import Graph, Node, Tensor
from trigc.ir.ops import Op
from trigc.netlist import cmvm
from trigc.netlist.graph import Netlist, Rom
from trigc.ops.constants import clip_bounds, leaky_alpha
from trigc.ops.exact import Value
from trigc.ops.layout import resize
from trigc.ops.pool import pool_divisor, windows

Ids = np.ndarray
"""Netlist signal ids (object array) in a tensor's per-sample shape."""


@dataclass(frozen=True)
class LowerOptions:
    """How matrices become hardware: ``dsp_digits`` (None: shift-adds only) makes a
    weight with at least that many signed digits a multiplier (a DSP when wide)."""

    dsp_digits: int | None = None


class _Lowering:
    def __init__(self, graph: Graph, options: LowerOptions) -> None:
        self.graph = graph
        self.options = options
        self.net = Netlist()
        self.env: dict[int, Ids] = {}
        self.programs: dict[tuple, cmvm.Program] = {}

    # ---- operands -------------------------------------------------------------
    def ids(self, t: Tensor) -> Ids:
        if t.is_constant:
            exp = -t.type.frac_bits
            flat = [self.net.const(int(v), exp) for v in np.asarray(t.raw).ravel()]
            return np.array(flat, dtype=object).reshape(np.shape(t.raw))
        return self.env[id(t)]

    def const(self, raw: int, frac: int) -> int:
        return self.net.const(int(raw), -int(frac))

    def bounds(self, i: int) -> tuple[int, int, int]:
        n = self.net[i]
        return n.lo, n.hi, n.exp

    def matrix(self, w: np.ndarray, x: list[int]) -> list[int]:
        """Columns of ``x @ w`` (raw integer weights), one solver run per distinct
        matrix and input bounds."""
        bounds = [self.bounds(i) for i in x]
        key = (w.shape, tuple(int(v) for v in w.ravel()), tuple(bounds))
        program = self.programs.get(key)
        if program is None:
            program = cmvm.solve(w, bounds, dsp_digits=self.options.dsp_digits)
            self.programs[key] = program
        return program.apply(self.net, x)

    def scale(self, x: int, raw: int, frac: int) -> int:
        """``x * (raw * 2**-frac)`` for a constant, as shift-adds."""
        col = self.matrix(np.array([[int(raw)]], dtype=object), [x])[0]
        return self.net.shift(col, -frac)

    def assign(self, node: Node, result: Ids) -> None:
        t = node.output.type
        flat = [self.net.cast(int(i), t) for i in np.asarray(result, dtype=object).ravel()]
        self.env[id(node.output)] = np.array(flat, dtype=object).reshape(node.output.shape)

    # ---- driver ---------------------------------------------------------------
    def run(self) -> Netlist:
        net = self.net
        for t in self.graph.inputs:
            net.layer = "input"
            flat = [net.input(t.type) for _ in range(int(np.prod(t.shape)))]
            self.env[id(t)] = np.array(flat, dtype=object).reshape(t.shape)
        for node in self.graph.nodes:
            rule = RULES.get(node.op)
            if rule is None:
                raise UnsupportedOpError(
                    f"{node.where()}: the Verilog backend has no {node.op.value} yet; "
                    "compile with --backend vitis, or replace the layer")
            net.layer = node.name
            self.assign(node, rule(self, node))
        net.layer = "output"
        for t in self.graph.outputs:
            for i in self.env[id(t)].ravel():
                net.output(int(i), t.type)
        return net


def _elementwise(fn: Callable[..., int]) -> Callable[[_Lowering, Node], Ids]:
    """An op applied element by element over broadcast operands."""

    def rule(lw: _Lowering, node: Node) -> Ids:
        operands = [lw.ids(t) for t in node.inputs]
        shape = node.output.shape
        args = [np.broadcast_to(o, shape) for o in operands]
        out = np.empty(shape, dtype=object)
        for index in np.ndindex(*shape):
            out[index] = fn(lw, node, *(int(a[index]) for a in args))
        return out

    return rule


def _add(lw, node, a, b):
    return lw.net.add(a, b)


def _sub(lw, node, a, b):
    return lw.net.sub(a, b)


def _mul(lw, node, a, b):
    net = lw.net
    for x, c in ((a, b), (b, a)):
        v = net.value(c)
        if v is not None:
            return lw.scale(x, v, -net[c].exp) if v else net.const(0)
    return net.mul(a, b)


def _div(lw, node, x, c):
    net = lw.net
    raw, exp = net.value(c), net[c].exp
    if raw < 0:
        x, raw = net.neg(x), -raw
    # x / (raw * 2**exp) = (x * 2**-exp) / raw
    num = net.shift(x, -exp)
    if raw & (raw - 1) == 0:
        return net.shift(num, -(raw.bit_length() - 1))
    return _divide(lw, node, num, raw)


def _divide(lw: _Lowering, node: Node, num: int, den: int) -> int:
    """``num / den`` with the output type's rounding, on a type wide enough that only
    the output cast's overflow handling remains."""
    t = node.output.type
    n = lw.net[num]
    k = n.exp + t.frac_bits  # num's raw * 2**k is the numerator on the output grid
    mag = max(abs(n.lo), abs(n.hi))
    scaled = mag << k if k >= 0 else (mag >> -k) + 1
    width = (scaled // den + 2).bit_length() + 1
    return lw.net.divc(num, den, FixedType(True, width, width - t.frac_bits, t.rounding))


def _relu(lw, node, x):
    return lw.net.max(x, lw.net.const(0))


def _leaky_relu(lw, node, x):
    net = lw.net
    alpha = leaky_alpha(node).value
    neg = lw.scale(x, int(alpha.raw), alpha.frac)
    return net.select(x, neg, x)


def _clip(lw, node, x):
    net = lw.net
    typed = clip_bounds(node)
    if typed.low is not None:
        x = net.max(x, lw.const(typed.low.value.raw, typed.low.value.frac))
    if typed.high is not None:
        x = net.min(x, lw.const(typed.high.value.raw, typed.high.value.frac))
    return x


def _sign(lw, node, x):
    return lw.net.select(x, lw.net.const(-1), lw.net.const(1))


def _abs(lw, node, x):
    return lw.net.select(x, lw.net.neg(x), x)


def _cast(lw, node, x):
    return x


def _rom(lut) -> tuple[Rom, int]:
    return Rom(tuple(int(v) for v in lut.table), int(lut.index_low), int(lut.shift)), \
        -lut.table_type.frac_bits


def _lut(lw, node, x):
    rom, exp = _rom(node.attrs)
    return lw.net.rom(x, rom, exp)


def _tree(items: list[int], combine: Callable[[int, int], int]) -> int:
    """A balanced tree of a binary operation (shallowest)."""
    items = list(items)
    while len(items) > 1:
        nxt = [combine(items[i], items[i + 1]) for i in range(0, len(items) - 1, 2)]
        if len(items) % 2:
            nxt.append(items[-1])
        items = nxt
    return items[0]


def _softmax(lw: _Lowering, node: Node) -> Ids:
    if node.attrs.mode != "lut":
        raise UnsupportedOpError(
            f"{node.where()}: the {node.attrs.mode!r} softmax mode has no Verilog lowering "
            "(it needs a divider per class); use softmax='lut' with the verilog backend, "
            "or the vitis or catapult backend")
    net = lw.net
    x = lw.ids(node.inputs[0])
    a = node.attrs
    exp_rom, exp_exp = _rom(a.exp_lut)
    inv_rom, inv_exp = _rom(a.inv_lut)
    out = np.empty(x.shape, dtype=object)
    for index in np.ndindex(*x.shape[:-1]):
        row = [int(i) for i in x[index]]
        top = _tree(row, net.max)
        e = [net.rom(net.sub(i, top), exp_rom, exp_exp) for i in row]
        total = _tree(e, net.add)
        inv = net.rom(total, inv_rom, inv_exp)
        for j, ej in enumerate(e):
            out[(*index, j)] = net.mul(ej, inv)
    return out


def _linear_columns(lw: _Lowering, node: Node, x: list[int], w: np.ndarray) -> list[int]:
    """``x @ W + b`` for one input vector, columns on the exact result's grid."""
    net = lw.net
    wt, bias = node.inputs[1], (node.inputs[2] if len(node.inputs) > 2 else None)
    cols = [net.shift(c, -wt.type.frac_bits) for c in lw.matrix(w, x)]
    if bias is not None:
        b = np.asarray(bias.raw).ravel()
        cols = [net.add(c, lw.const(b[j], bias.type.frac_bits)) for j, c in enumerate(cols)]
    return cols


def _dense(lw: _Lowering, node: Node) -> Ids:
    x = [int(i) for i in lw.ids(node.inputs[0]).ravel()]
    w = np.asarray(node.inputs[1].raw).reshape(len(x), -1)
    return np.array(_linear_columns(lw, node, x, w), dtype=object)


def _conv(lw: _Lowering, node: Node) -> Ids:
    a = node.attrs
    nd = len(a.kernel_shape)
    x = lw.ids(node.inputs[0])
    zero = lw.net.const(0)
    win = windows(x[None], a.kernel_shape, a.strides, a.pads, fill=zero)[0]
    # (*o, C, *k) -> (*o, *k, C), matching weights (*k, C_in/g, C_out)
    win = np.transpose(win, (*range(nd), *range(nd + 1, 2 * nd + 1), nd))
    w = np.asarray(node.inputs[1].raw)
    c_in, c_out, groups = win.shape[-1], w.shape[-1], a.groups
    cg, og = c_in // groups, c_out // groups
    taps = int(np.prod(a.kernel_shape))
    bias = node.inputs[2] if len(node.inputs) > 2 else None
    out = np.empty(node.output.shape, dtype=object)
    for pos in np.ndindex(*win.shape[:nd]):
        cols: list[int] = []
        for g in range(groups):
            xs = [int(i) for i in win[pos][..., g * cg:(g + 1) * cg].reshape(taps * cg)]
            wg = w[..., g * og:(g + 1) * og].reshape(taps * cg, og)
            cols += [lw.net.shift(c, -node.inputs[1].type.frac_bits)
                     for c in lw.matrix(wg, xs)]
        if bias is not None:
            b = np.asarray(bias.raw).ravel()
            cols = [lw.net.add(c, lw.const(b[j], bias.type.frac_bits))
                    for j, c in enumerate(cols)]
        out[pos] = cols
    return out


def _pool_windows(lw: _Lowering, node: Node, fill) -> tuple[np.ndarray, int]:
    a = node.attrs
    x = lw.ids(node.inputs[0])
    return windows(x[None], a.kernel_shape, a.strides, a.pads, fill=fill)[0], len(a.kernel_shape)


def _maxpool(lw: _Lowering, node: Node) -> Ids:
    win, nd = _pool_windows(lw, node, None)
    out = np.empty(win.shape[:-nd], dtype=object)
    for index in np.ndindex(*out.shape):
        items = [int(i) for i in win[index].ravel() if i is not None]
        out[index] = _tree(items, lw.net.max) if items else lw.net.const(0)
    return out


def _average(lw: _Lowering, node: Node, total: int, count: int) -> int:
    if count & (count - 1) == 0:
        return lw.net.shift(total, -(count.bit_length() - 1))
    return _divide(lw, node, total, count)


def _avgpool(lw: _Lowering, node: Node) -> Ids:
    zero = lw.net.const(0)
    win, nd = _pool_windows(lw, node, zero)
    divisor = np.broadcast_to(pool_divisor(node.inputs[0].shape, node.attrs),
                              win.shape[:-nd - 1] + (1,))
    out = np.empty(win.shape[:-nd], dtype=object)
    for index in np.ndindex(*out.shape):
        total = _tree([int(i) for i in win[index].ravel()], lw.net.add)
        out[index] = _average(lw, node, total, int(divisor[index[:-1] + (0,)]))
    return out


def _global(kind: str) -> Callable[[_Lowering, Node], Ids]:
    def rule(lw: _Lowering, node: Node) -> Ids:
        x = lw.ids(node.inputs[0])
        c = x.shape[-1]
        flat = x.reshape(-1, c)
        out = []
        for j in range(c):
            items = [int(i) for i in flat[:, j]]
            if kind == "max":
                out.append(_tree(items, lw.net.max))
            else:
                count = len(items) if node.attrs.divide else 1  # 1: sum pooling
                out.append(_average(lw, node, _tree(items, lw.net.add), count))
        return np.array(out, dtype=object).reshape(node.output.shape)

    return rule


def _reshape(lw: _Lowering, node: Node) -> Ids:
    return lw.ids(node.inputs[0]).reshape(node.attrs.shape)


def _transpose(lw: _Lowering, node: Node) -> Ids:
    return np.transpose(lw.ids(node.inputs[0]), node.attrs.perm)


def _resize(lw: _Lowering, node: Node) -> Ids:
    return np.asarray(resize(node, [Value(lw.ids(node.inputs[0])[None], 0)]).raw)[0]


def _concat(lw: _Lowering, node: Node) -> Ids:
    return np.concatenate([lw.ids(t) for t in node.inputs], axis=node.attrs.axis)


RULES: dict[Op, Callable[[_Lowering, Node], Ids]] = {
    Op.DENSE: _dense,
    Op.CONV: _conv,
    Op.ADD: _elementwise(_add),
    Op.SUB: _elementwise(_sub),
    Op.MUL: _elementwise(_mul),
    Op.DIV: _elementwise(_div),
    Op.CAST: _elementwise(_cast),
    Op.RELU: _elementwise(_relu),
    Op.LEAKY_RELU: _elementwise(_leaky_relu),
    Op.CLIP: _elementwise(_clip),
    Op.SIGN: _elementwise(_sign),
    Op.ABS: _elementwise(_abs),
    Op.SIGMOID: _elementwise(_lut),
    Op.TANH: _elementwise(_lut),
    Op.SELU: _elementwise(_lut),
    Op.SOFTMAX: _softmax,
    Op.MAXPOOL: _maxpool,
    Op.AVGPOOL: _avgpool,
    Op.GLOBAL_AVGPOOL: _global("avg"),
    Op.GLOBAL_MAXPOOL: _global("max"),
    Op.RESHAPE: _reshape,
    Op.TRANSPOSE: _transpose,
    Op.RESIZE: _resize,
    Op.CONCAT: _concat,
}
"""How each final op becomes netlist nodes (``tests/unit/netlist`` checks every op)."""


def lower(graph: Graph, options: LowerOptions | None = None) -> Netlist:
    """The netlist of ``graph`` (the final IR): inputs are the graph inputs' elements
    in order (C order within a tensor), outputs likewise."""
    return _Lowering(graph, options or LowerOptions()).run()


__all__ = ["RULES", "LowerOptions", "lower"]

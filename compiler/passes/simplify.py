"""Small clean-up passes: Div by constants, Cast fusion, dead-node elimination."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from trigc.fixed import Overflow
from trigc.ir.graph import Graph
from trigc.ir.ops import CastAttrs, Op
from trigc.passes.absorb_quant import po2_exponent


def lower_div(graph: Graph) -> bool:
    """x / 2**k becomes an exact Mul by 2**-k; other constant divisors stay Div (an
    exact rational divide that rounds once into its output type). ``(x / a) / b``,
    whose first quotient nothing else reads (a Div by a non-power-of-two constant
    before a Quant with a non-power-of-two scale), is the one Div ``x / (a * b)``
    when float64 holds ``a * b`` exactly, so the Quant rounds the exact quotient."""
    changed = _fuse_divisions(graph)
    for node in graph.find(Op.DIV):
        c = node.inputs[1]
        values = np.unique(c.value)
        if values.size == 1 and po2_exponent(values) is not None:
            recip = graph.add_constant(f"{c.name}_recip", 1.0 / c.value, source=c.source)
            graph.set_input(node, 1, recip)
            node.op = Op.MUL
            changed = True
    if changed:
        graph.prune_tensors()
    return changed


def _fuse_divisions(graph: Graph) -> bool:
    changed = False
    for node in graph.find(Op.DIV):
        user = graph.sole_user(node.output)
        if user is None or user.op is not Op.DIV or user.inputs[0] is not node.output:
            continue
        a, b = node.inputs[1], user.inputs[1]
        if (node.output.type is not None or node.output in graph.outputs
                or not a.is_constant or not b.is_constant):
            continue
        va, vb = np.asarray(a.value, np.float64), np.asarray(b.value, np.float64)
        try:
            product = va * vb
            exact = np.vectorize(lambda p, x, y: Fraction(p) == Fraction(x) * Fraction(y),
                                 otypes=[bool])(*np.broadcast_arrays(product, va, vb))
        except (ValueError, OverflowError):  # shapes that do not broadcast; inf
            continue
        try:  # the product must not widen the per-sample shape
            if np.broadcast_shapes(product.shape, user.output.shape) != user.output.shape:
                continue
        except ValueError:
            continue
        if not np.all(exact) or not np.all(np.isfinite(product)) or np.any(product == 0):
            continue
        c = graph.add_constant(f"{b.name}_fused", product, source=b.source)
        graph.set_input(user, 0, node.inputs[0])
        graph.set_input(user, 1, c)
        graph.remove_node(node)
        changed = True
    if changed:
        graph.prune_tensors()
    return changed


def fuse_cast(graph: Graph) -> bool:
    """op -> Cast becomes op with the Cast's type as its output type.

    Every final op computes its exact result and then assigns it to its output
    type, so assigning straight into the Cast's type is the same computation with
    one rounding instead of two (for inexact ops such as Div or LUTs, better)."""
    changed = False
    for cast in graph.find(Op.CAST):
        x = cast.inputs[0]
        prod = x.producer
        if (prod is None or x.type is not None or graph.sole_user(x) is None
                or cast.output.type is None or prod.op in (Op.CAST, Op.RESHAPE, Op.TRANSPOSE,
                                                           Op.CONCAT)):
            continue
        out = cast.output
        graph.remove_node(cast)
        graph.set_output(prod, out)
        changed = True
    return changed


def relu_into_cast(graph: Graph) -> bool:
    """Relu assigned to an unsigned saturating type is just that assignment.

    Rounding is monotone and keeps negative values <= 0, and an unsigned AP_SAT /
    AP_SAT_SYM / AP_SAT_ZERO type maps every value <= 0 to 0, exactly as the Relu
    would: the comparator is redundant (common after Brevitas' QuantReLU)."""
    changed = False
    for node in graph.find(Op.RELU):
        t = node.output.type
        if t is not None and not t.signed and t.overflow in (
                Overflow.SAT, Overflow.SAT_SYM, Overflow.SAT_ZERO):
            node.op, node.attrs = Op.CAST, CastAttrs()
            changed = True
    return changed


def eliminate_dead(graph: Graph) -> bool:
    """Drop nodes none of whose outputs reach a graph output."""
    live = {id(t) for t in graph.outputs}
    keep = []
    for node in reversed(graph.nodes):
        if any(id(t) in live for t in node.outputs):
            keep.append(node)
            live |= {id(t) for t in node.inputs}
    dead = [n for n in graph.nodes if n not in keep]
    for node in dead:
        graph.remove_node(node)
    graph.prune_tensors()
    return bool(dead)

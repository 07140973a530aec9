"""Turn QONNX Quant / BipolarQuant / Trunc on activations into fixed-point ops.

* zero point 0 and one power-of-two scale: a Cast to the exact ap_fixed type
  (ROUND -> AP_RND_CONV, FLOOR -> AP_TRN, clip -> AP_SAT, or AP_SAT_SYM when
  signed and narrow);
* anything else (per-channel or non-power-of-two scales, zero points): an exact
  Div by the scale straight into the integer type, then the scale multiplied
  back as an explicit constant: the integer computation is kept, nothing is
  approximated.

A Cast right after a graph input becomes the input's type, so the emulator's
float -> fixed conversion at the input is the Quant itself.
"""

from __future__ import annotations

import numpy as np

from trigc.errors import UnsupportedOpError
from trigc.fixed import FixedType, Overflow, Rounding
from trigc.ir.graph import Graph, Node, Tensor
from trigc.ir.ops import CastAttrs, ClipAttrs, Op
from trigc.quantizers import check_bit_width, int_range

ROUNDING = {
    "ROUND": Rounding.RND_CONV,
    "HALF_EVEN": Rounding.RND_CONV,
    "FLOOR": Rounding.TRN,
    "DOWN": Rounding.TRN_ZERO,
    "HALF_UP": Rounding.RND_INF,
    "HALF_DOWN": Rounding.RND_ZERO,
}


def rounding_for(node: Node, mode: str) -> Rounding:
    if mode not in ROUNDING:
        raise UnsupportedOpError(
            f"{node.where()}: rounding mode {mode!r} has no ap_fixed equivalent; "
            f"use one of {sorted(ROUNDING)} when training"
        )
    return ROUNDING[mode]


def po2_exponent(scale: np.ndarray) -> int | None:
    """k when every element of ``scale`` equals 2**k, else None."""
    flat = np.unique(np.asarray(scale, dtype=np.float64).ravel())
    if flat.size != 1 or flat[0] <= 0:
        return None
    mant, exp = np.frexp(flat[0])
    return int(exp) - 1 if mant == 0.5 else None


def _const(graph: Graph, node: Node, name: str, value) -> Tensor:
    return graph.add_constant(f"{node.name}_{name}", np.asarray(value, dtype=np.float64),
                              source=node.source)


def _chain(graph: Graph, node: Node, x: Tensor, steps) -> Tensor:
    """Build op(x, const?) steps; returns the last output tensor."""
    cur = x
    for i, (op, attrs, extra, out_type) in enumerate(steps):
        out = graph.add_tensor(graph.unique_name(f"{node.output.name}_{i}"), x.shape,
                               out_type, source=node.source)
        graph.add_node(op, [cur, *extra], [out], attrs, f"{node.name}_{op.value.lower()}",
                       node.source, index=graph.nodes.index(node))
        cur = out
    return cur


def _replace(graph: Graph, node: Node, result: Tensor) -> None:
    """Swap the lowered chain in for ``node``; the chain's result keeps the name."""
    out = node.output
    out.replace_all_uses_with(result, graph)
    graph.remove_node(node)
    graph.rename_tensor(result, out.name)


def _lower_quant(graph: Graph, node: Node) -> None:
    x, scale_t, zp_t, bits_t = node.inputs
    a = node.attrs
    scale, zp = scale_t.value, zp_t.value
    bits = check_bit_width(bits_t.value, "bit width", node.where())
    if np.any(scale <= 0):
        raise UnsupportedOpError(f"{node.where()}: scales must be positive")
    if bits == 1 and a.signed:
        if np.any(zp != 0):
            raise UnsupportedOpError(f"{node.where()}: 1-bit Quant with a zero point")
        steps = [(Op.SIGN, None, [], None), (Op.MUL, None, [_const(graph, node, "scale", scale)],
                                             None)]
        _replace(graph, node, _chain(graph, node, x, steps))
        return
    rounding = rounding_for(node, a.rounding_mode)
    overflow = Overflow.SAT_SYM if (a.signed and a.narrow) else Overflow.SAT
    k = po2_exponent(scale)
    zero_zp = not np.any(zp != 0)
    if k is not None and zero_zp:
        t = FixedType(a.signed, bits, bits + k, rounding, overflow)
        steps = [(Op.CAST, CastAttrs(), [], t)]
        if not a.signed and a.narrow:
            hi = (int_range(False, True, bits)[1]) * 2.0**k
            steps.append((Op.CLIP, ClipAttrs(None, hi), [], None))
        _replace(graph, node, _chain(graph, node, x, steps))
        return
    # general case: exact rational rescale around an integer quantizer
    int_type = FixedType(a.signed, bits, bits, rounding, overflow)
    steps = []
    if not zero_zp:
        steps.append((Op.ADD, None, [_const(graph, node, "zp_offset", zp * scale)], None))
    steps.append((Op.DIV, None, [_const(graph, node, "scale_div", scale)], int_type))
    if not a.signed and a.narrow:
        steps.append((Op.CLIP, ClipAttrs(None, float(int_range(False, True, bits)[1])), [],
                      None))
    if not zero_zp:
        steps.append((Op.SUB, None, [_const(graph, node, "zp", zp)], None))
    steps.append((Op.MUL, None, [_const(graph, node, "scale", scale)], None))
    _replace(graph, node, _chain(graph, node, x, steps))


def _lower_trunc(graph: Graph, node: Node) -> None:
    x, scale_t, zp_t, in_bits_t = node.inputs[:4]
    a = node.attrs
    k = po2_exponent(scale_t.value)
    rounding = rounding_for(node, a.rounding_mode)
    if k is None or np.any(zp_t.value != 0):
        _lower_trunc_rational(graph, node, rounding)
        return
    on_grid = (Op.CAST, CastAttrs(-k, Rounding.RND_CONV), [], None)
    if a.version == 1:
        drop = check_bit_width(in_bits_t.value, "input bit width", node.where()) \
            - check_bit_width(node.inputs[4].value, "output bit width", node.where())
        steps = [on_grid, (Op.MUL, None, [_const(graph, node, "trunc", 2.0**-drop)], None),
                 (Op.CAST, CastAttrs(-k, rounding), [], None)]
    else:
        out_scale = node.inputs[4].value
        out_bits = check_bit_width(node.inputs[5].value, "output bit width", node.where())
        drop = int(np.round(np.log2(np.asarray(out_scale, dtype=np.float64) / 2.0**k)))
        overflow = Overflow.SAT_SYM if (a.signed and a.narrow) else Overflow.SAT
        if not a.signed and a.narrow:
            raise UnsupportedOpError(f"{node.where()}: unsigned narrow Trunc")
        # integer code: (x / scale) / 2**drop, rounded and clipped to out_bits
        steps = [on_grid,
                 (Op.MUL, None, [_const(graph, node, "trunc", 2.0**(-k - drop))], None),
                 (Op.CAST, CastAttrs(), [], FixedType(a.signed, out_bits, out_bits, rounding,
                                                      overflow)),
                 (Op.MUL, None, [_const(graph, node, "out_scale", out_scale)], None)]
    _replace(graph, node, _chain(graph, node, x, steps))


def _lower_trunc_rational(graph: Graph, node: Node, rounding: Rounding) -> None:
    """Trunc with a non-power-of-two scale (Brevitas QuantAvgPool) or a zero point,
    kept exact: x / scale is an exact rational rounded once (half to even) onto the
    integer grid, as QONNX's ``np.round(x / scale + zp)``; the zero point is added as
    an integer, the 2**drop division is exact, the Trunc's own rounding is the only
    other rounding, and the scale is multiplied back as an exact constant."""
    x, scale_t, zp_t, in_bits_t = node.inputs[:4]
    a = node.attrs
    scale, zp = np.asarray(scale_t.value, np.float64), np.asarray(zp_t.value, np.float64)
    if np.any(scale <= 0):
        raise UnsupportedOpError(f"{node.where()}: Trunc scales must be positive")
    if np.any(zp != np.round(zp)):
        raise UnsupportedOpError(
            f"{node.where()}: Trunc zero point {zp.ravel()[:4].tolist()} is not an integer; "
            "export with an integer zero point (or none)")
    zero_zp = not np.any(zp != 0)
    steps = [(Op.DIV, None, [_const(graph, node, "scale_div", scale)], None),
             # the grid and rounding only; precision inference rounds the Div into it
             (Op.CAST, CastAttrs(0, Rounding.RND_CONV), [], None)]
    if not zero_zp:
        steps.append((Op.ADD, None, [_const(graph, node, "zp", zp)], None))
    if a.version == 1:
        drop = check_bit_width(in_bits_t.value, "input bit width", node.where()) \
            - check_bit_width(node.inputs[4].value, "output bit width", node.where())
        steps += [(Op.MUL, None, [_const(graph, node, "trunc", 2.0**-drop)], None),
                  (Op.CAST, CastAttrs(0, rounding), [], None)]
        out_zp, out_scale = zp, scale
    else:
        out_scale = np.asarray(node.inputs[4].value, np.float64)
        out_bits = check_bit_width(node.inputs[5].value, "output bit width", node.where())
        if not a.signed and a.narrow:
            raise UnsupportedOpError(f"{node.where()}: unsigned narrow Trunc")
        ratio = np.unique(np.round(np.log2(out_scale / scale)))
        if ratio.size != 1:
            raise UnsupportedOpError(
                f"{node.where()}: Trunc output scale / scale is not one power of two")
        drop = int(ratio[0])
        overflow = Overflow.SAT_SYM if (a.signed and a.narrow) else Overflow.SAT
        steps += [(Op.MUL, None, [_const(graph, node, "trunc", 2.0**-drop)], None),
                  (Op.CAST, CastAttrs(), [], FixedType(a.signed, out_bits, out_bits,
                                                       rounding, overflow))]
        out_zp = zp * 2.0**-drop
    if not zero_zp:
        steps.append((Op.SUB, None, [_const(graph, node, "out_zp", out_zp)], None))
    steps.append((Op.MUL, None, [_const(graph, node, "scale", out_scale)], None))
    _replace(graph, node, _chain(graph, node, x, steps))


def _lower_bipolar(graph: Graph, node: Node) -> None:
    x, scale_t = node.inputs
    steps = [(Op.SIGN, None, [], None),
             (Op.MUL, None, [_const(graph, node, "scale", scale_t.value)], None)]
    _replace(graph, node, _chain(graph, node, x, steps))


def _absorb_input_cast(graph: Graph, x: Tensor) -> bool:
    """Input -> (Reshape/Transpose)* -> Cast: the Cast's type becomes the input's.

    Layout ops move values without changing them, so casting before them is the
    same as casting after; the emulator's float -> fixed input conversion is then
    the model's own input quantizer."""
    if x.type is not None or x in graph.outputs:
        return False
    t = x
    while (user := graph.sole_user(t)) is not None:
        if user.op is Op.CAST and user.output.type is not None:
            x.type = user.output.type
            for layout in _layout_chain(x, user):
                layout.output.type = None  # re-derived from the new input type
            user.output.replace_all_uses_with(t, graph)
            graph.remove_node(user)
            return True
        if user.op not in (Op.RESHAPE, Op.TRANSPOSE):
            return False
        t = user.output
    return False


def _layout_chain(x: Tensor, end: Node) -> list[Node]:
    chain, t = [], x
    while t.users and t.users[0] is not end:
        chain.append(t.users[0])
        t = t.users[0].output
    return chain


def absorb_quant(graph: Graph) -> bool:
    changed = False
    for node in list(graph.nodes):
        if node.op is Op.QUANT:
            _lower_quant(graph, node)
        elif node.op is Op.TRUNC:
            _lower_trunc(graph, node)
        elif node.op is Op.BIPOLAR_QUANT:
            _lower_bipolar(graph, node)
        else:
            continue
        changed = True
    for x in graph.inputs:
        changed |= _absorb_input_cast(graph, x)
    graph.prune_tensors()
    return changed

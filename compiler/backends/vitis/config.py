"""Per-op glue for the Vitis HLS backend: ``config_for(node, names, settings) -> dict``.

Each function is pure: it reads the node and returns the config struct to render
(typedefs, constants, arrays) and the kernel call for the top function. The C++
kernels in ``hls_templates/kernels/`` implement the semantics."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from trigc.errors import UnsupportedOpError
from trigc.fixed import FixedType, to_cpp, to_float
from trigc.ir.graph import Graph, Node, Tensor
from trigc.ir.ops import Op
from trigc.ops.constants import clip_bounds, leaky_alpha
from trigc.names import identifier


class Names(NamedTuple):
    """C++ names (all from :func:`trigc.names.identifier`): every tensor's array and
    type, every node's base name (its config struct is ``config_<base>``) and the top
    function's name."""

    array: dict[str, str]
    ctype: dict[str, str]
    node: dict[str, str]
    top: str


def literal(value: float) -> str:
    """A C++ double literal that parses back to exactly ``value``."""
    text = repr(float(value))
    return text if ("." in text or "e" in text or "inf" in text) else text + ".0"


def raw_array(name: str, raw: np.ndarray, t: FixedType) -> dict:
    """A constant array stored as the raw integers of ``t`` (value = raw * 2^-frac).

    Raw integers are constant-initialised, so the C simulation runs no ap_fixed
    constructor for them (large initialiser lists of ap_fixed cost seconds of g++
    time each); the kernels rebuild each value with ``trigc::from_raw``."""
    if t.width > 64:
        raise UnsupportedOpError(
            f"A {t.width}-bit constant ({t}) does not fit the 64-bit raw storage of "
            "constants; narrow the type")
    values = [f"{int(v)}LL" if abs(int(v)) >= 2**31 else str(int(v))
              for v in np.asarray(raw).ravel()]
    return {"ctype": "long long", "name": name, "size": len(values), "values": values,
            "comment": f"raw integers of {to_cpp(t)}: value = raw * 2^-{t.frac_bits}"}


def fixed_literal(raw: int, t: FixedType) -> str:
    """An exact C++ double literal of one raw value of ``t`` (at most 53 bits)."""
    if t.width > 53:
        raise UnsupportedOpError(f"Scalar constant of type {t} needs more than 53 bits")
    return literal(float(to_float(np.asarray([raw]), t)[0]))


def _struct(name: str, consts=(), typedefs=(), arrays=(), functions=(), children=()) -> dict:
    return {"name": name, "consts": list(consts), "typedefs": list(typedefs),
            "arrays": list(arrays), "functions": list(functions), "children": list(children)}


def _cname(node: Node, names: Names) -> str:
    """The name of a node's config struct."""
    return f"config_{names.node[node.name]}"


def _array(ctype: str, name: str, values: list[str]) -> dict:
    return {"ctype": ctype, "name": name, "size": len(values), "values": values, "comment": ""}


def _size(t: Tensor) -> int:
    return int(np.prod(t.shape)) if t.shape else 1


def _flat_constant(node: Node, c: Tensor, out: Tensor) -> np.ndarray:
    """A constant operand broadcast to the (per-sample) output shape, flattened."""
    try:
        return np.broadcast_to(c.raw, out.shape).ravel()
    except ValueError:
        raise UnsupportedOpError(
            f"{node.where()}: constant of shape {c.shape} does not broadcast to {out.shape}"
        ) from None


def dense_struct(name: str, w_raw: np.ndarray, w_type: FixedType, b_raw: np.ndarray | None,
                 b_type: FixedType | None, accum: FixedType, reuse: int, where: str) -> dict:
    """Dense config: only nonzero weights are listed (zero skipping at compile time)."""
    n_in, n_out = w_raw.shape
    rows, cols = np.nonzero(w_raw)
    values = w_raw[rows, cols]
    if rows.size == 0:  # all weights pruned: keep one zero product so arrays are non-empty
        rows, cols, values = np.zeros(1, int), np.zeros(1, int), np.zeros(1, np.int64)
    n_nonzero = int(rows.size)
    if not 1 <= reuse <= n_nonzero:
        raise UnsupportedOpError(
            f"{where}: reuse factor {reuse} is invalid for a layer with {n_nonzero} nonzero "
            f"multiplications; use a reuse factor between 1 and {n_nonzero}")
    if b_raw is None:
        b_type, b_raw = FixedType(False, 1, 1), np.zeros(n_out, np.int64)
    return _struct(
        name,
        consts=[("n_in", n_in), ("n_out", n_out), ("n_nonzero", n_nonzero), ("reuse", reuse),
                ("n_mult", math.ceil(n_nonzero / reuse))],
        typedefs=[("accum_t", to_cpp(accum)), ("weight_t", to_cpp(w_type)),
                  ("bias_t", to_cpp(b_type))],
        arrays=[raw_array("weights", values, w_type),
                _array("unsigned", "rows", [str(int(r)) for r in rows]),
                _array("unsigned", "cols", [str(int(c)) for c in cols]),
                raw_array("bias", b_raw, b_type)])


def _bias(node: Node):
    if len(node.inputs) > 2:
        b = node.inputs[2]
        return b.raw.ravel(), b.type
    return None, None


def config_dense(node: Node, names: Names, reuse: int) -> dict:
    w = node.inputs[1]
    b_raw, b_type = _bias(node)
    rows_per_call = _size(node.inputs[0]) // node.attrs.n_in
    if rows_per_call != 1:
        raise UnsupportedOpError(
            f"{node.where()}: Dense on a {node.inputs[0].shape} tensor (applied per row) is not "
            "supported by the HLS backend; flatten the input first")
    s = dense_struct(_cname(node, names), w.raw, w.type, b_raw, b_type,
                     node.attrs.accum_type, reuse, node.where())
    return {"struct": s, "kernel": "dense", "template": ["in", "out", "config"]}


def config_conv(node: Node, names: Names, reuse: int) -> dict:
    a = node.attrs
    x, w, y = node.inputs[0], node.inputs[1], node.output
    nd = len(a.kernel_shape)
    in_sp, out_sp = x.shape[:-1], y.shape[:-1]
    if nd == 1:
        in_h, in_w, out_h, out_w = 1, in_sp[0], 1, out_sp[0]
        k_h, k_w, s_h, s_w, p_t, p_l = 1, a.kernel_shape[0], 1, a.strides[0], 0, a.pads[0]
    else:
        in_h, in_w = in_sp
        out_h, out_w = out_sp
        k_h, k_w = a.kernel_shape
        s_h, s_w = a.strides
        p_t, p_l = a.pads[0], a.pads[1]
    c_in, c_out = x.shape[-1], y.shape[-1]
    cg, og = c_in // a.groups, c_out // a.groups
    k = int(np.prod(a.kernel_shape))
    w_raw = w.raw.reshape(k, cg, c_out)
    full = np.zeros((k, c_in, c_out), dtype=w_raw.dtype)  # block-diagonal over groups
    for g in range(a.groups):
        full[:, g * cg:(g + 1) * cg, g * og:(g + 1) * og] = w_raw[:, :, g * og:(g + 1) * og]
    b_raw, b_type = _bias(node)
    mult = dense_struct(_cname(node, names) + "_mult", full.reshape(k * c_in, c_out), w.type,
                        b_raw, b_type, a.accum_type, reuse, node.where())
    s = _struct(_cname(node, names),
                consts=[("in_h", in_h), ("in_w", in_w), ("n_chan", c_in), ("out_h", out_h),
                        ("out_w", out_w), ("n_filt", c_out), ("kernel_h", k_h),
                        ("kernel_w", k_w), ("stride_h", s_h), ("stride_w", s_w),
                        ("pad_top", p_t), ("pad_left", p_l)],
                typedefs=[("mult_config", mult["name"])], children=[mult])
    return {"struct": s, "kernel": "conv2d", "template": ["in", "out", "config"]}


def _pool_geometry(node: Node) -> list[tuple[str, int]]:
    a = node.attrs
    x, y = node.inputs[0], node.output
    if len(a.kernel_shape) == 1:
        return [("in_h", 1), ("in_w", x.shape[0]), ("n_chan", x.shape[-1]), ("out_h", 1),
                ("out_w", y.shape[0]), ("pool_h", 1), ("pool_w", a.kernel_shape[0]),
                ("stride_h", 1), ("stride_w", a.strides[0]), ("pad_top", 0),
                ("pad_left", a.pads[0])]
    return [("in_h", x.shape[0]), ("in_w", x.shape[1]), ("n_chan", x.shape[-1]),
            ("out_h", y.shape[0]), ("out_w", y.shape[1]), ("pool_h", a.kernel_shape[0]),
            ("pool_w", a.kernel_shape[1]), ("stride_h", a.strides[0]),
            ("stride_w", a.strides[1]), ("pad_top", a.pads[0]), ("pad_left", a.pads[1])]


def config_pool(node: Node, names: Names, reuse: int) -> dict:
    a = node.attrs
    consts = _pool_geometry(node) + [("count_include_pad", int(a.count_include_pad))]
    typedefs = [("accum_t", to_cpp(a.accum_type))] if node.op is Op.AVGPOOL else []
    kernel = "avgpool2d" if node.op is Op.AVGPOOL else "maxpool2d"
    return {"struct": _struct(_cname(node, names), consts, typedefs), "kernel": kernel,
            "template": ["in", "out", "config"]}


def config_global_pool(node: Node, names: Names, reuse: int) -> dict:
    x = node.inputs[0]
    consts = [("n_spatial", _size(x) // x.shape[-1]), ("n_chan", x.shape[-1])]
    avg = node.op is Op.GLOBAL_AVGPOOL
    typedefs = [("accum_t", to_cpp(node.attrs.accum_type))] if avg else []
    return {"struct": _struct(_cname(node, names), consts, typedefs),
            "kernel": "global_avgpool" if avg else "global_maxpool",
            "template": ["in", "out", "config"]}


BINARY_CODES = {Op.ADD: 0, Op.SUB: 1, Op.MUL: 2}


def config_binary(node: Node, names: Names, reuse: int) -> dict:
    out = node.output
    n = _size(out)
    a, b = node.inputs
    if a.is_constant and b.is_constant:
        raise UnsupportedOpError(f"{node.where()}: both operands are constants (fold them)")
    if a.is_constant or b.is_constant:
        c, x = (a, b) if a.is_constant else (b, a)
        s = _struct(_cname(node, names),
                    [("n", n), ("op", BINARY_CODES[node.op]), ("const_first", int(a is c))],
                    [("const_t", to_cpp(c.type))],
                    [raw_array("values", _flat_constant(node, c, out), c.type)])
        return {"struct": s, "kernel": "binary_const", "operands": [names.array[x.name]],
                "types": [names.ctype[x.name], names.ctype[out.name]]}
    for t in (a, b):
        if _size(t) != n:
            raise UnsupportedOpError(
                f"{node.where()}: broadcasting two run-time tensors ({t.shape} to "
                f"{out.shape}) is not supported by the HLS backend")
    return {"struct": _struct(_cname(node, names), [("n", n)]),
            "kernel": node.op.value.lower(),
            "operands": [names.array[a.name], names.array[b.name]],
            "types": [names.ctype[a.name], names.ctype[b.name], names.ctype[out.name]]}


def config_div(node: Node, names: Names, reuse: int) -> dict:
    out, c = node.output, node.inputs[1]
    s = _struct(_cname(node, names), [("n", _size(out))], [("const_t", to_cpp(c.type))],
                [raw_array("divisor", _flat_constant(node, c, out), c.type)])
    return {"struct": s, "kernel": "div_const", "template": ["in", "out", "config"]}


def config_unary(node: Node, names: Names, reuse: int) -> dict:
    n = _size(node.output)
    kernel = {Op.CAST: "cast", Op.RELU: "relu", Op.SIGN: "sign", Op.RESHAPE: "cast",
              Op.LEAKY_RELU: "leaky_relu", Op.CLIP: "clip", Op.ABS: "abs_value"}[node.op]
    typedefs, functions, consts = [], [], [("n", n)]
    if node.op is Op.LEAKY_RELU:
        alpha = leaky_alpha(node)
        typedefs.append(("alpha_t", to_cpp(alpha.type)))
        functions.append(("alpha_t", "alpha", fixed_literal(int(alpha.raw), alpha.type)))
    if node.op is Op.CLIP:
        a = node.attrs
        typedefs.append(("bound_t", to_cpp(clip_bounds(node).type)))
        consts += [("has_low", int(a.low is not None)), ("has_high", int(a.high is not None))]
        functions += [("bound_t", "low", literal(a.low if a.low is not None else 0.0)),
                      ("bound_t", "high", literal(a.high if a.high is not None else 0.0))]
    return {"struct": _struct(_cname(node, names), consts, typedefs, functions=functions),
            "kernel": kernel, "template": ["in", "out", "config"]}


def config_lut(node: Node, names: Names, reuse: int) -> dict:
    a = node.attrs
    consts = [("n", _size(node.output)), ("n_table", len(a.table)),
              ("index_low", a.index_low), ("shift", a.shift)]
    arrays = [raw_array("table", a.table, a.table_type)]
    return {"struct": _struct(_cname(node, names), consts, (), arrays), "kernel": "lut",
            "template": ["in", "out", "config"]}


def config_softmax(node: Node, names: Names, reuse: int) -> dict:
    a = node.attrs
    x = node.inputs[0]
    n_cls = x.shape[-1]
    e, inv = a.exp_lut, a.inv_lut
    consts = [("n_rows", _size(x) // n_cls), ("n_cls", n_cls),
              ("exp_index_low", e.index_low), ("exp_shift", e.shift), ("n_exp", len(e.table)),
              ("inv_index_low", inv.index_low), ("inv_shift", inv.shift),
              ("n_inv", len(inv.table))]
    typedefs = [("diff_t", to_cpp(a.diff_type)), ("exp_t", to_cpp(e.table_type)),
                ("sum_t", to_cpp(a.sum_type)), ("inv_t", to_cpp(inv.table_type))]
    arrays = [raw_array("exp_table", e.table, e.table_type),
              raw_array("inv_table", inv.table, inv.table_type)]
    return {"struct": _struct(_cname(node, names), consts, typedefs, arrays),
            "kernel": "softmax", "template": ["in", "out", "config"]}


def config_transpose(node: Node, names: Names, reuse: int) -> dict:
    x = node.inputs[0]
    index = np.transpose(np.arange(_size(x)).reshape(x.shape), node.attrs.perm).ravel()
    s = _struct(_cname(node, names), [("n_in", _size(x)), ("n_out", index.size)], (),
                [_array("unsigned", "index", [str(int(i)) for i in index])])
    return {"struct": s, "kernel": "gather", "template": ["in", "out", "config"]}


def config_concat(node: Node, names: Names, reuse: int) -> dict:
    if len(node.inputs) != 2 or any(t.is_constant for t in node.inputs):
        raise UnsupportedOpError(
            f"{node.where()}: the HLS backend concatenates exactly two run-time tensors; "
            "split the Concat into pairs")
    a, b = node.inputs
    axis = node.attrs.axis
    ids_a = np.arange(_size(a)).reshape(a.shape)
    ids_b = np.arange(_size(b)).reshape(b.shape) + _size(a)
    joined = np.concatenate([ids_a, ids_b], axis=axis).ravel()
    from_b = joined >= _size(a)
    index = np.where(from_b, joined - _size(a), joined)
    s = _struct(_cname(node, names), [("n_a", _size(a)), ("n_b", _size(b)),
                                        ("n_out", joined.size)], (),
                [_array("bool", "from_b", ["true" if f else "false" for f in from_b]),
                 _array("unsigned", "index", [str(int(i)) for i in index])])
    return {"struct": s, "kernel": "concat2", "operands": [names.array[a.name],
                                                           names.array[b.name]],
            "types": [names.ctype[a.name], names.ctype[b.name],
                      names.ctype[node.output.name]]}


CONFIG_FOR = {
    Op.DENSE: config_dense,
    Op.CONV: config_conv,
    Op.MAXPOOL: config_pool,
    Op.AVGPOOL: config_pool,
    Op.GLOBAL_AVGPOOL: config_global_pool,
    Op.GLOBAL_MAXPOOL: config_global_pool,
    Op.ADD: config_binary,
    Op.SUB: config_binary,
    Op.MUL: config_binary,
    Op.DIV: config_div,
    Op.CAST: config_unary,
    Op.RELU: config_unary,
    Op.LEAKY_RELU: config_unary,
    Op.CLIP: config_unary,
    Op.SIGN: config_unary,
    Op.ABS: config_unary,
    Op.RESHAPE: config_unary,
    Op.SIGMOID: config_lut,
    Op.TANH: config_lut,
    Op.SOFTMAX: config_softmax,
    Op.TRANSPOSE: config_transpose,
    Op.CONCAT: config_concat,
}


def config_for(node: Node, names: Names, reuse: int = 1) -> dict:
    """The glue for one node: its config struct and kernel call (see module doc)."""
    fn = CONFIG_FOR.get(node.op)
    if fn is None:
        raise UnsupportedOpError(f"{node.where()}: no HLS kernel for {node.op.value}")
    if node.op in (Op.DIV,) and node.inputs[0].is_constant:
        raise UnsupportedOpError(f"{node.where()}: Div of a constant by a run-time tensor")
    cfg = fn(node, names, reuse)
    inp = node.inputs[0]
    cfg.setdefault("operands", [names.array[inp.name]])
    cfg.setdefault("types", [names.ctype[inp.name], names.ctype[node.output.name]])
    cfg["output"] = names.array[node.output.name]
    cfg["output_size"] = _size(node.output)
    cfg["node"] = node.name
    cfg["source"] = node.source
    cfg["op"] = node.op.value
    return cfg


def _macro(array: str) -> str:
    """The case-insensitive key of a port's size macro ``N_<ARRAY>``."""
    return f"#N_{array.upper()}"


INPUT_FORMS = (lambda b: f"{b}_t", lambda b: f"{b}_axis", lambda b: f"{b}_t_word", _macro)
NODE_FORMS = (lambda b: f"config_{b}", lambda b: f"config_{b}_mult", lambda b: f"{b}_out",
              lambda b: f"{b}_t", lambda b: f"{b}_out_axis", lambda b: f"{b}_t_word",
              lambda b: _macro(f"{b}_out"))


def tensor_names(graph: Graph) -> Names:
    """Stable, safe, unique C++ names: the top function after the model, inputs after
    their tensor, layer outputs, types and config structs after their node. User
    names are sanitized by :func:`trigc.names.identifier`; an ordinary name such as
    ``dense_0_MatMul`` is kept as it is."""
    taken: set[str] = set()

    def claim(name: str, prefix: str, forms, fallback: str | None = None) -> str:
        base = identifier(name, taken, prefix, forms, fallback)
        taken.update(f(base) for f in (lambda b: b, *forms))
        return base

    top = claim(graph.name, "model", (lambda b: f"#{b.upper()}",))
    array, ctype, node_names = {}, {}, {}
    for i, t in enumerate(graph.inputs):
        base = claim(t.name, "t", INPUT_FORMS, fallback=f"input_{i}")
        array[t.name], ctype[t.name] = base, f"{base}_t"
    for node in graph.nodes:
        base = claim(node.name, "n", NODE_FORMS)
        node_names[node.name] = base
        array[node.output.name], ctype[node.output.name] = f"{base}_out", f"{base}_t"
    return Names(array, ctype, node_names, top)

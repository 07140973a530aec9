"""Per-op glue for the Vitis HLS backend: ``config_for(node, names, plan) -> dict``.

Each function is pure: it renders the node's kernel plan (:mod:`trigc.plans`: the
weights, geometry, reuse schedule, tables and typed constants, already checked)
as the config struct (typedefs, constants, arrays) and the kernel call for the top
function; the node gives only the C++ names of its tensors. The C++ kernels in
``hls_templates/kernels/`` implement the semantics."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from trigc.errors import UnsupportedOpError
from trigc.fixed import FixedType, to_cpp, to_float
from trigc.ir.graph import Graph, Node, Tensor
from trigc.ir.ops import Op
from trigc.names import identifier
from trigc.ops.constants import TypedConstant
from trigc.plans import (
    BinaryPlan,
    ConcatPlan,
    ConvPlan,
    DensePlan,
    DivPlan,
    GatherPlan,
    GlobalPoolPlan,
    KernelPlan,
    LutPlan,
    PoolPlan,
    SoftmaxPlan,
    UnaryPlan,
)


class Names(NamedTuple):
    """C++ names (all from :func:`trigc.names.identifier`): every tensor's array and
    type, every node's base name (its config struct is ``config_<base>``) and the top
    function's name; and ``type_name``, the spelling of a fixed-point type in the
    project's number library (:func:`trigc.fixed.to_cpp` for ap_fixed, ``to_ac`` for
    Catapult's ac_fixed)."""

    array: dict[str, str]
    ctype: dict[str, str]
    node: dict[str, str]
    top: str
    type_name: Callable[[FixedType], str] = to_cpp


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
            "comment": f"raw integers of {t}: value = raw * 2^-{t.frac_bits}"}


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


def dense_struct(name: str, plan: DensePlan, type_name=to_cpp) -> dict:
    """Dense config: only nonzero weights are listed (zero skipping at compile time)."""
    w = plan.weights
    rows, cols, values = w.stored()
    if plan.bias is None:
        b_type, b_raw = FixedType(False, 1, 1), np.zeros(w.n_out, np.int64)
    else:
        b_type, b_raw = plan.bias.type, plan.bias.raw
    return _struct(
        name,
        consts=[("n_in", w.n_in), ("n_out", w.n_out), ("n_nonzero", w.n_products),
                ("reuse", plan.reuse), ("n_mult", plan.schedule.n_mult)],
        typedefs=[("accum_t", type_name(plan.accum_type)), ("weight_t", type_name(w.type)),
                  ("bias_t", type_name(b_type))],
        arrays=[raw_array("weights", values, w.type),
                _array("unsigned", "rows", [str(int(r)) for r in rows]),
                _array("unsigned", "cols", [str(int(c)) for c in cols]),
                raw_array("bias", b_raw, b_type)])


def config_dense(node: Node, names: Names, plan: DensePlan) -> dict:
    s = dense_struct(_cname(node, names), plan, names.type_name)
    return {"struct": s, "kernel": "dense", "template": ["in", "out", "config"]}


def config_conv(node: Node, names: Names, plan: ConvPlan) -> dict:
    g = plan.geometry
    mult = dense_struct(_cname(node, names) + "_mult", plan, names.type_name)
    s = _struct(_cname(node, names),
                consts=[("in_h", g.in_h), ("in_w", g.in_w), ("n_chan", g.n_chan),
                        ("out_h", g.out_h), ("out_w", g.out_w), ("n_filt", plan.weights.n_out),
                        ("kernel_h", g.kernel_h), ("kernel_w", g.kernel_w),
                        ("stride_h", g.stride_h), ("stride_w", g.stride_w),
                        ("pad_top", g.pad_top), ("pad_left", g.pad_left)],
                typedefs=[("mult_config", mult["name"])], children=[mult])
    return {"struct": s, "kernel": "conv2d", "template": ["in", "out", "config"]}


def config_pool(node: Node, names: Names, plan: PoolPlan) -> dict:
    g = plan.geometry
    consts = [("in_h", g.in_h), ("in_w", g.in_w), ("n_chan", g.n_chan), ("out_h", g.out_h),
              ("out_w", g.out_w), ("pool_h", g.kernel_h), ("pool_w", g.kernel_w),
              ("stride_h", g.stride_h), ("stride_w", g.stride_w), ("pad_top", g.pad_top),
              ("pad_left", g.pad_left), ("count_include_pad", int(plan.count_include_pad))]
    avg = plan.accum_type is not None
    typedefs = [("accum_t", names.type_name(plan.accum_type))] if avg else []
    return {"struct": _struct(_cname(node, names), consts, typedefs),
            "kernel": "avgpool2d" if avg else "maxpool2d",
            "template": ["in", "out", "config"]}


def config_global_pool(node: Node, names: Names, plan: GlobalPoolPlan) -> dict:
    consts = [("n_spatial", plan.n_spatial), ("n_chan", plan.n_chan)]
    avg = plan.accum_type is not None
    typedefs = [("accum_t", names.type_name(plan.accum_type))] if avg else []
    kernel = "global_maxpool" if not avg else (
        "global_avgpool" if plan.divisor > 1 else "global_sumpool")
    return {"struct": _struct(_cname(node, names), consts, typedefs),
            "kernel": kernel,
            "template": ["in", "out", "config"]}


BINARY_CODES = {Op.ADD: 0, Op.SUB: 1, Op.MUL: 2}


def config_binary(node: Node, names: Names, plan: BinaryPlan) -> dict:
    out = node.output
    a, b = node.inputs
    if plan.constant is not None:
        c, x = plan.constant, (b if plan.const_first else a)
        s = _struct(_cname(node, names),
                    [("n", plan.n_out), ("op", BINARY_CODES[node.op]),
                     ("const_first", int(plan.const_first))],
                    [("const_t", names.type_name(c.type))],
                    [raw_array("values", c.raw, c.type)])
        return {"struct": s, "kernel": "binary_const", "operands": [names.array[x.name]],
                "types": [names.ctype[x.name], names.ctype[out.name]]}
    return {"struct": _struct(_cname(node, names), [("n", plan.n_out)]),
            "kernel": node.op.value.lower(),
            "operands": [names.array[a.name], names.array[b.name]],
            "types": [names.ctype[a.name], names.ctype[b.name], names.ctype[out.name]]}


def config_div(node: Node, names: Names, plan: DivPlan) -> dict:
    c = plan.divisor
    s = _struct(_cname(node, names), [("n", plan.n_out)],
                [("const_t", names.type_name(c.type))], [raw_array("divisor", c.raw, c.type)])
    return {"struct": s, "kernel": "div_const", "template": ["in", "out", "config"]}


def _constant_literal(c: TypedConstant | None) -> str:
    """A typed constant as an exact C++ double literal (0.0 for an absent one)."""
    return literal(0.0) if c is None else fixed_literal(int(c.raw), c.type)


def config_unary(node: Node, names: Names, plan: UnaryPlan) -> dict:
    n = _size(node.output)
    kernel = {Op.CAST: "cast", Op.RELU: "relu", Op.SIGN: "sign", Op.RESHAPE: "cast",
              Op.LEAKY_RELU: "leaky_relu", Op.CLIP: "clip", Op.ABS: "abs_value"}[node.op]
    typedefs, functions, consts = [], [], [("n", n)]
    if plan.alpha is not None:
        alpha = plan.alpha
        typedefs.append(("alpha_t", names.type_name(alpha.type)))
        functions.append(("alpha_t", "alpha", _constant_literal(alpha)))
    if plan.bounds is not None:
        low, high = plan.bounds.low, plan.bounds.high
        typedefs.append(("bound_t", names.type_name(plan.bounds.type)))
        consts += [("has_low", int(low is not None)), ("has_high", int(high is not None))]
        functions += [("bound_t", "low", _constant_literal(low)),
                      ("bound_t", "high", _constant_literal(high))]
    return {"struct": _struct(_cname(node, names), consts, typedefs, functions=functions),
            "kernel": kernel, "template": ["in", "out", "config"]}


def config_lut(node: Node, names: Names, plan: LutPlan) -> dict:
    t = plan.lut
    consts = [("n", plan.n_out), ("n_table", t.entries), ("index_low", t.index_low),
              ("shift", t.shift)]
    arrays = [raw_array("table", t.table.raw, t.table.type)]
    return {"struct": _struct(_cname(node, names), consts, (), arrays), "kernel": "lut",
            "template": ["in", "out", "config"]}


def config_softmax(node: Node, names: Names, plan: SoftmaxPlan) -> dict:
    if plan.mode == "exact":
        return config_softmax_exact(node, names, plan)
    e, inv = plan.exp, plan.inv
    consts = [("n_rows", plan.n_rows), ("n_cls", plan.n_cls),
              ("exp_index_low", e.index_low), ("exp_shift", e.shift), ("n_exp", e.entries),
              ("inv_index_low", inv.index_low), ("inv_shift", inv.shift),
              ("n_inv", inv.entries)]
    spell = names.type_name
    typedefs = [("diff_t", spell(plan.diff_type)), ("exp_t", spell(e.table.type)),
                ("sum_t", spell(plan.sum_type)), ("inv_t", spell(inv.table.type))]
    arrays = [raw_array("exp_table", e.table.raw, e.table.type),
              raw_array("inv_table", inv.table.raw, inv.table.type)]
    return {"struct": _struct(_cname(node, names), consts, typedefs, arrays),
            "kernel": "softmax", "template": ["in", "out", "config"]}


def config_softmax_exact(node: Node, names: Names, plan: SoftmaxPlan) -> dict:
    """The exact mode (``trigc::softmax_exact``): chunked exp tables, exact division."""
    offsets = np.cumsum((0,) + plan.exp_sizes[:-1])
    consts = [("n_rows", plan.n_rows), ("n_cls", plan.n_cls), ("exp_bits", plan.exp_bits),
              ("sum_bits", plan.sum_type.width), ("n_chunks", len(plan.exp_shifts)),
              ("n_exp", plan.exp_table.size)]
    diff = plan.diff_type
    diff_t = FixedType(False, diff.width, diff.integer_bits)  # holds max(x) - x >= 0
    arrays = [_array("unsigned", "chunk_shift", [str(v) for v in plan.exp_shifts]),
              _array("unsigned", "chunk_size", [str(v) for v in plan.exp_sizes]),
              _array("unsigned", "chunk_offset", [str(int(v)) for v in offsets]),
              raw_array("exp_table", plan.exp_table.raw, plan.exp_table.type)]
    return {"struct": _struct(_cname(node, names), consts,
                              [("diff_t", names.type_name(diff_t))], arrays),
            "kernel": "softmax_exact", "template": ["in", "out", "config"]}


def config_transpose(node: Node, names: Names, plan: GatherPlan) -> dict:
    s = _struct(_cname(node, names), [("n_in", plan.input_sizes[0]),
                                        ("n_out", plan.index.size)], (),
                [_array("unsigned", "index", [str(int(i)) for i in plan.index])])
    return {"struct": s, "kernel": "gather", "template": ["in", "out", "config"]}


def config_concat(node: Node, names: Names, plan: ConcatPlan) -> dict:
    a, b = node.inputs
    s = _struct(_cname(node, names), [("n_a", plan.input_sizes[0]),
                                        ("n_b", plan.input_sizes[1]),
                                        ("n_out", plan.index.size)], (),
                [_array("bool", "from_b", ["true" if f else "false" for f in plan.from_b]),
                 _array("unsigned", "index", [str(int(i)) for i in plan.index])])
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
    Op.SELU: config_lut,
    Op.SOFTMAX: config_softmax,
    Op.TRANSPOSE: config_transpose,
    Op.RESIZE: config_transpose,  # a gather with a constant index table
    Op.CONCAT: config_concat,
}


def config_for(node: Node, names: Names, plan: KernelPlan) -> dict:
    """The glue for one node: its plan (:func:`trigc.plans.plan`) rendered as its
    config struct and kernel call (see module doc)."""
    fn = CONFIG_FOR.get(node.op)
    if fn is None:
        raise UnsupportedOpError(f"{node.where()}: no HLS kernel for {node.op.value}")
    cfg = fn(node, names, plan)
    inp = node.inputs[0]
    if "operands" not in cfg:  # not setdefault: a constant input 0 has no array name
        cfg["operands"] = [names.array[inp.name]]
        cfg["types"] = [names.ctype[inp.name], names.ctype[node.output.name]]
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

"""Per-layer datapaths (resources and critical path) of every final-IR op.

Dense and Conv live in :mod:`trigc.estimate.linear`. Everything here is fully
unrolled, as the kernels are (one operator per element), and mirrors the
kernels in ``hls_templates/kernels/``:

- Add/Sub: one adder of the exact result width per element (adding a constant
  zero is free); Mul: one multiplier per element, constant operands as in
  Dense, run-time operands as variable multipliers.
- Div by a constant (``div_const``, average pooling): a power-of-two divisor is
  a shift; any other constant becomes a reciprocal multiplication
  (DSP48E2 tiles of ``(n+1) x (n+1)`` bits for an n-bit numerator), a remainder
  check and the rounding fix-up (about ``4n`` LUTs, 3 adder delays after the
  multiply). If Vitis instantiated a divider core instead, latency would grow
  by about n cycles.
- ReLU / clip / sign / leaky ReLU: selects and comparisons, then the
  assignment to the output type (rounding adder, saturation logic). Element-wise
  ops that declare an ``ElementCost`` in their traits (:mod:`trigc.ops`; ReLU,
  Cast) are costed from those counts by :func:`declared`, with no code here.
- Sigmoid/Tanh: index clamp (two comparisons and a subtract) and one table
  read per element; Softmax: a compare-select chain for the max (as written in
  the kernel), subtract, exp table, adder tree, inverse table, one multiply per
  class.
- Max pooling: a compare-select chain over the valid window (as written);
  average pooling: an adder tree and a constant division per output.
- Reshape with equal types, Transpose and Concat are wiring: free.
"""

from __future__ import annotations

import math

import numpy as np

from trigc.errors import UnsupportedOpError
from trigc.estimate import arith, linear
from trigc.estimate.datapath import DSP, LOGIC, REGISTERED, Datapath, PathOp, Resources
from trigc.fixed import FixedType, add_type, mul_type, sub_type
from trigc.ir.graph import Node, Tensor
from trigc.ir.ops import Op
from trigc.ops import OPS, full_range_type, op_def
from trigc.plans import (
    BinaryPlan,
    DivPlan,
    GlobalPoolPlan,
    KernelPlan,
    LutPlan,
    LutTable,
    Plan,
    PoolPlan,
    ReuseSource,
    SoftmaxPlan,
    UnaryPlan,
    plan,
)


def size(t: Tensor) -> int:
    return int(np.prod(t.shape)) if t.shape else 1


def _assign(src: FixedType, dst: FixedType, n: int) -> tuple[int, list[PathOp]]:
    cost = arith.cast_cost(src, dst)
    ops = [PathOp("assign to output type", LOGIC, cost.delay_ns, live_bits=n * dst.width)]
    return cost.lut * n, (ops if cost.delay_ns > 0 else [])


def _elementwise(node: Node, label: str, lut: int, delay: float, exact: FixedType,
                 kind: str = LOGIC, dsp: int = 0, detail: dict | None = None) -> Datapath:
    out, n = node.output, size(node.output)
    lut_assign, assign = _assign(exact, out.type, n)
    ops = [PathOp(label, kind, delay, live_bits=n * exact.width)] if delay > 0 else []
    return Datapath(ops + assign, Resources(dsp=dsp, lut=lut + lut_assign), detail=detail or {})


def add_sub(node: Node, plan: BinaryPlan) -> Datapath:
    a, b = plan.input_types
    exact = add_type(a, b) if node.op is Op.ADD else sub_type(a, b)
    const = plan.constant
    active = plan.n_out if const is None else int(np.count_nonzero(const.raw))
    delay = arith.add_delay(exact.width) if active else 0.0
    return _elementwise(node, node.op.value.lower(), active * exact.width, delay, exact)


def mul(node: Node, plan: BinaryPlan) -> Datapath:
    a, b = plan.input_types
    exact = mul_type(a, b)
    if plan.constant is None:
        costs = [arith.var_mult(a, b)] * plan.n_out
    else:
        costs = [arith.const_mult(plan.variable_type, int(v)) for v in plan.constant.raw
                 if v != 0]
    dsp = sum(c.dsp for c in costs)
    kind = DSP if dsp else LOGIC
    delay = max((c.delay_ns for c in costs), default=0.0)
    detail = {"dsp_products": sum(c.kind == "dsp" for c in costs),
              "lut_products": sum(c.kind == "lut" for c in costs)}
    return _elementwise(node, "multiply", sum(c.lut for c in costs), delay, exact, kind, dsp,
                        detail)


def _divider(num_bits: int, den: int) -> tuple[int, int, float]:
    """(DSP, LUT, delay) of dividing an n-bit numerator by a positive constant."""
    den = abs(int(den))
    if den <= 1 or den & (den - 1) == 0:
        return 0, 0, 0.0
    dsp = arith.dsp_tiles(num_bits + 1, num_bits + 1)
    lut = (arith.csd_digits(den) + 3) * num_bits + den.bit_length() + 2
    return dsp, lut, arith.T_DSP_NS + 3 * arith.add_delay(num_bits)


def div(node: Node, plan: DivPlan) -> Datapath:
    x, c, out = plan.input_types[0], plan.divisor, node.output
    divisors = np.abs(c.raw)
    num_bits = x.width + 1 + max(0, out.type.frac_bits - (x.frac_bits - c.type.frac_bits))
    dsp = lut = 0
    delay = 0.0
    for den in divisors:
        d_dsp, d_lut, d_delay = _divider(num_bits, int(den))
        dsp, lut, delay = dsp + d_dsp, lut + d_lut, max(delay, d_delay)
    n = size(out)
    ops = [PathOp("divide by constant", DSP if dsp else LOGIC, delay,
                  live_bits=n * out.type.width)] if delay else []
    return Datapath(ops, Resources(dsp=dsp, lut=lut + n * (out.type.width + 1)))


def declared(node: Node, plan: UnaryPlan) -> Datapath:
    """An element-wise op that declares its datapath (``Traits.cost`` in
    :mod:`trigc.ops`): counted comparisons, selects and adders of the input width,
    then the assignment of the exact result (over the input type's whole range)."""
    cost = op_def(node).traits.cost
    width, n = node.inputs[0].type.width, size(node.output)
    per = (cost.compares * arith.compare_lut(width) + cost.selects * arith.mux_lut(2, width)
           + cost.adders * width)
    delay = arith.add_delay(width) if cost.compares or cost.adders else 0.0
    delay += cost.selects * arith.T_LUT_NS
    return _elementwise(node, cost.label, n * per, delay, full_range_type(node))


def unary(node: Node, plan: UnaryPlan) -> Datapath:
    x, n = node.inputs[0].type, size(node.output)
    if node.op is Op.RESHAPE:
        return _elementwise(node, "cast", 0, 0.0, x)
    if node.op is Op.SIGN:
        return _elementwise(node, "sign", n * (math.ceil(x.width / 5) + 1), arith.T_LUT_NS,
                            FixedType(True, 2, 2))
    if node.op is Op.CLIP:
        per = 2 * (arith.compare_lut(x.width) + arith.mux_lut(2, x.width))
        return _elementwise(node, "clip", n * per,
                            arith.add_delay(x.width) + 2 * arith.T_LUT_NS, x)
    if node.op is Op.LEAKY_RELU:
        alpha = plan.alpha
        m = arith.const_mult(x, int(alpha.raw)) if alpha.raw else arith.SHIFT
        exact = add_type(mul_type(x, alpha.type), x)
        per = m.lut + arith.mux_lut(2, exact.width)
        return _elementwise(node, "leaky relu", n * per, m.delay_ns + arith.T_LUT_NS, exact,
                            DSP if m.dsp else LOGIC, n * m.dsp)
    raise UnsupportedOpError(f"{node.where()}: no estimator model for {node.op.value}")


def _lut_index(in_width: int) -> tuple[int, float]:
    """Clamp to the table range, subtract the low end, shift."""
    lut = 2 * arith.compare_lut(in_width) + arith.mux_lut(3, in_width) + in_width
    return lut, arith.add_delay(in_width) + arith.T_LUT_NS


def _table(label: str, table: LutTable, reads: int) -> tuple[arith.RomCost, PathOp]:
    width = table.table.type.width
    rom = arith.rom_cost(table.entries, width, reads)
    bits = reads * width
    if rom.cycles:
        return rom, PathOp(f"{label} (BRAM)", REGISTERED, rom.delay_ns, rom.cycles)
    return rom, PathOp(f"{label} (LUT ROM)", LOGIC, rom.delay_ns, live_bits=bits)


def lut_activation(node: Node, plan: LutPlan) -> Datapath:
    x, n = plan.input_types[0], plan.n_out
    idx_lut, idx_delay = _lut_index(x.width)
    rom, read = _table("table read", plan.lut, n)
    index_bits = max(arith.log2ceil(plan.lut.entries), 1)
    ops = [PathOp("table index", LOGIC, idx_delay, live_bits=n * index_bits), read]
    return Datapath(ops, Resources(lut=n * idx_lut + rom.lut, bram=rom.bram),
                    detail={"table_entries": plan.lut.entries})


def softmax_exact(node: Node, a: SoftmaxPlan) -> Datapath:
    """The exact mode: per class one read of each chunk table and a G x G product
    per further chunk, the exact sum, and a restoring divider of the output's
    quotient bits (one sum-wide subtractor per bit)."""
    x, out = a.input_types[0], node.output.type
    n_cls, rows, g = a.n_cls, a.n_rows, a.exp_bits
    n_el = rows * n_cls
    cmp = arith.compare_lut(x.width) + arith.mux_lut(2, x.width)
    exp_t = FixedType(False, g + 1, 1)
    lut = dsp = 0
    ops = [PathOp(f"max compare {i + 1}", LOGIC, arith.add_delay(x.width) + arith.T_LUT_NS,
                  live_bits=n_el * x.width) for i in range(n_cls - 1)]
    ops.append(PathOp("subtract max", LOGIC, arith.add_delay(a.diff_type.width)))
    reads = []
    for size in a.exp_sizes:
        rom = arith.rom_cost(size, g + 1, n_el)
        lut, reads = lut + rom.lut, reads + [rom]
    bram = sum(r.bram for r in reads)
    slowest = max(reads, key=lambda r: r.delay_ns)
    ops.append(PathOp("exp chunk tables (BRAM)", REGISTERED, slowest.delay_ns, slowest.cycles)
               if slowest.cycles else PathOp("exp chunk tables (LUT ROM)", LOGIC,
                                             slowest.delay_ns, live_bits=n_el * (g + 1)))
    m = arith.var_mult(exp_t, exp_t)
    for j in range(len(a.exp_sizes) - 1):
        ops.append(PathOp(f"exp chunk product {j + 1}", DSP if m.dsp else LOGIC, m.delay_ns,
                          live_bits=n_el * (g + 1)))
    dsp += n_el * (len(a.exp_sizes) - 1) * m.dsp
    lut += n_el * (len(a.exp_sizes) - 1) * (m.lut + g)
    sum_w = a.sum_type.width
    ops += [PathOp(f"sum level {i + 1}", LOGIC, arith.add_delay(sum_w),
                   live_bits=n_el * sum_w) for i in range(arith.log2ceil(n_cls))]
    q_bits = out.frac_bits + 3  # quotient <= 1, a rounding and a sticky bit
    lut += rows * ((n_cls - 1) * cmp + n_cls * a.diff_type.width + (n_cls - 1) * sum_w)
    lut += n_el * (q_bits * (sum_w + 1) + out.width)
    ops.append(PathOp("divide", LOGIC, q_bits * arith.add_delay(sum_w),
                      live_bits=n_el * out.width))
    return Datapath(ops, Resources(dsp=dsp, lut=lut, bram=bram),
                    detail={"exp_chunks": len(a.exp_sizes), "exp_bits": g})


def softmax(node: Node, a: SoftmaxPlan) -> Datapath:
    if a.mode == "exact":
        return softmax_exact(node, a)
    x = a.input_types[0]
    n_cls, rows = a.n_cls, a.n_rows
    cmp = arith.compare_lut(x.width) + arith.mux_lut(2, x.width)
    idx_e, d_idx_e = _lut_index(a.diff_type.width)
    idx_i, d_idx_i = _lut_index(a.sum_type.width)
    exp_rom, exp_read = _table("exp table", a.exp, rows * n_cls)
    inv_rom, inv_read = _table("inverse table", a.inv, rows)
    exp_t, inv_t = a.exp.table.type, a.inv.table.type
    m = arith.var_mult(exp_t, inv_t)
    lut_assign, assign = _assign(mul_type(exp_t, inv_t), node.output.type, rows * n_cls)
    lut = rows * ((n_cls - 1) * cmp + n_cls * (a.diff_type.width + idx_e)
                  + (n_cls - 1) * a.sum_type.width + idx_i + n_cls * m.lut)
    lut += exp_rom.lut + inv_rom.lut + lut_assign
    step = arith.add_delay(x.width) + arith.T_LUT_NS
    ops = [PathOp(f"max compare {i + 1}", LOGIC, step, live_bits=rows * x.width * (n_cls + 1))
           for i in range(n_cls - 1)]
    ops += [PathOp("subtract max", LOGIC, arith.add_delay(a.diff_type.width)),
            PathOp("exp index", LOGIC, d_idx_e), exp_read]
    ops += [PathOp(f"sum level {i + 1}", LOGIC, arith.add_delay(a.sum_type.width),
                   live_bits=rows * n_cls * a.sum_type.width)
            for i in range(arith.log2ceil(n_cls))]
    ops += [PathOp("inverse index", LOGIC, d_idx_i), inv_read,
            PathOp("normalize", DSP if m.dsp else LOGIC, m.delay_ns,
                   live_bits=rows * n_cls * node.output.type.width)]
    res = Resources(dsp=rows * n_cls * m.dsp, lut=lut, bram=exp_rom.bram + inv_rom.bram)
    return Datapath(ops + assign, res)


def maxpool(node: Node, plan: PoolPlan | GlobalPoolPlan) -> Datapath:
    x = node.inputs[0].type
    windows = plan.windows()
    per = arith.compare_lut(x.width) + arith.mux_lut(2, x.width)
    lut = sum(max(v - 1, 0) for v, _ in windows) * per
    depth = max(v for v, _ in windows) - 1
    n = size(node.output)
    step = arith.add_delay(x.width) + arith.T_LUT_NS
    ops = [PathOp(f"compare-select {i + 1}", LOGIC, step, live_bits=n * x.width * 2)
           for i in range(depth)]
    lut_assign, assign = _assign(x, node.output.type, n)
    return Datapath(ops + assign, Resources(lut=lut + lut_assign))


def avgpool(node: Node, plan: PoolPlan | GlobalPoolPlan) -> Datapath:
    acc, out = plan.accum_type, node.output.type
    windows = plan.windows()
    n = size(node.output)
    num_bits = acc.width + 1 + max(0, out.frac_bits - acc.frac_bits)
    dsp = lut = 0
    delay = 0.0
    for valid, den in windows:
        lut += max(valid - 1, 0) * acc.width + out.width + 1
        d_dsp, d_lut, d_delay = _divider(num_bits, den)
        dsp, lut, delay = dsp + d_dsp, lut + d_lut, max(delay, d_delay)
    depth = arith.log2ceil(max(v for v, _ in windows))
    ops = [PathOp(f"sum level {i + 1}", LOGIC, arith.add_delay(acc.width),
                  live_bits=n * acc.width) for i in range(depth)]
    if delay:
        ops.append(PathOp("divide by window size", DSP if dsp else LOGIC, delay,
                          live_bits=n * out.width))
    return Datapath(ops, Resources(dsp=dsp, lut=lut))


def wires(node: Node, plan: KernelPlan) -> Datapath:
    return Datapath([], Resources())


MODELS = {
    Op.DENSE: linear.dense,
    Op.CONV: linear.conv,
    Op.ADD: add_sub,
    Op.SUB: add_sub,
    Op.MUL: mul,
    Op.DIV: div,
    Op.RESHAPE: unary,
    Op.LEAKY_RELU: unary,
    Op.CLIP: unary,
    Op.SIGN: unary,
    Op.SIGMOID: lut_activation,
    Op.TANH: lut_activation,
    Op.SELU: lut_activation,
    Op.SOFTMAX: softmax,
    Op.MAXPOOL: maxpool,
    Op.GLOBAL_MAXPOOL: maxpool,
    Op.AVGPOOL: avgpool,
    Op.GLOBAL_AVGPOOL: avgpool,
    Op.TRANSPOSE: wires,
    Op.RESIZE: wires,
    Op.CONCAT: wires,
}


def datapath_for(node: Node, target: ReuseSource | int | KernelPlan = 1) -> Datapath:
    """The datapath of one final-IR node: its model in :data:`MODELS`, or the one it
    declares in its traits, costing the node's plan. ``target`` is that plan
    (:func:`trigc.plans.plan`) or what the plan is made from: the settings or one
    reuse factor for Dense and Conv."""
    model = MODELS.get(node.op)
    if model is None and node.op in OPS and OPS[node.op].traits.cost is not None:
        model = declared
    if model is None:
        raise UnsupportedOpError(
            f"{node.where()}: the estimator has no model for {node.op.value}; estimate the "
            "final IR (after trigc.load / the pass pipeline), which has no import ops")
    if node.output.type is None or any(t.type is None for t in node.inputs):
        raise UnsupportedOpError(
            f"{node.where()}: tensors have no fixed-point type yet; estimate the final IR")
    kernel: Plan = target if isinstance(target, KernelPlan) else plan(node, target)
    return model(node, kernel)

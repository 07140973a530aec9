"""Dense and convolution layers: multipliers, adder trees, reuse loops.

Mirrors ``hls_templates/kernels/trigc_dense.h`` and ``trigc_conv.h``:

- reuse 1 (``dense_latency``): every non-zero weight is a constant product
  (shift, LUT shift-and-add or DSP, see :func:`trigc.estimate.arith.const_mult`),
  each output sums its products and its bias in a balanced adder tree (Vitis
  HLS balances the unrolled ``acc +=`` chain), then the accumulator is assigned
  to the output type. Levels of the tree widen by one bit per level from the
  product width up to the accumulator width. First-level adders fed by a DSP
  product run in its post-adder (when all of them do, the path starts with one
  2.6 + 0.4 ns multiply-add); the other adders cost half a LUT per bit (ternary
  adders).
- reuse R > 1 (``dense_reuse``, a non-inlined function): ``ceil(nnz / R)``
  variable multipliers; multiplier m reads non-zeros ``[R*m, R*m + R)`` from its
  own ROM partition (depth R) and its input through an R:1 mux (only distinct
  rows count); every cycle each accumulator adds the products aimed at it.
  Schedule: call register, ROM read, mux, multiply, accumulate tree, R - 1 more
  iterations, exit register, output assignment.
- convolution: one dense per output position, all positions unrolled. At
  reuse 1, window entries in the zero padding are constant zeros, so their
  products vanish; at reuse R each position instantiates its own reuse kernel
  (and its own weight ROMs) over the full window.

The weights, their block-diagonal form for grouped convolutions, the window
geometry and the reuse schedule come from the layer's plan (:mod:`trigc.plans`),
the same plan the backend renders; this module only costs it.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from trigc.estimate import arith
from trigc.estimate.datapath import (
    BOUNDARY,
    DSP,
    LOGIC,
    LOOP,
    REGISTERED,
    Datapath,
    PathOp,
    Resources,
)
from trigc.fixed import FixedType, mul_type
from trigc.ir.graph import Node
from trigc.plans import ConvPlan, DensePlan, ReuseSchedule, SparseWeights

LOOP_CONTROL_LUT = 16  # loop counter and FSM of a reuse loop
LOOP_CONTROL_FF = 16


def _tree(terms: np.ndarray, base_width: int, acc_width: int) -> tuple[int, list[int], list[int]]:
    """Balanced adder trees, one per output with ``terms[j]`` inputs.

    Returns (LUTs, per-level delay widths, per-level live bits)."""
    counts = np.asarray(terms, dtype=np.int64)
    lut, widths, live = 0, [], []
    level = 0
    while counts.size and counts.max() > 1:
        level += 1
        width = min(acc_width, base_width + level)
        adders = counts // 2
        lut += int(adders.sum()) * width
        counts = counts - adders
        widths.append(width)
        live.append(int(counts.sum()) * width)
    return lut, widths, live


def _assign_op(acc: FixedType, out: FixedType, n_out: int) -> tuple[int, list[PathOp]]:
    cost = arith.cast_cost(acc, out)
    ops = [PathOp("assign to output type", LOGIC, cost.delay_ns, live_bits=n_out * out.width)]
    return cost.lut * n_out, (ops if cost.delay_ns > 0 else [])


def dense_latency(weights: SparseWeights, x: FixedType, bias_raw: np.ndarray,
                  acc: FixedType, out: FixedType) -> Datapath:
    """The reuse-1 kernel on the nonzero weights of an (n_in, n_out) matrix."""
    n_out, w_type = weights.n_out, weights.type
    rows, cols, values = weights.rows, weights.cols, weights.values.raw
    kinds: Counter = Counter()
    dsp = lut_mult = 0
    delay = 0.0
    uniq, inverse = np.unique(values, return_inverse=True)
    per_value = [arith.const_mult(x, int(v)) for v in uniq]
    for cost, count in zip(per_value, np.bincount(inverse, minlength=len(uniq))):
        kinds[cost.kind] += int(count)
        dsp += cost.dsp * int(count)
        lut_mult += cost.lut * int(count)
        delay = max(delay, cost.delay_ns)
    prod_w = mul_type(x, w_type).width
    terms = np.bincount(cols, minlength=n_out) + (np.asarray(bias_raw) != 0)
    lut_tree, widths, live = _tree(terms, prod_w, acc.width)
    # a first-level adder fed by a DSP product runs in that DSP's post-adder
    is_dsp = np.array([c.kind == "dsp" for c in per_value], dtype=bool)[inverse]
    dsp_cols = np.minimum(terms // 2, np.bincount(cols[is_dsp], minlength=n_out))
    absorbed = int(dsp_cols.sum())
    if widths:
        lut_tree -= absorbed * widths[0]
    lut_tree = math.ceil(arith.TREE_LUT_PER_ADDER_BIT * lut_tree)
    lut_assign, assign_ops = _assign_op(acc, out, n_out)
    fabric_products = (kinds["lut"] + kinds["shift"]) * prod_w
    levels = [PathOp(f"adder tree level {i + 1}", LOGIC, arith.add_delay(w), live_bits=b)
              for i, (w, b) in enumerate(zip(widths, live))]
    ops = []
    if kinds["dsp"] and levels and absorbed == int((terms // 2).sum()):
        in_fabric = int(((terms + 1) // 2 - dsp_cols).sum()) * widths[0]  # rest in P registers
        ops.append(PathOp("multiply-add (DSP48E2)", DSP, delay + arith.T_DSP_POST_ADD_NS,
                          live_bits=in_fabric))
        levels = levels[1:]
    elif kinds["dsp"]:
        ops.append(PathOp("multiply (DSP48E2)", DSP, delay, live_bits=fabric_products))
    elif kinds["lut"]:
        ops.append(PathOp("multiply (LUT shift-add)", LOGIC, delay, live_bits=fabric_products))
    ops += levels
    ops += assign_ops
    var = arith.var_mult(x, w_type)
    detail = {"nnz": int(rows.size), "dsp_products": kinds["dsp"],
              "var_mult_kind": var.kind, "dsp_per_mult": var.dsp, "lut_per_mult": var.lut,
              "lut_products": kinds["lut"], "shift_products": kinds["shift"],
              "tree_depth": len(widths), "dsp_post_adds": absorbed,
              "weight_type": str(w_type), "accum_type": str(acc),
              "input_type": str(x)}
    return Datapath(ops, Resources(dsp=dsp, lut=lut_mult + lut_tree + lut_assign), 1, 1, detail)


def _accumulator_fan_in(cols: np.ndarray, kk: np.ndarray, valid: np.ndarray,
                        reuse: int) -> int:
    """The most products any accumulator receives in one cycle."""
    fan_in = 1
    for r in range(reuse):
        hit = cols[kk[:, r][valid[:, r]]]
        if hit.size:
            fan_in = max(fan_in, int(np.bincount(hit).max()))
    return fan_in


def dense_reuse(weights: SparseWeights, x: FixedType, bias_raw: np.ndarray, acc: FixedType,
                out: FixedType, schedule: ReuseSchedule) -> Datapath:
    """The reuse-R kernel (R > 1): multiplier m computes products ``[R*m, R*m + R)``."""
    n_out, w_type = weights.n_out, weights.type
    rows, cols, nnz = weights.rows, weights.cols, weights.nnz
    reuse, n_mult = schedule.reuse, schedule.n_mult
    mult = arith.var_mult(x, w_type)
    rom = arith.rom_cost(reuse, w_type.width, 1)
    prod_w = mul_type(x, w_type).width
    k = np.arange(n_mult * reuse).reshape(n_mult, reuse)  # k[m, r] = R*m + r
    valid = k < nnz
    kk = np.where(valid, k, 0)
    mux_in = sum(arith.mux_lut(len(set(rows[kk[m][valid[m]]].tolist())), x.width)
                 for m in range(n_mult))
    fan_in = _accumulator_fan_in(cols, kk, valid, reuse)
    writers = np.zeros(n_out, dtype=np.int64)
    for m in range(n_mult):
        writers[np.unique(cols[kk[m][valid[m]]])] += 1
    acc_mux = sum(arith.mux_lut(math.ceil(int(s) / fan_in), acc.width) * min(fan_in, int(s))
                  for s in writers)
    lut_assign, assign_ops = _assign_op(acc, out, n_out)
    adders = math.ceil(arith.TREE_LUT_PER_ADDER_BIT * n_mult * acc.width)
    lut = (n_mult * (mult.lut + rom.lut) + mux_in + acc_mux + adders + lut_assign
           + LOOP_CONTROL_LUT)
    ff = n_out * acc.width + LOOP_CONTROL_FF
    res = Resources(dsp=n_mult * mult.dsp, lut=lut, ff=ff, bram=n_mult * rom.bram)
    ops = [PathOp("call (non-inlined reuse kernel)", BOUNDARY)]
    if rom.cycles:
        ops.append(PathOp("weight ROM read (BRAM)", REGISTERED, rom.delay_ns, rom.cycles))
    else:
        ops.append(PathOp("weight ROM read (LUT)", LOGIC, rom.delay_ns,
                          live_bits=n_mult * w_type.width))
    ops.append(PathOp("input select", LOGIC, arith.mux_delay(reuse), live_bits=n_mult * x.width))
    ops.append(PathOp(f"multiply ({'DSP48E2' if mult.kind == 'dsp' else 'LUT'})",
                      DSP if mult.kind == "dsp" else LOGIC, mult.delay_ns,
                      live_bits=0 if mult.kind == "dsp" else n_mult * prod_w))
    ops += [PathOp(f"accumulate level {i + 1}", LOGIC, arith.add_delay(acc.width),
                   live_bits=n_out * acc.width)
            for i in range(arith.log2ceil(fan_in + 1))]
    ops += [PathOp(f"reuse loop ({reuse} iterations)", LOOP, cycles=reuse - 1),
            PathOp("loop exit", BOUNDARY)]
    ops += assign_ops
    detail = {"nnz": nnz, "n_mult": n_mult, "var_mult_kind": mult.kind,
              "dsp_per_mult": mult.dsp, "lut_per_mult": mult.lut,
              "weight_type": str(w_type), "accum_type": str(acc), "input_type": str(x),
              "rom": "BRAM" if rom.bram else "LUT"}
    return Datapath(ops, res, reuse, schedule.ii, detail)


def _kernel(plan: DensePlan, weights: SparseWeights) -> Datapath:
    """The dense kernel of ``plan`` (at its reuse factor) on ``weights``."""
    args = (weights, plan.input_type, plan.bias_raw(), plan.accum_type, plan.output_type)
    if plan.reuse > 1:
        return dense_reuse(*args, plan.schedule)
    return dense_latency(*args)


def window_kernel(plan: ConvPlan) -> Datapath:
    """The dense kernel of one Conv window (all taps: a stream design pads upstream),
    at the plan's reuse factor: what a streaming window process instantiates once."""
    return _kernel(plan, plan.weights)


def dense(node: Node, plan: DensePlan) -> Datapath:
    """A Dense layer: its plan's kernel on its nonzero weights."""
    return _kernel(plan, plan.weights)


def _scaled_ops(ops: list[PathOp], positions: int) -> list[PathOp]:
    """One position's path, with the live bits of all (parallel) positions."""
    return [PathOp(op.label, op.kind, op.delay_ns, op.cycles,
                   None if op.live_bits is None else op.live_bits * positions) for op in ops]


def conv(node: Node, plan: ConvPlan) -> Datapath:
    """A Conv layer: one dense kernel per output position over the flattened window."""
    positions, nnz = plan.geometry.positions, plan.weights.nnz
    if plan.reuse > 1:
        dp = _kernel(plan, plan.weights)
        dp.resources = dp.resources.scaled(positions)
        dp.detail["n_mult"] *= positions
        dp.detail.update(positions=positions, nnz_per_position=nnz)
        dp.ops = _scaled_ops(dp.ops, positions)
        return dp
    total = Resources()
    worst: Datapath | None = None
    detail: Counter = Counter()
    masks = plan.geometry.row_masks()
    for mask, count in sorted(masks.items(), key=lambda kv: -sum(kv[0])):
        dp = _kernel(plan, plan.weights.masked(np.asarray(mask, dtype=bool)))
        total = total + dp.resources.scaled(count)
        for key in ("nnz", "dsp_products", "lut_products", "shift_products"):
            detail[key] += dp.detail[key] * count
        worst = dp if worst is None else worst
    worst.ops = _scaled_ops(worst.ops, positions)
    worst.detail.update(detail, positions=positions, nnz_per_position=nnz)
    worst.resources = total
    return worst

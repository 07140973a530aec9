"""The fast path's C code for each final op (see :mod:`trigc.emulator.fastgen`).

An emitter writes the loops that compute a node's exact result for ``B`` events and
assign it to the output type; it reads and writes buffers through :class:`Program`,
which also collects the constant tables. Element ``i`` of event ``e`` of a buffer
``t`` is ``t[i * B + e]``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from trigc.emulator.fastgen import (
    DOUBLE_EXACT, EVENTS_MIN, FLOAT_EXACT, SAFE, VECTOR_BYTES, Buf, Unsupported, assign_c,
    c_array, c_float_array, const_raw, ctype_for, ratio_assign_c, window_table, work_ctype,
)
from trigc.emulator.fastvnni import host_has_vnni, vnni_fits, vnni_loops
from trigc.ir.graph import Node, Tensor
from trigc.ir.ops import Op
from trigc.ops import OPS, Value
from trigc.ops.constants import clip_bounds, leaky_alpha


class Program:
    """The buffers, constant tables and statements of one generated kernel."""

    def __init__(self) -> None:
        self.bufs: dict[int, Buf] = {}
        self.decls: list[str] = []
        self.body: list[str] = []
        self.scratch: list[Buf] = []
        self.count = 0

    def fresh(self, stem: str) -> str:
        self.count += 1
        return f"{stem}{self.count}"

    def new_buf(self, t: Tensor) -> Buf:
        ty = t.type
        if ty is None:
            raise Unsupported(f"tensor {t.name!r} has no type")
        if ty.width > 64 or (ty.width == 64 and not ty.signed):
            raise Unsupported(f"tensor {t.name!r} is {ty}, wider than int64")
        b = Buf(self.fresh("t"), ctype_for(ty.min_raw, ty.max_raw), t.size, ty.min_raw,
                ty.max_raw, ty.frac_bits)
        self.bufs[id(t)] = b
        return b

    def scratch_buf(self, ctype: str, size: int) -> Buf:
        b = Buf(self.fresh("s"), ctype, size, 0, 0, 0)
        self.scratch.append(b)
        return b

    def table(self, stem: str, ctype: str, values) -> str:
        name = self.fresh(stem)
        if ctype in ("float", "double"):
            self.decls.append(c_float_array(name, ctype, values))
        else:
            self.decls.append(c_array(name, ctype, values))
        return name

    def emit(self, *lines: str) -> None:
        self.body.extend(lines)


def _table_ctype(values) -> str:
    arr = np.asarray(values, dtype=object).ravel()
    if arr.size == 0:
        return "int32_t"
    return ctype_for(int(arr.min()), int(arr.max()))


# ---- element-wise ops -----------------------------------------------------------------

class Operand:
    """An element-wise operand: a run-time buffer or a constant (literal or table)."""

    def __init__(self, p: Program, t: Tensor, shape: tuple[int, ...]) -> None:
        if t.is_constant:
            raw = const_raw(t, shape).ravel()
            self.frac = t.type.frac_bits
            self.lo, self.hi = (int(raw.min()), int(raw.max())) if raw.size else (0, 0)
            if self.lo == self.hi:
                self.expr = f"({self.lo}LL)"
            else:
                self.expr = f"(int64_t){p.table('c', _table_ctype(raw), raw)}[i]"
            self.values = raw
        else:
            b = p.bufs[id(t)]
            if b.size != math.prod(shape):
                raise Unsupported("a run-time operand broadcasts")
            self.frac, self.lo, self.hi = b.frac, b.lo, b.hi
            self.expr = f"(int64_t){b.name}[i * B + e]"
            self.values = None


def _aligned(op: Operand, frac: int) -> tuple[str, int, int]:
    s = frac - op.frac
    if s == 0:
        return op.expr, op.lo, op.hi
    return f"({op.expr} * {1 << s}LL)", op.lo << s, op.hi << s


def _elementwise(p: Program, node: Node, out: Buf) -> None:
    shape = node.output.shape
    ops = [Operand(p, t, shape) for t in node.inputs]
    a = ops[0]
    op = node.op
    ratio = None
    if op in (Op.ADD, Op.SUB):
        frac = max(a.frac, ops[1].frac)
        (ea, alo, ahi), (eb, blo, bhi) = _aligned(a, frac), _aligned(ops[1], frac)
        if op is Op.ADD:
            expr, lo, hi = f"{ea} + {eb}", alo + blo, ahi + bhi
        else:
            expr, lo, hi = f"{ea} - {eb}", alo - bhi, ahi - blo
    elif op is Op.MUL:
        b = ops[1]
        corners = [x * y for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
        expr, lo, hi, frac = f"{a.expr} * {b.expr}", min(corners), max(corners), a.frac + b.frac
    elif op is Op.DIV:
        c = ops[1]
        if c.values is None or np.any(c.values == 0):
            raise Unsupported("a division by a run-time value or by zero")
        sign = np.where(c.values < 0, -1, 1)
        den = np.abs(c.values)
        frac = a.frac - c.frac
        num = f"({a.expr} * {int(sign[0])}LL)" if np.all(sign == sign[0]) else \
            f"({a.expr} * {p.table('sg', 'int32_t', sign)}[i])"
        den_expr = f"{int(den[0])}LL" if np.all(den == den[0]) else \
            f"{p.table('dn', _table_ctype(den), den)}[i]"
        lo, hi = -max(abs(a.lo), abs(a.hi)), max(abs(a.lo), abs(a.hi))
        ratio = (num, lo, hi, frac, den_expr, int(den.max()))
        expr = ""
    elif op is Op.CAST:
        expr, lo, hi, frac = a.expr, a.lo, a.hi, a.frac
    elif op is Op.RELU:
        expr, lo, hi, frac = f"({a.expr} > 0 ? {a.expr} : 0)", max(a.lo, 0), max(a.hi, 0), a.frac
    elif op is Op.LEAKY_RELU:
        alpha = leaky_alpha(node)
        ar, af = int(alpha.raw), alpha.type.frac_bits
        cands = [v * ar if v < 0 else v << af for v in (a.lo, a.hi, 0)]
        expr = f"({a.expr} < 0 ? {a.expr} * {ar}LL : {a.expr} * {1 << af}LL)"
        lo, hi, frac = min(cands), max(cands), a.frac + af
    elif op is Op.CLIP:
        typed = clip_bounds(node)
        bounds = [b for b in (typed.low, typed.high)]
        frac = max([a.frac] + [int(b.type.frac_bits) for b in bounds if b is not None])
        expr, lo, hi = _aligned(a, frac)
        if typed.low is not None:
            v = int(typed.low.raw) << (frac - typed.low.type.frac_bits)
            expr, lo, hi = f"max64({expr}, {v}LL)", max(lo, v), max(hi, v)
        if typed.high is not None:
            v = int(typed.high.raw) << (frac - typed.high.type.frac_bits)
            expr, lo, hi = f"min64({expr}, {v}LL)", min(lo, v), min(hi, v)
    elif op is Op.SIGN:
        expr, lo, hi, frac = f"({a.expr} >= 0 ? 1 : -1)", -1, 1, 0
    elif op is Op.ABS:
        expr = f"({a.expr} < 0 ? -{a.expr} : {a.expr})"
        lo, hi, frac = 0, max(abs(a.lo), abs(a.hi)), a.frac
        if a.lo >= 0:
            lo = a.lo
    else:
        raise Unsupported(f"{op.value} is not an element-wise op")
    t = node.output.type
    if ratio is not None:
        stmts = ratio_assign_c(*ratio, t, "q")
    else:
        if min(lo, -abs(hi)) <= -SAFE or max(hi, abs(lo)) >= SAFE:
            raise Unsupported("its exact result needs more than 62 bits")
        stmts = [f"int64_t v = {expr};", *assign_c("v", lo, hi, frac, t, "q")]
    p.emit(f"for (int i = 0; i < {out.size}; i++) {{",
           "  for (int e = 0; e < B; e++) {",
           *("    " + s for s in stmts),
           f"    {out.name}[i * B + e] = ({out.ctype})q;",
           "  }", "}")


# ---- Dense and Conv -------------------------------------------------------------------

DENSE_FRACTION = 0.5
"""A Dense or Conv with at least this fraction of non-zero weights runs every weight."""


def _acc_ctype(bound: int, weights_max: int, x_max: int) -> str:
    if bound < FLOAT_EXACT and weights_max < FLOAT_EXACT and x_max < FLOAT_EXACT:
        return "float"
    if bound < DOUBLE_EXACT and weights_max < DOUBLE_EXACT and x_max < DOUBLE_EXACT:
        return "double"
    if bound < SAFE:
        return "int64_t"
    raise Unsupported("an accumulation needs more than 62 bits")


def _linear(p: Program, node: Node, out: Buf) -> None:
    """Dense and Conv as one loop nest over (output position, output channel,
    non-zero weight): the input, padded for Conv, is first converted to the
    accumulator's C type; zero weights are skipped."""
    x_t, w_t = node.inputs[0], node.inputs[1]
    b_t = node.inputs[2] if len(node.inputs) > 2 else None
    if w_t.is_constant is False or (b_t is not None and not b_t.is_constant):
        raise Unsupported("run-time weights")
    x = p.bufs[id(x_t)]
    w_raw = np.asarray(w_t.raw).astype(object)
    wf = w_t.type.frac_bits
    frac = x.frac + wf
    b_raw = None
    if b_t is not None:
        b_raw = np.asarray(b_t.raw).astype(object).ravel()
        frac = max(frac, b_t.type.frac_bits)
        b_raw = b_raw * (1 << (frac - b_t.type.frac_bits))
    w_raw = w_raw * (1 << (frac - x.frac - wf))
    c_out = w_raw.shape[-1]
    if node.op is Op.DENSE:
        n_in = w_raw.shape[0]
        w2 = w_raw.reshape(n_in, c_out)
        n_pos = x.size // n_in
        base = [o * n_in for o in range(n_pos)]
        entries = [[(i, w2[i, j]) for i in range(n_in) if w2[i, j] != 0] for j in range(c_out)]
        padded_size, copy_map = x.size, None
        full = (list(range(n_in)), w2)
    else:
        base, entries, padded_size, copy_map, full = _conv_layout(node, x_t.shape, w_raw)
        n_pos = len(base)
    if b_raw is None:
        b_raw = np.zeros(c_out, dtype=object)
    b_raw = np.broadcast_to(b_raw, (c_out,))
    xmax = max(abs(x.lo), abs(x.hi))
    col_bound = [sum(abs(w) * xmax for _, w in col) + abs(int(b_raw[j]))
                 for j, col in enumerate(entries)]
    wmax = max([abs(int(w)) for col in entries for _, w in col] + [0])
    bound = max(col_bound + [0])
    acc = _acc_ctype(bound, max(wmax, max(abs(int(v)) for v in b_raw)), xmax)
    lo_all = min(-c for c in col_bound) if col_bound else 0
    hi_all = max(col_bound) if col_bound else 0
    if full is not None and host_has_vnni() and vnni_fits(x, full[1], b_raw):
        stmts = assign_c("v", lo_all, hi_all, frac, node.output.type, "q")
        src = x.name
        if copy_map is not None:  # Conv: an integer copy of the padded input (zeros around)
            src = p.scratch_buf(x.ctype, padded_size).name
            m = p.table("pm", "int32_t", copy_map)
            p.emit(f"for (int i = 0; i < {x.size}; i++)",
                   f"  for (int e = 0; e < B; e++) {src}[(long){m}[i] * B + e] = "
                   f"{x.name}[i * B + e];")
        vnni_loops(p, x, out, (src, base, full[0]), full[1], b_raw, stmts,
                    work_ctype(lo_all, hi_all, frac, node.output.type))
        return
    xp = p.scratch_buf(acc, padded_size)
    if copy_map is None:
        p.emit(f"for (int i = 0; i < {x.size} * B; i++) "
               f"{xp.name}[i] = ({acc}){x.name}[i];")
    else:
        m = p.table("pm", "int32_t", copy_map)
        p.emit(f"for (int i = 0; i < {x.size}; i++)",
               f"  for (int e = 0; e < B; e++) {xp.name}[{m}[i] * B + e] = "
               f"({acc}){x.name}[i * B + e];")
    stmts = assign_c("v", lo_all, hi_all, frac, node.output.type, "q")
    vt_int = work_ctype(lo_all, hi_all, frac, node.output.type)
    nnz = sum(len(col) for col in entries)
    if full is not None and nnz >= DENSE_FRACTION * len(full[0]) * c_out:
        _dense_loops(p, acc, xp, out, base, full, b_raw, stmts, vt_int)
    else:
        _sparse_loops(p, acc, xp, out, base, entries, b_raw, stmts, vt_int)


def _sparse_loops(p: Program, acc: str, xp: Buf, out: Buf, base, entries, b_raw,
                  stmts: list[str], vt_int: str = "int64_t") -> None:
    """One output channel at a time over its non-zero weights (pruned layers)."""
    c_out = len(entries)
    n_pos = len(base)
    ptr = np.cumsum([0] + [len(col) for col in entries])
    offs = [i for col in entries for i, _ in col]
    wts = [int(w) for col in entries for _, w in col]
    ctab = acc if acc != "int64_t" else "int64_t"
    wn, on, pn = p.table("w", ctab, wts), p.table("o", "int32_t", offs), \
        p.table("p", "int32_t", ptr)
    bn, basen = p.table("b", ctab, [int(v) for v in b_raw]), p.table("ba", "int32_t", base)
    conv = f"({vt_int})acc[e]"
    lanes = VECTOR_BYTES // (4 if acc == "float" else 8)
    nv = max(EVENTS_MIN // lanes, 1)
    vt = {"float": "vf32", "double": "vf64", "int64_t": "vi64"}[acc]
    accs = [f"a{v}" for v in range(nv)]
    more = [f"c{v}" for v in range(nv)]
    # Two sets of accumulators over alternate weights hide the FMA latency; the sum
    # is exact in any order (every partial sum is bounded by the sum of |terms|).
    p.emit(f"for (int o = 0; o < {n_pos}; o++) {{",
           f"  const {acc} *xo = {xp.name} + (long){basen}[o] * B;",
           f"  for (int j = 0; j < {c_out}; j++) {{",
           f"    {acc} acc[B] __attribute__((aligned(64)));",
           f"    for (int eb = 0; eb < B; eb += {lanes * nv}) {{",
           f"      {vt} {', '.join(accs + more)};",
           *(f"      {a} = ({vt}){{}} + {bn}[j];" for a in accs),
           *(f"      {a} = ({vt}){{}};" for a in more),
           f"      int k = {pn}[j];",
           f"      const int kend = {pn}[j + 1];",
           "      for (; k + 1 < kend; k += 2) {",
           f"        const {vt} w = ({vt}){{}} + {wn}[k], w1 = ({vt}){{}} + {wn}[k + 1];",
           f"        const {vt} *xs = (const {vt} *)(xo + (long){on}[k] * B + eb);",
           f"        const {vt} *xs1 = (const {vt} *)(xo + (long){on}[k + 1] * B + eb);",
           *(f"        {a} += w * xs[{v}];" for v, a in enumerate(accs)),
           *(f"        {a} += w1 * xs1[{v}];" for v, a in enumerate(more)),
           "      }",
           "      if (k < kend) {",
           f"        const {vt} w = ({vt}){{}} + {wn}[k];",
           f"        const {vt} *xs = (const {vt} *)(xo + (long){on}[k] * B + eb);",
           *(f"        {a} += w * xs[{v}];" for v, a in enumerate(accs)),
           "      }",
           *(f"      *({vt} *)(acc + eb + {v * lanes}) = {a} + {c};"
             for v, (a, c) in enumerate(zip(accs, more))),
           "    }",
           "    for (int e = 0; e < B; e++) {",
           f"      {vt_int} v = {conv};",
           *("      " + s for s in stmts),
           f"      {out.name}[((long)o * {c_out} + j) * B + e] = ({out.ctype})q;",
           "    }", "  }", "}")



def _dense_loops(p: Program, acc: str, xp: Buf, out: Buf, base, full, b_raw,
                 stmts: list[str], vt_int: str = "int64_t") -> None:
    """``cols`` output channels at a time over every weight (zeros included): each
    input vector loaded feeds ``cols`` FMAs, so the loop runs at the FMA units' rate."""
    offs, matrix = full
    k_total, c_out = len(offs), matrix.shape[1]
    cols = 4 if acc == "float" else 2
    blocks = -(-c_out // cols)
    padded = np.zeros((k_total, blocks * cols), dtype=object)
    padded[:, :c_out] = matrix
    packed = padded.reshape(k_total, blocks, cols).transpose(1, 0, 2)  # [block][k][col]
    bias = np.zeros(blocks * cols, dtype=object)
    bias[:c_out] = b_raw
    wn = p.table("wd", acc, [int(v) for v in packed.ravel()])
    on = p.table("od", "int32_t", offs)
    bn = p.table("bd", acc, [int(v) for v in bias])
    basen = p.table("ba", "int32_t", base)
    lanes = VECTOR_BYTES // (4 if acc == "float" else 8)
    nv = max(EVENTS_MIN // lanes, 1)
    vt = {"float": "vf32", "double": "vf64", "int64_t": "vi64"}[acc]
    accs = [[f"a{c}_{v}" for v in range(nv)] for c in range(cols)]
    flat = [a for row in accs for a in row]
    p.emit(f"for (int o = 0; o < {len(base)}; o++) {{",
           f"  const {acc} *xo = {xp.name} + (long){basen}[o] * B;",
           f"  for (int jb = 0; jb < {blocks}; jb++) {{",
           f"    {acc} acc[{cols}][B] __attribute__((aligned(64)));",
           f"    const {acc} *wk = {wn} + (long)jb * {k_total * cols};",
           f"    for (int eb = 0; eb < B; eb += {lanes * nv}) {{",
           f"      {vt} {', '.join(flat)};",
           *(f"      {a} = ({vt}){{}} + {bn}[jb * {cols} + {c}];"
             for c, row in enumerate(accs) for a in row),
           f"      for (int k = 0; k < {k_total}; k++) {{",
           f"        const {vt} *xs = (const {vt} *)(xo + (long){on}[k] * B + eb);",
           *(f"        const {vt} x{v} = xs[{v}];" for v in range(nv)),
           *(f"        const {vt} w{c} = ({vt}){{}} + wk[k * {cols} + {c}];"
             for c in range(cols)),
           *(f"        {accs[c][v]} += w{c} * x{v};" for c in range(cols) for v in range(nv)),
           "      }",
           *(f"      *({vt} *)(acc[{c}] + eb + {v * lanes}) = {accs[c][v]};"
             for c in range(cols) for v in range(nv)),
           "    }",
           f"    for (int c = 0; c < {cols} && jb * {cols} + c < {c_out}; c++) {{",
           f"      const int j = jb * {cols} + c;",
           "      for (int e = 0; e < B; e++) {",
           f"        {vt_int} v = ({vt_int})acc[c][e];",
           *("        " + s for s in stmts),
           f"        {out.name}[((long)o * {c_out} + j) * B + e] = ({out.ctype})q;",
           "      }", "    }", "  }", "}")


def _conv_layout(node: Node, in_shape, w_raw):
    """Padded-input layout of a channels-last Conv: per output position the offset
    of its window's first element, per output channel its non-zero weights as
    (offset from that element, weight), the padded buffer's size and where each input
    element goes in it."""
    a = node.attrs
    nd = len(a.kernel_shape)
    spatial, c_in = tuple(in_shape[:-1]), in_shape[-1]
    padded = tuple(spatial[d] + a.pads[d] + a.pads[d + nd] for d in range(nd))
    pstride = [math.prod(padded[d + 1:]) for d in range(nd)]
    out_sp = tuple((padded[d] - a.kernel_shape[d]) // a.strides[d] + 1 for d in range(nd))
    base = [sum(o[d] * a.strides[d] * pstride[d] for d in range(nd)) * c_in
            for o in np.ndindex(*out_sp)]
    c_out = w_raw.shape[-1]
    cg = w_raw.shape[-2]
    og = c_out // a.groups
    taps = list(np.ndindex(*a.kernel_shape))
    w3 = w_raw.reshape(len(taps), cg, c_out)
    entries = []
    for j in range(c_out):
        g = j // og
        col = []
        for ti, tap in enumerate(taps):
            toff = sum(tap[d] * pstride[d] for d in range(nd)) * c_in
            for ci in range(cg):
                if w3[ti, ci, j] != 0:
                    col.append((toff + g * cg + ci, w3[ti, ci, j]))
        entries.append(col)
    copy_map = [(sum((s[d] + a.pads[d]) * pstride[d] for d in range(nd))) * c_in + c
                for s in np.ndindex(*spatial) for c in range(c_in)]
    full = None
    if a.groups == 1:
        offs = [sum(tap[d] * pstride[d] for d in range(nd)) * c_in + ci
                for tap in taps for ci in range(cg)]
        full = (offs, w3.reshape(len(taps) * cg, c_out))
    return base, entries, math.prod(padded) * c_in, copy_map, full


# ---- pooling, tables, layout --------------------------------------------------------------

def _pool(p: Program, node: Node, out: Buf) -> None:
    x_t = node.inputs[0]
    x = p.bufs[id(x_t)]
    shape = x_t.shape
    c = shape[-1]
    if node.op in (Op.GLOBAL_AVGPOOL, Op.GLOBAL_MAXPOOL):
        n = math.prod(shape[:-1])
        wins, full = [list(range(n))], n
    else:
        a = node.attrs
        wins, full = window_table(shape, a.kernel_shape, a.strides, a.pads)
    is_max = node.op in (Op.MAXPOOL, Op.GLOBAL_MAXPOOL)
    starts = np.cumsum([0] + [len(w) for w in wins])
    wn = p.table("wi", "int32_t", [i for w in wins for i in w] or [0])
    sn = p.table("ws", "int32_t", starts)
    t = node.output.type
    if is_max:
        lo, hi = min(x.lo, 0), max(x.hi, 0)
        init, step = "0", "m[e] = k == s0 ? xv : (xv > m[e] ? xv : m[e]);"
        stmts = [f"int64_t v = m[e];", *assign_c("v", lo, hi, x.frac, t, "q")]
    else:
        if node.op is Op.GLOBAL_AVGPOOL and not node.attrs.divide:
            dens = [1] * len(wins)  # sum pooling
        elif node.op is Op.GLOBAL_AVGPOOL or node.attrs.count_include_pad or \
                not any(node.attrs.pads):
            dens = [full] * len(wins)
        else:
            dens = [len(w) for w in wins]
        dn = p.table("dv", "int32_t", dens)
        big = max(len(w) for w in wins)
        init, step = "0", "m[e] += xv;"
        stmts = ratio_assign_c("m[e]", big * min(x.lo, 0), big * max(x.hi, 0), x.frac,
                               f"{dn}[o]", max(dens), t, "q")
    p.emit(f"for (int o = 0; o < {len(wins)}; o++) {{",
           f"  const int s0 = {sn}[o], s1 = {sn}[o + 1];",
           f"  for (int ch = 0; ch < {c}; ch++) {{",
           f"    int64_t m[B];",
           f"    for (int e = 0; e < B; e++) m[e] = {init};",
           "    for (int k = s0; k < s1; k++) {",
           f"      const long src = ((long){wn}[k] * {c} + ch) * B;",
           "      for (int e = 0; e < B; e++) {",
           f"        int64_t xv = {x.name}[src + e];",
           f"        {step}",
           "      }", "    }",
           "    for (int e = 0; e < B; e++) {",
           *("      " + s for s in stmts),
           f"      {out.name}[((long)o * {c} + ch) * B + e] = ({out.ctype})q;",
           "    }", "  }", "}")


def _lut_expr(p: Program, lut, v: str) -> tuple[str, int, int]:
    top = lut.index_low + (len(lut.table) << lut.shift) - 1
    table = np.asarray(lut.table).astype(object)
    tn = p.table("lut", _table_ctype(table), table)
    expr = (f"(int64_t){tn}[((({v}) < {lut.index_low}LL ? {lut.index_low}LL : "
            f"(({v}) > {top}LL ? {top}LL : ({v}))) - {lut.index_low}LL) >> {lut.shift}]")
    return expr, int(table.min()), int(table.max())


def _lut(p: Program, node: Node, out: Buf) -> None:
    a = node.attrs
    if not len(a.table):
        raise Unsupported("lookup table not built")
    x = p.bufs[id(node.inputs[0])]
    expr, lo, hi = _lut_expr(p, a, f"(int64_t){x.name}[i * B + e]")
    stmts = [f"int64_t v = {expr};", *assign_c("v", lo, hi, a.table_type.frac_bits,
                                              node.output.type, "q")]
    p.emit(f"for (int i = 0; i < {out.size}; i++)", "  for (int e = 0; e < B; e++) {",
           *("    " + s for s in stmts), f"    {out.name}[i * B + e] = ({out.ctype})q;",
           "  }")


def _softmax(p: Program, node: Node, out: Buf) -> None:
    a = node.attrs
    if a.mode == "exact":
        raise Unsupported("the exact softmax mode (it divides)")
    x = p.bufs[id(node.inputs[0])]
    length = node.inputs[0].shape[-1]
    rows = x.size // length
    ee, elo, ehi = _lut_expr(p, a.exp_lut, "(xv[l] - mx)")
    if elo < 0:
        raise Unsupported("a negative exp table")
    ie, ilo, ihi = _lut_expr(p, a.inv_lut, "sum")
    corners = [u * w for u in (elo, ehi) for w in (ilo, ihi)]
    frac = a.exp_lut.table_type.frac_bits + a.inv_lut.table_type.frac_bits
    if length * ehi >= SAFE or x.hi - x.lo >= SAFE:
        raise Unsupported("softmax sums need more than 62 bits")
    stmts = assign_c("v", min(corners), max(corners), frac, node.output.type, "q")
    p.emit(f"for (int r = 0; r < {rows}; r++)",
           "  for (int e = 0; e < B; e++) {",
           f"    int64_t xv[{length}], ev[{length}], mx, sum = 0, inv;",
           f"    for (int l = 0; l < {length}; l++) "
           f"xv[l] = {x.name}[((long)r * {length} + l) * B + e];",
           "    mx = xv[0];",
           f"    for (int l = 1; l < {length}; l++) mx = xv[l] > mx ? xv[l] : mx;",
           f"    for (int l = 0; l < {length}; l++) {{ ev[l] = {ee}; sum += ev[l]; }}",
           f"    inv = {ie};",
           f"    for (int l = 0; l < {length}; l++) {{",
           "      int64_t v = ev[l] * inv;",
           *("      " + s for s in stmts),
           f"      {out.name}[((long)r * {length} + l) * B + e] = ({out.ctype})q;",
           "    }", "  }")


def _layout(p: Program, node: Node, out: Buf) -> None:
    offsets = np.cumsum([0] + [t.size for t in node.inputs])
    args = [Value(np.arange(offsets[k], offsets[k + 1], dtype=np.int64)
                  .reshape(1, *t.shape), 0) for k, t in enumerate(node.inputs)]
    src = np.asarray(OPS[node.op].kernel(node, args).raw).ravel()
    bufs = [p.bufs[id(t)] for t in node.inputs]
    frac = max(b.frac for b in bufs)
    for k, b in enumerate(bufs):
        dst = np.nonzero((src >= offsets[k]) & (src < offsets[k + 1]))[0]
        srci = src[dst] - offsets[k]
        s = frac - b.frac
        lo, hi = b.lo << s, b.hi << s
        stmts = [f"int64_t v = (int64_t){b.name}[(long){p.table('ls', 'int32_t', srci)}[j]"
                 f" * B + e] * {1 << s}LL;",
                 *assign_c("v", lo, hi, frac, node.output.type, "q")]
        dn = p.table("ld", "int32_t", dst)
        p.emit(f"for (int j = 0; j < {len(dst)}; j++)", "  for (int e = 0; e < B; e++) {",
               *("    " + x for x in stmts),
               f"    {out.name}[(long){dn}[j] * B + e] = ({out.ctype})q;", "  }")


EMITTERS: dict[Op, Callable[[Program, Node, Buf], None]] = {
    **{op: _elementwise for op in (Op.ADD, Op.SUB, Op.MUL, Op.DIV, Op.CAST, Op.RELU,
                                   Op.LEAKY_RELU, Op.CLIP, Op.SIGN, Op.ABS)},
    Op.DENSE: _linear, Op.CONV: _linear,
    Op.MAXPOOL: _pool, Op.AVGPOOL: _pool, Op.GLOBAL_AVGPOOL: _pool, Op.GLOBAL_MAXPOOL: _pool,
    Op.SIGMOID: _lut, Op.TANH: _lut, Op.SELU: _lut, Op.SOFTMAX: _softmax,
    Op.RESHAPE: _layout, Op.TRANSPOSE: _layout, Op.CONCAT: _layout, Op.RESIZE: _layout,
}
"""The C emitter of every final op the fast path generates."""

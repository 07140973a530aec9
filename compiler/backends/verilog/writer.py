"""Render a scheduled netlist as Verilog-2005: one module per IR layer and a top.

Each signal (a computed node or an input element) is owned by one module: the layer
module that computes it, or the top for the input elements. Its delay chain
(``nK_d1``, ``nK_d2``, ...) lives in its owner, one chain shared by every consumer;
the owner exports exactly the (signal, delay) pairs other modules read. Shifts are
wires (the same vector at another exponent) and nodes whose interval is a single
value are sized literals, so neither has a vector or a register.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from trigc.backends.verilog import exprs
from trigc.backends.verilog.exprs import Body, Sig
from trigc.errors import IRError, UnsupportedOpError
from trigc.fixed import FixedType
from trigc.names import identifier, printable
from trigc.netlist.graph import Kind, Netlist, Node
from trigc.netlist.timing import Schedule

TOP = None  # the owner key of signals the top module holds (the input elements)
LINT_NOTE = """\
// Slices drop LSBs (rounding, shifts) and MSBs (modular arithmetic) on purpose, and
// the layer modules share the top's file:
/* verilator lint_off UNUSEDSIGNAL */
/* verilator lint_off DECLFILENAME */"""


@dataclass
class Module:
    name: str
    layer: str
    nodes: list[Node] = field(default_factory=list)
    imports: set[tuple[int, int]] = field(default_factory=set)
    exports: set[tuple[int, int]] = field(default_factory=set)


@dataclass
class Design:
    """Who owns which signal, how long each delay chain is, who reads what."""

    net: Netlist
    sched: Schedule
    top: str
    modules: dict[str, Module]
    owner: dict[int, str | None]
    depth: dict[int, int]

    def base(self, i: int) -> int:
        while self.net[i].kind is Kind.SHIFT:
            i = self.net[i].args[0]
        return i

    def operand(self, i: int, stage: int) -> Sig:
        """Node ``i`` as read by a consumer in ``stage``."""
        n = self.net[i]
        if n.lo == n.hi:
            return exprs.constant(n.lo, n.exp)
        b = self.base(i)
        return Sig(signal_name(b, stage - self.sched.stage[b]), n.lo, n.hi, n.exp)

    def width(self, b: int) -> int:
        return self.net[b].width


def signal_name(node_id: int, delay: int) -> str:
    return f"n{node_id}" if delay == 0 else f"n{node_id}_d{delay}"


def plan_design(net: Netlist, sched: Schedule, top: str) -> Design:
    live = net.live()
    modules: dict[str, Module] = {}
    owner: dict[int, str | None] = {}
    taken = {top}
    for n in net.nodes:
        if not live[n.id] or n.lo == n.hi or n.kind in (Kind.CONST, Kind.SHIFT):
            continue
        if n.kind is Kind.INPUT:
            owner[n.id] = TOP
            continue
        if n.layer not in modules:
            name = identifier(f"{top}_{identifier(n.layer or 'netlist')}", taken)
            taken.add(name)
            modules[n.layer] = Module(name, n.layer)
        modules[n.layer].nodes.append(n)
        owner[n.id] = n.layer
    design = Design(net, sched, top, modules, owner, {})
    readers: dict[tuple[int, int], set] = defaultdict(set)
    for module in modules.values():
        for n in module.nodes:
            for a in n.args:
                if net[a].lo != net[a].hi:
                    b = design.base(a)
                    readers[(b, sched.stage[n.id] - sched.stage[b])].add(module.layer)
    for o in net.outputs:
        if net[o].lo != net[o].hi:
            b = design.base(o)
            readers[(b, sched.last_stage - sched.stage[b])].add(TOP)
    for (b, d), users in readers.items():
        if d < 0:
            raise IRError(f"verilog: n{b} is read {-d} stages before it is computed")
        design.depth[b] = max(design.depth.get(b, 0), d)
        for user in users - {owner[b]}:
            if owner[b] is not TOP:
                modules[owner[b]].exports.add((b, d))
            if user is not TOP:
                modules[user].imports.add((b, d))
    return design


# ---- one node ---------------------------------------------------------------

def node_expr(design: Design, n: Node, body: Body) -> str:
    stage = design.sched.stage[n.id]
    ops = [design.operand(a, stage) for a in n.args]
    k = n.kind
    if k in (Kind.ADD, Kind.SUB):
        return exprs.add_sub(body, n, *ops)
    if k is Kind.NEG:
        return exprs.neg(n, *ops)
    if k is Kind.MUL:
        return exprs.mul(n, *ops)
    if k in (Kind.MAX, Kind.MIN):
        return exprs.min_max(body, n, *ops)
    if k is Kind.CAST:
        return exprs.cast(body, n, ops[0], n.param)
    if k is Kind.ROM:
        return exprs.rom(body, n, ops[0])
    if k is Kind.SELECT:
        return exprs.select(n, *ops)
    if k is Kind.DIVC:
        return exprs.divc(body, n, ops[0])
    raise UnsupportedOpError(
        f"Layer {printable(n.layer)!r}: the Verilog backend has no rule for netlist node "
        f"kind {k.value!r}; use the vitis backend for this model")


def _describe(n: Node) -> str:
    extra = f" to {type_text(n.param)}" if n.kind is Kind.CAST else ""
    if n.kind is Kind.DIVC:
        extra = f" /{n.param.den} to {type_text(n.param.dst)}"
    if n.kind is Kind.ROM:
        extra = f" {len(n.param.table)} entries"
    args = ", ".join(f"n{a}" for a in n.args)
    return (f"// n{n.id} = {n.kind.value}({args}){extra}: raw in [{n.lo}, {n.hi}] "
            f"* 2^{n.exp}, stage {{stage}}")


def type_text(t: FixedType) -> str:
    """``fixed(W,I,RND,SAT)``: a type for comments (no angle brackets)."""
    return printable(str(t).replace("<", "(").replace(">", ")"))


def _vec(width: int) -> str:
    return f"[{width - 1}:0]"


def chain_lines(design: Design, b: int, exported: set[tuple[int, int]]) -> tuple[
        list[str], list[str]]:
    """(declarations, register transfers) of the delay chain of signal ``b``."""
    decls, moves = [], []
    for d in range(1, design.depth.get(b, 0) + 1):
        if (b, d) not in exported:
            decls.append(f"reg {_vec(design.width(b))} {signal_name(b, d)};")
        moves.append(f"{signal_name(b, d)} <= {signal_name(b, d - 1)};")
    return decls, moves


def module_text(design: Design, module: Module) -> str:
    ports, body_lines, moves = [], [], []
    if any(design.depth.get(n.id, 0) for n in module.nodes):
        ports.append("input wire clk")
    for b, d in sorted(module.imports):
        ports.append(f"input wire {_vec(design.width(b))} {signal_name(b, d)}")
    for b, d in sorted(module.exports):
        kind = "wire" if d == 0 else "reg"
        ports.append(f"output {kind} {_vec(design.width(b))} {signal_name(b, d)}")
    for n in module.nodes:
        body = Body(f"n{n.id}")
        expr = node_expr(design, n, body)
        body_lines.append(_describe(n).replace("{stage}", str(design.sched.stage[n.id])))
        body_lines += body.lines
        if (n.id, 0) in module.exports:
            body_lines.append(f"assign n{n.id} = {expr};")
        else:
            body_lines.append(f"wire {_vec(n.width)} n{n.id} = {expr};")
        decls, transfers = chain_lines(design, n.id, module.exports)
        body_lines += decls
        moves += transfers
    lines = [f"// layer {printable(module.layer)}", f"module {module.name} ("]
    lines.append(",\n".join(f"  {p}" for p in ports))
    lines.append(");")
    lines += [f"  {line}" for line in "\n".join(body_lines).split("\n")]
    if moves:
        lines.append("  always @(posedge clk) begin")
        lines += [f"    {m}" for m in moves]
        lines.append("  end")
    lines.append("endmodule")
    return "\n".join(lines)


# ---- the top ----------------------------------------------------------------

def packing(types) -> list[tuple[int, int]]:
    """(lsb, width) of each element packed from the LSBs."""
    out, lsb = [], 0
    for t in types:
        out.append((lsb, t.width))
        lsb += t.width
    return out


def top_text(design: Design) -> str:
    net, sched = design.net, design.sched
    in_bits = sum(t.width for t in net.input_types)
    out_bits = sum(t.width for t in net.output_types)
    last = sched.last_stage
    lines = [f"module {design.top} (",
             "  input wire clk,",
             "  input wire rst,",
             "  input wire in_valid,",
             f"  input wire {_vec(in_bits)} in_data,",
             "  output reg out_valid,",
             f"  output reg {_vec(out_bits)} out_data",
             ");"]
    body, moves = [f"reg {_vec(in_bits)} in_q;"], ["in_q <= in_data;"]
    for i, (lsb, width) in zip(net.inputs, packing(net.input_types)):
        if design.owner.get(i, 0) is TOP:
            body.append(f"wire {_vec(width)} n{i} = in_q[{lsb + width - 1}:{lsb}];")
            decls, transfers = chain_lines(design, i, set())
            body += decls
            moves += transfers
    for module in design.modules.values():
        for b, d in sorted(module.exports):
            body.append(f"wire {_vec(design.width(b))} {signal_name(b, d)};")
    for module in design.modules.values():
        conns = []
        if any(design.depth.get(n.id, 0) for n in module.nodes):
            conns.append(".clk(clk)")
        conns += [f".{signal_name(b, d)}({signal_name(b, d)})"
                  for b, d in sorted(module.imports) + sorted(module.exports)]
        body.append(f"{module.name} u_{module.name} (")
        body.append(",\n".join(f"  {c}" for c in conns))
        body.append(");")
    fields = []
    for o, t in zip(net.outputs, net.output_types):
        fields.append(exprs.ext(design.operand(o, last), t.width))
    moves.append(f"out_data <= {{{', '.join(reversed(fields))}}};"
                 if len(fields) > 1 else f"out_data <= {fields[0]};")
    body.append(f"reg {_vec(last + 1)} valid_q;")
    lines += [f"  {line}" for line in "\n".join(body).split("\n")]
    lines.append("  always @(posedge clk) begin")
    lines += [f"    {m}" for m in moves]
    lines.append("  end")
    shift_in = "in_valid" if last == 0 else f"{{valid_q[{last - 1}:0], in_valid}}"
    lines += ["  // valid: one bit per stage register, then out_valid beside out_data",
              "  always @(posedge clk) begin",
              "    if (rst) begin",
              f"      valid_q <= {last + 1}'b0;",
              "      out_valid <= 1'b0;",
              "    end else begin",
              f"      valid_q <= {shift_in};",
              f"      out_valid <= valid_q[{last}];",
              "    end",
              "  end",
              "endmodule"]
    return "\n".join(lines)


def verilog_text(net: Netlist, sched: Schedule, top: str, header: list[str]) -> str:
    if not net.inputs or not net.outputs:
        raise IRError("verilog: the netlist needs at least one input and one output")
    if len(sched.stage) != len(net):
        raise IRError(f"verilog: the schedule has {len(sched.stage)} stages for "
                      f"{len(net)} nodes; schedule this netlist")
    design = plan_design(net, sched, top)
    parts = ["\n".join(header), "`timescale 1ns / 1ps", "`default_nettype none", LINT_NOTE]
    parts += [module_text(design, m) for m in design.modules.values()]
    parts.append(top_text(design))
    parts.append("`default_nettype wire")
    return "\n\n".join(parts) + "\n"

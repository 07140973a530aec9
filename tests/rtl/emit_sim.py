"""Simulate rendered Verilog (Verilator or iverilog) against ``trigc.netlist.evaluate``:

A testbench streams one event per cycle (random ``in_valid``, a few reset cycles
first) and prints ``out_valid`` and ``out_data`` after every rising edge; the check
is that edge ``c`` shows event ``c - latency`` bit for bit."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from trigc.netlist import Netlist, Schedule, evaluate

RESET_CYCLES = 3
VERILATOR_FLAGS = ["--binary", "--timing", "-O0", "-Wno-fatal", "-j", "2",
                   "-MAKEFLAGS", "OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O0"]


def have(tool: str) -> bool:
    return shutil.which(tool) is not None


def write(files: dict[str, str], where: Path) -> Path:
    for rel, text in files.items():
        path = where / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return where


def random_inputs(net: Netlist, events: int, seed: int = 0) -> np.ndarray:
    """Raw inputs (events × inputs): each type's corners first, then uniform draws."""
    rng = np.random.default_rng(seed)
    cols = []
    for t in net.input_types:
        corners = [t.min_raw, t.max_raw, 0, min(t.max_raw, 1), max(t.min_raw, -1)]
        draws = [int(v) for v in rng.integers(t.min_raw, t.max_raw, events,
                                              endpoint=True, dtype=np.int64)]
        cols.append((corners + draws)[:events])
    return np.array(cols, dtype=object).T.reshape(events, len(net.input_types))


def _pack(values, types) -> int:
    word, lsb = 0, 0
    for v, t in zip(values, types):
        word |= (int(v) % (1 << t.width)) << lsb
        lsb += t.width
    return word


@dataclass
class Case:
    """One rendered design and the events to stream through it."""

    top: str
    net: Netlist
    sched: Schedule
    files: dict[str, str]
    raw: np.ndarray
    valid: np.ndarray

    @property
    def in_bits(self) -> int:
        return sum(t.width for t in self.net.input_types)

    @property
    def out_bits(self) -> int:
        return sum(t.width for t in self.net.output_types)

    @property
    def cycles(self) -> int:
        return len(self.raw) + self.sched.latency


def make_case(net: Netlist, sched: Schedule, files: dict[str, str], top: str,
              events: int = 300, seed: int = 0) -> Case:
    rng = np.random.default_rng(seed + 1)
    return Case(top, net, sched, files, random_inputs(net, events, seed),
                rng.integers(0, 2, events))


def _stimulus(case: Case, cycles: int) -> str:
    lines = []
    for c in range(cycles):
        events = len(case.raw)
        data = _pack(case.raw[c], case.net.input_types) if c < events else 0
        rst = int(c < RESET_CYCLES)
        v = int(case.valid[c]) if c < events else 0
        lines.append(f"{(rst << (case.in_bits + 1)) | (v << case.in_bits) | data:x}")
    return "\n".join(lines) + "\n"


def testbench(cases: list[Case], cycles: int) -> str:
    """One testbench driving every case's top in lock step."""
    decl, inst, load, drive, dump = [], [], [], [], []
    for k, case in enumerate(cases):
        i, o = case.in_bits, case.out_bits
        decl += [f"  reg rst{k} = 1'b1;", f"  reg in_valid{k} = 1'b0;",
                 f"  reg [{i - 1}:0] in_data{k} = {i}'b0;", f"  wire out_valid{k};",
                 f"  wire [{o - 1}:0] out_data{k};",
                 f"  reg [{i + 1}:0] stim{k} [0:{cycles - 1}];", f"  integer f{k};"]
        inst.append(f"  {case.top} dut{k} (.clk(clk), .rst(rst{k}), .in_valid(in_valid{k}), "
                    f".in_data(in_data{k}), .out_valid(out_valid{k}), .out_data(out_data{k}));")
        load += [f'    $readmemh("stim_{case.top}.hex", stim{k});',
                 f'    f{k} = $fopen("out_{case.top}.txt", "w");']
        drive.append(f"      {{rst{k}, in_valid{k}, in_data{k}}} = stim{k}[c];")
        dump.append(f'      $fwrite(f{k}, "%b %h\\n", out_valid{k}, out_data{k});')
    closes = [f"    $fclose(f{k});" for k in range(len(cases))]
    return "\n".join([
        "`timescale 1ns / 1ps", "module tb;", "  reg clk = 1'b0;", "  integer c;", *decl,
        *inst, "  initial begin", *load, f"    for (c = 0; c < {cycles}; c = c + 1) begin",
        *drive, "      #5 clk = 1'b1;", "      #1;", *dump, "      #4 clk = 1'b0;",
        "    end", *closes, "    $finish;", "  end", "endmodule", ""])


def run(cases: list[Case], where: Path, tool: str = "verilator") -> dict[str, list[str]]:
    """Build one simulation of every case; each case's printed lines by top."""
    where.mkdir(parents=True, exist_ok=True)
    cycles = max(case.cycles for case in cases)
    rtl = []
    for case in cases:
        write(case.files, where / case.top)
        rtl.append(str(where / case.top / "rtl" / f"{case.top}.v"))
        (where / f"stim_{case.top}.hex").write_text(_stimulus(case, cycles))
    (where / "tb.v").write_text(testbench(cases, cycles))
    if tool == "verilator":
        subprocess.run(["verilator", *VERILATOR_FLAGS, "--top-module", "tb", "--Mdir",
                        str(where / "obj"), "tb.v", *rtl], cwd=where, check=True,
                       capture_output=True)
        cmd = [str(where / "obj" / "Vtb")]
    else:
        subprocess.run(["iverilog", "-g2005", "-o", str(where / "sim"), "tb.v", *rtl],
                       cwd=where, check=True, capture_output=True)
        cmd = ["vvp", "-n", str(where / "sim")]
    subprocess.run(cmd, cwd=where, check=True, capture_output=True)
    return {case.top: (where / f"out_{case.top}.txt").read_text().split("\n")[:case.cycles]
            for case in cases}


def check(case: Case, lines: list[str]) -> int:
    """Edge ``c`` shows event ``c - latency`` bit for bit, and ``out_valid`` is that
    event's ``in_valid`` unless it arrived during reset. Returns events checked."""
    latency = case.sched.latency
    expected = evaluate(case.net, case.raw)
    assert len(lines) == case.cycles
    for c, line in enumerate(lines):
        out_valid, out_data = line.split()
        e = c - latency
        want_valid = int(e >= RESET_CYCLES and bool(case.valid[e]))
        assert int(out_valid) == want_valid, f"{case.top} cycle {c}: out_valid {out_valid}"
        if e < 0:
            continue
        assert "x" not in out_data.lower(), f"{case.top} cycle {c}: out_data {out_data}"
        word = int(out_data, 16)
        assert word == _pack(expected[e], case.net.output_types), _diff(
            word, expected[e], case.net.output_types, e, case.raw[e])
    return len(case.raw)


def _diff(word: int, want, types, event: int, inputs) -> str:
    bad, lsb = [], 0
    for k, (v, t) in enumerate(zip(want, types)):
        field = (word >> lsb) & ((1 << t.width) - 1)
        if field != int(v) % (1 << t.width):
            got = field - (1 << t.width) if t.signed and field >> (t.width - 1) else field
            bad.append(f"output {k} ({t}): got {got}, want {v}")
        lsb += t.width
    return f"event {event} inputs {list(inputs)}: " + "; ".join(bad[:8])


def lint(files: dict[str, str], top: str, where: Path) -> None:
    """Verilator -Wall, Yosys hierarchy -check and iverilog -g2005 accept the RTL."""
    write(files, where)
    rtl = str(where / "rtl" / f"{top}.v")
    out = subprocess.run(["verilator", "--lint-only", "-Wall", "--top-module", top, rtl],
                         check=False, capture_output=True, text=True)
    assert out.returncode == 0 and "%Warning" not in out.stderr, out.stderr
    out = subprocess.run(["yosys", "-q", "-p",
                          f"read_verilog {rtl}; hierarchy -check -top {top}; proc; check -assert"],
                         check=False, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    out = subprocess.run(["iverilog", "-g2005", "-o", str(where / "lint.vvp"), rtl],
                         check=False, capture_output=True, text=True)
    assert out.returncode == 0 and not out.stderr, out.stderr

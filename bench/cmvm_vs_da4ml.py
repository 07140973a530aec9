"""trigc's CMVM solver against da4ml's on the reference models' matrices.

Run: ``.venv/bin/python -m bench.cmvm_vs_da4ml [--models jet_tagger_qkeras ...]``
(needs ``pip install da4ml==0.6.0``; a peer for comparison only, never imported by
trigc or the tests).

Both solutions are built as trigc netlists and measured the same way: adders
(ADD/SUB), adder bits (:func:`trigc.netlist.timing.adder_bits`), output negations
(NEG, reported apart: da4ml leaves output signs to the consumer), adder depth and
the combinational delay of the longest path (:func:`trigc.netlist.timing.schedule`
without registers). Every netlist is checked exact against ``x @ w``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
import trigc
from trigc.netlist import Kind, Netlist, cmvm, evaluate, schedule
from trigc.netlist.timing import adder_bits

MODELS = ("jet_tagger_qkeras", "jet_tagger_brevitas", "conv_tagger", "anomaly_ae")
DA4ML_OPTIONS = {
    "default": {},
    "dc0": {"hard_dc": 0},
    "dc2": {"hard_dc": 2},
}


@dataclass
class Measure:
    adders: int
    bits: int
    negs: int
    depth: int
    ns: float
    seconds: float


def matrices(model: str):
    """(layer, weights (n_in, n_out), input bounds) of every Dense/Conv of a model."""
    graph = trigc.load(f"models/{model}/{model}.onnx")
    for node in graph.nodes:
        if node.op.value not in ("Dense", "Conv"):
            continue
        w = np.asarray(node.inputs[1].raw)
        w = w.reshape(-1, w.shape[-1])
        t = node.inputs[0].type
        yield node.name, w, [(t.min_raw, t.max_raw, -t.frac_bits)] * w.shape[0], t


def measure(net: Netlist, outs: list[int], seconds: float) -> Measure:
    net.outputs = list(outs)
    live = net.live()
    level = [0] * len(net)
    adders = bits = negs = 0
    for n in net.nodes:
        if n.args:
            level[n.id] = max(level[a] for a in n.args) + (n.kind not in (Kind.SHIFT,))
        if not live[n.id]:
            continue
        if n.kind in (Kind.ADD, Kind.SUB):
            adders += 1
            bits += adder_bits(net, n)
        elif n.kind is Kind.NEG:
            negs += 1
    sched = schedule(net, None)
    ns = max((sched.arrival[i] for i in outs), default=0.0)
    return Measure(adders, bits, negs, max((level[i] for i in outs), default=0), ns, seconds)


def check(net: Netlist, w: np.ndarray, t) -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(t.min_raw, t.max_raw + 1, size=(64, w.shape[0]))
    x[0], x[1] = t.min_raw, t.max_raw
    # outputs may sit on other exponents than the inputs: compare on the finest one
    exps = [net[o].exp for o in net.outputs]
    base = min(exps + [bounds_exp(net)])
    got = evaluate(net, x) * np.array([1 << (e - base) for e in exps], dtype=object)
    want = (x.astype(object) @ w.astype(object)) * (1 << (bounds_exp(net) - base))
    if not (got == want).all():
        raise AssertionError("netlist differs from x @ w")


def bounds_exp(net: Netlist) -> int:
    return net[net.inputs[0]].exp


def run_trigc(w, bounds, t) -> Measure:
    start = time.perf_counter()
    program = cmvm.solve(w, bounds)
    seconds = time.perf_counter() - start
    net = Netlist()
    x = [net.input(t) for _ in range(w.shape[0])]
    outs = program.apply(net, x)
    net.outputs = outs
    check(net, w, t)
    return measure(net, outs, seconds)


def run_da4ml(w, bounds, t, options: dict) -> Measure:
    from da4ml.cmvm import solve

    step = 2.0 ** bounds[0][2]
    qint = [(lo * step, hi * step, step) for lo, hi, _ in bounds]
    start = time.perf_counter()
    pipe = solve(np.ascontiguousarray(w.astype(np.float32)), qintervals=qint,
                 latencies=[0.0] * len(qint), **options)
    seconds = time.perf_counter() - start
    net = Netlist()
    signals = [(net.input(t), 1) for _ in range(w.shape[0])]
    for stage in pipe.solutions:
        signals = _da4ml_stage(net, stage, signals)
    outs = [s if g > 0 else net.neg(s) for s, g in signals]
    net.outputs = outs
    check(net, w, t)
    return measure(net, outs, seconds)


def _da4ml_stage(net: Netlist, stage, inputs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """One da4ml combinational stage as netlist nodes; signals are (id, sign) so a
    negation folds into the next add/sub as da4ml does."""
    buf: list[tuple[int, int]] = []
    for op in stage.ops:
        if op.opcode == -1:
            s, g = inputs[op.id0]
            buf.append((net.shift(s, stage.inp_shifts[op.id0]), g))
        elif op.opcode in (0, 1):
            (a, ga), (b, gb) = buf[op.id0], buf[op.id1]
            b = net.shift(b, op.data)
            gb = gb if op.opcode == 0 else -gb
            if ga == gb:
                buf.append((net.add(a, b), ga))
            elif ga > 0:
                buf.append((net.sub(a, b), 1))
            else:
                buf.append((net.sub(b, a), 1))
        else:
            raise NotImplementedError(f"da4ml opcode {op.opcode}")
    out = []
    for idx, shift, neg in zip(stage.out_idxs, stage.out_shifts, stage.out_negs):
        if idx < 0:
            out.append((net.const(0), 1))
            continue
        s, g = buf[idx]
        out.append((net.shift(s, shift), -g if neg else g))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    args = parser.parse_args(argv)
    head = f"{'matrix':<34} {'solver':<13} {'adders':>6} {'bits':>6} {'neg':>4} " \
           f"{'depth':>5} {'ns':>6} {'solve s':>8}"
    print(head)
    print("-" * len(head))
    totals: dict[str, list[float]] = {}
    for model in args.models:
        for layer, w, bounds, t in matrices(model):
            rows = [("trigc", run_trigc(w, bounds, t))]
            rows += [(f"da4ml {name}", run_da4ml(w, bounds, t, opts))
                     for name, opts in DA4ML_OPTIONS.items()]
            for name, m in rows:
                label = f"{model}/{layer} {w.shape[0]}x{w.shape[1]}"
                print(f"{label:<34} {name:<13} {m.adders:>6} {m.bits:>6} {m.negs:>4} "
                      f"{m.depth:>5} {m.ns:>6.2f} {m.seconds:>8.3f}")
                tot = totals.setdefault(f"{model} {name}", [0, 0, 0, 0, 0.0, 0.0])
                tot[0] += m.adders
                tot[1] += m.bits
                tot[2] += m.negs
                tot[3] = max(tot[3], m.depth)
                tot[4] += m.ns
                tot[5] += m.seconds
    print()
    print(f"{'total':<34} {'solver':<13} {'adders':>6} {'bits':>6} {'neg':>4} "
          f"{'maxdp':>5} {'sum ns':>6} {'solve s':>8}")
    for key, (adders, bits, negs, depth, ns, seconds) in totals.items():
        model, name = key.split(" ", 1)
        print(f"{model:<34} {name:<13} {adders:>6} {bits:>6} {negs:>4} {depth:>5} "
              f"{ns:>6.2f} {seconds:>8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Run a Verilated project on events and compare with the emulator on its final IR.

The harness (:mod:`trigc.rtlsim.harness`) records, for every cycle c, the outputs a
downstream register samples at rising edge c; event k is sampled at edge k. The
latency L is the offset at which record k + L equals the emulator's result of event
k for every event. The neighbouring offsets L - 1 and L + 1 must not also match
(unless the data cannot tell them apart, e.g. constant outputs, which the result
says), ``out_valid`` must be high exactly on the N result cycles, and L must equal
``port_map.json``'s latency."""

from __future__ import annotations

import json
import logging
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from trigc.emulator import emulate
from trigc.errors import ConfigError, ProjectError, TrigcError
from trigc.fixed import quantize
from trigc.ir.graph import Graph
from trigc.ir.serialize import graph_from_json
from trigc.rtlsim.build import RtlSimError, build
from trigc.rtlsim.packing import pack, unpack
from trigc.backends.verilog.portmap import Field, PortMap, read_port_map

log = logging.getLogger(__name__)

RESET_CYCLES = 2
EXACT_FLOAT_BITS = 53
MAX_EVENTS = 10_000_000


@dataclass
class Mismatch:
    event: int
    output_index: int
    output_name: str
    expected: int
    rtl: int
    valid: bool = True

    def __str__(self) -> str:
        text = (f"event {self.event}, output {self.output_index} ({self.output_name}): "
                f"expected raw {self.expected}, RTL raw {self.rtl}")
        return text if self.valid else f"event {self.event}: out_valid low on its result cycle"


@dataclass
class RtlResult:
    """``latency`` is the measured offset (None when no offset matches every event;
    ``best_offset`` is then the one that matched most)."""

    events: int
    exact: int
    latency: int | None
    best_offset: int
    port_latency: int
    ii: int = 1
    first: Mismatch | None = None
    neighbours_match: list[int] = field(default_factory=list)
    valid_errors: int = 0
    first_valid_error: int | None = None
    cycles: int = 0

    @property
    def ok(self) -> bool:
        return (self.latency is not None and self.exact == self.events
                and self.valid_errors == 0 and self.latency == self.port_latency)

    @property
    def latency_unique(self) -> bool:
        return not self.neighbours_match

    def __str__(self) -> str:
        shown = self.latency if self.latency is not None else self.best_offset
        head = f"bit-exact: {self.exact}/{self.events} events, latency {shown} cycles, II {self.ii}"
        lines = [head]
        if self.latency is None:
            lines.append(f"no offset matches every event; the best, {self.best_offset} "
                         "cycles, is reported")
        elif self.neighbours_match:
            lines.append(f"offsets {self.neighbours_match} match too: the data cannot tell "
                         "the latency apart (constant outputs?)")
        else:
            lines.append(f"offsets {self.latency - 1} and {self.latency + 1} rejected")
        agree = "agrees" if self.port_latency == shown else "DISAGREES"
        lines.append(f"port_map.json latency {self.port_latency}: {agree}")
        if self.valid_errors:
            lines.append(f"out_valid wrong on {self.valid_errors} cycle(s), first cycle "
                         f"{self.first_valid_error}")
        if self.first is not None:
            lines.append(f"first mismatch: {self.first}")
        return "\n".join(lines)


# ---- expected values ----------------------------------------------------------------
def load_graph(root: Path) -> Graph:
    """The final IR in the project's ``trigc.json``."""
    path = root / "trigc.json"
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise ProjectError(f"{str(root)!r} has no trigc.json (the final IR the expected "
                           "outputs come from); regenerate the project") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ProjectError(f"{str(path)!r} is unreadable or not JSON ({exc}); regenerate "
                           "the project") from None
    if not isinstance(meta, dict) or "graph" not in meta:
        raise ProjectError(f"{str(path)!r} lacks 'graph'; regenerate the project")
    try:
        return graph_from_json(meta["graph"])
    except (TrigcError, KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ProjectError(f"{str(path)!r} holds a damaged graph ({exc!r}); regenerate "
                           "the project") from exc


def _check_fields(fields: tuple[Field, ...], tensors, what: str, ports: PortMap) -> None:
    types = [t.type for t in tensors for _ in range(t.size)]
    where = f"{str(ports.root / 'port_map.json')!r}"
    if len(types) != len(fields):
        raise ProjectError(f"{where}: {len(fields)} {what} elements, the model's final IR "
                           f"has {len(types)}; the project files disagree, regenerate it")
    for f, t in zip(fields, types):
        if (f.width, f.signed, f.frac_bits) != (t.width, t.signed, t.frac_bits):
            raise ProjectError(f"{where}: {what} {f.name!r} is {f.type}, the model's final "
                               f"IR has {t}; the project files disagree, regenerate it")


def random_inputs(graph: Graph, n: int, seed: int) -> list[np.ndarray]:
    """``n`` events of raw values drawn uniformly over each input type's range, as exact
    floats (types wider than 53 bits: the raws are multiples of 2^(width-53))."""
    rng = np.random.default_rng(seed)
    arrays = []
    for t in graph.inputs:
        step = 1 << max(0, t.type.width - EXACT_FLOAT_BITS)
        lo, hi = -(-t.type.min_raw // step), t.type.max_raw // step
        raw = rng.integers(lo, hi + 1, size=(n, *t.shape), dtype=np.int64)
        arrays.append(np.ldexp(raw.astype(np.float64), -t.type.frac_bits + (step.bit_length()
                                                                            - 1)))
    return arrays


def _as_list(graph: Graph, inputs) -> list[np.ndarray]:
    if isinstance(inputs, (list, tuple)):
        arrays = [np.asarray(x, dtype=np.float64) for x in inputs]
    else:
        x = np.asarray(inputs, dtype=np.float64)
        sizes = [t.size for t in graph.inputs]
        if len(graph.inputs) > 1 and x.ndim == 2 and x.shape[1] == sum(sizes):
            splits = np.cumsum(sizes)[:-1]
            arrays = [part.reshape(-1, *t.shape)
                      for part, t in zip(np.split(x, splits, axis=1), graph.inputs)]
        else:
            arrays = [x]
    if len(arrays) != len(graph.inputs):
        raise ConfigError(f"{graph.name} has {len(graph.inputs)} inputs, got {len(arrays)} "
                          "arrays")
    for t, x in zip(graph.inputs, arrays):
        if x.shape[1:] != t.shape or x.shape[0] == 0:
            raise ConfigError(f"Input {t.name!r} expects shape (N, "
                              f"{', '.join(map(str, t.shape))}) with N >= 1, got {x.shape}")
    return arrays


def _flat(arrays: list[np.ndarray], n: int) -> np.ndarray:
    parts = [np.asarray(a).reshape(n, -1) for a in arrays]
    wide = any(p.dtype == object for p in parts)
    return np.concatenate([p.astype(object) if wide else p for p in parts], axis=1)


# ---- simulation ---------------------------------------------------------------------
def simulate(exe: Path, ports: PortMap, packed_inputs: np.ndarray, cycles: int):
    """Run the harness; (out_valid (cycles,), out_data bytes (cycles, out_bytes))."""
    n, in_bytes = packed_inputs.shape
    out_bytes = (ports.out_bits + 7) // 8
    with tempfile.TemporaryDirectory(prefix="trigc-rtlsim-") as tmp:
        in_path, out_path = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
        in_path.write_bytes(np.ascontiguousarray(packed_inputs).tobytes())
        cmd = [str(exe), str(in_path), str(out_path), str(n), str(cycles), str(RESET_CYCLES),
               str(in_bytes), str(out_bytes)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RtlSimError(f"the Verilated simulation of {ports.top} failed (exit "
                              f"{proc.returncode}): {proc.stderr.strip()[:300]}")
        records = np.fromfile(out_path, dtype=np.uint8)
    if records.size != cycles * (1 + out_bytes):
        raise RtlSimError(f"the simulation of {ports.top} wrote {records.size} bytes, not "
                          f"{cycles} records of {1 + out_bytes}")
    records = records.reshape(cycles, 1 + out_bytes)
    return records[:, 0].astype(bool), records[:, 1:]


def _matches(rtl: np.ndarray, expected: np.ndarray, offset: int) -> np.ndarray:
    """Per event: does record event + offset equal the expected outputs?"""
    n = expected.shape[0]
    window = rtl[offset:offset + n]
    return np.asarray(window == expected, dtype=bool).all(axis=1)


def compare(rtl: np.ndarray, valid: np.ndarray, expected: np.ndarray, ports: PortMap
            ) -> RtlResult:
    """Measure the latency and compare, as the module docstring says."""
    n, cycles = expected.shape[0], rtl.shape[0]
    offsets = range(cycles - n + 1)
    scores = {off: _matches(rtl, expected, off) for off in offsets}
    full = [off for off in offsets if scores[off].all()]
    preferred = [ports.latency] if ports.latency in scores else []
    if full:
        latency = ports.latency if ports.latency in full else full[0]
        best = latency
    else:
        latency = None
        best = max(preferred + list(offsets), key=lambda off: int(scores[off].sum()))
    ok_data = scores[best]
    ok_valid = valid[best:best + n]
    good = ok_data & ok_valid
    first = None
    if not good.all():
        ev = int(np.argmin(good))
        if ok_data[ev]:
            first = Mismatch(ev, 0, ports.outputs[0].name, 0, 0, valid=False)
        else:
            idx = int(np.argmin(np.asarray(rtl[best + ev] == expected[ev], dtype=bool)))
            first = Mismatch(ev, idx, ports.outputs[idx].name, int(expected[ev, idx]),
                             int(rtl[best + ev, idx]))
    want_valid = np.zeros(cycles, dtype=bool)
    want_valid[best:best + n] = True
    wrong = np.nonzero(want_valid != valid)[0]
    neighbours = [off for off in (best - 1, best + 1) if off in full] if latency is not None \
        else []
    return RtlResult(n, int(good.sum()), latency, best, ports.latency, 1, first, neighbours,
                     int(wrong.size), int(wrong[0]) if wrong.size else None, cycles)


def run(project_dir, inputs=None, n: int = 10000, seed: int = 0) -> RtlResult:
    """Simulate a Verilog project at II 1 and compare with the emulator bit for bit.

    ``inputs``: float arrays (events x the model's input shape; a list for several
    inputs, or one (events, total elements) array), quantized to the input types as
    the emulator does; ``None``: ``n`` random events (``seed``) over each input
    type's whole range."""
    ports = read_port_map(project_dir)
    graph = load_graph(ports.root)
    _check_fields(ports.inputs, graph.inputs, "input", ports)
    _check_fields(ports.outputs, graph.outputs, "output", ports)
    if inputs is None:
        if not 1 <= n <= MAX_EVENTS:
            raise ConfigError(f"-n must be between 1 and {MAX_EVENTS}, got {n}")
        arrays = random_inputs(graph, n, seed)
    else:
        arrays = _as_list(graph, inputs)
    events = arrays[0].shape[0]
    if any(x.shape[0] != events for x in arrays):
        raise ConfigError("every input array needs the same number of events")
    raw_in = _flat([quantize(x, t.type) for x, t in zip(arrays, graph.inputs)], events)
    expected = emulate(graph, *arrays, raw=True)
    expected = _flat(expected if isinstance(expected, list) else [expected], events)
    exe = build(ports.root)
    cycles = events + 2 * ports.latency + 16
    valid, data = simulate(exe, ports, pack(raw_in, ports.inputs, ports.in_bits), cycles)
    rtl = unpack(data, ports.outputs)
    if rtl.dtype == object or expected.dtype == object:
        rtl, expected = rtl.astype(object), expected.astype(object)
    return compare(rtl, valid, expected, ports)

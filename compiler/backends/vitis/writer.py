"""Write a Vitis HLS project for a final IR graph: glue rendered with Jinja2, kernels
copied, testbench data from the emulator. Deterministic and atomic."""

from __future__ import annotations

import json
import logging
import re
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import jinja2
import numpy as np

from trigc.backends.vitis.config import Names, config_for, tensor_names
from trigc.backends.vitis.interfaces import (
    DEFAULT_INTERFACE, annotate_ports, check_ii, control_signals, get_interface,
)
from trigc.errors import ConfigError
from trigc.fixed import to_cpp
from trigc.ir.graph import Graph
from trigc.ir.ops import Op
from trigc.ir.serialize import graph_to_json
from trigc.names import printable

log = logging.getLogger(__name__)

VERSION = "0.1.0"
DEFAULT_PART = "xcvu9p-flga2104-2L-e"
DEFAULT_CLOCK_NS = 5.0
TB_EVENTS = 100
TRACE_MAX_WIDTH = 64


@dataclass
class Settings:
    """Backend settings. ``reuse`` maps layer (node or source) names to reuse factors;
    ``default_reuse`` applies to every other Dense/Conv.

    ``board`` (see ``trigc boards``) sets the part and the default clock; without it
    the part and clock default to :data:`DEFAULT_PART` and :data:`DEFAULT_CLOCK_NS`.
    ``interface`` is the top function's interface (see
    :mod:`trigc.backends.vitis.interfaces`); ``axis_word_bits`` the AXI4-Stream word
    width (None: one word per tensor)."""

    part: str | None = None
    clock_ns: float | None = None
    default_reuse: int = 1
    reuse: dict[str, int] = field(default_factory=dict)
    board: str | None = None
    interface: str = DEFAULT_INTERFACE
    axis_word_bits: int | None = None

    def __post_init__(self) -> None:
        # imported here: trigc.export imports this module
        from trigc.export.boards import resolve_target

        self.part, self.clock_ns, self.board = resolve_target(
            self.part, self.clock_ns, self.board, DEFAULT_PART, DEFAULT_CLOCK_NS)
        self.interface = get_interface(self.interface or DEFAULT_INTERFACE).name

    def reuse_for(self, node) -> int:
        for key in (node.name, node.source):
            if key in self.reuse:
                return int(self.reuse[key])
        return self.default_reuse

    def to_json(self) -> dict:
        return {"part": self.part, "clock_ns": self.clock_ns,
                "default_reuse": self.default_reuse, "reuse": dict(sorted(self.reuse.items())),
                "board": self.board, "interface": self.interface,
                "axis_word_bits": self.axis_word_bits}

    @classmethod
    def from_json(cls, data: dict, **overrides) -> Settings:
        """Settings from their JSON form (a project's ``meta['settings']``); keyword
        arguments replace single fields (a new ``board`` also replaces the part)."""
        fields = {k: data.get(k) for k in ("part", "clock_ns", "default_reuse", "reuse",
                                           "board", "interface", "axis_word_bits")}
        fields = {k: v for k, v in fields.items() if v is not None}
        if overrides.get("board") not in (None, fields.get("board")):
            fields.pop("part", None)  # the new board's part and default clock
            fields.pop("clock_ns", None)
        fields.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**fields)


def templates_dir() -> Path:
    return Path(str(resources.files("trigc.hls_templates")))


_TCL_WORD = re.compile(r"[A-Za-z0-9_.,:/+=@-]+")


def tcl_word(value) -> str:
    """``value`` as one braced Tcl word (``{xcvu9p-flga2104-2L-e}``). Only letters,
    digits and ``_.,:/+=@-`` are allowed, so nothing can end the braces, start a
    command substitution or a new line; anything else is a ConfigError."""
    text = str(value)
    if not _TCL_WORD.fullmatch(text):
        raise ConfigError(
            f"{printable(text)!r} cannot be written into a Tcl script: only letters, "
            "digits and '_.,:/+=@-' are allowed (no spaces, quotes, braces, brackets, '$', "
            "backslashes or newlines); fix the part, clock or name that carries it")
    return "{" + text + "}"


def tcl_text(value) -> str:
    """Free text (a description, a display name) as one braced Tcl word: the
    :func:`trigc.names.printable` form, which has no brace, backslash or newline."""
    return "{" + printable(value, max_len=500) + "}"


def glue_env() -> jinja2.Environment:
    """The Jinja2 environment of the glue templates, with the filters ``printable``
    (escaped text for comments and strings, :func:`trigc.names.printable`) and
    ``tcl`` (one validated, braced Tcl word, :func:`tcl_word`) and ``tcl_text``
    (escaped free text as one braced Tcl word, :func:`tcl_text`)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir() / "glue")),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    env.filters["printable"] = printable
    env.filters["tcl"] = tcl_word
    env.filters["tcl_text"] = tcl_text
    return env


_env = glue_env


def _ports(graph: Graph, names: Names, tensors) -> list[dict]:
    ports, offset = [], 0
    for t in tensors:
        size = int(np.prod(t.shape)) if t.shape else 1
        array = names.array[t.name]
        ports.append({"name": t.name, "array": array, "ctype": names.ctype[t.name],
                      "macro": f"N_{array.upper()}", "size": size, "offset": offset,
                      "shape": list(t.shape), "type": str(t.type), "cpp": to_cpp(t.type),
                      "width": t.type.width, "integer_bits": t.type.integer_bits,
                      "frac_bits": t.type.frac_bits, "signed": t.type.signed})
        offset += size
    return ports


def _validate(graph: Graph, settings: Settings) -> None:
    names = {n.name for n in graph.nodes} | {n.source for n in graph.nodes}
    unknown = sorted(set(settings.reuse) - names)
    if unknown:
        raise ConfigError(f"Reuse factors given for unknown layers {unknown}; layers are "
                          f"{sorted({n.source or n.name for n in graph.nodes})}")
    if settings.default_reuse < 1:
        raise ConfigError(f"Reuse factor must be at least 1, not {settings.default_reuse}")
    if settings.clock_ns <= 0:
        raise ConfigError(f"Clock period must be positive, not {settings.clock_ns} ns")
    for t in (*graph.inputs, *graph.outputs):
        if t.type.width > TRACE_MAX_WIDTH:
            raise ConfigError(
                f"Port {t.name!r} is {t.type.width} bits wide; ports are limited to "
                f"{TRACE_MAX_WIDTH} bits. Quantize the tensor to a narrower type")
    tcl_word(settings.part)  # both are written into the Tcl scripts
    tcl_word(settings.clock_ns)


def render(graph: Graph, settings: Settings) -> dict:
    """Everything the templates need, computed once (and every error raised here,
    before anything is written)."""
    _validate(graph, settings)
    names = tensor_names(graph)
    layers, offset = [], 0
    outputs = {t.name for t in graph.outputs}
    ii, reused = 1, []
    for node in graph.nodes:
        reuse = settings.reuse_for(node) if node.op in (Op.DENSE, Op.CONV) else 1
        ii = max(ii, reuse)
        if reuse > 1:
            reused.append(f"{node.source or node.name} (reuse {reuse})")
        cfg = config_for(node, names, reuse)
        cfg["is_output"] = node.output.name in outputs
        traced = node.output.type.width <= TRACE_MAX_WIDTH
        cfg["trace_offset"] = offset if traced else -1  # -1: no TRIGC_TRACE is emitted
        if traced:
            offset += cfg["output_size"]
        layers.append(cfg)
    typedefs = [{"name": names.ctype[t.name], "cpp": to_cpp(t.type), "comment": t.name}
                for t in graph.inputs]
    typedefs += [{"name": names.ctype[n.output.name], "cpp": to_cpp(n.output.type),
                  "comment": f"{n.op.value} {n.source or n.name}"} for n in graph.nodes]
    inputs, outs = _ports(graph, names, graph.inputs), _ports(graph, names, graph.outputs)
    interface = get_interface(settings.interface)
    check_ii(interface, ii, reused)
    ii = max(ii, annotate_ports(inputs, outs, interface, settings.axis_word_bits))
    return {
        "name": names.top, "guard": names.top.upper(), "version": VERSION,
        "layers": layers, "typedefs": typedefs, "inputs": inputs, "outputs": outs,
        "ports": inputs + outs, "ii": ii, "part": settings.part, "clock_ns": settings.clock_ns,
        "interface": {"name": interface.name, "block": interface.block,
                      "ports": interface.ports, "summary": interface.summary},
        "control": control_signals(interface, interface.ports == "axis"),
        "board": settings.board,
        "trace_size": offset,
        "in_total": sum(p["size"] for p in inputs), "out_total": sum(p["size"] for p in outs),
        "trace": [{"node": c["node"], "op": c["op"], "source": c["source"],
                   "offset": c["trace_offset"], "size": c["output_size"]}
                  for c in layers if c["trace_offset"] >= 0],
    }


def _fmt_float(v: float) -> str:
    return repr(float(v))


def tb_inputs_for(graph: Graph, n: int = TB_EVENTS, seed: int = 0) -> list[np.ndarray]:
    """Deterministic test inputs: values across each input type's range (half of them
    on the grid, half between grid points, a few beyond saturation)."""
    rng = np.random.default_rng(seed)
    out = []
    for t in graph.inputs:
        lo, hi = t.type.min_value, t.type.max_value
        span = hi - lo
        x = rng.uniform(lo - 0.1 * span, hi + 0.1 * span, (n, *t.shape))
        x[::2] = np.round(x[::2] / t.type.lsb) * t.type.lsb
        out.append(x)
    return out


def _write_tb_data(root: Path, graph: Graph, inputs: list[np.ndarray]) -> None:
    from trigc.emulator import emulate

    raw = emulate(graph, *inputs, raw=True)
    raw = raw if isinstance(raw, list) else [raw]
    n = inputs[0].shape[0]
    flat_in = np.concatenate([x.reshape(n, -1) for x in inputs], axis=1)
    flat_out = np.concatenate([r.reshape(n, -1) for r in raw], axis=1)
    (root / "tb_data").mkdir()
    with open(root / "tb_data" / "tb_input_features.dat", "w") as f:
        for row in flat_in:
            f.write(" ".join(_fmt_float(v) for v in row) + "\n")
    with open(root / "tb_data" / "tb_output_predictions.dat", "w") as f:
        for row in flat_out:
            f.write(" ".join(str(int(v)) for v in row) + "\n")


def _write(root: Path, graph: Graph, settings: Settings, ctx: dict,
           tb_inputs: list[np.ndarray] | None, est, budgets) -> None:
    from trigc.estimate import write_reports

    env = _env()
    name = ctx["name"]  # the top function's identifier (trigc.names), not the raw name
    fw = root / "firmware"
    (fw / "kernels").mkdir(parents=True)
    (root / "tb").mkdir()
    files = {
        fw / f"{name}.h": "top.h.j2",
        fw / f"{name}.cpp": "top.cpp.j2",
        fw / "defines.h": "defines.h.j2",
        fw / "parameters.h": "parameters.h.j2",
        root / "tb" / f"{name}_test.cpp": "testbench.cpp.j2",
        root / "build_prj.tcl": "build_prj.tcl.j2",
    }
    for path, template in files.items():
        path.write_text(env.get_template(template).render(**ctx))
    for header in sorted((templates_dir() / "kernels").glob("*.h")):
        shutil.copyfile(header, fw / "kernels" / header.name)
    _write_tb_data(root, graph, tb_inputs or tb_inputs_for(graph))
    meta = {
        "trigc_version": VERSION, "name": name, "settings": settings.to_json(),
        "inputs": ctx["inputs"], "outputs": ctx["outputs"], "trace": ctx["trace"],
        "trace_size": ctx["trace_size"], "ii": ctx["ii"],
        "interface": ctx["interface"], "control": ctx["control"],
        "precision_report": [str(r) for r in graph.precision_report],
        "budgets": budgets.to_json(), "estimate": est.to_json(),
        "graph": graph_to_json(graph),
    }
    write_reports(est, budgets, root)
    (root / "trigc.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")


def _estimate(graph: Graph, settings: Settings):
    from trigc.estimate import UnknownPartError, estimate

    try:
        return estimate(graph, settings)
    except UnknownPartError as exc:
        if settings.board is None:
            raise
        raise UnknownPartError(
            f"Board {settings.board!r} carries the part {settings.part}, which the "
            "estimator's device database (trigc.estimate.devices) does not know yet, so "
            "trigc cannot estimate its latency and utilization; choose another board "
            f"(`trigc boards`) or a known part. {exc}") from None


def write_project(graph: Graph, output_dir, settings: Settings | None = None,
                  tb_inputs: list[np.ndarray] | None = None, budgets=None, extra=None,
                  overwrite: bool = False):
    """Write the project to ``output_dir`` atomically with ``trigc.outputs.replace_dir``:
    into a temporary directory beside it, then swapped into place, so a failure leaves
    the old project (or nothing) and never a half-written one. The project's manifest
    (``.trigc-manifest.json``) lists the files written here; an existing folder holding
    anything else is an ``OutputError`` unless ``overwrite``, which replaces trigc's
    files and keeps the others.

    ``extra(root, ctx, estimate)``, when given, is called after the project is written
    into the temporary directory ``root`` and before it is moved into place, to add
    files (the IP export uses it).

    Returns the project path and the latency/resource estimate."""
    from trigc.estimate import Budgets
    from trigc.outputs import check_target, output_errors, replace_dir

    settings = settings or Settings()
    budgets = budgets if budgets is not None else Budgets()
    target = Path(output_dir).resolve()
    with output_errors(target):
        check_target(target, overwrite)
    ctx = render(graph, settings)
    est = _estimate(graph, settings)

    def build(root: Path) -> None:
        _write(root, graph, settings, ctx, tb_inputs, est, budgets)
        if extra is not None:
            extra(root, ctx, est)

    replace_dir(target, build, overwrite=overwrite)
    log.info("wrote %s", target)
    return target, est


__all__ = ["Settings", "render", "write_project"]

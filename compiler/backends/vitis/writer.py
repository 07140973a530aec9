"""Write an HLS C++ project for a final IR graph: glue rendered with Jinja2, kernels
copied, testbench data and the estimate as :mod:`trigc.project` computed them (this
module runs neither the emulator nor the estimator). Deterministic and atomic.

One renderer serves both HLS backends. ``vitis`` spells every type as ap_fixed and
writes Vitis HLS pragmas and tcl; ``catapult`` spells them as ac_fixed
(:func:`trigc.fixed.to_ac`; ``defines.h`` defines ``TRIGC_AC_TYPES``, so the same
kernel headers compile against ``ac_fixed.h``) and writes Catapult's
``directives.tcl`` and ``build_prj.tcl``. The parameters, the testbench and the C-sim
bridge are the same files for both."""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jinja2
import numpy as np

from trigc.backends.vitis.config import Names, config_for, tensor_names
from trigc.backends.vitis.stream import render_stream
from trigc.backends.vitis.interfaces import (
    annotate_ports, check_ii, control_signals, get_interface,
)
from trigc.errors import ConfigError, PrecisionError
from trigc.fixed import FixedType, Overflow, Rounding, to_ac, to_cpp
from trigc.ir.graph import Graph
from trigc.ir.serialize import graph_to_json
from trigc.names import printable
from trigc.plans import plan
from trigc.outputs import replace_dir
from trigc.target import DEFAULT_INTERFACE, BuildOptions

log = logging.getLogger(__name__)

VERSION = "0.1.0"
TB_EVENTS = 100
TRACE_MAX_WIDTH = 64


@dataclass(frozen=True)
class ProjectData:
    """What :mod:`trigc.project` computes for a project and the writer only writes:
    the testbench inputs and the emulator's raw outputs for them (one array per model
    input and output, first axis the events), and the JSON forms of the estimate and
    the budgets."""

    tb_inputs: list[np.ndarray]
    tb_outputs: list[np.ndarray]
    estimate: dict
    budgets: dict


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


#: the C++ number library of each HLS backend: its name, its spelling of a type, the
#: kernel header that library's projects do not need
LIBRARIES = {"vitis": ("ap", to_cpp, "trigc_types_ac.h"),
             "catapult": ("ac", to_ac, "trigc_types_ap.h")}


def _spell(names: Names, t: FixedType, where: str) -> str:
    """``t`` in the project's number library; a type it cannot spell (AP_WRAP_SM in
    ac_fixed) is a PrecisionError naming ``where``."""
    try:
        return names.type_name(t)
    except PrecisionError as exc:
        raise PrecisionError(f"{where}: {exc}") from None


def ac_carry_hazard(src: FixedType, dst: FixedType) -> bool:
    """True where ac_fixed.h drops a rounding carry (tests/csim/test_fixed_vs_acfixed.py,
    divergence 3): an unsigned source assigned to a type with fewer fraction bits,
    a rounding mode and AC_SAT / AC_SAT_SYM, when the source's bits above the rounding
    position exactly fill the destination's 32-bit storage words; an all-ones source
    then becomes 0 instead of the maximum."""
    words = (dst.width + 31 + (0 if dst.signed else 1)) // 32
    return (not src.signed and dst.frac_bits < src.frac_bits
            and dst.rounding not in (Rounding.TRN, Rounding.TRN_ZERO)
            and dst.overflow in (Overflow.SAT, Overflow.SAT_SYM)
            and src.width == src.frac_bits - dst.frac_bits + 32 * words)


def _check_ac_assignments(node, kernel) -> None:
    """Refuse a layer whose result assignment meets :func:`ac_carry_hazard`: the one
    from its accumulator (Dense, Conv) or from each of its inputs."""
    accum = getattr(kernel, "accum_type", None)
    sources = [accum] if accum is not None else [t.type for t in node.inputs if t.type]
    for src in sources:
        if ac_carry_hazard(src, node.output.type):
            raise PrecisionError(
                f"{node.where()}: assigning {src} to {node.output.type} loses the rounding "
                "carry in ac_fixed.h (an all-ones value becomes 0); give the output one "
                "more or one fewer fraction bit, AP_TRN rounding, or use --backend vitis")


def _check_ac_inputs(graph: Graph) -> None:
    """Refuse an input type whose conversion from double ac_fixed.h gets wrong
    (tests/csim/test_fixed_vs_acfixed.py, divergence 4): signed, 32 bits, AP_SAT_ZERO
    and a rounding mode, where a value just below the minimum that rounds up to it
    becomes 0."""
    for t in graph.inputs:
        ty = t.type
        if (ty.signed and ty.width == 32 and ty.overflow is Overflow.SAT_ZERO
                and ty.rounding is not Rounding.TRN):
            raise PrecisionError(
                f"input {printable(t.name)!r}: ac_fixed.h converts doubles just below the "
                f"minimum of {ty} to 0; give the input 31 or 33 bits, AP_SAT or AP_TRN, or "
                "use --backend vitis")


def _ports(graph: Graph, names: Names, tensors) -> list[dict]:
    ports, offset = [], 0
    for t in tensors:
        size = int(np.prod(t.shape)) if t.shape else 1
        array = names.array[t.name]
        cpp = _spell(names, t.type, f"port {printable(t.name)!r}")
        ports.append({"name": t.name, "array": array, "ctype": names.ctype[t.name],
                      "macro": f"N_{array.upper()}", "size": size, "offset": offset,
                      "shape": list(t.shape), "type": str(t.type), "cpp": cpp,
                      "width": t.type.width, "integer_bits": t.type.integer_bits,
                      "frac_bits": t.type.frac_bits, "signed": t.type.signed})
        offset += size
    return ports


def _validate(graph: Graph, settings: BuildOptions) -> None:
    settings.check_layers({n.name for n in graph.nodes} | {n.source for n in graph.nodes},
                          sorted({n.source or n.name for n in graph.nodes}))
    for t in (*graph.inputs, *graph.outputs):
        if t.type.width > TRACE_MAX_WIDTH:
            raise ConfigError(
                f"Port {t.name!r} is {t.type.width} bits wide; ports are limited to "
                f"{TRACE_MAX_WIDTH} bits. Quantize the tensor to a narrower type")
    tcl_word(settings.part)  # both are written into the Tcl scripts
    tcl_word(settings.clock_ns)
    if settings.backend == "catapult" and settings.interface == "axis":
        raise ConfigError(
            "--interface axis packs AXI4-Stream words with Vitis' hls::stream; Catapult "
            "projects have array ports (hs, pipeline or pipeline_vld); drop --interface "
            "axis or use --backend vitis")


def render(graph: Graph, settings: BuildOptions) -> dict:
    """Everything the templates need, computed once (and every error raised here,
    before anything is written)."""
    _validate(graph, settings)
    library, type_name, _ = LIBRARIES[settings.backend]
    names = tensor_names(graph)._replace(type_name=type_name)
    if settings.io_mode == "stream":
        return _render_stream(graph, settings, names)
    if library == "ac":
        _check_ac_inputs(graph)
    layers, offset = [], 0
    outputs = {t.name for t in graph.outputs}
    ii, reused = 1, []
    for node in graph.nodes:
        kernel = plan(node, settings)
        ii = max(ii, kernel.ii)
        if kernel.reuse > 1:
            reused.append(f"{node.source or node.name} (reuse {kernel.reuse})")
        try:
            cfg = config_for(node, names, kernel)
        except PrecisionError as exc:  # a type the library cannot spell
            raise PrecisionError(f"{node.where()}: {exc}") from None
        if library == "ac":
            _check_ac_assignments(node, kernel)
        cfg["is_output"] = node.output.name in outputs
        traced = node.output.type.width <= TRACE_MAX_WIDTH
        cfg["trace_offset"] = offset if traced else -1  # -1: no TRIGC_TRACE is emitted
        if traced:
            offset += cfg["output_size"]
        layers.append(cfg)
    typedefs = _typedefs(graph, names)
    inputs, outs = _ports(graph, names, graph.inputs), _ports(graph, names, graph.outputs)
    interface = get_interface(settings.interface)
    check_ii(interface, ii, reused)
    ii = max(ii, annotate_ports(inputs, outs, interface, settings.axis_word_bits))
    return {
        "name": names.top, "guard": names.top.upper(), "version": VERSION,
        "backend": settings.backend, "library": library,
        "mem_map_threshold": _register_threshold(graph),
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


def _typedefs(graph: Graph, names: Names) -> list[dict]:
    typedefs = [{"name": names.ctype[t.name], "comment": t.name,
                 "cpp": _spell(names, t.type, f"input {printable(t.name)!r}")}
                for t in graph.inputs]
    return typedefs + [{"name": names.ctype[n.output.name],
                        "comment": f"{n.op.value} {n.source or n.name}",
                        "cpp": _spell(names, n.output.type, n.where())} for n in graph.nodes]


def _render_stream(graph: Graph, settings: BuildOptions, names: Names) -> dict:
    """The context of a streaming design (:mod:`trigc.backends.vitis.stream`): the
    same keys as an array design's (ports, typedefs, interface, ii), plus the
    streams and processes; nothing is traced (``trace_size`` 0)."""
    s = render_stream(graph, settings, names)
    interface = get_interface("axis")
    layers = [{"node": p["node"], "op": p["op"], "source": p["source"],
               "struct": struct} for p in s["processes"] for struct in p["structs"]]
    ports = s["inputs"] + s["outputs"]
    return {
        "name": names.top, "guard": names.top.upper(), "version": VERSION,
        "backend": settings.backend, "library": "ap", "io_mode": "stream",
        "mem_map_threshold": _register_threshold(graph),
        "layers": layers, "processes": s["processes"], "streams": s["streams"],
        "typedefs": _typedefs(graph, names), "inputs": s["inputs"], "outputs": s["outputs"],
        "ports": ports, "ii": s["stream_ii"], "latency_cycles": s["stream_latency"],
        "part": settings.part, "clock_ns": settings.clock_ns,
        "interface": {"name": "axis", "block": "ap_ctrl_none", "ports": "axis",
                      "summary": "AXI4-Stream, one word per pixel (all channels), "
                                 "free-running dataflow"},
        "control": control_signals(interface, True), "board": settings.board,
        "trace_size": 0, "trace": [], "cycle_bound": s["cycle_bound"],
        "in_total": sum(p["size"] for p in s["inputs"]),
        "out_total": sum(p["size"] for p in s["outputs"]),
    }


def _register_threshold(graph: Graph) -> int:
    """Catapult's MEM_MAP_THRESHOLD (bits) above every array of the design, so each
    stays in registers (fully parallel, as Vitis' complete partitioning): the largest
    tensor's element count times the widest of 64 bits and every tensor's width (the
    kernels' local arrays, accumulators included, hold at most that many elements of
    at most that width)."""
    tensors = [*graph.inputs, *(n.output for n in graph.nodes)]
    elements = max((int(np.prod(t.shape or (1,))) for t in tensors), default=1)
    width = max([64, *(t.type.width for t in tensors)])
    return elements * width + 1


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


def _write_tb_data(root: Path, inputs: list[np.ndarray], outputs: list[np.ndarray]) -> None:
    """The testbench's input rows (floats) and expected output rows (raw integers)."""
    n = inputs[0].shape[0]
    flat_in = np.concatenate([x.reshape(n, -1) for x in inputs], axis=1)
    flat_out = np.concatenate([r.reshape(n, -1) for r in outputs], axis=1)
    (root / "tb_data").mkdir()
    with open(root / "tb_data" / "tb_input_features.dat", "w") as f:
        for row in flat_in:
            f.write(" ".join(_fmt_float(v) for v in row) + "\n")
    with open(root / "tb_data" / "tb_output_predictions.dat", "w") as f:
        for row in flat_out:
            f.write(" ".join(str(int(v)) for v in row) + "\n")


def _write(root: Path, graph: Graph, settings: BuildOptions, ctx: dict,
           data: ProjectData) -> None:
    env = glue_env()
    name = ctx["name"]  # the top function's identifier (trigc.names), not the raw name
    fw = root / "firmware"
    (fw / "kernels").mkdir(parents=True)
    (root / "tb").mkdir()
    files = {
        fw / f"{name}.h": "top.h.j2",
        fw / "defines.h": "defines.h.j2",
        fw / "parameters.h": "parameters.h.j2",
        root / "tb" / f"{name}_test.cpp": "testbench.cpp.j2",
    }
    if ctx.get("io_mode") == "stream":
        files.update({fw / f"{name}.h": "stream_top.h.j2", fw / f"{name}.cpp": "stream_top.cpp.j2",
                      root / "tb" / f"{name}_test.cpp": "stream_testbench.cpp.j2",
                      root / "build_prj.tcl": "build_prj.tcl.j2"})
    elif settings.backend == "catapult":
        files.update({fw / f"{name}.cpp": "catapult/top.cpp.j2",
                      root / "directives.tcl": "catapult/directives.tcl.j2",
                      root / "build_prj.tcl": "catapult/build_prj.tcl.j2"})
    else:
        files.update({fw / f"{name}.cpp": "top.cpp.j2",
                      root / "build_prj.tcl": "build_prj.tcl.j2"})
    for path, template in files.items():
        path.write_text(env.get_template(template).render(**ctx))
    unused = LIBRARIES[settings.backend][2]  # the other library's spelling
    stream = ctx.get("io_mode") == "stream"
    for header in sorted((templates_dir() / "kernels").glob("*.h")):
        if header.name != unused and (stream or header.name != "trigc_stream.h"):
            shutil.copyfile(header, fw / "kernels" / header.name)
    _write_tb_data(root, data.tb_inputs, data.tb_outputs)
    stored = settings.to_json()
    stored.pop("budgets", None)  # stored on their own, as meta["budgets"]
    meta = {
        "trigc_version": VERSION, "name": name, "settings": stored,
        "inputs": ctx["inputs"], "outputs": ctx["outputs"], "trace": ctx["trace"],
        "trace_size": ctx["trace_size"], "ii": ctx["ii"],
        **({"io_mode": "stream", "latency_cycles": ctx["latency_cycles"],
            "cycle_bound": ctx["cycle_bound"],
            "streams": [{k: st[k] for k in ("name", "id", "pixels", "chans", "width",
                                             "depth", "default_depth", "peak_model", "port")}
                        for st in ctx["streams"]]}
           if ctx.get("io_mode") == "stream" else {}),
        "interface": ctx["interface"], "control": ctx["control"],
        "precision_report": [str(r) for r in graph.precision_report],
        "budgets": data.budgets, "estimate": data.estimate,
        "graph": graph_to_json(graph),
    }
    (root / "trigc.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")


def write_project(graph: Graph, output_dir, settings: BuildOptions, ctx: dict,
                  data: ProjectData, extra: Callable[[Path], None] | None = None,
                  overwrite: bool = False) -> Path:
    """Write the project of ``graph`` (``ctx`` is its :func:`render`) to ``output_dir``
    atomically with ``trigc.outputs.replace_dir``: into a temporary directory beside
    it, then swapped into place, so a failure leaves the old project (or nothing) and
    never a half-written one. The project's manifest (``.trigc-manifest.json``) lists
    the files written here; an existing folder holding anything else is an
    ``OutputError`` unless ``overwrite``, which replaces trigc's files and keeps the
    others.

    ``extra(root)``, when given, is called after the project is written into the
    temporary directory ``root`` and before it is moved into place, to add files
    (the estimate's reports, the IP export's files). Returns the project path."""

    def build(root: Path) -> None:
        _write(root, graph, settings, ctx, data)
        if extra is not None:
            extra(root)

    target = replace_dir(output_dir, build, overwrite=overwrite)
    log.info("wrote %s", target)
    return target


__all__ = ["ProjectData", "glue_env", "render", "tb_inputs_for", "write_project"]

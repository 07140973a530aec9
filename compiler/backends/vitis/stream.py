"""Render a streaming (``io_mode="stream"``) Vitis HLS design from its
:class:`~trigc.plans.stream.StreamPlan`: one word type per stream, one config struct
and kernel functor per process, the DATAFLOW top function and the C-sim scheduler
(``hls_templates/glue/stream_*.j2``, ``hls_templates/kernels/trigc_stream.h``).

Every name in the C++ comes from :func:`trigc.names.identifier` (streams ``s<i>_``,
processes ``p<i>_``, prefixed by their position so that they are unique); the
user's names reach the C++ only as escaped strings (the FIFO names of the C-sim's
deadlock messages)."""

from __future__ import annotations

import numpy as np

from trigc.backends.vitis.config import Names, config_for, dense_struct
from trigc.errors import ConfigError, UnsupportedOpError
from trigc.fixed import FixedType
from trigc.ir.graph import Graph
from trigc.ir.ops import Op
from trigc.names import identifier, printable
from trigc.plans import GatherPlan, plan
from trigc.plans.base import frozen_array, operands
from trigc.plans.stream import StreamPlan, StreamProcess, schedule, stream_plan
from trigc.target import DEFAULT_INTERFACE, BuildOptions

STREAM_INTERFACES = (DEFAULT_INTERFACE, "axis")


def _struct(name, consts=(), typedefs=(), arrays=(), children=()) -> dict:
    return {"name": name, "consts": list(consts), "typedefs": list(typedefs),
            "arrays": list(arrays), "functions": [], "children": list(children)}


def _cid(prefix: str, i: int, name: str) -> str:
    return f"{prefix}{i}_{identifier(name, prefix='x')}"


class _Renderer:
    def __init__(self, graph: Graph, settings: BuildOptions, names: Names,
                 sp: StreamPlan) -> None:
        self.graph, self.settings, self.names, self.sp = graph, settings, names, sp
        self.sid = {s: _cid("s", i, s) for i, s in enumerate(sp.streams)}

    def word(self, stream: str) -> str:
        return f"{self.sid[stream]}_word"

    def elem(self, stream: str) -> str:
        return self.names.ctype[self.sp.streams[stream].tensor]

    def process(self, i: int, p: StreamProcess) -> dict:
        base = _cid("p", i, p.name)
        cfg = f"{base}_config"
        kernel = f"{base}_kernel"
        ins, outs = [self.sid[s] for s in p.inputs], [self.sid[s] for s in p.outputs]
        structs, functor = [], None
        s_in = self.sp.streams[p.inputs[0]]
        s_out = self.sp.streams[p.outputs[0]]
        in_t, out_t = self.elem(p.inputs[0]), self.elem(p.outputs[0])
        if p.kind == "clone":
            structs.append(_struct(cfg, [("pixels", s_in.pixels), ("n_chan", s_in.chans)]))
            cls = f"trigc::clone_process<{in_t}, {cfg}>"
        elif p.kind == "zeropad":
            g = p.owner.inputs[0]
            h, w = (g.shape[0], g.shape[1]) if len(g.shape) == 3 else (1, g.shape[0])
            top, left, bottom, right = p.pad
            structs.append(_struct(cfg, [("in_h", h), ("in_w", w), ("n_chan", s_in.chans),
                                         ("pad_top", top), ("pad_left", left),
                                         ("pad_bottom", bottom), ("pad_right", right)]))
            cls = f"trigc::zeropad_process<{in_t}, {cfg}>"
        elif p.kind == "window":
            cls, functor = self.window(p, cfg, kernel, in_t, out_t, structs)
        elif p.kind == "reduce":
            node = p.node
            mode = {Op.GLOBAL_MAXPOOL: 0}.get(node.op)
            kernel_plan = plan(node, self.settings)
            if mode is None:
                mode = 1 if kernel_plan.divisor > 1 else 2
            accum = (self.names.type_name(kernel_plan.accum_type)
                     if kernel_plan.accum_type is not None else in_t)
            structs.append(_struct(cfg, [("n_spatial", s_in.pixels), ("n_chan", s_in.chans),
                                         ("mode", mode)], [("accum_t", accum)]))
            cls = f"trigc::reduce_process<{in_t}, {out_t}, {cfg}>"
        elif p.kind == "gather":
            node = p.node
            gp = GatherPlan(**operands(node), index=frozen_array(p.index))
            from trigc.backends.vitis.config import config_transpose
            g = config_transpose(node, self.names, gp)
            g["struct"]["name"] = f"{base}_gather"
            structs.append(g["struct"])
            structs.append(_struct(cfg, [("p_in", s_in.pixels), ("c_in", s_in.chans),
                                         ("p_out", s_out.pixels), ("c_out", s_out.chans)]))
            functor = {"name": kernel, "args": 1, "in_t": [in_t], "out_t": out_t,
                       "in_n": [s_in.pixels * s_in.chans],
                       "out_n": s_out.pixels * s_out.chans,
                       "call": f"trigc::gather<{in_t}, {out_t}, {base}_gather>"}
            cls = f"trigc::gather_process<{in_t}, {out_t}, {cfg}, {kernel}>"
        elif p.kind == "append":
            s_b = self.sp.streams[p.inputs[1]]
            structs.append(_struct(cfg, [("p_a", s_in.pixels), ("p_b", s_b.pixels),
                                         ("n_chan", s_in.chans)]))
            cls = (f"trigc::append_process<{in_t}, {self.elem(p.inputs[1])}, {out_t}, "
                   f"{cfg}>")
        elif p.kind in ("pixel", "binary"):
            cls, functor = self.pixel(p, base, cfg, kernel, structs)
        else:  # pragma: no cover - the plan only makes the kinds above
            raise UnsupportedOpError(f"{p.owner.where()}: no stream process {p.kind}")
        step = {"clone": "try_clone", "binary": "try_step2",
                "append": "try_append"}.get(p.kind, "try_step")
        return {"name": base, "kind": p.kind, "cls": cls, "structs": structs,
                "functor": functor, "inputs": ins, "outputs": outs, "ii": p.ii,
                "steps": p.steps, "try": step,
                "node": p.node.name if p.node is not None else p.name,
                "source": p.owner.source or p.owner.name, "op": p.owner.op.value}

    def window(self, p, cfg, kernel, in_t, out_t, structs):
        from trigc.plans.window import window_geometry
        node = p.node
        g = window_geometry(node)
        s_in = self.sp.streams[p.inputs[0]]
        if any(p.pad) or node.op is not Op.CONV:
            in_h, in_w = g.in_h, g.in_w
        else:  # the padded raster written by the Conv's zeropad process
            in_h = g.in_h + g.pad_top + g.pad_bottom
            in_w = g.in_w + g.pad_left + g.pad_right
        top, left, bottom, right = p.pad
        n_out = node.output.shape[-1]
        consts = [("in_h", in_h), ("in_w", in_w), ("n_chan", s_in.chans), ("n_out", n_out),
                  ("kernel_h", g.kernel_h), ("kernel_w", g.kernel_w),
                  ("stride_h", g.stride_h), ("stride_w", g.stride_w),
                  ("out_h", g.out_h), ("out_w", g.out_w), ("pad_top", top),
                  ("pad_left", left), ("pad_bottom", bottom), ("pad_right", right)]
        taps = g.kernel_h * g.kernel_w
        kp = plan(node, self.settings)
        if node.op is Op.CONV:
            mult = dense_struct(f"{cfg}_mult", kp, self.names.type_name)
            structs.append(_struct(cfg, consts, [("mult_config", mult["name"])],
                                   children=[mult]))
            functor = f"trigc::conv_window_kernel<{in_t}, {out_t}, {cfg}_mult, {taps}>"
        elif node.op is Op.MAXPOOL:
            structs.append(_struct(cfg, consts))
            functor = f"trigc::max_window_kernel<{in_t}, {out_t}, {taps}, {s_in.chans}>"
        else:
            accum = self.names.type_name(kp.accum_type)
            structs.append(_struct(cfg, consts, [("accum_t", accum)]))
            include = "true" if kp.count_include_pad else "false"
            functor = (f"trigc::avg_window_kernel<{in_t}, {out_t}, {cfg}::accum_t, {taps}, "
                       f"{s_in.chans}, {include}>")
        return f"trigc::window_process<{in_t}, {out_t}, {cfg}, {functor} >", None

    def pixel(self, p, base, cfg, kernel, structs):
        node = p.pixel_node
        kp = plan(node, self.settings)
        c = config_for(node, self.names, kp)
        c["struct"]["name"] = f"{base}_op"
        self._rename_children(c["struct"], base)
        structs.append(c["struct"])
        s_out = self.sp.streams[p.outputs[0]]
        ins = [self.sp.streams[s] for s in p.inputs]
        types = c.get("types") or []
        call = f"trigc::{c['kernel']}<{', '.join(types)}, {base}_op>"
        if p.kind == "binary":
            structs.append(_struct(cfg, [("pixels", s_out.pixels), ("c_a", ins[0].chans),
                                         ("c_b", ins[1].chans), ("c_out", s_out.chans)]))
            a_t, b_t = self.elem(p.inputs[0]), self.elem(p.inputs[1])
            out_t = self.elem(p.outputs[0])
            functor = {"name": kernel, "args": 2, "in_t": [a_t, b_t], "out_t": out_t,
                       "in_n": [ins[0].chans, ins[1].chans], "out_n": s_out.chans,
                       "call": call}
            return f"trigc::binary_process<{a_t}, {b_t}, {out_t}, {cfg}, {kernel}>", functor
        in_t, out_t = self.elem(p.inputs[0]), self.elem(p.outputs[0])
        structs.append(_struct(cfg, [("pixels", s_out.pixels), ("c_in", ins[0].chans),
                                     ("c_out", s_out.chans)]))
        functor = {"name": kernel, "args": 1, "in_t": [in_t], "out_t": out_t,
                   "in_n": [ins[0].chans], "out_n": s_out.chans, "call": call}
        return f"trigc::pixel_process<{in_t}, {out_t}, {cfg}, {kernel}>", functor

    @staticmethod
    def _rename_children(struct: dict, base: str) -> None:
        """A Dense's child structs are named after the node; give them this process's
        name (a process and an array layer never share a project, but two processes of
        one node must not share a struct name)."""
        renamed = {}
        for k, child in enumerate(struct["children"]):
            new = f"{base}_op_child{k}"
            renamed[child["name"]] = new
            child["name"] = new
        struct["typedefs"] = [(n, renamed.get(v, v)) for n, v in struct["typedefs"]]


def _port(graph_tensor, stream, sid: str, names: Names, offset: int, spell,
          direction: str) -> dict:
    """A top-level port: an AXI4-Stream of one word per pixel (TDATA padded to whole
    bytes, as Vitis pads a packed struct)."""
    size = int(np.prod(graph_tensor.shape)) if graph_tensor.shape else 1
    t = graph_tensor.type
    word_bits = -(-stream.chans * t.width // 8) * 8
    return {"name": graph_tensor.name, "array": names.array[graph_tensor.name],
            "ctype": names.ctype[graph_tensor.name], "arg": sid, "stream": sid,
            "word_ctype": f"{sid}_word", "macro": f"N_{names.array[graph_tensor.name].upper()}",
            "size": size, "offset": offset, "shape": list(graph_tensor.shape),
            "type": str(t), "cpp": spell(t), "width": t.width, "integer_bits": t.integer_bits,
            "frac_bits": t.frac_bits, "signed": t.signed, "protocol": "axis",
            "pixels": stream.pixels, "chans": stream.chans, "words": stream.pixels,
            "per_word": stream.chans, "word_bits": word_bits, "bits": size * t.width,
            "rtl": [{"name": f"{sid}_TDATA", "direction": direction, "width": word_bits,
                     "role": "data word: one pixel, all channels"},
                    {"name": f"{sid}_TVALID", "direction": direction, "width": 1,
                     "role": "word valid"},
                    {"name": f"{sid}_TREADY", "direction": "out" if direction == "in"
                     else "in", "width": 1, "role": "word accepted"}]}


def check_stream_options(settings: BuildOptions) -> None:
    if settings.backend != "vitis":
        raise ConfigError(f"--io stream is built for the Vitis HLS backend; the {settings.backend} "
                          "backend takes --io parallel only: drop --io stream or use "
                          "--backend vitis")
    if settings.interface not in STREAM_INTERFACES:
        raise ConfigError(f"--io stream has AXI4-Stream ports, one word per pixel; "
                          f"--interface {settings.interface} does not apply: drop it")
    if settings.axis_word_bits is not None:
        raise ConfigError("--io stream packs one pixel (all its channels) per AXI4-Stream "
                          "word; drop --axis-word-bits")


def render_stream(graph: Graph, settings: BuildOptions, names: Names) -> dict:
    """The template context of a streaming design (see the module doc)."""
    check_stream_options(settings)
    sp = stream_plan(graph, settings)
    r = _Renderer(graph, settings, names, sp)
    procs = [r.process(i, p) for i, p in enumerate(sp.processes)]
    sched = schedule(sp)
    depths = sp.depths(dict(settings.fifo_depths))
    unknown = sorted(set(settings.fifo_depths) - set(sp.streams))
    if unknown:
        raise ConfigError(f"FIFO depths given for unknown streams {unknown}; the streams "
                          f"are {sorted(sp.streams)}")
    streams = []
    for name, s in sp.streams.items():
        streams.append({"name": name, "id": r.sid[name], "label": printable(name),
                        "word": r.word(name), "elem": r.elem(name), "chans": s.chans,
                        "pixels": s.pixels, "width": s.type.width,
                        "depth": depths[name], "default_depth": s.default_depth,
                        "peak_model": sched.peak.get(name, 1),
                        "port": name in sp.inputs or name in sp.outputs})
    spell = names.type_name
    inputs, outputs, off = [], [], 0
    for t, s in zip(graph.inputs, sp.inputs):
        inputs.append(_port(t, sp.streams[s], r.sid[s], names, off, spell, "in"))
        order = (sp.input_order or {}).get(s)
        inputs[-1]["order"] = None if order is None else [int(i) for i in order]
        off += inputs[-1]["size"]
    off = 0
    for t, s in zip(graph.outputs, sp.outputs):
        outputs.append(_port(t, sp.streams[s], r.sid[s], names, off, spell, "out"))
        off += outputs[-1]["size"]
    bound = sum(p.cycles for p in sp.processes) + sum(
        sp.streams[s].pixels for s in (*sp.inputs, *sp.outputs))
    return {"processes": procs, "streams": streams, "inputs": inputs, "outputs": outputs,
            "stream_ii": sched.ii, "stream_latency": sched.latency, "cycle_bound": bound}


__all__ = ["check_stream_options", "render_stream"]

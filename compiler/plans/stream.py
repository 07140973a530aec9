"""The streaming (``io_mode="stream"``) plan of a whole graph: processes and streams.

In a streaming design every run-time tensor is a FIFO of *words*, one word per
pixel (all channels of a pixel, channels-last), and every layer is a process that
runs one *step* per cycle slot: a step reads at most one word from each input
stream and writes at most one word to each output stream. The processes:

``window``  Conv, MaxPool, AvgPool: a line buffer over the (padded) input raster;
            one step per raster position, a window result at each output position
            (Conv's window goes through the dense kernel of its :class:`ConvPlan`).
``zeropad`` the zero padding of a Conv as a process of its own: one step per
            position of the padded raster, a read inside the input.
``reduce``  global pooling: one step per pixel, the result after the last.
``gather``  Reshape (between different word sizes), Transpose, Resize: the whole
            image buffered, then the output words in order (``index`` maps each
            output element to an input element).
``pixel``   element-wise ops, casts, LUTs, per-pixel Softmax and Dense on one
            word: the op's array kernel applied to each word (a per-pixel copy of
            the node, so its plan and config describe one word).
``binary``  Add/Sub/Mul and channel Concat of two streams, word by word.
``append``  Concat on the first axis: all words of one stream, then the other's.
``clone``   a tensor read by two processes (or read and also a model output): each
            word copied to two streams.

A step takes ``ii`` cycles (a Conv or Dense at reuse R: R). :func:`schedule`
computes when every step runs with unbounded FIFOs and one input word per cycle,
which gives the initiation interval and latency per image and each stream's peak
occupancy; the C-simulation's scheduler (``hls_templates/kernels/trigc_stream.h``)
follows the same rules cycle by cycle with bounded FIFOs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trigc.errors import UnsupportedOpError
from trigc.fixed import FixedType
from trigc.ir.graph import Graph, Node, Tensor
from trigc.ir.ops import Op
from trigc.plans.base import ReuseSource, frozen_array, size
from trigc.plans.layout import plan_resize, plan_transpose

WINDOW_OPS = frozenset({Op.CONV, Op.MAXPOOL, Op.AVGPOOL})
REDUCE_OPS = frozenset({Op.GLOBAL_AVGPOOL, Op.GLOBAL_MAXPOOL})
GATHER_OPS = frozenset({Op.TRANSPOSE, Op.RESIZE})
BINARY_OPS = frozenset({Op.ADD, Op.SUB, Op.MUL})

MIN_DEPTH = 2
"""The smallest FIFO depth written into a project (Vitis HLS' default)."""


@dataclass(frozen=True)
class StreamTensor:
    """One FIFO: ``pixels`` words per image of ``chans`` elements of ``type``;
    ``tensor`` is the IR tensor it carries (clones carry the same tensor)."""

    name: str
    tensor: str
    pixels: int
    chans: int
    type: FixedType

    @property
    def word_bits(self) -> int:
        return self.chans * self.type.width

    @property
    def default_depth(self) -> int:
        """A depth that never deadlocks: one whole image (every process has read all
        of an image's words once it has written all of its own)."""
        return max(self.pixels, MIN_DEPTH)


@dataclass(frozen=True, eq=False)
class StreamProcess:
    """One process of the dataflow design (see the module doc for the kinds).

    ``node`` is the IR node it implements (None for a clone or a Conv's zero
    padding, whose ``owner`` is then the node it serves); ``pixel_node`` is the
    per-word copy of ``node`` that pixel and binary processes render; ``reads`` and
    ``writes`` list, step by step of one image, whether the step reads a word from
    each input (all inputs together) and writes one to each output."""

    name: str
    kind: str
    node: Node | None
    owner: Node
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    steps: int
    ii: int
    reads: np.ndarray
    writes: np.ndarray
    pixel_node: Node | None = None
    index: np.ndarray | None = None
    pad: tuple[int, int, int, int] = (0, 0, 0, 0)

    @property
    def cycles(self) -> int:
        """Cycles per image when never stalled."""
        return self.steps * self.ii


@dataclass(frozen=True, eq=False)
class StreamPlan:
    """The processes in a topological order, the streams by name, and the model's
    input and output streams (in the graph's order)."""

    processes: tuple[StreamProcess, ...]
    streams: dict[str, StreamTensor]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    input_order: dict[str, np.ndarray] | None = None
    """Per input stream whose words are a transposed image: element j of the
    stream (pixel-major) is element ``input_order[j]`` of the model's input."""

    def depths(self, sized: dict[str, int] | None = None) -> dict[str, int]:
        """Every internal stream's depth: ``sized`` where given (written back by
        ``trigc csim --size-fifos``), else the safe default."""
        sized = sized or {}
        return {name: max(int(sized.get(name, s.default_depth)), MIN_DEPTH)
                for name, s in self.streams.items()}


def layout(t: Tensor) -> tuple[int, int]:
    """(pixels, chans) of a tensor in its natural channels-last layout."""
    n = size(t)
    if len(t.shape) >= 2:
        return n // t.shape[-1], t.shape[-1]
    return 1, n


def _bools(values) -> np.ndarray:
    return frozen_array(values, bool)


def _stream_error(node: Node, what: str) -> UnsupportedOpError:
    return UnsupportedOpError(f"{node.where()}: {what} is not supported with --io stream; "
                              "compile this model with --io parallel")


def window_steps(in_h, in_w, pads, kernel, strides, out_hw) -> tuple[np.ndarray, np.ndarray]:
    """reads/writes of a window process over the padded raster (one step per
    position): a read inside the input, a write where a window ends."""
    top, left, bottom, right = pads
    hp, wp = top + in_h + bottom, left + in_w + right
    r, c = np.divmod(np.arange(hp * wp), wp)
    reads = (r >= top) & (r < top + in_h) & (c >= left) & (c < left + in_w)
    kh, kw = kernel
    sh, sw = strides
    out_h, out_w = out_hw
    rr, cc = r - (kh - 1), c - (kw - 1)
    writes = ((rr >= 0) & (cc >= 0) & (rr % sh == 0) & (cc % sw == 0)
              & (rr // sh < out_h) & (cc // sw < out_w))
    return reads, writes


class _Builder:
    def __init__(self, graph: Graph, reuse: ReuseSource) -> None:
        self.graph = graph
        self.reuse = reuse
        self.streams: dict[str, StreamTensor] = {}
        self.procs: list[StreamProcess] = []
        self.layout: dict[str, tuple[int, int]] = {}
        self.readers: dict[str, list[str]] = {}  # tensor -> stream names to read
        self.taken: set[str] = set()
        self.pending: list[dict] = []
        self.input_order: dict[str, np.ndarray] = {}
        self.free_transpose: set[str] = set()
        self.fused: dict[str, Node] = {}

    def unique(self, base: str) -> str:
        name, k = base, 1
        while name in self.taken:
            name, k = f"{base}_{k}", k + 1
        self.taken.add(name)
        return name

    def stream(self, t: Tensor, suffix: str = "") -> str:
        pixels, chans = self.layout[t.name]
        name = self.unique(t.name + suffix)
        self.streams[name] = StreamTensor(name, t.name, pixels, chans, t.type)
        return name

    def add(self, **kw) -> None:
        kw.setdefault("owner", kw.get("node"))
        self.procs.append(StreamProcess(**kw))
        pending, self.pending = self.pending, []
        for clone in pending:  # the clones of what this process writes come after it
            self.procs.append(StreamProcess(**clone))

    def produce(self, t: Tensor) -> str:
        """The stream a producer writes for ``t``, fanned out by clones to every
        reader (the model's output port counts as one)."""
        first = self.stream(t)
        n_readers = len(t.users) + sum(1 for o in self.graph.outputs if o is t)
        pending = [first]
        while len(pending) < n_readers:
            src = pending.pop(0)
            a, b = self.stream(t, "_c"), self.stream(t, "_c")
            s = self.streams[src]
            self.pending.append(dict(
                name=self.unique(f"{t.name}_clone"), kind="clone", node=None,
                owner=t.producer or self.graph.nodes[0], inputs=(src,), outputs=(a, b),
                steps=s.pixels, ii=1, reads=_bools(np.ones(s.pixels)),
                writes=_bools(np.ones(s.pixels))))
            pending += [a, b]
        self.readers[t.name] = pending
        return first

    def read(self, t: Tensor) -> str:
        return self.readers[t.name].pop(0)

    # ---- layouts -------------------------------------------------------------------
    def assign_layouts(self) -> None:
        for t in self.graph.inputs:
            users = t.users
            self.layout[t.name] = layout(t)
            only = (users[0] if len(users) == 1 and not any(o is t for o in self.graph.outputs)
                    else None)
            if only is not None and only.op is Op.RESHAPE:
                self.layout[t.name] = layout(only.output)  # the order is the same
            elif only is not None and only.op is Op.TRANSPOSE:
                # a channels-first image (as torch models take it) is streamed
                # channels-last: the port words are the transposed pixels, and the
                # Transpose costs nothing
                self.layout[t.name] = layout(only.output)
                self.input_order[t.name] = plan_transpose(only).index
                self.free_transpose.add(only.name)
        for node in self.graph.nodes:
            self.layout[node.output.name] = layout(node.output)

    # ---- processes -----------------------------------------------------------------
    def build(self) -> StreamPlan:
        self.assign_layouts()
        ins = tuple(self.produce(t) for t in self.graph.inputs)
        for clone in self.pending:  # an input read twice: its clones come first
            self.procs.append(StreamProcess(**clone))
        self.pending = []
        for node in self.graph.nodes:
            self.node(node)
        outs = tuple(self.read(t) for t in self.graph.outputs)
        order = {s: self.input_order[t.name] for s, t in zip(ins, self.graph.inputs)
                 if t.name in self.input_order}
        return StreamPlan(tuple(self.procs), self.streams, ins, outs, order)

    def node(self, node: Node) -> None:
        op = node.op
        run = [t for t in node.inputs if not t.is_constant]
        if op in WINDOW_OPS:
            return self.window(node)
        if op in REDUCE_OPS:
            return self.reduce(node)
        if node.name in self.free_transpose:
            return self.pixel(node)
        if op is Op.TRANSPOSE and self.fusable(node):
            self.fused[node.output.name] = node
            return None
        if op in GATHER_OPS or (op is Op.RESHAPE and
                                self.layout[run[0].name] != self.layout[node.output.name]):
            return self.gather(node)
        if op is Op.CONCAT:
            return self.concat(node)
        if op in BINARY_OPS and len(run) == 2:
            return self.binary(node)
        return self.pixel(node)

    def window(self, node: Node) -> None:
        from trigc.plans.window import window_geometry
        g = window_geometry(node)
        if not g.channels_last:
            raise _stream_error(node, "a channels-first window")
        if (g.dilation_h, g.dilation_w) != (1, 1):
            raise _stream_error(node, "dilation")
        x = node.inputs[0]
        src = self.read(x)
        pads = (g.pad_top, g.pad_left, g.pad_bottom, g.pad_right)
        ii = self.reuse.reuse_for(node) if node.op is Op.CONV else 1
        if node.op is Op.CONV and any(pads):
            # zero padding as a process of its own; the Conv then slides over the
            # padded raster without padding
            hp, wp = g.in_h + pads[0] + pads[2], g.in_w + pads[1] + pads[3]
            reads, _ = window_steps(g.in_h, g.in_w, pads, (1, 1), (1, 1), (hp, wp))
            padded = self.unique(f"{node.output.name}_pad")
            self.streams[padded] = StreamTensor(padded, x.name, hp * wp, g.n_chan, x.type)
            self.add(name=self.unique(f"{node.name}_pad"), kind="zeropad", node=None,
                     owner=node, inputs=(src,), outputs=(padded,), steps=hp * wp, ii=1,
                     reads=_bools(reads), writes=_bools(np.ones(hp * wp)), pad=pads)
            src, in_h, in_w, pads = padded, hp, wp, (0, 0, 0, 0)
        else:
            in_h, in_w = g.in_h, g.in_w
        reads, writes = window_steps(in_h, in_w, pads, (g.kernel_h, g.kernel_w),
                                     (g.stride_h, g.stride_w), (g.out_h, g.out_w))
        out = self.produce(node.output)
        self.add(name=self.unique(node.name), kind="window", node=node, inputs=(src,),
                 outputs=(out,), steps=reads.size, ii=ii, reads=_bools(reads),
                 writes=_bools(writes), pad=pads)

    def reduce(self, node: Node) -> None:
        src = self.read(node.inputs[0])
        p = self.streams[src].pixels
        out = self.produce(node.output)
        last = np.arange(p) == p - 1
        self.add(name=self.unique(node.name), kind="reduce", node=node, inputs=(src,),
                 outputs=(out,), steps=p, ii=1, reads=_bools(np.ones(p)), writes=_bools(last))

    def fusable(self, node: Node) -> bool:
        """A Transpose whose only reader is a Reshape that reorders anyway (a
        channels-first Flatten): one gather does both."""
        y, x = node.output, node.inputs[0]
        users = y.users
        same = (x.type.signed, x.type.width, x.type.integer_bits) == (
            y.type.signed, y.type.width, y.type.integer_bits)  # the cast in between is exact
        return (same and len(users) == 1 and users[0].op is Op.RESHAPE
                and not any(o is y for o in self.graph.outputs)
                and self.layout[y.name] != self.layout[users[0].output.name])

    def gather(self, node: Node) -> None:
        x = node.inputs[0]
        fused = self.fused.pop(x.name, None)
        if fused is not None:  # Transpose + Reshape: the transpose's order
            src, index = self.read(fused.inputs[0]), plan_transpose(fused).index
        elif node.op is Op.TRANSPOSE:
            src, index = self.read(x), plan_transpose(node).index
        elif node.op is Op.RESIZE:
            src, index = self.read(x), plan_resize(node).index
        else:
            src, index = self.read(x), frozen_array(np.arange(size(x)))
        p_in = self.streams[src].pixels
        out = self.produce(node.output)
        p_out = self.layout[node.output.name][0]
        steps = p_in + p_out - 1
        k = np.arange(steps)
        self.add(name=self.unique(node.name), kind="gather", node=node, inputs=(src,),
                 outputs=(out,), steps=steps, ii=1, reads=_bools(k < p_in),
                 writes=_bools(k >= p_in - 1), index=frozen_array(index))

    def concat(self, node: Node) -> None:
        a, b = node.inputs
        if len(node.inputs) != 2 or a.is_constant or b.is_constant:
            raise _stream_error(node, "Concat of other than two run-time tensors")
        rank = len(node.output.shape)
        axis = node.attrs.axis % rank
        if axis == rank - 1:
            return self.binary(node)
        la, lb = self.layout[a.name], self.layout[b.name]
        if axis != 0 or la[1] != lb[1] or self.layout[node.output.name][1] != la[1]:
            raise _stream_error(node, f"Concat on axis {node.attrs.axis} of {a.shape} and "
                                f"{b.shape}")
        # the first axis: all of a's words, then all of b's
        sa, sb = self.read(a), self.read(b)
        pa, pb = self.streams[sa].pixels, self.streams[sb].pixels
        out = self.produce(node.output)
        self.add(name=self.unique(node.name), kind="append", node=node, inputs=(sa, sb),
                 outputs=(out,), steps=pa + pb, ii=1, reads=_bools(np.ones(pa + pb)),
                 writes=_bools(np.ones(pa + pb)))

    def binary(self, node: Node) -> None:
        a, b = node.inputs
        if self.layout[a.name][0] != self.layout[b.name][0] or (
                node.op is not Op.CONCAT and self.layout[a.name] != self.layout[b.name]):
            raise _stream_error(node, f"{node.op.value} of tensors {a.shape} and {b.shape} "
                                "(broadcast)")
        sa, sb = self.read(a), self.read(b)
        p = self.streams[sa].pixels
        out = self.produce(node.output)
        self.add(name=self.unique(node.name), kind="binary", node=node, inputs=(sa, sb),
                 outputs=(out,), steps=p, ii=1, reads=_bools(np.ones(p)),
                 writes=_bools(np.ones(p)), pixel_node=pixel_node(node, self.layout))

    def pixel(self, node: Node) -> None:
        x = next(t for t in node.inputs if not t.is_constant)
        if node.op is Op.DENSE and self.layout[x.name][0] != 1:
            raise _stream_error(node, "Dense applied per pixel")
        src = self.read(x)
        p = self.streams[src].pixels
        if self.layout[node.output.name][0] != p:
            raise _stream_error(node, f"{node.op.value} from {x.shape} to "
                                f"{node.output.shape}")
        out = self.produce(node.output)
        ii = self.reuse.reuse_for(node) if node.op is Op.DENSE else 1
        self.add(name=self.unique(node.name), kind="pixel", node=node, inputs=(src,),
                 outputs=(out,), steps=p, ii=ii, reads=_bools(np.ones(p)),
                 writes=_bools(np.ones(p)), pixel_node=pixel_node(node, self.layout))


def _word_tensor(t: Tensor, lay: dict[str, tuple[int, int]], pixels: int) -> Tensor:
    """The per-word copy of ``t``: a run-time tensor becomes one word; a constant
    must be the same for every pixel (per channel) and becomes one word's worth."""
    if not t.is_constant:
        return Tensor(t.name, (lay[t.name][1],), t.type)
    return t


def pixel_node(node: Node, lay: dict[str, tuple[int, int]]) -> Node:
    """``node`` on one word: its run-time tensors shaped (chans,), a constant operand
    of a binary op or Div reduced to one pixel's values (it must repeat across
    pixels)."""
    out = node.output
    pixels, chans = lay[out.name]
    inputs = []
    for t in node.inputs:
        if t.is_constant and node.op in (BINARY_OPS | {Op.DIV}):
            full = np.broadcast_to(t.value, out.shape).reshape(pixels, chans)
            if not (full == full[:1]).all():
                raise _stream_error(node, "a constant operand that differs between pixels")
            inputs.append(Tensor(t.name, (chans,), t.type, value=np.array(full[0])))
        else:
            inputs.append(_word_tensor(t, lay, pixels))
    y = Tensor(out.name, (chans,), out.type)
    op = Op.RESHAPE if node.op is Op.TRANSPOSE else node.op  # a free input transpose
    return Node(op, inputs, [y], node.attrs, node.name, node.source)


@dataclass(frozen=True)
class StreamSchedule:
    """When every step of one image runs (unbounded FIFOs, the input one word per
    cycle from cycle 0): ``ii`` the cycles between images in steady state,
    ``latency`` the cycle after the last output word of the image, ``peak`` each
    stream's largest occupancy and ``start`` every process's step start cycles."""

    ii: int
    latency: int
    peak: dict[str, int]
    start: dict[str, np.ndarray]


def schedule(sp: StreamPlan) -> StreamSchedule:
    """Each step starts as early as its process (``ii`` cycles after its previous
    step) and its inputs (a word is readable the cycle after it is written) allow:
    ``start[s] = max(start[s-1] + ii, avail[s])``, solved as a running maximum."""
    written: dict[str, np.ndarray] = {}
    for name in sp.inputs:
        written[name] = np.arange(sp.streams[name].pixels, dtype=np.int64)
    start = {}
    read_at: dict[str, np.ndarray] = {}
    for p in sp.processes:
        steps = np.arange(p.steps, dtype=np.int64)
        avail = np.full(p.steps, -(1 << 40), dtype=np.int64)
        idx = np.flatnonzero(p.reads)
        if p.kind == "append":  # a's words, then b's
            a, b = p.inputs
            avail[:] = np.concatenate([written[a], written[b]]) + 1
        else:
            for s in p.inputs:
                avail[idx] = np.maximum(avail[idx], written[s][: idx.size] + 1)
        t = steps * p.ii + np.maximum.accumulate(np.maximum(avail - steps * p.ii, 0))
        start[p.name] = t
        if p.kind == "append":
            n_a = written[p.inputs[0]].size
            read_at[p.inputs[0]], read_at[p.inputs[1]] = t[:n_a], t[n_a:]
        else:
            for s in p.inputs:
                read_at[s] = t[idx]
        for s in p.outputs:
            written[s] = t[np.flatnonzero(p.writes)]
    for name in sp.outputs:  # the output port takes a word per cycle
        w = written[name]
        out = np.maximum.accumulate(np.maximum(w + 1 - np.arange(w.size), 0)) + np.arange(w.size)
        read_at[name] = out
    peak = {}
    for name, w in written.items():
        r = read_at.get(name, w)
        events = np.concatenate([np.stack([w, np.ones_like(w)], 1),
                                 np.stack([r, -np.ones_like(r)], 1)])
        # a read in the same cycle as a write frees its slot first (readers run
        # before writers within a cycle)
        order = np.lexsort((events[:, 1], events[:, 0]))
        peak[name] = int(max(np.cumsum(events[order, 1]).max(initial=0), 1))
    latency = max(int(read_at[n][-1]) + 1 for n in sp.outputs) if sp.outputs else 0
    inputs = max((sp.streams[n].pixels for n in sp.inputs), default=1)
    ii = max([inputs, *(p.cycles for p in sp.processes)])
    return StreamSchedule(ii, latency, peak, start)


def stream_plan(graph: Graph, reuse: ReuseSource) -> StreamPlan:
    """The streaming plan of a final-IR graph (:class:`UnsupportedOpError` for a node
    no stream process takes, naming it and the fix)."""
    return _Builder(graph, reuse).build()


__all__ = ["MIN_DEPTH", "StreamPlan", "StreamProcess", "StreamSchedule", "StreamTensor",
           "layout", "pixel_node", "schedule", "stream_plan", "window_steps"]

"""Graph, Node and Tensor: the one IR every pass, the emulator and the backends read."""

from __future__ import annotations

import ast
import itertools
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import numpy as np

from trigc.errors import IRError
from trigc.fixed import FixedType, quantize, to_float
from trigc.ir.ops import ATTRS_FOR, Op
from trigc.ir.printer import format_graph


@dataclass(eq=False)
class Tensor:
    """A value in the graph.

    Activations have a per-sample ``shape`` (no batch axis). Constants have
    ``value`` (float64, exact real values) and their full shape. ``bounds`` are
    per-element raw-integer intervals (at ``type.frac_bits``) set by precision
    inference."""

    name: str
    shape: tuple[int, ...]
    type: FixedType | None = None
    value: np.ndarray | None = None
    producer: Node | None = None
    users: list[Node] = field(default_factory=list)
    source: str = ""
    bounds: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def is_constant(self) -> bool:
        return self.value is not None

    @property
    def size(self) -> int:
        """Number of elements (per sample for activations)."""
        return math.prod(self.shape)

    @property
    def raw(self) -> np.ndarray:
        """Raw integers of a typed constant."""
        if self.value is None or self.type is None:
            raise IRError(f"Tensor {self.name!r} is not a typed constant")
        return quantize(self.value, self.type)

    def replace_all_uses_with(self, other: Tensor, graph: Graph) -> None:
        """Point every use (and graph output) of this tensor at ``other``."""
        for node in list(dict.fromkeys(self.users)):
            node.inputs = [other if t is self else t for t in node.inputs]
            other.users.extend([node] * self.users.count(node))
        self.users = []
        graph.outputs = [other if t is self else t for t in graph.outputs]

    def __repr__(self) -> str:
        kind = "const " if self.is_constant else ""
        return f"<{kind}Tensor {self.name} {self.shape} {self.type}>"


@dataclass(eq=False)
class Node:
    """One operation. ``source`` is the user's layer name it came from."""

    op: Op
    inputs: list[Tensor]
    outputs: list[Tensor]
    attrs: Any
    name: str
    source: str = ""

    @property
    def output(self) -> Tensor:
        return self.outputs[0]

    def where(self) -> str:
        """How error messages name this node: the user's layer, then our node."""
        if self.source and self.source != self.name:
            return f"layer {self.source!r} (node {self.name!r}, {self.op.value})"
        return f"layer {self.name!r} ({self.op.value})"

    def __repr__(self) -> str:
        return f"<Node {self.name} {self.op.value}>"


_OVERFLOW_TEXT = re.compile(
    r"layer (?P<layer>.+) \((?P<op>\w+)\): override (?P<type>\S+) of (?P<tensor>.+) can "
    r"overflow; it needs (?P<bits>\d+) more integer bit\(s\)")


class OverflowReport(NamedTuple):
    """A user's type override that the tensor's value bounds can overflow."""

    layer: str
    op: str
    tensor: str
    type: FixedType
    needed_bits: int

    def __str__(self) -> str:
        return (f"layer {self.layer!r} ({self.op}): override {self.type} of {self.tensor!r} "
                f"can overflow; it needs {self.needed_bits} more integer bit(s)")

    @classmethod
    def parse(cls, text: str) -> OverflowReport:
        """The report ``str(report)`` printed (as a project's trigc.json keeps it)."""
        if _INEXACT_TEXT.fullmatch(text):  # the other kind of precision report
            return InexactReport.parse(text)
        m = _OVERFLOW_TEXT.fullmatch(text)
        try:
            if m is None:
                raise ValueError(text)
            layer, tensor = ast.literal_eval(m["layer"]), ast.literal_eval(m["tensor"])
        except (ValueError, SyntaxError):
            raise IRError(f"Not a precision report: {text!r}") from None
        return cls(layer, m["op"], tensor, FixedType.parse(m["type"]), int(m["bits"]))


_INEXACT_TEXT = re.compile(
    r"layer (?P<layer>.+) \((?P<op>\w+)\): division of (?P<tensor>.+) by (?P<div>.+) is "
    r"inexact; kept to (?P<frac>-?\d+) fractional bits in (?P<type>\S+) \(max error "
    r"2\^(?P<err>-?\d+)\); no Quant rounds it: add one after the division, or give the layer a "
    r"type \(precision=\{layer: type\}\)")


class InexactReport(NamedTuple):
    """A division by a constant that is not a power of two whose quotient is not
    rounded by the model (no Quant follows it): trigc chose how many fractional bits
    to keep, and the result is within ``2**max_error_exp`` of the exact quotient."""

    layer: str
    op: str
    tensor: str
    divisor: str  # the constant ("0.3"), or how many per-channel constants
    frac_bits: int
    type: FixedType
    max_error_exp: int

    @property
    def max_error(self) -> float:
        return 2.0**self.max_error_exp

    def __str__(self) -> str:
        return (f"layer {self.layer!r} ({self.op}): division of {self.tensor!r} by "
                f"{self.divisor} is inexact; kept to {self.frac_bits} fractional bits in "
                f"{self.type} (max error 2^{self.max_error_exp}); no Quant rounds it: add one "
                "after the division, or give the layer a type (precision={layer: type})")

    @classmethod
    def parse(cls, text: str) -> InexactReport:
        m = _INEXACT_TEXT.fullmatch(text)
        try:
            if m is None:
                raise ValueError(text)
            layer, tensor = ast.literal_eval(m["layer"]), ast.literal_eval(m["tensor"])
        except (ValueError, SyntaxError):
            raise IRError(f"Not a precision report: {text!r}") from None
        return cls(layer, m["op"], tensor, m["div"], int(m["frac"]),
                   FixedType.parse(m["type"]), int(m["err"]))


class Graph:
    """A DAG of nodes kept in topological order.

    ``precision_overrides`` are the user's types by tensor, node or layer name (and
    the keys 'input', 'default', 'weights'), read by precision inference, which
    fills ``precision_report`` with the overrides that can overflow."""

    def __init__(self, name: str = "model") -> None:
        self.name = name
        self.inputs: list[Tensor] = []
        self.outputs: list[Tensor] = []
        self.nodes: list[Node] = []
        self.tensors: dict[str, Tensor] = {}
        self.precision_overrides: dict[str, FixedType] = {}
        self.precision_report: list[OverflowReport] = []
        self._ids = itertools.count()

    # ---- building ---------------------------------------------------------
    def unique_name(self, base: str) -> str:
        name = base
        while name in self.tensors or any(n.name == name for n in self.nodes):
            name = f"{base}_{next(self._ids)}"
        return name

    def add_tensor(self, name: str, shape, type: FixedType | None = None,
                   value: np.ndarray | None = None, source: str = "") -> Tensor:
        if name in self.tensors:
            raise IRError(f"Tensor name {name!r} is already used")
        if value is not None:
            value = np.asarray(value, dtype=np.float64)
            shape = value.shape
        tensor = Tensor(name, tuple(int(d) for d in shape), type, value, source=source)
        self.tensors[name] = tensor
        return tensor

    def add_constant(self, base: str, value, type: FixedType | None = None,
                     source: str = "") -> Tensor:
        return self.add_tensor(self.unique_name(base), (), type, np.asarray(value), source)

    def add_node(self, op: Op, inputs: list[Tensor], outputs: list[Tensor], attrs=None,
                 name: str = "", source: str = "", index: int | None = None) -> Node:
        attrs = ATTRS_FOR[op]() if attrs is None else attrs
        if not isinstance(attrs, ATTRS_FOR[op]):
            raise IRError(f"{op.value} needs {ATTRS_FOR[op].__name__}, got {type(attrs).__name__}")
        node = Node(op, list(inputs), list(outputs), attrs,
                    self.unique_name(name or op.value.lower()), source)
        for t in inputs:
            t.users.append(node)
        for t in outputs:
            if t.producer is not None:
                raise IRError(f"Tensor {t.name!r} already has producer {t.producer.name!r}")
            t.producer = node
        if index is None:
            self.nodes.append(node)
        else:
            self.nodes.insert(index, node)
        return node

    def insert_after(self, tensor: Tensor, op: Op, attrs=None, extra_inputs=(),
                     out_type: FixedType | None = None, name: str = "",
                     source: str = "") -> Node:
        """Insert ``op(tensor, *extra_inputs)`` between ``tensor`` and all its users."""
        out = self.add_tensor(self.unique_name(f"{tensor.name}_{op.value.lower()}"),
                              tensor.shape, out_type, source=source or tensor.source)
        old_users = list(tensor.users)
        producer_pos = self.nodes.index(tensor.producer) + 1 if tensor.producer else 0
        node = self.add_node(op, [tensor, *extra_inputs], [out], attrs, name,
                             source or tensor.source, index=producer_pos)
        for user in old_users:
            user.inputs = [out if t is tensor else t for t in user.inputs]
            tensor.users.remove(user)
            out.users.append(user)
        self.outputs = [out if t is tensor else t for t in self.outputs]
        return node

    def own_constant(self, node: Node, index: int) -> Tensor:
        """Input ``index`` of ``node`` as a constant no other node reads (copied if
        shared), so a pass may change its value in place."""
        t = node.inputs[index]
        if len(t.users) == 1 and t not in self.outputs:
            return t
        copy = self.add_constant(f"{t.name}_{node.name}", t.value.copy(), t.type, t.source)
        t.users.remove(node)
        node.inputs[index] = copy
        copy.users.append(node)
        return copy

    # ---- editing ------------------------------------------------------------
    # Every rewiring goes through these, so ``Tensor.users`` (one entry per input
    # slot that reads the tensor) and ``Tensor.producer`` stay consistent.

    def set_input(self, node: Node, index: int, tensor: Tensor) -> None:
        """Make ``tensor`` input ``index`` of ``node`` in place of the current one."""
        old = node.inputs[index]
        if old is tensor:
            return
        old.users.remove(node)
        node.inputs[index] = tensor
        tensor.users.append(node)

    def add_input(self, node: Node, tensor: Tensor) -> None:
        """Append ``tensor`` to the inputs of ``node`` (e.g. a new bias)."""
        node.inputs.append(tensor)
        tensor.users.append(node)

    def set_inputs(self, node: Node, tensors: list[Tensor]) -> None:
        """Replace every input of ``node``; tensors that stay inputs keep their place
        in their ``users`` lists."""
        dropped = list(node.inputs)
        added = []
        for t in tensors:
            kept = next((i for i, d in enumerate(dropped) if d is t), None)
            if kept is None:
                added.append(t)
            else:
                del dropped[kept]
        for t in dropped:
            t.users.remove(node)
        node.inputs = list(tensors)
        for t in added:
            t.users.append(node)

    def set_output(self, node: Node, tensor: Tensor) -> None:
        """Make ``tensor`` (which has no producer) the one output of ``node``; the old
        outputs lose their producer and are forgotten when nothing reads them."""
        if tensor.producer is not None:
            raise IRError(f"Tensor {tensor.name!r} already has producer "
                          f"{tensor.producer.name!r}")
        for t in node.outputs:
            t.producer = None
            if not t.users and t not in self.outputs and t not in self.inputs:
                self.tensors.pop(t.name, None)
        node.outputs = [tensor]
        tensor.producer = node

    def rename_tensor(self, tensor: Tensor, name: str) -> None:
        """Give ``tensor`` a name no other tensor has."""
        if self.tensors.get(name, tensor) is not tensor:
            raise IRError(f"Tensor name {name!r} is already used")
        self.tensors.pop(tensor.name, None)
        tensor.name = name
        self.tensors[name] = tensor

    def sole_user(self, tensor: Tensor) -> Node | None:
        """The node reading ``tensor``, when that is its only use and it is not a graph
        output (so a pass may rewrite the pair freely), else None."""
        if len(tensor.users) != 1 or tensor in self.outputs:
            return None
        return tensor.users[0]

    def insert_before(self, node: Node, index: int, op: Op, attrs=None,
                      shape: tuple[int, ...] | None = None, out_name: str = "",
                      name: str = "", source: str = "") -> Node:
        """Insert ``op`` on input ``index`` of ``node``: ``node`` reads ``op(input)``,
        other users of the input are untouched. The new node sits right before
        ``node``; its output has ``shape`` (default: the input's)."""
        x = node.inputs[index]
        out = self.add_tensor(self.unique_name(out_name or f"{x.name}_{op.value.lower()}"),
                              x.shape if shape is None else shape, source=source)
        new = self.add_node(op, [x], [out], attrs, name, source, index=self.nodes.index(node))
        self.set_input(node, index, out)
        return new

    def swap_with_user(self, node: Node, user: Node) -> None:
        """``user(node(x))`` becomes ``node(user(x))``, for a one-input ``node`` (a
        layout op) whose output only ``user`` reads, as input 0, and an element-wise
        ``user``. The tensor between them keeps its name; it takes ``x``'s shape and
        the type of ``user``'s old output, which ``node`` now produces."""
        x, mid, y = node.inputs[0], node.output, user.output
        if user.inputs[0] is not mid or mid.users != [user]:
            raise IRError(f"{user.where()} is not the only reader of {node.where()}")
        self.set_input(user, 0, x)
        self.set_inputs(node, [mid])
        user.outputs, node.outputs = [mid], [y]
        mid.producer, y.producer = user, node
        mid.shape, mid.type = x.shape, y.type
        i, j = self.nodes.index(node), self.nodes.index(user)
        self.nodes[i], self.nodes[j] = self.nodes[j], self.nodes[i]

    def fold_to_constant(self, node: Node, value: np.ndarray) -> Tensor:
        """Drop ``node``; its output becomes the constant ``value``."""
        out = node.output
        self.remove_node(node)
        out.value = np.asarray(value).astype("float64")
        out.shape = out.value.shape
        self.tensors[out.name] = out
        return out

    def remove_node(self, node: Node) -> None:
        """Drop a node whose outputs have no users (or were rewired)."""
        for t in node.inputs:
            if node in t.users:
                t.users.remove(node)
        for t in node.outputs:
            t.producer = None
            if not t.users and t not in self.outputs and t not in self.inputs:
                self.tensors.pop(t.name, None)
        self.nodes.remove(node)

    def bypass(self, node: Node, keep: Tensor | None = None) -> None:
        """Remove a one-output node, rewiring its users to ``keep`` (default input 0)."""
        keep = node.inputs[0] if keep is None else keep
        out = node.output
        out.replace_all_uses_with(keep, self)
        if out.type is not None and keep.type is None and not keep.is_constant:
            keep.type = out.type
        self.remove_node(node)

    def prune_tensors(self) -> None:
        """Forget constants and tensors no node or graph port refers to."""
        live = {id(t) for n in self.nodes for t in (*n.inputs, *n.outputs)}
        live |= {id(t) for t in (*self.inputs, *self.outputs)}
        self.tensors = {k: t for k, t in self.tensors.items() if id(t) in live and k == t.name}

    # ---- queries ------------------------------------------------------------
    def node_by_name(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def find(self, op: Op) -> list[Node]:
        return [n for n in self.nodes if n.op is op]

    def constant_value(self, tensor: Tensor) -> np.ndarray:
        if not tensor.is_constant:
            raise IRError(f"Tensor {tensor.name!r} is not constant")
        return tensor.value

    def __call__(self, *inputs, raw: bool = False):
        """Run the bit-exact emulator (see :func:`trigc.emulator.emulate`), which
        registers itself with :func:`register_evaluator` when imported."""
        if not _EVALUATORS:
            raise IRError("No evaluator is registered to run the graph; import trigc")
        return _EVALUATORS[-1](self, *inputs, raw=raw)

    def __str__(self) -> str:
        return format_graph(self)


_EVALUATORS: list[Callable[..., Any]] = []


def register_evaluator(evaluate: Callable[..., Any]) -> None:
    """Make ``graph(*inputs, raw=...)`` call ``evaluate(graph, *inputs, raw=...)``.

    The emulator sits above the IR; it registers itself here so that the IR never
    imports it."""
    _EVALUATORS.append(evaluate)


def constant_to_float(tensor: Tensor) -> np.ndarray:
    return tensor.value if tensor.type is None else to_float(tensor.raw, tensor.type)

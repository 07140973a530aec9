"""Type-checked trigger conditions, evaluated on the raw integers of the model outputs.

:func:`compile_condition` turns a parsed condition (:mod:`trigc.trigger.expr`) into a
tree of small frozen dataclasses whose ``evaluate(env)`` works on numpy arrays of raw
fixed-point integers, the way the firmware's comparators do: a threshold is
converted once, exactly, into a raw integer of the compared quantity's type, and
every comparison is an integer comparison. A threshold that the type cannot
represent is an error, unless the menu asks for it to be rounded
(``round = "nearest" | "down" | "up"``); a threshold outside the type's range is
always an error (the comparison could never change).

``env`` maps each output alias to an ``(N, size)`` int64 array of raw values (the
output flattened per event) and, for the L1 accept, ``"bit:<name>"`` to bool arrays.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from trigc.fixed import FixedType
from trigc.trigger import expr as ast
from trigc.trigger.errors import MenuError

FUNCTIONS = ("argmax", "argmin", "max", "min", "sum")
ROUNDINGS = ("exact", "nearest", "down", "up")
_INT64_BITS = 62


@dataclass(frozen=True)
class OutputInfo:
    """One model output as the menu names it."""

    alias: str
    tensor: str
    index: int  # position in graph.outputs
    shape: tuple
    type: FixedType
    elements: tuple | None = None  # optional names of the (flattened) elements

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1

    def describe(self) -> str:
        return f"{self.alias} ({self.size} element{'s' * (self.size != 1)}, {self.type})"


def exact_decimal(raw: int, frac: int) -> str:
    """``raw * 2**-frac`` written exactly in decimal (dyadic values always terminate)."""
    if frac <= 0:
        return str(raw << -frac)
    sign, digits = ("-" if raw < 0 else ""), str(abs(raw) * 5**frac).rjust(frac + 1, "0")
    whole, decimals = digits[:-frac], digits[-frac:].rstrip("0")
    return f"{sign}{whole}.{decimals}" if decimals else f"{sign}{whole}"


# ---- typed nodes ------------------------------------------------------------------

@dataclass(frozen=True)
class Quantity:
    """A fixed-point number per event: raw integers at ``frac`` fractional bits."""

    text: str
    frac: int
    lo: int  # smallest and largest raw value the quantity can take
    hi: int
    type_text: str

    def describe(self) -> str:
        step = exact_decimal(1, self.frac)
        return (f"{self.text} ({self.type_text}: step {step}, range "
                f"[{exact_decimal(self.lo, self.frac)}, {exact_decimal(self.hi, self.frac)}])")


@dataclass(frozen=True)
class Element(Quantity):
    output: str = ""
    flat: int = 0

    def evaluate(self, env) -> np.ndarray:
        return env[self.output][:, self.flat]


@dataclass(frozen=True)
class Reduce(Quantity):
    func: str = "max"
    output: str = ""

    def evaluate(self, env) -> np.ndarray:
        return getattr(np, self.func)(env[self.output], axis=1)


@dataclass(frozen=True)
class Arith(Quantity):
    """``terms[0] ops[0] terms[1] ...`` at ``frac`` fractional bits, summed in order."""

    ops: tuple = ()  # "+" or "-", one per term after the first
    terms: tuple = ()

    def evaluate(self, env) -> np.ndarray:
        total = self.terms[0].evaluate(env) << (self.frac - self.terms[0].frac)
        for op, term in zip(self.ops, self.terms[1:]):
            value = term.evaluate(env) << (self.frac - term.frac)
            total = total + value if op == "+" else total - value
        return total


@dataclass(frozen=True)
class Negate(Quantity):
    operand: Quantity | None = None

    def evaluate(self, env) -> np.ndarray:
        return -self.operand.evaluate(env)


@dataclass(frozen=True)
class ArgIndex:
    """argmax/argmin of an output: the first index on ties (like numpy and a strict-``>``
    comparator loop in HLS)."""

    text: str
    func: str
    output: str
    size: int

    def evaluate(self, env) -> np.ndarray:
        return getattr(np, self.func)(env[self.output], axis=1)


@dataclass(frozen=True)
class Const:
    """A threshold converted to a raw integer at the compared quantity's scale."""

    text: str
    raw: int
    value: Fraction  # as written in the menu

    def evaluate(self, env) -> int:
        return self.raw


@dataclass(frozen=True)
class Cmp:
    op: str
    left: object
    right: object
    text: str

    def evaluate(self, env) -> np.ndarray:
        a, b = _aligned(self.left, self.right, env)
        return _COMPARE[self.op](a, b)


@dataclass(frozen=True)
class Logic:
    op: str  # and / or
    values: tuple
    text: str

    def evaluate(self, env) -> np.ndarray:
        result = self.values[0].evaluate(env)
        combine = np.logical_and if self.op == "and" else np.logical_or
        for value in self.values[1:]:
            result = combine(result, value.evaluate(env))
        return result


@dataclass(frozen=True)
class Invert:
    operand: object
    text: str

    def evaluate(self, env) -> np.ndarray:
        return np.logical_not(self.operand.evaluate(env))


@dataclass(frozen=True)
class BitRef:
    name: str
    text: str

    def evaluate(self, env) -> np.ndarray:
        return env["bit:" + self.name]


_COMPARE = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
            "==": np.equal, "!=": np.not_equal}
BOOL_NODES = (Cmp, Logic, Invert, BitRef)


def _aligned(left, right, env):
    a, b = left.evaluate(env), right.evaluate(env)
    if isinstance(left, Quantity) and isinstance(right, Quantity) and left.frac != right.frac:
        frac = max(left.frac, right.frac)
        a, b = a << (frac - left.frac), b << (frac - right.frac)
    return a, b


def walk(node):
    """Every typed node of a condition, depth first."""
    yield node
    for child in (getattr(node, "left", None), getattr(node, "right", None),
                  getattr(node, "operand", None), *getattr(node, "values", ()),
                  *getattr(node, "terms", ())):
        if child is not None:
            yield from walk(child)


def thresholds(node) -> list[tuple[Quantity, str, Const]]:
    """The (quantity, op, threshold) comparisons of a condition, quantity on the left."""
    flipped = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
    out = []
    for n in walk(node):
        if isinstance(n, Cmp) and isinstance(n.right, Const) and isinstance(n.left, Quantity):
            out.append((n.left, n.op, n.right))
        elif isinstance(n, Cmp) and isinstance(n.left, Const) and isinstance(n.right, Quantity):
            out.append((n.right, flipped[n.op], n.left))
    return out


# ---- compiler ---------------------------------------------------------------------

@dataclass(frozen=True)
class _Vector:
    """An output used as a whole (only valid inside an index or a function call)."""

    info: OutputInfo


class _Compiler:
    def __init__(self, text: str, where: str, outputs: dict, defines: dict, bits: tuple,
                 rounding: str) -> None:
        self.text, self.where = text, where
        self.outputs, self.defines, self.bits = outputs, defines, bits
        self.rounding = rounding

    def error(self, node, problem: str, hint: str = "") -> MenuError:
        return ast.caret_error(self.where, self.text, getattr(node, "pos", 0), problem, hint)

    # -- names ----------------------------------------------------------------------
    def name(self, node: ast.Name):
        if self.bits:
            if node.id in self.bits:
                return BitRef(node.id, node.id)
            raise self.error(node, f"unknown trigger bit {node.id!r}",
                             self._suggest(node.id, self.bits, "the menu's bits are"))
        if node.id in self.defines:
            return self.defines[node.id]
        if node.id in self.outputs:
            info = self.outputs[node.id]
            return self._element(info, 0, info.alias) if info.size == 1 else _Vector(info)
        if node.id in FUNCTIONS:
            vectors = list(self.outputs.values())
            if len(vectors) != 1:
                raise self.error(node, f"{node.id!r} needs an argument when the model has "
                                 f"{len(vectors)} outputs", f"write e.g. {node.id}("
                                 f"{vectors[0].alias})")
            return self.call(ast.Call(node.id, (ast.Name(vectors[0].alias, node.pos),),
                                      node.pos))
        known = [*self.outputs, *self.defines]
        described = ", ".join(o.describe() for o in self.outputs.values())
        hint = self._suggest(node.id, known, "")
        raise self.error(node, f"unknown output {node.id!r}",
                         (hint + "; " if hint else "") + f"the model's outputs are {described}"
                         + (f"; defines: {', '.join(self.defines)}" if self.defines else "")
                         + f"; functions: {', '.join(FUNCTIONS)}")

    @staticmethod
    def _suggest(name: str, known, listing: str) -> str:
        close = difflib.get_close_matches(name, list(known), n=1)
        text = f"did you mean {close[0]!r}?" if close else ""
        if listing:
            text += (" " if text else "") + f"{listing} {', '.join(known) or 'none'}"
        return text

    def _element(self, info: OutputInfo, flat: int, text: str) -> Element:
        t = info.type
        return Element(text, t.frac_bits, t.min_raw, t.max_raw, str(t), info.alias, flat)

    # -- numbers --------------------------------------------------------------------
    def index(self, node: ast.Index):
        base = self.expr(node.base)
        if not isinstance(base, _Vector):
            raise self.error(node, "only a model output can be indexed")
        info = base.info
        if len(node.indices) != len(info.shape):
            raise self.error(node, f"{info.alias} has shape {info.shape}: give "
                             f"{len(info.shape)} index(es), not {len(node.indices)}")
        flat = 0
        for axis, (idx, dim) in enumerate(zip(node.indices, info.shape)):
            if isinstance(idx, str):
                if info.elements is None or idx not in info.elements:
                    names = f"its elements are {list(info.elements)}" if info.elements else \
                        "name its elements with outputs.<alias>.elements in the menu"
                    raise self.error(node, f"{info.alias} has no element {idx!r}", names)
                idx = info.elements.index(idx)
            if not 0 <= idx < dim:
                raise self.error(node, f"index {idx} is out of range for {info.alias}, whose "
                                 f"axis {axis} has {dim} elements (0..{dim - 1})")
            flat = flat * dim + idx
        parts = ", ".join(repr(i) if isinstance(i, str) else str(i) for i in node.indices)
        return self._element(info, flat, f"{info.alias}[{parts}]".replace("'", '"'))

    def call(self, node: ast.Call):
        if node.func not in FUNCTIONS:
            raise self.error(node, f"unknown function {node.func!r}",
                             f"the functions are {', '.join(FUNCTIONS)}")
        args = [self.expr(a) for a in node.args]
        if len(args) != 1 or not isinstance(args[0], _Vector):
            raise self.error(node, f"{node.func}() takes one model output, e.g. "
                             f"{node.func}({next(iter(self.outputs))})")
        info = args[0].info
        text = f"{node.func}({info.alias})"
        if node.func in ("argmax", "argmin"):
            return ArgIndex(text, node.func, info.alias, info.size)
        t = info.type
        if node.func == "sum":
            lo, hi = t.min_raw * info.size, t.max_raw * info.size
            return self._checked(node, Reduce(text, t.frac_bits, lo, hi, "exact sum", "sum",
                                              info.alias))
        return Reduce(text, t.frac_bits, t.min_raw, t.max_raw, str(t), node.func, info.alias)

    def _checked(self, node, quantity):
        bits = max(abs(quantity.lo), abs(quantity.hi)).bit_length() + 1
        if bits > _INT64_BITS:
            raise self.error(node, f"{quantity.text} needs {bits} bits, more than the "
                             f"{_INT64_BITS} menus evaluate exactly")
        return quantity

    def arith(self, node: ast.Sum | ast.Neg):
        if isinstance(node, ast.Neg):
            operand = self.number(node.operand, "-")
            return self._checked(node, Negate(self._sized(node, f"-{_wrap(operand)}"),
                                              operand.frac, -operand.hi, -operand.lo,
                                              "exact negation", operand))
        terms = [self.number(t, op) for t, op in zip(node.terms, ("+", *node.ops))]
        frac = max(t.frac for t in terms)
        lo, hi = terms[0].lo << (frac - terms[0].frac), terms[0].hi << (frac - terms[0].frac)
        widest = max(abs(lo), abs(hi))
        for i, (op, term) in enumerate(zip(node.ops, terms[1:]), start=1):
            t_lo, t_hi = term.lo << (frac - term.frac), term.hi << (frac - term.frac)
            lo, hi = (lo + t_lo, hi + t_hi) if op == "+" else (lo - t_hi, hi - t_lo)
            widest = max(widest, abs(lo), abs(hi))  # every partial sum must fit, too
            if widest.bit_length() + 1 > _INT64_BITS:
                self._checked(node.terms[i], Quantity(_sum_text(terms[:i + 1], node.ops),
                                                      frac, lo, hi, ""))
        text = _sum_text(terms, node.ops)
        kind = "exact difference" if node.ops == ("-",) else "exact sum"
        return Arith(self._sized(node, text), frac, lo, hi, kind, node.ops, tuple(terms))

    def _sized(self, node, text: str) -> str:
        """``text`` of a node being built, refused past MAX_CHARS: defines that use
        defines can double a condition's size at every step (d2 = 'd1 + d1')."""
        if len(text) > ast.MAX_CHARS:
            raise self.error(node, f"this condition expands to {len(text):,} characters, "
                             f"more than the {ast.MAX_CHARS:,} allowed",
                             "defines that repeat other defines grow exponentially; "
                             "simplify them")
        return text

    def number(self, node, op: str) -> Quantity:
        value = self.expr(node)
        if isinstance(value, Quantity):
            return value
        if isinstance(node, ast.Num):
            raise self.error(node, f"constants cannot take part in {op!r} arithmetic",
                             "compare against the constant instead: prob[2] > 0.5")
        raise self.error(node, f"{op!r} needs fixed-point outputs on both sides, "
                         f"not {_kind(value)}")

    # -- comparisons ----------------------------------------------------------------
    def compare(self, node: ast.Compare):
        operands = [self.expr(o) for o in node.operands]
        parts = []
        for i, op in enumerate(node.ops):
            parts.append(self._compare_pair(op, operands[i], operands[i + 1],
                                            node.operands[i], node.operands[i + 1]))
        if len(parts) == 1:
            return parts[0]
        chain = parts[0].left.text + "".join(f" {p.op} {p.right.text}" for p in parts)
        return Logic("and", tuple(parts), self._sized(node, chain))

    def _compare_pair(self, op, left, right, left_node, right_node):
        for value, src in ((left, left_node), (right, right_node)):
            if isinstance(value, _Vector):
                raise self.error(src, f"{value.info.alias} has {value.info.size} elements; "
                                 f"compare one of them ({value.info.alias}[0]) or a reduction "
                                 f"(max({value.info.alias}))")
            if isinstance(value, (str, *BOOL_NODES)):
                raise self.error(src, f"cannot compare {_kind(value)}",
                                 "comparisons take outputs, indices and numbers")
        if isinstance(left, Fraction) and isinstance(right, Fraction):
            raise self.error(left_node, "this compares two constants",
                             "compare a model output, e.g. prob[2] > 0.5")
        if isinstance(left, Fraction):
            left = self._constant(left, left_node, right)
        elif isinstance(right, Fraction):
            right = self._constant(right, right_node, left)
        kinds = {type(v) for v in (left, right)}
        if ArgIndex in kinds and kinds & {Element, Reduce, Arith, Negate}:
            raise self.error(left_node, "cannot compare an index (argmax/argmin) with a "
                             "fixed-point value")
        return Cmp(op, left, right, self._sized(left_node, f"{left.text} {op} {right.text}"))

    def _constant(self, value: Fraction, node, other) -> Const:
        if isinstance(other, ArgIndex):
            if value.denominator != 1 or not 0 <= value < other.size:
                raise self.error(node, f"{other.text} is an index 0..{other.size - 1}, so "
                                 f"{node.text} can never match it")
            return Const(str(int(value)), int(value), value)
        raw = self._threshold_raw(value, node, other)
        return Const(exact_decimal(raw, other.frac), raw, value)

    def _threshold_raw(self, value: Fraction, node, quantity: Quantity) -> int:
        scaled = value * Fraction(2) ** quantity.frac
        raw = scaled.numerator
        if scaled.denominator != 1:
            down, up = math.floor(scaled), math.ceil(scaled)
            if self.rounding == "exact":
                inside = [exact_decimal(r, quantity.frac) for r in (down, up)
                          if quantity.lo <= r <= quantity.hi]
                between = (f"it falls between {inside[0]} and {inside[1]}" if len(inside) == 2
                           else f"the nearest representable value is {inside[0]}" if inside
                           else "it is outside the range")
                raise self.error(node, f"threshold {node.text} is not representable in "
                                 f"{quantity.describe()}; {between}",
                                 "write a representable threshold, or round it explicitly "
                                 "with round = \"nearest\" | \"down\" | \"up\" on the bit "
                                 "(or round_thresholds for the whole menu)")
            raw = {"down": down, "up": up}.get(self.rounding, round(scaled))  # half to even
        if not quantity.lo <= raw <= quantity.hi:
            raise self.error(node, f"threshold {node.text} is outside the range of "
                             f"{quantity.describe()}",
                             "the comparison would never change; pick a threshold inside "
                             "the range")
        return raw

    # -- dispatch -------------------------------------------------------------------
    def expr(self, node):
        if isinstance(node, ast.Num):
            return node.value
        if isinstance(node, ast.Str):
            return node.value
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Index):
            return self.index(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, (ast.Sum, ast.Neg)):
            return self.arith(node)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Not):
            operand = self.condition(node.operand)
            return Invert(operand, self._sized(node, f"not {_wrap(operand)}"))
        values = tuple(self.condition(v) for v in node.values)
        return Logic(node.op, values, self._sized(node, f" {node.op} ".join(
            _wrap(v) if isinstance(v, Logic) and v.op != node.op else v.text for v in values)))

    def condition(self, node):
        value = self.expr(node)
        if isinstance(value, BOOL_NODES):
            return value
        example = ("prob[2] > 0.5" if not isinstance(value, ArgIndex)
                   else f"{value.text} == 2")
        raise self.error(node, f"{_kind(value)} is not a condition", f"compare it, e.g. "
                         f"{example}")


def _kind(value) -> str:
    if isinstance(value, Fraction):
        return "a constant"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, _Vector):
        return f"the whole output {value.info.alias}"
    if isinstance(value, BOOL_NODES):
        return f"the condition '{value.text}'"
    return f"'{value.text}'"


def _sum_text(terms, ops) -> str:
    return terms[0].text + "".join(f" {op} {_wrap(t)}" for op, t in zip(ops, terms[1:]))


def _wrap(value) -> str:
    simple = isinstance(value, (Element, Reduce, ArgIndex, Const, BitRef))
    return value.text if simple else f"({value.text})"


def compile_condition(text: str, *, outputs: dict, where: str, defines: dict | None = None,
                      bits: tuple = (), rounding: str = "exact", boolean: bool = True):
    """Parse and type-check a condition. ``outputs`` maps alias -> OutputInfo; with
    ``bits``, names refer to trigger bits instead (the L1 accept expression)."""
    if rounding not in ROUNDINGS:
        raise MenuError(f"{where}: round must be one of {', '.join(ROUNDINGS)}, "
                        f"not {rounding!r}")
    compiler = _Compiler(text, where, outputs, defines or {}, tuple(bits), rounding)
    tree = ast.parse(text, where)
    if boolean:
        return compiler.condition(tree)
    value = compiler.expr(tree)
    if isinstance(value, (Fraction, str, _Vector)):
        raise compiler.error(tree, f"a define must be a quantity or a condition, not "
                             f"{_kind(value)}")
    return value


__all__ = ["FUNCTIONS", "ROUNDINGS", "ArgIndex", "BitRef", "Cmp", "Const", "Logic",
           "OutputInfo", "Quantity", "compile_condition", "exact_decimal", "thresholds", "walk"]

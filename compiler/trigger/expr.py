"""The trigger-condition language: a tokenizer and a recursive-descent parser.

Conditions are parsed, never ``eval``-ed. The grammar is a small, Python-like
subset; anything outside it is a :class:`~trigc.trigger.errors.MenuError` that
points at the offending character::

    expr       := or_expr
    or_expr    := and_expr ('or' and_expr)*
    and_expr   := not_expr ('and' not_expr)*
    not_expr   := 'not' not_expr | comparison
    comparison := sum (('<' | '<=' | '>' | '>=' | '==' | '!=') sum)*   # chains: a < x <= b
    sum        := unary (('+' | '-') unary)*                           # one n-ary Sum node
    unary      := ('-' | '+') unary | postfix
    postfix    := atom ('[' index (',' index)* ']')*
    atom       := NUMBER | STRING | NAME | NAME '(' [expr (',' expr)*] ')' | '(' expr ')'

Number literals are kept as exact :class:`fractions.Fraction` values (``0.85`` is
17/20, not the nearest double), so a threshold's representability in a fixed-point
type is decided exactly. Names and functions are resolved later, by
:mod:`trigc.trigger.conditions`, against a whitelist.

Menus come from anywhere, so the parser bounds what it builds: a number has at most
``MAX_DIGITS`` digits and an exponent within ``±MAX_EXPONENT`` (``1e999999999`` would
otherwise be an exact integer of a billion digits), parentheses, ``not``, signs and
function calls nest at most ``MAX_DEPTH`` deep (the parser recurses per level), and a
condition has at most ``MAX_CHARS`` characters. A flat sum is one node, however long.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from trigc.trigger.errors import MenuError

COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")
KEYWORDS = ("and", "or", "not")
MAX_DIGITS = 100  # digits of one number literal
MAX_EXPONENT = 400  # |exponent| of a literal; float64 ends at 1.8e308
MAX_DEPTH = 50  # nesting of (), not, unary signs and calls
MAX_CHARS = 1_000_000  # characters of one condition

_QUOTED = 100  # characters of a long condition quoted in an error

_NUMBER = re.compile(r"(?P<mantissa>[\d.]+)(?:[eE](?P<exponent>[+-]?\d+))?")

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>"[^"\n]*"|'[^'\n]*')
  | (?P<op><=|>=|==|!=|<|>|\(|\)|\[|\]|,|\+|-)
""", re.VERBOSE)

# characters people reach for from C, ROOT TCut or Python, and what to write instead
_HINTS = {
    "&&": "write 'and' instead of '&&'", "||": "write 'or' instead of '||'",
    "!": "write 'not' instead of '!'", "=": "write '==' to compare",
    "&": "write 'and' instead of '&'", "|": "write 'or' instead of '|'",
    "*": "conditions support only + and - arithmetic (no * or /)",
    "/": "conditions support only + and - arithmetic (no * or /)",
    ".": "there is no attribute access; index outputs as prob[2] or prob[\"W\"]",
}
SYNTAX_HELP = ("conditions use comparisons (> >= < <= == !=, chained as in 0.2 < x <= 0.8), "
               "'and', 'or', 'not', parentheses, + and -, indexing (prob[2]) and the functions "
               "argmax, argmin, max, min, sum")


@dataclass(frozen=True)
class Token:
    kind: str  # number, name, string, op, keyword, end
    text: str
    pos: int


# ---- AST ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Num:
    value: Fraction
    text: str
    pos: int


@dataclass(frozen=True)
class Str:
    value: str
    pos: int


@dataclass(frozen=True)
class Name:
    id: str
    pos: int


@dataclass(frozen=True)
class Index:
    base: object
    indices: tuple
    pos: int


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple
    pos: int


@dataclass(frozen=True)
class Neg:
    operand: object
    pos: int


@dataclass(frozen=True)
class Sum:
    """``terms[0] ops[0] terms[1] ops[1] ...``: a whole ``a + b - c`` chain as one node,
    so a long sum costs no recursion."""

    terms: tuple
    ops: tuple  # "+" or "-", one fewer than terms
    pos: int


@dataclass(frozen=True)
class Compare:
    operands: tuple
    ops: tuple
    pos: int


@dataclass(frozen=True)
class BoolOp:
    op: str  # and / or
    values: tuple
    pos: int


@dataclass(frozen=True)
class Not:
    operand: object
    pos: int


# ---- errors -------------------------------------------------------------------------

def caret_error(where: str, text: str, pos: int, problem: str, hint: str = "") -> MenuError:
    """A MenuError that quotes the expression (around ``pos`` when it is long) and
    points at column ``pos``."""
    if len(text) > _QUOTED:
        start = max(0, min(pos - _QUOTED // 2, len(text) - _QUOTED))
        head, tail = ("..." if start else ""), ("..." if start + _QUOTED < len(text) else "")
        text, pos = head + text[start:start + _QUOTED] + tail, pos - start + len(head)
    # The first line stands alone (the CLI prints one line); the quote follows.
    first = f"{where}: {problem} (column {pos + 1})" + (f"; {hint}" if hint else "")
    return MenuError("\n".join([first, f"    {text}", "    " + " " * pos + "^"]))


# ---- tokenizer ----------------------------------------------------------------------

def tokenize(text: str, where: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            two = text[pos:pos + 2]
            hint = _HINTS.get(two) or _HINTS.get(text[pos]) or SYNTAX_HELP
            raise caret_error(where, text, pos, f"unexpected character {text[pos]!r}", hint)
        kind = m.lastgroup
        if kind != "space":
            value = m.group()
            if kind == "name" and value in KEYWORDS:
                kind = "keyword"
            tokens.append(Token(kind, value, pos))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def number_value(text: str, where: str, source: str, pos: int) -> Fraction:
    """The exact value of a number literal, refused when it has more than MAX_DIGITS
    digits or an exponent beyond ±MAX_EXPONENT (an exact Fraction of 10**999999999 never
    finishes; no fixed-point type or float64 holds such a value)."""
    m = _NUMBER.fullmatch(text)
    digits = sum(c.isdigit() for c in m.group("mantissa"))
    written = m.group("exponent") or "0"
    exponent = written.lstrip("+-").lstrip("0") or "0"  # 1e0000...1 is 1e1
    if digits > MAX_DIGITS or len(exponent) > 4 or int(exponent) > MAX_EXPONENT:
        raise caret_error(where, source, pos, f"number {text[:40]}{'...' * (len(text) > 40)} "
                          f"is out of bounds: menu numbers have at most {MAX_DIGITS} digits "
                          f"and an exponent within ±{MAX_EXPONENT}",
                          "write a threshold inside the range of the compared output, "
                          "e.g. 0.5 or 1.25e3")
    scale = Fraction(10) ** (-int(exponent) if written.startswith("-") else int(exponent))
    return Fraction(m.group("mantissa")) * scale


# ---- parser -------------------------------------------------------------------------

class _Parser:
    def __init__(self, text: str, where: str) -> None:
        self.text, self.where = text, where
        self.tokens = tokenize(text, where)
        self.i = 0
        self.depth = 0

    def enter(self, tok: Token) -> None:
        """One more nesting level (parenthesis, call, not, sign); refused past MAX_DEPTH,
        before the recursion could exhaust Python's stack."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"the condition nests more than {MAX_DEPTH} levels deep "
                             f"(parentheses, not, signs, calls)", tok,
                             "split it into named [define] entries or remove redundant "
                             "parentheses")

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def error(self, problem: str, tok: Token | None = None, hint: str = SYNTAX_HELP):
        tok = tok or self.tok
        return caret_error(self.where, self.text, tok.pos, problem, hint)

    def accept(self, *texts: str) -> Token | None:
        if self.tok.kind in ("op", "keyword") and self.tok.text in texts:
            self.i += 1
            return self.tokens[self.i - 1]
        return None

    def expect(self, text: str, opened: Token | None = None) -> None:
        if self.accept(text) is None:
            what = "the end" if self.tok.kind == "end" else repr(self.tok.text)
            hint = f"to close the {opened.text!r} at column {opened.pos + 1}" if opened else ""
            raise self.error(f"expected {text!r}, found {what}", hint=hint or SYNTAX_HELP)

    def parse(self):
        if self.tok.kind == "end":
            raise self.error("the condition is empty")
        node = self.or_expr()
        if self.tok.kind != "end":
            raise self.error(f"unexpected {self.tok.text!r} after a complete expression")
        return node

    def or_expr(self):
        first = self.tok
        values = [self.and_expr()]
        while self.accept("or"):
            values.append(self.and_expr())
        return values[0] if len(values) == 1 else BoolOp("or", tuple(values), first.pos)

    def and_expr(self):
        first = self.tok
        values = [self.not_expr()]
        while self.accept("and"):
            values.append(self.not_expr())
        return values[0] if len(values) == 1 else BoolOp("and", tuple(values), first.pos)

    def not_expr(self):
        tok = self.accept("not")
        if tok is not None:
            self.enter(tok)
            node = Not(self.not_expr(), tok.pos)
            self.depth -= 1
            return node
        return self.comparison()

    def comparison(self):
        first = self.tok
        operands, ops = [self.sum()], []
        while self.tok.kind == "op" and self.tok.text in COMPARISONS:
            ops.append(self.tok.text)
            self.i += 1
            operands.append(self.sum())
        if not ops:
            return operands[0]
        return Compare(tuple(operands), tuple(ops), first.pos)

    def sum(self):
        first = self.tok
        terms, ops = [self.unary()], []
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            ops.append(self.tok.text)
            self.i += 1
            terms.append(self.unary())
        return terms[0] if not ops else Sum(tuple(terms), tuple(ops), first.pos)

    def unary(self):
        tok = self.accept("-", "+")
        if tok is None:
            return self.postfix()
        self.enter(tok)
        operand = self.unary()
        self.depth -= 1
        if tok.text == "+":
            return operand
        if isinstance(operand, Num):  # fold, so thresholds like -0.5 stay literals
            return Num(-operand.value, "-" + operand.text, tok.pos)
        return Neg(operand, tok.pos)

    def postfix(self):
        node = self.atom()
        while (opened := self.accept("[")) is not None:
            indices = [self.index()]
            while self.accept(","):
                indices.append(self.index())
            self.expect("]", opened)
            node = Index(node, tuple(indices), opened.pos)
        return node

    def index(self):
        tok = self.tok
        if tok.kind == "number" and re.fullmatch(r"\d{1,18}", tok.text):
            self.i += 1
            return int(tok.text)
        if tok.kind == "string":
            self.i += 1
            return tok.text[1:-1]
        raise self.error(f"an index must be a non-negative integer or a quoted element name, "
                         f"not {tok.text or 'the end'!r}", hint="e.g. prob[2] or prob[\"W\"]")

    def atom(self):
        tok = self.tok
        if tok.kind == "number":
            self.i += 1
            return Num(number_value(tok.text, self.where, self.text, tok.pos), tok.text,
                       tok.pos)
        if tok.kind == "string":
            self.i += 1
            return Str(tok.text[1:-1], tok.pos)
        if tok.kind == "name":
            self.i += 1
            opened = self.accept("(")
            if opened is None:
                return Name(tok.text, tok.pos)
            self.enter(opened)
            args = []
            if self.accept(")") is None:
                args.append(self.or_expr())
                while self.accept(","):
                    args.append(self.or_expr())
                self.expect(")", opened)
            self.depth -= 1
            return Call(tok.text, tuple(args), tok.pos)
        opened = self.accept("(")
        if opened is not None:
            self.enter(opened)
            node = self.or_expr()
            self.expect(")", opened)
            self.depth -= 1
            return node
        if tok.kind == "end":
            raise self.error("the condition ends too early")
        raise self.error(f"unexpected {tok.text!r}")


def parse(text: str, where: str = "condition"):
    """Parse a condition into its AST; ``where`` (e.g. ``"bit 'W_tag'"``) prefixes errors."""
    if not isinstance(text, str):
        raise MenuError(f"{where}: a condition must be a string like 'score > 0.5', "
                        f"not {text!r:.80}")
    if len(text) > MAX_CHARS:
        raise MenuError(f"{where}: the condition has {len(text):,} characters, more than "
                        f"the {MAX_CHARS:,} a menu condition may have; split it into named "
                        "[define] entries")
    return _Parser(text, where).parse()


__all__ = ["COMPARISONS", "MAX_CHARS", "MAX_DEPTH", "MAX_DIGITS", "MAX_EXPONENT", "BoolOp",
           "Call", "Compare", "Index", "Name", "Neg", "Not", "Num", "Str", "Sum", "caret_error",
           "number_value", "parse", "tokenize"]

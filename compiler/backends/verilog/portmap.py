"""``port_map.json`` of a Verilog project, read back as hostile input: every field is
type-checked, and every file it names must stay inside the project. The backend
writes it (:mod:`trigc.backends.verilog.render`); ``trigc rtlsim`` reads all of it
(:func:`read_port_map`), ``trigc synth`` only the top and the RTL files
(:func:`rtl_sources`, which is all a foreign design such as da4ml's needs)."""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from trigc.errors import ProjectError, TrigcError
from trigc.fixed import FixedType

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
RTL_SUFFIXES = (".v", ".sv")
MAX_BITS = 1 << 20
MAX_LATENCY = 100_000


@dataclass(frozen=True)
class Field:
    """One element of a packed port: bits [msb:lsb], raw integer of ``type``."""

    name: str
    index: int
    lsb: int
    msb: int
    width: int
    signed: bool
    frac_bits: int
    type: str


@dataclass(frozen=True)
class PortMap:
    root: Path
    top: str
    latency: int
    ii: int
    clock_ns: float
    in_bits: int
    out_bits: int
    rtl_files: tuple[Path, ...]
    inputs: tuple[Field, ...]
    outputs: tuple[Field, ...]


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> ProjectError:
        return ProjectError(f"{str(self.path)!r}: field {where} {problem}; regenerate the "
                            "Verilog project")

    def get(self, obj: dict, key: str, kind, where: str = ""):
        label = f"{where}{key!r}"
        if key not in obj:
            raise self.fail(label, "is missing")
        value = obj[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise self.fail(label, f"must be {kind.__name__}, not {type(value).__name__}")
        return value

    def count(self, obj: dict, key: str, lo: int, hi: int, where: str = "") -> int:
        value = self.get(obj, key, int, where)
        if not lo <= value <= hi:
            raise self.fail(f"{where}{key!r}", f"is {value}, outside [{lo}, {hi}]")
        return value


def _fields(reader: _Reader, data: dict, key: str, bits: int) -> tuple[Field, ...]:
    items = reader.get(data, key, list)
    if not items:
        raise reader.fail(repr(key), "is empty")
    fields = []
    for pos, item in enumerate(items):
        where = f"{key}[{pos}]."
        if not isinstance(item, dict):
            raise reader.fail(f"{key}[{pos}]", "must be an object")
        lsb = reader.count(item, "lsb", 0, bits - 1, where)
        width = reader.count(item, "width", 1, bits, where)
        msb = reader.count(item, "msb", lsb, bits - 1, where)
        if msb - lsb + 1 != width:
            raise reader.fail(f"{where}'width'", f"is {width}, but msb-lsb+1 is {msb - lsb + 1}")
        field = Field(reader.get(item, "name", str, where), reader.count(item, "index", pos, pos,
                                                                          where),
                      lsb, msb, width, reader.get(item, "signed", bool, where),
                      reader.count(item, "frac_bits", -MAX_BITS, MAX_BITS, where),
                      reader.get(item, "type", str, where))
        try:
            t = FixedType.parse(field.type)
        except TrigcError as exc:
            raise reader.fail(f"{where}'type'", f"is not a fixed-point type ({exc})") from None
        if (t.width, t.signed, t.frac_bits) != (width, field.signed, field.frac_bits):
            raise reader.fail(f"{where}'type'", f"{field.type} disagrees with width {width}, "
                              f"signed {field.signed}, frac_bits {field.frac_bits}")
        fields.append(field)
    spans = sorted((f.lsb, f.msb) for f in fields)
    for (_, prev_msb), (lsb, _) in itertools.pairwise(spans):
        if lsb <= prev_msb:
            raise reader.fail(repr(key), f"has overlapping bit ranges (bit {lsb})")
    return tuple(fields)


def inside(root: Path, rel, reader: _Reader, where: str) -> Path:
    """``root/rel``: a relative path that stays inside ``root`` (after symlinks) and is a
    Verilog file."""
    ok = isinstance(rel, str) and rel and "\\" not in rel and "\0" not in rel
    pure = PurePosixPath(rel) if ok else None
    if pure is None or pure.is_absolute() or ".." in pure.parts:
        raise reader.fail(where, f"holds {rel!r}, not a relative path inside the project; "
                                 "refusing it")
    if pure.suffix not in RTL_SUFFIXES:
        raise reader.fail(where, f"names {rel!r}, not a Verilog file ({', '.join(RTL_SUFFIXES)})")
    full = (root / pure).resolve()
    if not full.is_relative_to(root) or not full.is_file():
        raise reader.fail(where, f"names {rel!r}, which is not a file inside the project")
    return full


def _load(project_dir) -> tuple[Path, dict, _Reader]:
    root = Path(project_dir).resolve()
    path = root / "port_map.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ProjectError(f"{str(root)!r} is not a Verilog project (no port_map.json)"
                           ) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ProjectError(f"{str(path)!r} is unreadable or not JSON ({exc}); regenerate the "
                           "Verilog project") from None
    if not isinstance(data, dict):
        raise ProjectError(f"{str(path)!r} is not a JSON object; regenerate the project")
    return root, data, _Reader(path)


def _top_and_files(root: Path, data: dict, reader: _Reader) -> tuple[str, tuple[Path, ...]]:
    top = reader.get(data, "top", str)
    if not IDENTIFIER.fullmatch(top):
        raise reader.fail("'top'", f"is not a Verilog identifier: {top!r}")
    files = reader.get(data, "rtl_files", list)
    if not files:
        raise reader.fail("'rtl_files'", "is empty")
    return top, tuple(inside(root, rel, reader, f"'rtl_files'[{i}]")
                      for i, rel in enumerate(files))


def rtl_sources(project_dir) -> tuple[str, list[Path]]:
    """The top module and the RTL files (each checked to lie inside the project) of a
    folder whose ``port_map.json`` holds at least ``top`` and ``rtl_files``."""
    top, files = _top_and_files(*_load(project_dir))
    return top, list(files)


def read_port_map(project_dir) -> PortMap:
    """The checked ``port_map.json`` of a Verilog project; a one-line ``ProjectError``
    naming the file and the field when it is missing or damaged."""
    root, data, reader = _load(project_dir)
    top, files = _top_and_files(root, data, reader)
    ii = reader.count(data, "ii", 1, MAX_LATENCY)
    if ii != 1:
        raise reader.fail("'ii'", f"is {ii}; the RTL simulation supports II 1 only")
    in_bits = reader.count(data, "in_bits", 1, MAX_BITS)
    out_bits = reader.count(data, "out_bits", 1, MAX_BITS)
    return PortMap(root, top, reader.count(data, "latency", 0, MAX_LATENCY), ii,
                   reader.get(data, "clock_ns", float), in_bits, out_bits, files,
                   _fields(reader, data, "inputs", in_bits),
                   _fields(reader, data, "outputs", out_bits))

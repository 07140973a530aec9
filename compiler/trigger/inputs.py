"""Map the columns of an event file onto the model inputs (and an optional label column).

A model input is fed from one column shaped like it (``x = "features"``), or from a
list of columns concatenated per event in the order given (``x = ["j_mass",
"j_tau21", ...]``: 16 scalar branches for a 16-feature input). Without a mapping, a
column named like the input is used, or the only column of the file.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np

from trigc.trigger.errors import EventDataError


@dataclass(frozen=True)
class InputPlan:
    inputs: tuple  # (input name, input shape, tuple of column names) per model input
    labels: str | None
    n_events: int

    @property
    def columns(self) -> tuple:
        cols = [c for _, _, names in self.inputs for c in names]
        return tuple(dict.fromkeys(cols + ([self.labels] if self.labels else [])))

    def assemble(self, data: dict) -> list:
        """Model inputs (float64, (n, *shape)) from the columns of one chunk."""
        arrays = []
        for _, shape, names in self.inputs:
            parts = [np.asarray(data[c]).reshape(len(data[c]), -1) for c in names]
            x = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
            arrays.append(x.astype(np.float64, copy=False).reshape(len(x), *shape))
        return arrays

    def labels_of(self, data: dict) -> np.ndarray | None:
        if self.labels is None:
            return None
        values = np.asarray(data[self.labels])
        as_int = values.astype(np.int64)
        if not np.array_equal(as_int, values):
            raise EventDataError(f"Label column {self.labels!r} holds non-integer values; "
                                 "labels are class numbers 0, 1, 2, ...")
        return as_int


def _suggest(name: str, columns) -> str:
    close = difflib.get_close_matches(name, list(columns), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _listing(source) -> str:
    cols = list(source.columns.values())
    shown = ", ".join(f"{c.name}{list(c.shape) if c.shape else ''}" for c in cols[:40])
    return shown + (f", ... ({len(cols)} columns)" if len(cols) > 40 else "")


def _per_event_size(source, name: str) -> int:
    col = source.columns[name]
    if col.shape is None:
        raise EventDataError(f"Column {name!r} of {source.path} is jagged ({col.dtype}); a "
                             "model input needs the same number of values in every event")
    if _dtype_kind(col.dtype) not in "biuf":
        raise EventDataError(f"Column {name!r} of {source.path} has type {col.dtype}; model "
                             "inputs must be numeric")
    return int(np.prod(col.shape)) if col.shape else 1


def _dtype_kind(text: str) -> str:
    """numpy's kind letter of a column type (numpy, Arrow or uproot spelling); 'O' when
    numpy cannot parse it and it is not numeric (strings, timestamps)."""
    try:
        return np.dtype({"halffloat": "float16"}.get(text, text)).kind
    except TypeError:
        return "f" if any(w in text for w in ("float", "double", "int", "bool")) else "O"


def _default_columns(source, name: str, size: int, single_input: bool, labels) -> tuple:
    if name in source.columns:
        return (name,)
    candidates = [c for c in source.columns if c != labels]
    if single_input and len(candidates) == 1:
        return (candidates[0],)
    raise EventDataError(
        f"Cannot tell which columns of {source.path} feed model input {name!r} ({size} "
        f"values per event); map them with --map {name}=COLUMN (one column of {size} values) "
        f"or --map {name}=COL1,COL2,... (or [inputs] in the menu). Columns: "
        f"{_listing(source)}")


def plan_inputs(source, graph_inputs, mapping: dict | None = None,
                labels: str | None = None) -> InputPlan:
    """Check a column mapping against the file and the model; see the module doc."""
    mapping = dict(mapping or {})
    names = [t.name for t in graph_inputs]
    unknown = sorted(set(mapping) - set(names))
    if unknown:
        raise EventDataError(f"The input mapping names {unknown}, which are not model inputs;"
                             f" the model's inputs are {names}")
    plan = []
    for t in graph_inputs:
        size = int(np.prod(t.shape))
        cols = mapping.get(t.name)
        cols = (cols,) if isinstance(cols, str) else tuple(cols) if cols else \
            _default_columns(source, t.name, size, len(graph_inputs) == 1, labels)
        for c in cols:
            if c not in source.columns:
                raise EventDataError(f"Model input {t.name!r} is mapped to column {c!r}, which "
                                     f"{source.path} does not have{_suggest(c, source.columns)}"
                                     f"; columns: {_listing(source)}")
        got = sum(_per_event_size(source, c) for c in cols)
        if got != size:
            raise EventDataError(f"Model input {t.name!r} takes {size} values per event "
                                 f"(shape {tuple(t.shape)}), but columns {list(cols)} give "
                                 f"{got}")
        plan.append((t.name, tuple(t.shape), cols))
    if labels is not None and labels not in source.columns:
        raise EventDataError(f"Label column {labels!r} is not in {source.path}"
                             f"{_suggest(labels, source.columns)}; columns: {_listing(source)}")
    used = {c for _, _, cols in plan for c in cols} | ({labels} if labels else set())
    lengths = {source.columns[c].length for c in used}
    if len(lengths) != 1:
        detail = ", ".join(f"{c}: {source.columns[c].length}" for c in sorted(used))
        raise EventDataError(f"The mapped columns of {source.path} have different numbers "
                             f"of events ({detail})")
    return InputPlan(tuple(plan), labels, lengths.pop())


def parse_map(items) -> dict:
    """``--map x=col`` / ``--map x=a,b,c`` flags into a mapping."""
    mapping = {}
    for item in items or []:
        name, sep, cols = item.partition("=")
        if not sep or not name or not cols:
            raise EventDataError(f"--map takes INPUT=COLUMN or INPUT=COL1,COL2,..., "
                                 f"got {item!r}")
        parts = tuple(c.strip() for c in cols.split(","))
        mapping[name.strip()] = parts[0] if len(parts) == 1 else parts
    return mapping


__all__ = ["InputPlan", "parse_map", "plan_inputs"]

"""Event-by-event comparison of new decisions with a golden decision file, streamed
chunk by chunk, and its JUnit XML report for CI systems."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trigc.outputs import atomic_write
from trigc.trigger.decisions import read_meta
from trigc.trigger.errors import EventDataError
from trigc.trigger.readers import open_events


@dataclass
class ColumnDiff:
    name: str
    events: int = 0  # events where this column differs
    lost: int = 0  # bool columns: golden 1 -> now 0
    gained: int = 0  # golden 0 -> now 1

    def __str__(self) -> str:
        flips = f" (golden 1 -> now 0: {self.lost}, 0 -> 1: {self.gained})" \
            if self.lost or self.gained else ""
        return f"{self.name}: {self.events} event{'s' * (self.events != 1)}{flips}"


@dataclass
class GoldenReport:
    golden: str
    golden_events: int
    new_events: int
    columns: dict = field(default_factory=dict)  # name -> ColumnDiff, every compared column
    missing: list = field(default_factory=list)  # in the golden file, not produced now
    extra: list = field(default_factory=list)  # produced now, not in the golden file
    differing_events: int = 0
    first: list = field(default_factory=list)  # (event, [(column, golden, now), ...])
    menu_changes: list = field(default_factory=list)

    @property
    def compared(self) -> int:
        return min(self.golden_events, self.new_events)

    @property
    def ok(self) -> bool:
        return (not self.differing_events and not self.missing and not self.extra
                and self.golden_events == self.new_events)

    def __str__(self) -> str:
        if self.ok:
            return (f"golden check passed: {self.compared} events identical to {self.golden} "
                    f"({len(self.columns)} columns)")
        lines = [(f"golden check FAILED against {self.golden}: {self.differing_events} of "
                  f"{self.compared} events differ")]
        if self.golden_events != self.new_events:
            lines.append(f"  the golden file has {self.golden_events} events, this run "
                         f"{self.new_events}")
        for name in self.missing:
            lines.append(f"  {name}: in the golden file but not produced now (removed or "
                         "renamed bit/output?)")
        for name in self.extra:
            lines.append(f"  {name}: produced now but not in the golden file (new bit?)")
        lines += [f"  {d}" for d in self.columns.values() if d.events]
        if self.menu_changes:
            lines.append("menu changes since the golden file was written:")
            lines += [f"  {c}" for c in self.menu_changes]
        if self.first:
            lines.append("first differing events:")
            for event, diffs in self.first:
                lines.append(f"  event {event}: " + ", ".join(
                    f"{name} {_fmt(g)} -> {_fmt(n)}" for name, g, n in diffs))
        lines.append("if the change is intended, regenerate the golden file with --out")
        return "\n".join(lines)

    def write_junit(self, path, suite: str = "trigc.emulate") -> None:
        cases = [("event count", None if self.golden_events == self.new_events else
                  f"golden {self.golden_events} events, now {self.new_events}")]
        cases += [(name, "in the golden file but not produced now") for name in self.missing]
        cases += [(name, "produced now but not in the golden file") for name in self.extra]
        for d in self.columns.values():
            cases.append((d.name, str(d) if d.events else None))
        root = ET.Element("testsuites")
        ts = ET.SubElement(root, "testsuite", name=suite, tests=str(len(cases)),
                           failures=str(sum(1 for _, f in cases if f)), errors="0")
        classname = f"golden.{Path(self.golden).stem}"
        for name, failure in cases:
            tc = ET.SubElement(ts, "testcase", classname=classname, name=name)
            if failure:
                node = ET.SubElement(tc, "failure", message=failure, type="GoldenMismatch")
                node.text = str(self)
        ET.SubElement(ts, "system-out").text = str(self)
        atomic_write(path, lambda tmp: ET.ElementTree(root).write(
            tmp, encoding="utf-8", xml_declaration=True), make_parents=True)


def _fmt(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, np.ndarray):
        return "[" + ", ".join(str(int(v)) for v in value) + "]"
    return str(value)


def _menu_changes(old: dict, new: dict) -> list:
    changes = []
    old_bits, new_bits = old.get("bits", {}), new.get("bits", {})
    for name in old_bits.keys() & new_bits.keys():
        a, b = old_bits[name], new_bits[name]
        if a.get("resolved") != b.get("resolved"):
            changes.append(f"bit {name}: condition was '{a.get('resolved')}', now "
                           f"'{b.get('resolved')}'")
        if a.get("prescale") != b.get("prescale"):
            changes.append(f"bit {name}: prescale was {a.get('prescale')}, now "
                           f"{b.get('prescale')}")
    if old.get("accept") is not None and old.get("accept") != new.get("accept"):
        changes.append(f"L1A: was '{old.get('accept')}', now '{new.get('accept')}'")
    for alias in old.get("outputs", {}).keys() & new.get("outputs", {}).keys():
        a, b = old["outputs"][alias]["type"], new["outputs"][alias]["type"]
        if a != b:
            changes.append(f"output {alias}: type was {a}, now {b}")
    return changes


class GoldenComparer:
    """Feed it the new decision columns chunk by chunk, in event order."""

    def __init__(self, golden, new_columns, new_events: int, meta: dict,
                 compare_raw: bool = True, max_listed: int = 10) -> None:
        self.source = open_events(golden)
        if "event" not in self.source.columns:
            raise EventDataError(f"{golden} is not a decision file written by trigc emulate "
                                 "--out (it has no 'event' column)")
        golden_cols = [c for c in self.source.columns if c != "event"]
        new_cols = [c for c in new_columns if c != "event"]
        if not compare_raw:
            golden_cols = [c for c in golden_cols if not c.startswith("raw:")]
            new_cols = [c for c in new_cols if not c.startswith("raw:")]
        self.names = [c for c in new_cols if c in golden_cols]
        self.golden_events = self.source.columns["event"].length
        self.report = GoldenReport(str(golden), self.golden_events, new_events,
                                   {c: ColumnDiff(c) for c in self.names},
                                   [c for c in golden_cols if c not in new_cols],
                                   [c for c in new_cols if c not in golden_cols],
                                   menu_changes=_menu_changes(read_meta(golden), meta))
        self.max_listed = max_listed

    def feed(self, columns: dict) -> None:
        start = int(columns["event"][0]) if len(columns["event"]) else 0
        stop = min(start + len(columns["event"]), self.golden_events)
        if stop <= start or not self.names:
            return
        golden = self.source.read(start, stop, self.names)
        n = stop - start
        any_diff = np.zeros(n, dtype=bool)
        per_column = {}
        for name in self.names:
            new, old = columns[name][:n], golden[name]
            diff = new != old
            if diff.ndim > 1:
                diff = diff.any(axis=tuple(range(1, diff.ndim)))
            if diff.any():
                d = self.report.columns[name]
                d.events += int(diff.sum())
                if new.dtype == bool:
                    d.lost += int((old & ~new).sum())
                    d.gained += int((~old & new).sum())
                per_column[name] = (diff, old, new)
                any_diff |= diff
        self.report.differing_events += int(any_diff.sum())
        room = self.max_listed - len(self.report.first)
        for i in np.nonzero(any_diff)[0][:max(room, 0)]:
            self.report.first.append((start + int(i), [
                (name, old[i], new[i]) for name, (diff, old, new) in per_column.items()
                if diff[i]]))

    def finish(self) -> GoldenReport:
        return self.report


__all__ = ["ColumnDiff", "GoldenComparer", "GoldenReport"]

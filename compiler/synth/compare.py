"""Measured (Yosys) and estimated (trigc) resources side by side, in the project's
``report.txt`` and ``report.json`` (``trigc synth``).

The estimate is the one the project stores (``report.json``, written by ``trigc
compile``); the flattened run gives the total, the hierarchical run (``--per-layer``)
the layers. The Verilog writer names each layer's module
``identifier(f"{top}_{identifier(layer)}")`` (unique in the design, in the order of
the layers), with ``layer`` the node name of the final IR, so the layers of
``trigc.json``'s graph are named the same way here and matched; the top module's own
cells (input, output and valid registers) are the estimate's ``ports`` row. A module
that matches no layer is listed as measured only.

Both files are replaced atomically; the section is replaced on every run, and the
project's manifest keeps listing them as trigc's files."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from trigc.estimate.report import (
    COMPARISON_NOTE,
    COMPARISON_TITLE,
    format_comparison,
)
from trigc.estimate.rtl import PORT_LAYER
from trigc.names import identifier
from trigc.outputs import MANIFEST, atomic_write, file_sha256, read_manifest

log = logging.getLogger(__name__)

RESOURCES = ("lut", "ff", "carry", "dsp", "bram")
SECTION = COMPARISON_TITLE


@dataclass
class Row:
    """One layer (or the total): measured and estimated resources, BRAM in 18 Kb."""

    name: str
    label: str
    module: str | None
    measured: dict[str, float] | None
    estimated: dict[str, float] | None

    def diff_pct(self, resource: str) -> float | None:
        """(estimated - measured) / measured in percent; None when either is missing
        or the measured value is zero."""
        if self.measured is None or self.estimated is None:
            return None
        m, e = self.measured[resource], self.estimated[resource]
        if m == 0:
            return 0.0 if e == 0 else None
        return round(100.0 * (e - m) / m, 2)

    def to_json(self) -> dict:
        return {"layer": self.name, "label": self.label, "module": self.module,
                "resources": {r: {"measured": self.measured and self.measured[r],
                                  "estimated": self.estimated and self.estimated[r],
                                  "diff_pct": self.diff_pct(r)} for r in RESOURCES}}


@dataclass
class Comparison:
    top: str
    tool: str
    total: Row
    layers: list[Row]

    def to_json(self) -> dict:
        return {"kind": SECTION, "tool": self.tool, "top": self.top,
                "note": COMPARISON_NOTE,
                "total": self.total.to_json(), "layers": [r.to_json() for r in self.layers]}

    def __str__(self) -> str:
        return format_comparison(self.to_json())


def measured(usage) -> dict[str, float]:
    """The compared resources of a Yosys ``Usage`` (BRAM from 36 Kb to 18 Kb blocks)."""
    values = {r: getattr(usage, r) for r in RESOURCES}
    values["bram"] = usage.bram * 2
    return values


def estimated(layer: dict) -> dict[str, float]:
    """The compared resources of one layer (or the total) of an estimate's JSON."""
    values = {r: layer.get(r, 0) for r in ("lut", "ff", "dsp", "bram")}
    values["carry"] = (layer.get("detail") or {}).get("carry4", 0)
    return {r: values[r] for r in RESOURCES}


def module_names(top: str, layers: list[str], modules) -> dict[str, str]:
    """{module: layer}, naming ``layers`` (in design order) as the Verilog writer does:
    a name is taken only by a layer that has a module."""
    taken, found = {top}, {}
    for layer in layers:
        name = identifier(f"{top}_{identifier(layer or 'netlist')}", taken)
        if name in modules:
            found[name] = layer
            taken.add(name)
    return found


def compare(top: str, tool: str, total, per_module: dict, estimate: dict,
            node_names: list[str]) -> Comparison:
    """Measured ``total`` / ``per_module`` (Yosys ``Usage``) against ``estimate``
    (``Estimate.to_json()``); ``node_names``: the graph's nodes in order."""
    est_layers = {layer["name"]: layer for layer in estimate.get("layers", [])}
    total_est = {**estimate.get("total", {}), "detail": {"carry4": sum(
        (layer.get("detail") or {}).get("carry4", 0) for layer in est_layers.values())}}
    total_row = Row("total", "total", top, measured(total), estimated(total_est))
    rows: list[Row] = []
    if per_module:
        by_module = module_names(top, [*node_names, "input", "output"], per_module)
        by_layer: dict[str, list[str]] = {}
        for module in per_module:
            layer = PORT_LAYER if module == top else by_module.get(module)
            if layer in ("input", "output") and layer not in est_layers:
                layer = PORT_LAYER  # the port casts are costed with the registers
            by_layer.setdefault(layer, []).append(module)
        for name, layer in est_layers.items():
            modules = by_layer.pop(name, [])
            rows.append(Row(name, _label(layer), ", ".join(modules) or None,
                            _sum([measured(per_module[m]) for m in modules]) if modules
                            else None, estimated(layer)))
        for module in by_layer.pop(None, []):
            rows.append(Row(module, f"{module} (no layer)", module,
                            measured(per_module[module]), None))
    return Comparison(top, tool, total_row, rows)


def _label(layer: dict) -> str:
    source, name = layer.get("source"), layer["name"]
    return f"{source} ({name})" if source and source != name else name


def _sum(values: list[dict[str, float]]) -> dict[str, float]:
    return {r: sum(v[r] for v in values) for r in RESOURCES}


# ---- the project's reports ---------------------------------------------------------------
def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        log.warning("not comparing with the estimate: %s is unreadable (%s)", path, exc)
        return None
    return data if isinstance(data, dict) else None


def _node_names(meta: dict) -> list[str]:
    nodes = (meta.get("graph") or {}).get("nodes") if isinstance(meta, dict) else None
    return [n["name"] for n in nodes or [] if isinstance(n, dict)
            and isinstance(n.get("name"), str)]


def update_reports(root: Path, top: str, tool: str, total, per_module: dict
                   ) -> Comparison | None:
    """Put the comparison into ``root``'s report.txt and report.json; None (and the
    files untouched) when the project has no readable estimate (a hand-written design)."""
    report_json, report_txt = root / "report.json", root / "report.txt"
    if not report_json.is_file():
        return None
    report = _read_json(report_json)
    meta = _read_json(root / "trigc.json") if (root / "trigc.json").is_file() else {}
    estimate = report.get("estimate") if report else None
    if not isinstance(estimate, dict) or meta is None:
        return None
    result = compare(top, tool, total, per_module, estimate, _node_names(meta))
    owned = _owned(root, [report_json, report_txt])
    text = report_txt.read_text(errors="replace") if report_txt.is_file() else ""
    text = text.split(f"\n{SECTION}", 1)[0].rstrip("\n") + "\n\n" + str(result)
    atomic_write(report_txt, text)
    atomic_write(report_json, json.dumps({**report, "measured_vs_estimated": result.to_json()},
                                         indent=1, sort_keys=True) + "\n")
    _refresh_manifest(root, owned)
    return result


def _owned(root: Path, paths: list[Path]) -> list[str]:
    """The ``paths`` the manifest lists unchanged (trigc's files, to stay trigc's)."""
    manifest = read_manifest(root) or {}
    rels = [p.relative_to(root).as_posix() for p in paths]
    return [rel for rel in rels
            if rel in manifest and (root / rel).is_file() and
            file_sha256(root / rel) == manifest[rel]]


def _refresh_manifest(root: Path, rels: list[str]) -> None:
    if not rels:
        return
    data = json.loads((root / MANIFEST).read_text())
    for rel in rels:
        data["files"][rel] = file_sha256(root / rel)
    atomic_write(root / MANIFEST, json.dumps(data, indent=1, sort_keys=True) + "\n")


__all__ = ["SECTION", "Comparison", "Row", "compare", "module_names", "update_reports"]

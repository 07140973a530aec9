"""Gate-level (ASIC) area of a Verilog project (``trigc synth DIR --asic``).

Yosys 0.23 generic synthesis, no vendor library::

    synth -flatten -top TOP            (``per_layer``: also a run without -flatten)
    dfflegalize -cell $_DFF_P_ 01      enables and resets become gates: plain D flip-flops
    abc -g AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX -script +strash;dc2;map
    opt_clean
    stat -json -tech cmos

The ABC script is ``strash; dc2; map`` (AIG rewriting, then mapping to the gate set)
rather than Yosys' default gate-mapping script: the default's choice computation takes
tens of minutes on a combinational (``--stage-ns 0``) jet tagger, where this one takes
about two; on the pipelined jet tagger the two differ by 1% in gates (157,053 against
155,466) and 7% in transistors.

Reported per module and for the flattened design: the cell counts by type, the
flip-flops, a NAND2-equivalent gate count and Yosys' CMOS transistor estimate
(``stat -tech cmos``: 4 per NAND/NOR, 6 per AND/OR/ANDNOT/ORNOT, 12 per XOR/XNOR/MUX,
16 per DFF, 2 per NOT; a trailing ``+`` there means cells it has no figure for).

NAND2 equivalents (:data:`NAND2_WEIGHTS`) are the conventional gate-equivalent
weights, a cell's area relative to a two-input NAND in a typical static-CMOS
standard-cell library (the textbook convention, e.g. Weste & Harris, *CMOS VLSI
Design*, and the GE columns of commercial library data books): INV 0.67, NAND2/NOR2
1, AND2/OR2 and the one-input-inverted ANDNOT/ORNOT 1.33, XOR2/XNOR2/MUX2 2.33, D
flip-flop 4.5. They are an assumption, not taken from one library.

No standard-cell Liberty file is installed here (Yosys' ``cells.lib`` only declares
flip-flop functions, with no area), so both figures are technology-independent
proxies: relative sizes of designs, not mm² of any process.

Cached like :mod:`trigc.synth.yosys` (under ``cache_root()/synth_asic/<key>``); the
project gets ``synth/yosys_asic.log`` and ``synth/asic_report.json``."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from trigc.backends.verilog.portmap import rtl_sources
from trigc.outputs import atomic_write, cache_root, cached, file_sha256, publish
from trigc.synth.yosys import INSTALL_HINT, SynthError, yosys_version

log = logging.getLogger(__name__)

GATES = "AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX"
ABC_SCRIPT = "+strash;dc2;map"  # see the module docstring
FF_CELL = "$_DFF_P_"
NAND2_WEIGHTS = {
    "$_NOT_": 0.67, "$_BUF_": 1.33,
    "$_NAND_": 1.0, "$_NOR_": 1.0,
    "$_AND_": 1.33, "$_OR_": 1.33, "$_ANDNOT_": 1.33, "$_ORNOT_": 1.33,
    "$_XOR_": 2.33, "$_XNOR_": 2.33, "$_MUX_": 2.33,
    FF_CELL: 4.5,
}
PROXY_NOTE = ("technology-independent proxy: no standard-cell Liberty file is installed; "
              "NAND2-eq weights INV .67, NAND/NOR 1, AND/OR/ANDNOT/ORNOT 1.33, "
              "XOR/XNOR/MUX 2.33, DFF 4.5; transistors from Yosys stat -tech cmos")


@dataclass
class GateCount:
    """Gates of one module (its own cells; instances of submodules not included)."""

    cells: dict[str, int] = field(default_factory=dict)
    ff: int = 0
    gates: int = 0             # every counted cell, flip-flops included
    nand2_eq: float = 0.0
    transistors: int = 0
    transistors_complete: bool = True  # False: Yosys had no figure for some cells
    unmapped: dict[str, int] = field(default_factory=dict)  # no NAND2 weight: not counted

    @classmethod
    def from_stat(cls, module: dict, submodules: set[str]) -> GateCount:
        counts = {name: int(n) for name, n in module.get("num_cells_by_type", {}).items()
                  if name.lstrip("\\") not in submodules}
        count = cls(cells=dict(sorted(counts.items())))
        for name, n in counts.items():
            if name in NAND2_WEIGHTS:
                count.gates += n
                count.nand2_eq += NAND2_WEIGHTS[name] * n
            else:
                count.unmapped[name] = n
        count.nand2_eq = round(count.nand2_eq, 2)
        count.ff = counts.get(FF_CELL, 0)
        text = str(module.get("estimated_num_transistors", "0"))
        count.transistors = int(text.rstrip("+") or 0)
        count.transistors_complete = not text.endswith("+")
        return count


@dataclass
class AsicResult:
    """``total``: the flattened design; ``per_module``: the hierarchical run."""

    top: str
    total: GateCount
    per_module: dict[str, GateCount]
    yosys_version: str
    script: str
    cached: bool
    seconds: float  # Yosys wall time (0 when every run came from the cache)
    log_path: Path | None = None
    report_path: Path | None = None

    def to_json(self) -> dict:
        return {"top": self.top, "flow": f"yosys generic synth + abc -g {GATES} ({ABC_SCRIPT[1:]})",
                "yosys_version": self.yosys_version, "script": self.script,
                "note": PROXY_NOTE, "nand2_weights": NAND2_WEIGHTS,
                "total": asdict(self.total),
                "per_module": {k: asdict(v) for k, v in self.per_module.items()}}

    def __str__(self) -> str:
        return format_table(self)


def format_table(result: AsicResult) -> str:
    """The total, then one row per module; the cell types of the total; the caveat."""
    rows = [("total", result.total)] + list(result.per_module.items())
    width = max(12, *(len(name) for name, _ in rows))
    lines = [f"{result.yosys_version}, generic synth, abc -g {GATES}, top {result.top}",
             f"{'module':<{width}} {'gates':>9} {'FF':>7} {'NAND2-eq':>11} {'transistors':>12}"]
    for name, c in rows:
        mark = "" if c.transistors_complete else "+"
        lines.append(f"{name:<{width}} {c.gates:>9} {c.ff:>7} {c.nand2_eq:>11.1f} "
                     f"{str(c.transistors) + mark:>12}")
    if any(not c.transistors_complete for _, c in rows):
        lines.append("+: Yosys has no transistor figure for some cells (in the hierarchical "
                     "run, the instances of submodules)")
    lines.append("cells: " + ", ".join(f"{k.strip('$_')} {v}"
                                       for k, v in result.total.cells.items()))
    if result.total.unmapped:
        lines.append("warning: cells without a NAND2 weight (not counted): " +
                     ", ".join(f"{k} x{v}" for k, v in result.total.unmapped.items()))
    lines.append(f"note: {PROXY_NOTE}")
    return "\n".join(lines)


# ---- running and caching ----------------------------------------------------------
def _yosys() -> str:
    tool = shutil.which(os.environ.get("YOSYS", "yosys"))
    if tool is None:
        raise SynthError(f"yosys is not on PATH; {INSTALL_HINT}")
    return tool


def _script(top: str, count: int, flatten: bool) -> str:
    reads = "\n".join(f"read_verilog src{i}.v" for i in range(count))
    flat = " -flatten" if flatten else ""
    return (f"{reads}\nsynth{flat} -top {top}\ndfflegalize -cell {FF_CELL} 01\n"
            f"abc -g {GATES} -script {ABC_SCRIPT}\nopt_clean\n"
            "tee -q -o stat.json stat -json -tech cmos\n")


def _key(sources: list[Path], version: str, script: str) -> str:
    digest = hashlib.sha256()
    for src in sources:
        digest.update(file_sha256(src).encode())
    digest.update(version.encode())
    digest.update(script.encode())
    return digest.hexdigest()[:24]


def _synthesize(sources: list[Path], script: str, entry: Path) -> float:
    """Run Yosys in a scratch folder, publish ``stat.json`` and ``yosys.log`` into the
    cache folder ``entry``; the wall time in seconds."""
    entry.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="trigc-yosys-asic-", dir=entry.parent) as tmp:
        work = Path(tmp)
        for i, src in enumerate(sources):
            shutil.copyfile(src, work / f"src{i}.v")
        (work / "synth.ys").write_text(script)
        start = time.perf_counter()
        proc = subprocess.run([_yosys(), "-q", "-l", "yosys.log", "-s", "synth.ys"],
                              cwd=work, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        if proc.returncode != 0 or not (work / "stat.json").is_file():
            text = proc.stderr.strip() or proc.stdout.strip()
            tail = " | ".join(text.splitlines()[-3:])
            names = ", ".join(f"src{i}.v = {s.name}" for i, s in enumerate(sources))
            raise SynthError(f"yosys (ASIC flow) failed ({tail}) [{names}]")
        for name in ("yosys.log", "stat.json"):
            publish(work / name, entry / name)
    return seconds


def _stat(top: str, sources: list[Path], version: str,
          flatten: bool) -> tuple[dict, Path, bool, float]:
    script = _script(top, len(sources), flatten)
    entry = cache_root() / "synth_asic" / _key(sources, version, script)
    hit = (cached(entry / "stat.json", "Yosys ASIC cache")
           and cached(entry / "yosys.log", "Yosys ASIC cache"))
    seconds = 0.0 if hit else _synthesize(sources, script, entry)
    try:
        stat = json.loads((entry / "stat.json").read_text())
    except (OSError, ValueError) as exc:
        raise SynthError(f"cannot read Yosys statistics {str(entry)!r}: {exc}") from None
    if not isinstance(stat, dict) or not isinstance(stat.get("modules"), dict):
        raise SynthError("Yosys stat -json has no 'modules'; unsupported Yosys version?")
    return stat, entry / "yosys.log", hit, seconds


def _counts(stat: dict) -> dict[str, GateCount]:
    names = {name.lstrip("\\") for name in stat["modules"]}
    return {name.lstrip("\\"): GateCount.from_stat(module, names)
            for name, module in stat["modules"].items()}


def run(project_dir, *, per_layer: bool = False) -> AsicResult:
    """Gate-level synthesis of a Verilog project; see the module docstring.
    ``per_layer`` adds a hierarchical run whose modules are reported one by one."""
    root = Path(project_dir).resolve()
    top, sources = rtl_sources(root)
    version = yosys_version()
    stat, log_file, hit, seconds = _stat(top, sources, version, flatten=True)
    flat = _counts(stat)
    total = flat.get(top) or next(iter(flat.values()), GateCount())
    per_module: dict[str, GateCount] = {}
    logs = [log_file]
    if per_layer:
        hier, hier_log, hier_hit, hier_seconds = _stat(top, sources, version, flatten=False)
        per_module = _counts(hier)
        logs.append(hier_log)
        hit, seconds = hit and hier_hit, seconds + hier_seconds
    result = AsicResult(top, total, per_module, version, _script(top, len(sources), True),
                        hit, round(seconds, 2))
    _write_outputs(root, result, logs)
    return result


def _write_outputs(root: Path, result: AsicResult, logs: list[Path]) -> None:
    out = root / "synth"
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise SynthError(f"{str(out)!r} is not a folder of the project (a symlink or a "
                         "file); remove it and run again")
    text = "\n".join(p.read_text(errors="replace") for p in logs)
    result.log_path = atomic_write(out / "yosys_asic.log", text, make_parents=True)
    result.report_path = atomic_write(out / "asic_report.json",
                                      json.dumps(result.to_json(), indent=1) + "\n")

"""Yosys 0.23 ``synth_xilinx -family xcup`` of a Verilog project's ``rtl_files``.

The cell counts of ``stat -json`` are grouped into LUT, FF, CARRY, DSP, BRAM (in
36 Kb blocks: a RAMB18E2 counts 0.5), MUXF and LUTRAM (LUT RAMs and SRL shift
registers). Cells Yosys left unmapped (``$mem_v2`` and other ``$`` cells, e.g. a
``rom_style = "distributed"`` ROM, which Yosys 0.23 does not map) are listed in
``unmapped``: the totals then undercount.

Results are cached like the C-sim builds (:func:`trigc.outputs.cached`): under
``cache_root()/synth/<sha256 of the sources, the Yosys version and the script>``,
each file with a SHA-256 sidecar verified before use. The project gets
``synth/yosys.log`` and ``synth/synth_report.json``, and its ``report.txt`` and
``report.json`` the measured numbers beside trigc's estimate (:mod:`trigc.synth.compare`)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from trigc.errors import TrigcError
from trigc.outputs import atomic_write, file_sha256
from trigc.backends.verilog.portmap import rtl_sources
from trigc.outputs import cache_root, cached, publish
from trigc.synth.compare import Comparison, update_reports

log = logging.getLogger(__name__)

INSTALL_HINT = "install it with `make setup` (apt-get install verilator yosys iverilog)"
FAMILY = "xcup"
CATEGORIES = {
    "lut": ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6", "LUT6_2"),
    "ff": ("FDRE", "FDSE", "FDCE", "FDPE", "FDRE_1", "FDSE_1", "FDCE_1", "FDPE_1",
           "LDCE", "LDPE"),
    "carry": ("CARRY4", "CARRY8"),
    "dsp": ("DSP48E2", "DSP48E1", "DSP48E"),
    "muxf": ("MUXF7", "MUXF8", "MUXF9"),
    "lutram": ("RAM16X1D", "RAM32X1D", "RAM64X1D", "RAM128X1D", "RAM256X1D", "RAM32X1S",
               "RAM64X1S", "RAM128X1S", "RAM256X1S", "RAM512X1S", "RAM32M", "RAM64M",
               "RAM32M16", "RAM64M8", "SRL16E", "SRLC16E", "SRLC32E"),
}
BRAM_36K = {"RAMB36E2": 1.0, "RAMB36E1": 1.0, "RAMB18E2": 0.5, "RAMB18E1": 0.5}
BRAM_NOTE = "BRAM in 36 Kb blocks (a RAMB18 counts 0.5)"


class SynthError(TrigcError, RuntimeError):
    """Yosys is missing, failed, or its statistics cannot be read."""


@dataclass
class Usage:
    """Resources of one module (or of the flattened design)."""

    lut: int = 0
    ff: int = 0
    carry: int = 0
    dsp: int = 0
    bram: float = 0.0
    muxf: int = 0
    lutram: int = 0
    unmapped: dict[str, int] = field(default_factory=dict)
    cells: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_cells(cls, cells: dict[str, int]) -> Usage:
        usage = cls(cells=dict(sorted(cells.items())))
        for name, count in cells.items():
            kind = next((k for k, names in CATEGORIES.items() if name in names), None)
            if kind is not None:
                setattr(usage, kind, getattr(usage, kind) + count)
            elif name in BRAM_36K:
                usage.bram += BRAM_36K[name] * count
            elif name.startswith("$"):
                usage.unmapped[name] = count
        return usage


@dataclass
class SynthResult:
    """``total``: the flattened design; ``per_module``: each module's own cells
    (hierarchical run, ``per_layer=True``; instances of submodules not included)."""

    top: str
    total: Usage
    per_module: dict[str, Usage]
    yosys_version: str
    script: str
    cached: bool
    log_path: Path | None = None
    report_path: Path | None = None
    comparison: Comparison | None = None  # with the project's estimate (report.txt)

    def to_json(self) -> dict:
        return {"top": self.top, "family": FAMILY, "yosys_version": self.yosys_version,
                "script": self.script, "note": BRAM_NOTE, "total": asdict(self.total),
                "per_module": {k: asdict(v) for k, v in self.per_module.items()}}

    def __str__(self) -> str:
        return format_table(self)


COLUMNS = ("lut", "ff", "carry", "dsp", "bram", "muxf", "lutram")


def format_table(result: SynthResult) -> str:
    """A small table: the total, then one row per module when there are any."""
    rows = [("total", result.total)] + list(result.per_module.items())
    width = max(12, *(len(name) for name, _ in rows))
    head = f"{'module':<{width}} " + " ".join(f"{c.upper():>7}" for c in COLUMNS)
    title = f"{result.yosys_version}, synth_xilinx -family {FAMILY}, top {result.top}"
    lines = [f"{title} ({BRAM_NOTE})", head]
    for name, usage in rows:
        cells = " ".join(f"{getattr(usage, c):>7g}" for c in COLUMNS)
        lines.append(f"{name:<{width}} {cells}")
    unmapped = result.total.unmapped
    if unmapped:
        lines.append("warning: unmapped cells (not counted): " +
                     ", ".join(f"{k} x{v}" for k, v in unmapped.items()))
    return "\n".join(lines)


# ---- the tool ---------------------------------------------------------------------
def _yosys() -> str:
    tool = shutil.which(os.environ.get("YOSYS", "yosys"))
    if tool is None:
        raise SynthError(f"yosys is not on PATH; {INSTALL_HINT}")
    return tool


def yosys_version() -> str:
    """The installed Yosys version line, e.g. ``Yosys 0.23 (git sha1 7ce5011c24b)``."""
    try:
        proc = subprocess.run([_yosys(), "-V"], capture_output=True, text=True,
                              timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SynthError(f"cannot run yosys -V ({exc}); {INSTALL_HINT}") from None
    if proc.returncode != 0:
        raise SynthError(f"yosys -V failed: {proc.stderr.strip()[:200]}; {INSTALL_HINT}")
    return proc.stdout.strip()


# ---- running and caching ----------------------------------------------------------
def _script(top: str, count: int, flatten: bool) -> str:
    reads = "\n".join(f"read_verilog src{i}.v" for i in range(count))
    flat = " -flatten" if flatten else ""
    return (f"{reads}\nsynth_xilinx -family {FAMILY} -top {top}{flat}\n"
            "tee -q -o stat.json stat -json\n")


def _key(sources: list[Path], version: str, script: str) -> str:
    h = hashlib.sha256()
    for src in sources:
        h.update(file_sha256(src).encode())
    h.update(version.encode())
    h.update(script.encode())
    return h.hexdigest()[:24]


def _synthesize(sources: list[Path], script: str, entry: Path) -> None:
    """Run Yosys in a scratch folder and publish ``stat.json`` and ``yosys.log`` (with
    SHA-256 sidecars) into the cache folder ``entry``."""
    entry.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="trigc-yosys-", dir=entry.parent) as tmp:
        work = Path(tmp)
        for i, src in enumerate(sources):  # fixed names: no path ever enters the script
            shutil.copyfile(src, work / f"src{i}.v")
        (work / "synth.ys").write_text(script)
        log.info("yosys in %s", work)
        proc = subprocess.run([_yosys(), "-q", "-l", "yosys.log", "-s", "synth.ys"],
                              cwd=work, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not (work / "stat.json").is_file():
            text = proc.stderr.strip() or proc.stdout.strip()
            tail = " | ".join(text.splitlines()[-3:])
            names = ", ".join(f"src{i}.v = {s.name}" for i, s in enumerate(sources))
            raise SynthError(f"yosys failed ({tail}) [{names}]")
        for name in ("yosys.log", "stat.json"):
            publish(work / name, entry / name)


def _stat(top: str, sources: list[Path], version: str, flatten: bool) -> tuple[dict, Path, bool]:
    """Yosys' ``stat -json`` (cached) and the path of its cached log."""
    script = _script(top, len(sources), flatten)
    entry = cache_root() / "synth" / _key(sources, version, script)
    hit = cached(entry / "stat.json", "Yosys cache") and cached(entry / "yosys.log", "Yosys cache")
    if not hit:
        _synthesize(sources, script, entry)
    try:
        return json.loads((entry / "stat.json").read_text()), entry / "yosys.log", hit
    except (OSError, ValueError) as exc:
        raise SynthError(f"cannot read Yosys statistics {str(entry)!r}: {exc}") from None


def _modules(stat: dict) -> dict[str, dict[str, int]]:
    modules = stat.get("modules") if isinstance(stat, dict) else None
    if not isinstance(modules, dict):
        raise SynthError("Yosys stat -json has no 'modules'; unsupported Yosys version?")
    return {name.lstrip("\\"): dict(m.get("num_cells_by_type", {}))
            for name, m in modules.items()}


def run(project_dir, *, flatten: bool = True, per_layer: bool = False) -> SynthResult:
    """Synthesize a Verilog project; see the module docstring. ``per_layer`` adds a
    hierarchical run whose modules are reported one by one."""
    root = Path(project_dir).resolve()
    top, sources = rtl_sources(root)
    version = yosys_version()
    stat, log_file, hit = _stat(top, sources, version, flatten)
    modules = _modules(stat)
    if flatten:
        total = Usage.from_cells(modules.get(top) or next(iter(modules.values()), {}))
    else:
        total = Usage.from_cells(stat.get("design", {}).get("num_cells_by_type", {}))
    per_module: dict[str, Usage] = {}
    logs = [log_file]
    if per_layer:
        hier, hier_log, hier_hit = _stat(top, sources, version, flatten=False)
        per_module = {name: Usage.from_cells(cells) for name, cells in _modules(hier).items()}
        logs.append(hier_log)
        hit = hit and hier_hit
    result = SynthResult(top, total, per_module, version, _script(top, len(sources), flatten),
                         hit)
    _write_outputs(root, result, logs)
    result.comparison = update_reports(root, top, f"{version}, synth_xilinx -family {FAMILY}",
                                       total, per_module)
    return result


def _write_outputs(root: Path, result: SynthResult, logs: list[Path]) -> None:
    out = root / "synth"
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise SynthError(f"{str(out)!r} is not a folder of the project (a symlink or a "
                         "file); remove it and run again")
    text = "\n".join(p.read_text(errors="replace") for p in logs)
    result.log_path = atomic_write(out / "yosys.log", text, make_parents=True)
    result.report_path = atomic_write(out / "synth_report.json",
                                      json.dumps(result.to_json(), indent=1) + "\n")

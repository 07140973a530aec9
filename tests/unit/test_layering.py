"""Import layering of the compiler core (issue 12): the passes sit below the frontends
and everything that consumes the final IR, and the frontends never reach back into the
passes. Checked on the source (every import, also inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import trigc

PACKAGE = Path(trigc.__file__).parent


def imported_modules(path: Path) -> set[str]:
    """Every ``trigc.*`` module a file imports, at any depth of the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {m for m in found if m == "trigc" or m.startswith("trigc.")}


def files_of(package: str) -> list[Path]:
    return sorted((PACKAGE / package).rglob("*.py"))


PASSES_MUST_NOT_IMPORT = ("trigc.frontends", "trigc.backends", "trigc.estimate",
                          "trigc.export", "trigc.trigger", "trigc.csim", "trigc.project",
                          "trigc.profile", "trigc.ptq", "trigc.datasets", "trigc.cli",
                          "trigc.api", "trigc.emulator")


def _outside(path: Path, own: str, allowed: tuple[str, ...]) -> set[str]:
    return {m for m in imported_modules(path)
            if not (m == own or m.startswith(own + ".") or m in allowed)}


@pytest.mark.parametrize("path", files_of("ir"), ids=lambda p: p.name)
def test_ir_imports_only_fixed_and_errors(path):
    bad = _outside(path, "trigc.ir", ("trigc.fixed", "trigc.errors"))
    assert not bad, f"{path.name} imports {sorted(bad)}"


@pytest.mark.parametrize("path", files_of("ops"), ids=lambda p: p.name)
def test_ops_import_only_ir_fixed_and_errors(path):
    bad = {m for m in _outside(path, "trigc.ops", ("trigc.fixed", "trigc.errors"))
           if not m.startswith("trigc.ir")}
    assert not bad, f"{path.name} imports {sorted(bad)}"


@pytest.mark.parametrize("path", files_of("passes"), ids=lambda p: p.name)
def test_passes_import_nothing_above_them(path):
    bad = {m for m in imported_modules(path) if m.startswith(PASSES_MUST_NOT_IMPORT)}
    assert not bad, f"{path.name} imports {sorted(bad)}"


@pytest.mark.parametrize("path", files_of("frontends"), ids=lambda p: p.name)
def test_frontends_do_not_import_passes(path):
    bad = {m for m in imported_modules(path) if m.startswith("trigc.passes")}
    assert not bad, f"{path.name} imports {sorted(bad)}"


def test_quantizers_sit_below_frontends_and_passes():
    assert imported_modules(PACKAGE / "quantizers.py") <= {"trigc.errors"}


def test_compiler_core_does_not_import_the_toy_datasets():
    users = [p.relative_to(PACKAGE) for p in PACKAGE.rglob("*.py")
             if "trigc.datasets" in imported_modules(p) and p.name != "datasets.py"]
    assert users == []

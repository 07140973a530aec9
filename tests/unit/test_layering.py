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


# ---- the whole layer map of docs/architecture.md ------------------------------------------

# Each top-level module or package of trigc and its layer (docs/architecture.md). An
# import may point to a lower layer or stay inside its own package; peers in one layer
# (e.g. backends and estimate) may not import each other.
LAYERS = {
    "errors": 0,
    "fixed": 1, "quantizers": 1, "names": 1, "target": 1, "outputs": 1,
    "config": 2,
    "ir": 3,
    "ops": 4,
    "frontends": 5, "passes": 5, "emulator": 5,
    "api": 6, "plans": 6,
    "netlist": 7, "ptq": 7,
    "backends": 8, "estimate": 8,
    "csim": 9, "rtlsim": 9, "synth": 9,
    "project": 10,
    "trigger": 11, "export": 11,
    "profile": 12,
    "cli": 13,
    "datasets": 13,  # toy data for models, tests and benchmarks: above the compiler
}
PACKAGE_INIT_NAMES = {"__version__"}  # what a module may take from ``trigc`` itself


def top_level(module: str) -> str:
    return module.split(".")[1] if "." in module else "trigc"


def owner_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 else rel.stem


def package_edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if path == PACKAGE / "__init__.py":
            continue
        own = owner_of(path)
        edges.setdefault(own, set()).update(
            top_level(m) for m in imported_modules(path) if top_level(m) != own)
    return edges


def test_every_module_has_a_layer():
    assert set(package_edges()) - set(LAYERS) == set()


@pytest.mark.parametrize("path", [p for p in sorted(PACKAGE.rglob("*.py"))
                                  if p != PACKAGE / "__init__.py"],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_downward(path):
    own = owner_of(path)
    bad = []
    for module in imported_modules(path):
        target = top_level(module)
        if target == own:
            continue
        if target == "trigc":  # the package itself: only its version
            bad += [module] if not _imports_only(path, PACKAGE_INIT_NAMES) else []
        elif LAYERS[target] >= LAYERS[own]:
            bad.append(f"{module} (layer {LAYERS[target]} >= {own}'s {LAYERS[own]})")
    assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"


def _imports_only(path: Path, names: set[str]) -> bool:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "trigc" and node.level == 0:
            if not {a.name for a in node.names} <= names:
                return False
        if isinstance(node, ast.Import) and any(a.name == "trigc" for a in node.names):
            return False
    return True


def test_no_import_cycles_between_packages():
    edges = package_edges()
    edges = {k: {t for t in v if t != "trigc"} for k, v in edges.items()}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(trail + [node, nxt]))
            if nxt not in state:
                visit(nxt, trail + [node])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [])


def test_layer_map_matches_the_architecture_doc():
    doc = (PACKAGE.parent / "docs" / "architecture.md")
    if not doc.is_file():  # an installed package has no docs beside it
        pytest.skip("docs/architecture.md is not beside the package")
    text = doc.read_text()
    missing = [name for name in LAYERS if name not in text]
    assert missing == [], f"docs/architecture.md does not mention {missing}"


def _runtime_imports(path: Path) -> set[str]:
    """``trigc.*`` modules (or ``module.name`` for ``from module import name``) a file
    imports at run time: everything except ``if TYPE_CHECKING:`` blocks."""
    found: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            return
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.update({node.module} | {f"{node.module}.{a.name}" for a in node.names})
            found.add(f"?{node.module}")  # resolved below: the package or its submodules
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        for child in ast.iter_child_nodes(node):
            walk(child)

    walk(ast.parse(path.read_text()))
    return {m for m in found if m.lstrip("?").startswith("trigc.")}


def _resolve(imports: set[str], modules: dict) -> set[str]:
    """``from pkg import sub`` (a submodule) depends on ``sub``; ``from pkg import
    name`` (anything else) on ``pkg`` itself."""
    out = {m for m in imports if m in modules and f"?{m}" not in imports}
    for marker in (m for m in imports if m.startswith("?")):
        package = marker[1:]
        subs = {m for m in imports if m.startswith(package + ".") and m in modules
                and m.count(".") == package.count(".") + 1}
        names = {m for m in imports if m.startswith(package + ".")
                 and m.count(".") == package.count(".") + 1}
        out |= subs
        if names - subs and package in modules:
            out.add(package)
    return out


def test_no_import_cycles_between_modules():
    """Module by module, at run time (imports inside functions included)."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).with_suffix("")
        name = ".".join(("trigc", *rel.parts)).removesuffix(".__init__")
        modules[name] = path
    edges = {name: _resolve(_runtime_imports(path), modules) - {name}
             for name, path in modules.items()}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycle = trail[trail.index(nxt):] if nxt in trail else trail
                raise AssertionError("import cycle: " + " -> ".join([*cycle, node, nxt]))
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [])


# ---- moved from test_target.py: one scanner for every import rule -------------------------

def imported_names(path: Path) -> set[str]:
    """Every module, and ``module.name`` for ``from module import name``, a file imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in found if m.startswith("trigc")}


def test_target_sits_below_everything():
    assert imported_names(PACKAGE / "target.py") <= {"trigc.errors", "trigc.errors.ConfigError"}


def test_writer_runs_neither_emulator_nor_estimator_and_nobody_imports_privates():
    writer = imported_names(PACKAGE / "backends" / "vitis" / "writer.py")
    assert not {m for m in writer
                if m.startswith(("trigc.emulator", "trigc.estimate", "trigc.export"))}
    for path in [*PACKAGE.rglob("*.py")]:
        private = {m for m in imported_names(path) if m.rsplit(".", 1)[-1].startswith("_")
                   and not m.endswith("__version__")}
        assert not private, f"{path.relative_to(PACKAGE)} imports {sorted(private)}"


def test_only_the_cli_package_parses_arguments():
    for path in PACKAGE.rglob("*.py"):
        if "cli" in path.relative_to(PACKAGE).parts:
            continue
        assert "trigc.cli" not in {m.rsplit(".", 1)[0] for m in imported_names(path)} | \
            imported_names(path), path

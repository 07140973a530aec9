"""trigc.target: the typed Target and BuildOptions, their JSON form, the one list of
option keys, and where they sit in the import layering."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import trigc
from trigc.backends.vitis.interfaces import INTERFACES
from trigc.config import KEYS, check_config
from trigc.errors import ConfigError
from trigc.target import (
    DEFAULT_CLOCK_NS, DEFAULT_PART, INTERFACES as INTERFACE_NAMES, OPTION_KEYS, BuildOptions,
    InterfaceError, Target,
)

PACKAGE = Path(trigc.__file__).parent


def _imports(path: Path) -> set[str]:
    """Every module (and ``module.name`` for ``from module import name``) a file imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in found if m.startswith("trigc")}


def test_defaults_are_one_part_and_one_clock():
    options = BuildOptions()
    assert (options.part, options.clock_ns, options.board) == (DEFAULT_PART, DEFAULT_CLOCK_NS,
                                                               None)
    assert options.backend == "vitis" and options.io_mode == "parallel"


def test_json_round_trip_keeps_the_stored_settings_form():
    options = BuildOptions(Target.resolve(board="vcu118", clock_ns=4.0), default_reuse=2,
                           reuse={"fc2": 3, "fc1": 1}, interface="AXIS", axis_word_bits=64)
    data = options.to_json()
    assert set(data) == {"part", "clock_ns", "board", "default_reuse", "reuse", "interface",
                         "axis_word_bits"}, "new options appear only when set"
    assert data["interface"] == "axis" and list(data["reuse"]) == ["fc1", "fc2"]
    assert BuildOptions.from_json(data) == options
    with_budgets = options.replace(budgets={"dsp": 10})
    assert with_budgets.to_json()["budgets"] == {"dsp": 10}
    assert BuildOptions.from_json(with_budgets.to_json()) == with_budgets


def test_unknown_keys_are_refused_with_the_valid_ones():
    with pytest.raises(ConfigError, match="Unknown key 'clock' in the build options; did you "
                                          "mean 'clock_ns'\\? known keys: reuse, "):
        BuildOptions.from_json({"clock": 5})
    with pytest.raises(ConfigError, match="Unknown key 'reuse_factor'.*known keys: precision"):
        check_config({"reuse_factor": 2})
    with pytest.raises(ConfigError, match="Unknown key 'nope'"):
        trigc.compile(None, "/nonexistent/never-written", config={"nope": 1})


def test_config_keys_are_the_option_keys_and_precision():
    assert KEYS == {"precision": KEYS["precision"], **OPTION_KEYS}
    assert set(OPTION_KEYS) == set(BuildOptions().to_json()) | {"backend", "io_mode",
                                                                "budgets"}


def test_values_are_checked_on_construction():
    with pytest.raises(ConfigError, match="reuse factor from 1"):
        BuildOptions(default_reuse=0)
    with pytest.raises(ConfigError, match="'backend' in the build options must be one of "
                                          "vitis \\(verilog and catapult are planned\\)"):
        BuildOptions(backend="verilog")
    with pytest.raises(InterfaceError, match="Unknown interface 'axi4'"):
        BuildOptions(interface="axi4")
    with pytest.raises(ConfigError, match="clock period is 0 ns"):
        Target(clock_ns=0)
    with pytest.raises(ConfigError, match="carries the part.*not both"):
        Target("xcku5p-ffvb676-2-e", board="vcu118")


def test_reuse_for_reads_node_then_source_name():
    class Node:
        name, source = "dense_0", "fc1"

    assert BuildOptions(default_reuse=2).reuse_for(Node()) == 2
    assert BuildOptions(reuse={"fc1": 4}).reuse_for(Node()) == 4
    assert BuildOptions(reuse={"fc1": 4, "dense_0": 3}).reuse_for(Node()) == 3


def test_the_backend_interface_table_covers_the_typed_names():
    assert tuple(INTERFACES) == INTERFACE_NAMES


def test_target_sits_below_everything():
    assert _imports(PACKAGE / "target.py") <= {"trigc.errors", "trigc.errors.ConfigError"}


def test_writer_runs_neither_emulator_nor_estimator_and_nobody_imports_privates():
    writer = _imports(PACKAGE / "backends" / "vitis" / "writer.py")
    assert not {m for m in writer
                if m.startswith(("trigc.emulator", "trigc.estimate", "trigc.export"))}
    for path in [*PACKAGE.rglob("*.py")]:
        private = {m for m in _imports(path) if m.rsplit(".", 1)[-1].startswith("_")
                   and not m.endswith("__version__")}
        assert not private, f"{path.relative_to(PACKAGE)} imports {sorted(private)}"


def test_only_the_cli_package_parses_arguments():
    for path in PACKAGE.rglob("*.py"):
        if "cli" in path.relative_to(PACKAGE).parts:
            continue
        assert "trigc.cli" not in {m.rsplit(".", 1)[0] for m in _imports(path)} | \
            _imports(path), path

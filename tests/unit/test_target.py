"""trigc.target: the typed Target and BuildOptions, their JSON form, the one list of
option keys, and where they sit in the import layering."""

from __future__ import annotations

import pytest

import trigc
from trigc.backends.vitis.interfaces import INTERFACES
from trigc.config import KEYS, check_config
from trigc.errors import ConfigError
from trigc.target import (
    DEFAULT_CLOCK_NS, DEFAULT_PART, INTERFACES as INTERFACE_NAMES, OPTION_KEYS, BuildOptions,
    InterfaceError, Target,
)


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
    assert KEYS == {"precision": KEYS["precision"], "softmax": KEYS["softmax"], **OPTION_KEYS}
    assert set(OPTION_KEYS) == set(BuildOptions().to_json()) | {
        "backend", "io_mode", "budgets", "stage_ns", "dsp_digits", "fifo_depths"}


def test_values_are_checked_on_construction():
    with pytest.raises(ConfigError, match="reuse factor from 1"):
        BuildOptions(default_reuse=0)
    with pytest.raises(ConfigError, match="'backend' in the build options must be one of "
                                          "vitis, verilog, catapult, not 'hls4ml'"):
        BuildOptions(backend="hls4ml")
    assert BuildOptions(backend="catapult").backend == "catapult"
    with pytest.raises(ConfigError, match="'stage_ns' in the build options must be from 0"):
        BuildOptions(stage_ns=-1.0)
    with pytest.raises(ConfigError, match="'dsp_digits' .* signed digits from 2"):
        BuildOptions(dsp_digits=1)
    assert BuildOptions(stage_ns=0).stage_budget_ns is None  # combinational
    assert BuildOptions(Target(clock_ns=4.0)).stage_budget_ns == 3.5
    assert BuildOptions.from_json(BuildOptions(stage_ns=2.5, dsp_digits=4).to_json()) == \
        BuildOptions(stage_ns=2.5, dsp_digits=4)
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

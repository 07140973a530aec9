"""The board table, `trigc boards`, and --board wherever a part is accepted."""

import pytest
import trigc
from export_util import run_cli
from trigc.estimate import UnknownPartError, lookup
from trigc.export.boards import BOARDS, UnknownBoardError, board_device, get_board
from trigc.cli.options import add_target_options, target_kwargs
from trigc.frontends.qonnx_builder import quantized_mlp
from trigc.target import DEFAULT_PART, BuildOptions, Target


def test_table_has_the_required_targets():
    parts = {b.part for b in BOARDS.values()}
    assert any(p.startswith("xcvu9p-") and BOARDS[n].kind == "trigger processor"
               for n, p in ((n, b.part) for n, b in BOARDS.items()))
    assert any(b.part.startswith("xcvu13p-") and b.kind == "trigger processor"
               for b in BOARDS.values())
    assert any(p.startswith("xcku") and p.split("-")[0].endswith("p") for p in parts), \
        "a Kintex UltraScale+ board"
    assert {"vcu118", "zcu102", "alveo_u250"} <= set(BOARDS)
    assert get_board("VCU118").part == "xcvu9p-flga2104-2L-e"
    assert get_board("zcu102").part == "xczu9eg-ffvb1156-2-e"


@pytest.mark.parametrize("name", list(BOARDS))
def test_every_board_is_complete(name):
    b = BOARDS[name]
    assert b.name == name and b.title and len(b.source) > 20
    assert len(b.part.split("-")) == 4, "device-package-speed-temperature"
    assert b.speed_grade[0] == "-" and b.speed_grade[1].isdigit()
    assert b.temperature_grade in ("E", "I")
    assert 1.0 < b.clock_ns < 20.0


@pytest.mark.parametrize("name", list(BOARDS))
def test_board_parts_come_from_the_estimator_device_table(name):
    b = BOARDS[name]
    device = board_device(b)
    assert device is not None, f"{b.part} is not in trigc.estimate.devices"
    assert device is lookup(b.part)
    assert b.part.split("-")[0] == device.part.split("-")[0], "same die"


def test_trigc_boards_prints_a_header_then_one_board_per_line(capsys):
    assert run_cli(["boards"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["board", "part"]
    assert len(lines) == 1 + len(BOARDS)
    for line, b in zip(lines[1:], BOARDS.values()):
        assert line.split()[:2] == [b.name, b.part]
        assert b.source in line


def test_trigc_boards_json(capsys):
    import json

    assert run_cli(["boards", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == list(BOARDS)
    assert rows[0]["speed_grade"] == BOARDS[rows[0]["name"]].speed_grade


def test_unknown_board_lists_the_known_ones():
    with pytest.raises(UnknownBoardError, match=r"Unknown board 'vcu999'.*vcu118.*zcu102"):
        get_board("vcu999")


def test_target_takes_part_and_clock_from_the_board():
    s = Target.resolve(board="apd1")
    assert (s.part, s.clock_ns, s.board) == (BOARDS["apd1"].part, 2.777, "apd1")
    assert Target.resolve(board="vcu118", clock_ns=4.0).clock_ns == 4.0
    assert Target.resolve(board="VCU118", part="XCVU9P-FLGA2104-2L-E").board == "vcu118"
    assert Target.resolve().part == DEFAULT_PART and BuildOptions().board is None
    with pytest.raises(trigc.ConfigError, match="carries the part xczu9eg.*not both"):
        Target.resolve(board="zcu102", part="xcvu9p-flga2104-2L-e")


def test_options_json_round_trip_and_board_change():
    s = BuildOptions(Target.resolve(board="vcu118", clock_ns=4.0), interface="axis",
                     default_reuse=2)
    same = BuildOptions.from_json(s.to_json())
    assert same == s
    other = BuildOptions.from_json(s.to_json(), board="alveo_u250")
    assert (other.part, other.clock_ns) == (BOARDS["alveo_u250"].part, 3.333)
    assert other.interface == "axis" and other.default_reuse == 2


def test_compile_with_a_board(tmp_path):
    model = quantized_mlp(sizes=(8, 6, 3), seed=3)
    project = trigc.compile(model, tmp_path / "p", board="zcu102")
    settings = project.meta["settings"]
    assert settings["board"] == "zcu102" and settings["part"] == "xczu9eg-ffvb1156-2-e"
    assert project.estimate().device.name == "ZU9EG"
    tcl = (project.path / "build_prj.tcl").read_text()
    assert "set_part {xczu9eg-ffvb1156-2-e}" in tcl
    config = {"board": "alveo_u250", "part": "xcvu9p-flga2104-2L-e"}
    with pytest.raises(trigc.ConfigError, match="not both"):
        trigc.compile(model, tmp_path / "q", config=config)
    project = trigc.compile(model, tmp_path / "q", config=config, board="apd1")
    assert project.meta["settings"]["part"] == BOARDS["apd1"].part, "keywords win"
    with pytest.raises(UnknownBoardError):
        trigc.compile(model, tmp_path / "r", board="nope")
    assert not (tmp_path / "r").exists()


def test_board_whose_part_the_estimator_lacks_fails_clearly(tmp_path):
    missing = [b for b in BOARDS.values() if board_device(b) is None]
    if not missing:
        pytest.skip("the estimator knows every board's part")
    with pytest.raises(UnknownPartError, match=f"Board '{missing[0].name}'.*trigc boards"):
        trigc.compile(quantized_mlp(sizes=(8, 6, 3)), tmp_path / "p", board=missing[0].name)
    assert not (tmp_path / "p").exists()


def test_target_flags_for_the_cli():
    import argparse

    p = argparse.ArgumentParser()
    add_target_options(p)
    args = p.parse_args(["--board", "vcu118", "--interface", "axis", "--axis-word-bits", "64",
                         "--clock-ns", "4", "--backend", "vitis"])
    assert target_kwargs(args) == {"part": None, "board": "vcu118", "clock_ns": 4.0,
                                   "backend": "vitis", "interface": "axis",
                                   "axis_word_bits": 64, "stage_ns": None, "dsp_digits": None}
    assert set(target_kwargs(p.parse_args([])).values()) == {None}


@pytest.mark.parametrize("command", ["compile", "export"])
def test_target_flags_are_the_same_on_every_subcommand(command):
    from trigc.cli import build_parser

    parser = build_parser()
    args = parser.parse_args([command, "x", "-o", "y", "--part", "xcvu9p-flga2104-2L-e",
                              "--clock-ns", "3", "--backend", "vitis"])
    assert (args.part, args.clock_ns, args.backend) == ("xcvu9p-flga2104-2L-e", 3.0, "vitis")

"""The trigc command line: inspect, compile (with budgets), check."""

import json

import onnx
import pytest

from trigc.cli import main
from trigc.frontends.qonnx_builder import quantized_mlp


@pytest.fixture()
def model_path(tmp_path):
    path = tmp_path / "tiny.onnx"
    onnx.save(quantized_mlp(sizes=(8, 6, 3), seed=3), str(path))
    return path


def test_inspect_prints_every_layer_with_types(model_path, capsys):
    assert main(["inspect", str(model_path)]) == 0
    out = capsys.readouterr().out
    assert "Dense(x[8]:fixed<8,4,RND_CONV,SAT>" in out
    assert out.count("Dense(") == 2 and "accum_type=" in out


def test_compile_writes_reports_and_check_enforces_budgets(model_path, tmp_path, capsys):
    prj = tmp_path / "prj"
    assert main(["compile", str(model_path), "-o", str(prj), "--dsp", "50"]) == 0
    out = capsys.readouterr().out
    assert "not a synthesis result" in out and "dsp" in out
    for name in ("report.txt", "report.json", "report.png", "trigc.json"):
        assert (prj / name).is_file()
    assert json.loads((prj / "trigc.json").read_text())["budgets"] == {"dsp": 50}
    assert main(["check", str(prj)]) == 0
    capsys.readouterr()
    assert main(["check", str(prj), "--latency-ns", "1"]) == 1
    err = capsys.readouterr().err
    assert "over budget latency_ns" in err and "Hint" in err


def test_compile_over_budget_exits_1_but_writes_project(model_path, tmp_path, capsys):
    prj = tmp_path / "prj"
    assert main(["compile", str(model_path), "-o", str(prj), "--latency-cycles", "1"]) == 1
    assert (prj / "trigc.json").is_file()
    assert "latency_cycles" in capsys.readouterr().err


def test_errors_are_one_line_and_exit_2(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "missing.onnx")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["compile", str(tmp_path / "missing.onnx"), "-o", str(tmp_path / "p")]) == 2
    assert not (tmp_path / "p").exists()


def test_unknown_part_is_rejected_before_writing(model_path, tmp_path, capsys):
    assert main(["compile", str(model_path), "-o", str(tmp_path / "p"), "--part", "xc7nope"]) == 2
    assert "xcvu9p" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()

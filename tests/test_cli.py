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
    for name in ("report.txt", "report.json", "report.svg", "trigc.json"):
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


def test_profile_writes_precision_config_usable_by_inspect(tmp_path, capsys):
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = rng.normal(0, 0.5, (8, 4)).astype(np.float32)
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="fc/MatMul")],
                          "f", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
                          [numpy_helper.from_array(w, "w")])
    model = tmp_path / "f.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), str(model))
    np.save(tmp_path / "x.npy", rng.normal(0, 2, (500, 8)).astype(np.float32))
    out = tmp_path / "prof"
    assert main(["profile", str(model), "--data", str(tmp_path / "x.npy"), "--weights",
                 "--out", str(out)]) == 0
    assert "fc" in capsys.readouterr().out
    assert (out / "profile.png").is_file()
    assert main(["inspect", str(model), "--config", str(out / "precision.json")]) == 0
    assert "Dense(" in capsys.readouterr().out

"""Generated projects: deterministic, atomic, and bit-exact against the emulator
through both the ctypes C-sim and the project's own testbench."""

import filecmp
import sys
from pathlib import Path

import numpy as np
import pytest

import trigc
from trigc.frontends.qonnx_builder import quantized_mlp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers.qonnx_models import convnet  # noqa: E402


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_compile_is_deterministic(tmp_path):
    model = quantized_mlp(sizes=(8, 6, 3), seed=3)
    a = trigc.compile(model, tmp_path / "a").path
    b = trigc.compile(model, tmp_path / "b").path
    assert _tree(a) == _tree(b)
    assert filecmp.dircmp(a, b).diff_files == []


def test_failure_leaves_nothing_behind(tmp_path):
    model = quantized_mlp(sizes=(8, 6, 3), seed=3)
    with pytest.raises(trigc.TrigcError, match="reuse factor 10000"):
        trigc.compile(model, tmp_path / "prj", reuse=10000)
    assert list(tmp_path.iterdir()) == []


def test_existing_project_is_replaced_but_other_dirs_are_not(tmp_path):
    model = quantized_mlp(sizes=(8, 6, 3), seed=3)
    trigc.compile(model, tmp_path / "prj")
    trigc.compile(model, tmp_path / "prj", reuse=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prj"]
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(trigc.ConfigError, match="not a trigc project"):
        trigc.compile(model, tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_unknown_reuse_layer_is_an_error(tmp_path):
    with pytest.raises(trigc.ConfigError, match="unknown layers"):
        trigc.compile(quantized_mlp(sizes=(8, 6, 3)), tmp_path / "p", reuse={"nope": 2})


@pytest.mark.csim
@pytest.mark.parametrize("reuse", [1, 4])
def test_mlp_three_way(tmp_path, reuse):
    model = quantized_mlp(seed=5)
    project = trigc.compile(model, tmp_path / "mlp", reuse=reuse)
    x = np.random.default_rng(0).normal(0, 3, (3000, 16))
    result = project.compare(x)
    assert result.ok, str(result)
    np.testing.assert_array_equal(project.csim(x, raw=True), project.emulate(x, raw=True))
    code, out = project.run_testbench()
    assert code == 0 and "bit-exact: 100/100 events" in out, out


@pytest.mark.csim
@pytest.mark.parametrize("dims", [1, 2])
def test_convnet_three_way(tmp_path, dims):
    project = trigc.compile(convnet(dims=dims, avg_kernel=2), tmp_path / f"conv{dims}d")
    shape = project.graph.inputs[0].shape
    x = np.random.default_rng(1).normal(0, 1.5, (500, *shape))
    result = project.compare(x)
    assert result.ok, str(result)


@pytest.mark.csim
def test_csim_reports_first_bad_layer(tmp_path):
    project = trigc.compile(quantized_mlp(sizes=(8, 6, 3), seed=3), tmp_path / "prj")
    # Corrupt one weight in the firmware: the comparison must name that layer.
    params = project.path / "firmware" / "parameters.h"
    text = params.read_text()
    marker = "config_dense_1_MatMul::weights["
    head, tail = text.split(marker)
    body_start = tail.index("{") + 1
    first_value_end = tail.index(",", body_start)
    tail = tail[:body_start] + " 0.4375" + tail[first_value_end:]
    params.write_text(head + marker + tail)
    project = trigc.Project(project.path)
    result = project.compare(np.random.default_rng(0).normal(0, 3, (200, 8)))
    assert not result.ok
    assert "dense_1_MatMul" in str(result.first)

"""Every top-function interface (hs, pipeline, pipeline_vld, axis) on the QONNX MLP
and a conv net: the pragmas, and the g++ C-sim and testbench bit-exact against the
emulator. Bad interface choices fail before anything is written."""

import sys
from pathlib import Path

import numpy as np
import pytest
import trigc
from trigc.backends.vitis.interfaces import INTERFACES, InterfaceError
from trigc.frontends.qonnx_builder import quantized_mlp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers.qonnx_models import convnet

MODELS = {"mlp": lambda: quantized_mlp(), "conv": lambda: convnet(dims=2, avg_kernel=2)}
CASES = [(m, i) for m in MODELS for i in INTERFACES]


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    """Compiled projects, one per (model, interface), shared by the tests here."""
    root = tmp_path_factory.mktemp("interfaces")
    cache = {}

    def get(model: str, interface: str, **kw):
        key = (model, interface, tuple(sorted(kw.items())))
        if key not in cache:
            name = "_".join([model, interface, *(f"{k}{v}" for k, v in sorted(kw.items()))])
            cache[key] = trigc.compile(MODELS[model](), root / name, interface=interface,
                                       board="vcu118", **kw)
        return cache[key]

    return get


def _top(project) -> str:
    return (project.path / "firmware" / f"{project.name}.cpp").read_text()


@pytest.mark.parametrize("interface", list(INTERFACES))
def test_pragmas_follow_the_interface(projects, interface):
    project = projects("mlp", interface)
    top, spec = _top(project), INTERFACES[interface]
    assert f"#pragma HLS INTERFACE mode={spec.block} port=return" in top
    assert "#pragma HLS PIPELINE II=1" in top
    out = project.meta["outputs"][0]["array"]
    if interface == "axis":
        assert "hls::stream<x_t_word> &x_axis" in top
        assert f"#pragma HLS INTERFACE mode=axis port={out}_axis" in top
        assert "ARRAY_RESHAPE" not in top
    else:
        assert f"#pragma HLS INTERFACE mode={spec.ports} port=x,{out}" in top
        assert "#pragma HLS ARRAY_RESHAPE variable=x complete dim=0" in top
    assert project.meta["interface"]["name"] == interface


@pytest.mark.csim
@pytest.mark.parametrize("model,interface", CASES)
def test_csim_and_testbench_are_bit_exact(projects, model, interface):
    project = projects(model, interface)
    shape = project.graph.inputs[0].shape
    x = np.random.default_rng(7).normal(0, 3 if model == "mlp" else 1.5, (400, *shape))
    result = project.compare(x)
    assert result.ok, str(result)
    code, out = project.run_testbench()
    assert code == 0 and "bit-exact: 100/100 events" in out, out


@pytest.mark.csim
def test_axis_words_split_wide_tensors(projects):
    project = projects("mlp", "axis", axis_word_bits=24)
    x_port, y_port = project.meta["inputs"][0], project.meta["outputs"][0]
    assert (x_port["per_word"], x_port["words"]) == (3, 6)  # 16 x 8 bits in 24-bit words
    assert (y_port["per_word"], y_port["words"]) == (2, 3)  # 5 x 10 bits
    assert project.meta["ii"] == 6, "six input words per event"
    assert "#pragma HLS PIPELINE II=6" in _top(project)
    x = np.random.default_rng(8).normal(0, 3, (300, 16))
    result = project.compare(x)
    assert result.ok, str(result)
    code, out = project.run_testbench()
    assert code == 0, out


def test_axis_word_width_by_default_fits_each_tensor(projects):
    project = projects("mlp", "axis")
    x_port, y_port = project.meta["inputs"][0], project.meta["outputs"][0]
    assert (x_port["word_bits"], x_port["words"]) == (128, 1)
    assert (y_port["word_bits"], y_port["words"]) == (56, 1)  # 50 bits, rounded to bytes
    names = [s["name"] for s in x_port["rtl"]]
    assert names == ["x_axis_TDATA", "x_axis_TVALID", "x_axis_TREADY"]


def test_free_running_pipeline_needs_ii_1(tmp_path):
    model = quantized_mlp(sizes=(8, 6, 3), seed=3)
    for interface in ("pipeline", "pipeline_vld"):
        with pytest.raises(InterfaceError, match=r"needs II = 1.*II = 2.*dense_1 \(reuse 2\)"):
            trigc.compile(model, tmp_path / "p", interface=interface, reuse={"dense_1": 2})
    assert list(tmp_path.iterdir()) == []
    trigc.compile(model, tmp_path / "hs", interface="hs", reuse={"dense_1": 2})


@pytest.mark.parametrize("kw,match", [
    ({"interface": "axi4"}, "Unknown interface 'axi4'.*hs, pipeline, pipeline_vld, axis"),
    ({"interface": "axis", "axis_word_bits": 12}, "multiple of 8"),
    ({"interface": "axis", "axis_word_bits": 2048}, "multiple of 8 bits between 8 and 1024"),
    ({"interface": "axis", "axis_word_bits": 8}, "10-bit elements, wider than the 8-bit"),
    ({"interface": "hs", "axis_word_bits": 32}, "applies only to --interface axis"),
])
def test_interfaces_the_model_cannot_use(tmp_path, kw, match):
    with pytest.raises(InterfaceError, match=match):
        trigc.compile(quantized_mlp(sizes=(8, 6, 3), seed=3), tmp_path / "p", **kw)
    assert list(tmp_path.iterdir()) == []

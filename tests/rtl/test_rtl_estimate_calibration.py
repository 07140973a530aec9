"""The Verilog backend's estimate (``trigc.estimate.rtl``, the netlist's cost model)
against Yosys 0.23 ``synth_xilinx -family xcup`` on small designs: within 15% on
LUTs and FFs, exact on DSPs. The reference models are compared in ``make bench``
(the conv tagger alone takes Yosys several minutes); the closing figures of issue 13:
LUT within +2.6% to +4.9% on the four reference models."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import trigc
from trigc.frontends.qonnx_builder import quantized_mlp
from trigc.synth import run

from tests.rtl.fixtures.projects import needs_yosys

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers.qonnx_models import mlp  # noqa: E402

TOLERANCE = 0.15

MODELS = {
    "mlp_16_24_5": lambda: quantized_mlp(sizes=(16, 24, 5)),  # shift-adds, casts
    "softmax_16_16_5": lambda: mlp(sizes=(16, 16, 5), softmax=True),  # ROMs, multipliers
}


@needs_yosys
@pytest.mark.parametrize("name", sorted(MODELS))
def test_estimate_matches_yosys(name, tmp_path, monkeypatch):
    monkeypatch.setenv("TRIGC_CACHE_DIR", str(tmp_path / "cache"))
    model = MODELS[name]()
    model.graph.name = name
    project = trigc.compile(model, tmp_path / name, backend="verilog")
    measured = run(project.path).total
    estimated = project.estimate().total
    assert measured.lut > 1000
    for what in ("lut", "ff"):
        m, e = getattr(measured, what), getattr(estimated, what)
        assert abs(e - m) <= TOLERANCE * m, f"{what}: estimated {e}, Yosys {m}"
    assert estimated.dsp == measured.dsp

"""The reference conv models through ``--io stream``: the conv tagger, the 16x16
calorimeter CNN (models/calo_cnn) and the CNV-1W1A topology (tests/helpers/cnv.py):
stream C-sim == emulator on every event, FIFO sizing, the DATAFLOW testbench, and the
measured latency equal to the plan's schedule. The emulator's equality with the
training frameworks is proved in tests/models and tests/e2e."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import trigc
from trigc import datasets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers.cnv import cnv_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.csim


@pytest.mark.parametrize("model,images", [
    ("conv_tagger", lambda n: datasets.calo_images(n, seed=11)[0]),
    ("calo_cnn", lambda n: datasets.calo_images_large(n, seed=11)[0]),
])
def test_reference_model_stream(tmp_path, model, images):
    x = images(1000)
    project = trigc.compile(ROOT / "models" / model / f"{model}.onnx", tmp_path / "p",
                            io="stream")
    result = project.compare(x)
    assert result.ok and result.exact == 1000, str(result)
    run = project.stream_run(x[:200])
    assert run.latency == project.meta["latency_cycles"]
    assert run.ii == project.meta["ii"]  # one image per II cycles, as planned
    sizing = project.size_fifos(x[:200])
    assert sizing.bits(2) < sizing.bits(1)
    sized = trigc.Project(project.path)
    assert sized.compare(x).ok
    code, out = sized.run_testbench()  # Vitis-style sequential DATAFLOW, hls_stream.h
    assert code == 0 and "bit-exact: 100/100" in out, out


def test_cnv_stream(tmp_path):
    """CNV-1W1A at 1/8 width (32x32x3, binary weights and activations): exact, and
    its image II is set by the first conv's raster (pixels + a few hundred cycles)."""
    graph = trigc.load(cnv_model(width=0.125))
    x = np.random.default_rng(0).uniform(-1, 1, (40, 3, 32, 32))
    project = trigc.compile(graph, tmp_path / "p", io="stream")
    result = project.compare(x)
    assert result.ok, str(result)
    assert 1024 <= project.meta["ii"] <= 1024 + 300
    run = project.stream_run(x)
    assert run.latency == project.meta["latency_cycles"]


@pytest.mark.slow
def test_cnv_full_width_stream(tmp_path):
    """The full CNV-1W1A topology (64-256 channels, 1.5M binary weights), which io
    parallel cannot fit: compiled, C-simulated bit-exact, latency as planned."""
    graph = trigc.load(cnv_model(width=1.0))
    x = np.random.default_rng(1).uniform(-1, 1, (3, 3, 32, 32))
    project = trigc.compile(graph, tmp_path / "p", io="stream")
    result = project.compare(x)
    assert result.ok, str(result)
    assert project.stream_run(x).latency == project.meta["latency_cycles"]

"""The four reference models through the Verilog backend, end to end from the CLI:
``trigc compile --backend verilog`` then Verilator at II 1 on 10,000 events, every
output bit equal to the emulator, the measured latency equal to port_map.json's
and its neighbours rejected.

Random events over the input types' full range are the default. They saturate the
conv tagger (every output is one constant, so only the stream's edges tell the
latency apart), so it also runs on calorimeter images from ``trigc.datasets``, the
data it was trained on, whose outputs take thousands of values.

The Verilator builds run at -O0; the conv tagger's is the long one (about 90 s on
one core). All four share one build cache per worker.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from trigc import datasets
from trigc.cli.app import main
from trigc.emulator import emulate
from trigc.rtlsim import run
from trigc.rtlsim.sim import load_graph

from tests.rtl.fixtures.projects import needs_verilator

REPO = Path(__file__).resolve().parents[2]
MODELS = ["jet_tagger_qkeras", "jet_tagger_brevitas", "anomaly_ae", "conv_tagger"]
EVENTS = 10_000


@pytest.fixture
def shared(shared_cache, monkeypatch):
    monkeypatch.setenv("TRIGC_CACHE_DIR", str(shared_cache))
    return shared_cache


def compile_verilog(name: str, out: Path, capsys) -> Path:
    """``trigc compile models/<name>/<name>.onnx --backend verilog -o out``."""
    model = REPO / "models" / name / f"{name}.onnx"
    code = main(["compile", str(model), "--backend", "verilog", "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    assert (out / "port_map.json").is_file() and (out / "trigc.json").is_file()
    assert list((out / "rtl").glob("*.v"))
    return out


def assert_exact(result, events: int) -> None:
    assert result.ok, str(result)
    assert (result.events, result.exact, result.ii) == (events, events, 1)
    assert result.latency == result.port_latency
    assert result.latency_unique, str(result)
    assert result.valid_errors == 0
    assert str(result).startswith(f"bit-exact: {events}/{events} events, latency "
                                  f"{result.latency} cycles, II 1")


def calo_events(n: int) -> np.ndarray:
    """Calorimeter images as the conv tagger trains on them (a held-out stream)."""
    x, _ = datasets.calo_images(n, datasets.split_seed(2026, "rtl"))
    return x


@needs_verilator
@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_reference_model_is_bit_exact_in_rtl(tmp_path, shared, capsys, name):
    project = compile_verilog(name, tmp_path / name, capsys)
    result = run(project, n=EVENTS, seed=0)
    assert_exact(result, EVENTS)
    assert result.latency >= 3  # a real pipeline, not the port registers alone
    capsys.readouterr()
    assert main(["rtlsim", str(project), "-n", "500", "--seed", "3"]) == 0  # cached build
    assert capsys.readouterr().out.startswith(
        f"bit-exact: 500/500 events, latency {result.latency} cycles, II 1\n"
        f"offsets {result.latency - 1} and {result.latency + 1} rejected\n")
    if name != "conv_tagger":
        return
    x = calo_events(EVENTS)
    expected = emulate(load_graph(project), x, raw=True)
    # realistic images drive the logits through many values: the comparison and the
    # latency search below are not decided by a constant
    assert min(len(np.unique(expected[:, k])) for k in range(expected.shape[1])) > 300
    assert len({tuple(row) for row in expected}) > 0.9 * EVENTS
    assert_exact(run(project, x), EVENTS)


def test_csim_on_a_verilog_project_says_use_rtlsim(tmp_path, capsys):
    project = compile_verilog("jet_tagger_brevitas", tmp_path / "jt", capsys)
    capsys.readouterr()
    assert main(["csim", str(project)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("trigc: error: ")
    assert "Verilog project" in err and "`trigc rtlsim`" in err

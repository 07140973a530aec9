"""The ECON-T-like encoder (``models/econ_t``) as an ASIC block: the Verilog backend,
pipelined (the default stage budget) and combinational between the port registers
(``--stage-ns 0``), each

* simulated with Verilator at II 1 (``trigc rtlsim``): every output bit equal to
  the emulator, on toy HGCAL modules (the data it was trained on) and on random
  events over the whole input range, at port_map.json's latency;
* synthesized to simple gates (``trigc synth --asic``, Yosys generic synthesis and
  ABC's ``strash; dc2; map``): NAND2 equivalents and transistors for the whole
  encoder, and fewer flip-flops and gates without the pipeline.

Both projects are compiled once per module with a private build cache. The
Verilator builds and the two Yosys runs take about three minutes on 2 cores (the
per-layer split is covered on a small model in test_synth_asic.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import trigc
from trigc import datasets
from trigc.cli.app import main
from trigc.rtlsim import run
from trigc.synth import run_asic
from trigc.synth.asic import FF_CELL

from tests.rtl.fixtures.projects import needs_verilator, needs_yosys

MODEL = Path(__file__).resolve().parents[2] / "models" / "econ_t" / "econ_t.onnx"
VARIANTS = {"pipelined": {}, "combinational": {"stage_ns": 0}}
EVENTS = 3_000

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    """{variant: project path}, compiled with ``trigc compile --backend verilog``."""
    root = tmp_path_factory.mktemp("econ_t")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRIGC_CACHE_DIR", str(root / "cache"))
    try:
        yield {name: trigc.compile(MODEL, root / name, backend="verilog", **options).path
               for name, options in VARIANTS.items()}
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def pipelined_gates(projects):
    """``trigc synth DIR --asic`` of the pipelined encoder."""
    return run_asic(projects["pipelined"])


def modules(n: int) -> np.ndarray:
    x, _ = datasets.hgcal_modules(n, datasets.split_seed(2026, "rtl"))
    return x


@needs_verilator
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_econ_t_rtl_is_bit_exact(projects, variant, capsys):
    path = projects[variant]
    latency = json.loads((path / "port_map.json").read_text())["latency"]
    for result in (run(path, modules(EVENTS)), run(path, n=EVENTS, seed=1)):
        assert result.ok, str(result)
        assert (result.events, result.exact, result.ii) == (EVENTS, EVENTS, 1)
        assert result.latency == result.port_latency == latency
        assert result.latency_unique, str(result)
    if variant == "combinational":
        assert latency == 1  # the port registers only
    else:
        assert latency >= 3
    assert main(["rtlsim", str(path), "-n", "500"]) == 0  # the CLI, on the cached build
    assert capsys.readouterr().out.startswith(f"bit-exact: 500/500 events, latency {latency}")


@needs_yosys
def test_econ_t_gate_counts(projects, pipelined_gates, capsys):
    total = pipelined_gates.total
    assert total.unmapped == {} and total.transistors_complete
    assert total.ff == total.cells[FF_CELL] > 0
    assert total.nand2_eq > 1_000 and total.transistors > 2 * total.gates
    assert main(["synth", str(projects["pipelined"]), "--asic"]) == 0  # cached
    out = capsys.readouterr().out
    assert "NAND2-eq" in out and "proxy" in out


@needs_yosys
def test_econ_t_combinational_has_fewer_flip_flops(projects, pipelined_gates):
    combinational = run_asic(projects["combinational"]).total
    assert combinational.unmapped == {} and combinational.nand2_eq > 1_000
    ports = json.loads((projects["combinational"] / "port_map.json").read_text())
    # only the port registers and their valid bits are left
    assert combinational.ff <= ports["in_bits"] + ports["out_bits"] + 2
    assert combinational.ff < pipelined_gates.total.ff
    assert combinational.nand2_eq < pipelined_gates.total.nand2_eq

"""Snapshot of the generated C++ for a small model, for Vitis HLS (ap_fixed) and for
Catapult HLS (ac_fixed: its own top, directives.tcl and build_prj.tcl).

Regenerate after an intended change of the generated code with:
    TRIGC_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/golden -q
and review the diff of tests/golden/mlp_small/ before committing it."""

import os
from pathlib import Path

import pytest

import trigc
from trigc.frontends.qonnx_builder import quantized_mlp

FILES = ["firmware/mlp_small.cpp", "firmware/mlp_small.h", "firmware/defines.h",
         "firmware/parameters.h", "tb/mlp_small_test.cpp", "build_prj.tcl"]
SNAPSHOTS = {"vitis": (Path(__file__).parent / "mlp_small", FILES),
             "catapult": (Path(__file__).parent / "mlp_small_catapult",
                          [*FILES, "directives.tcl"])}


@pytest.mark.parametrize("backend", list(SNAPSHOTS))
def test_generated_cpp_matches_snapshot(tmp_path, backend):
    snapshot, files = SNAPSHOTS[backend]
    model = quantized_mlp(sizes=(4, 6, 3), seed=11, per_channel=True)
    model.graph.name = "mlp_small"
    project = trigc.compile(model, tmp_path / "mlp_small", reuse={"dense_1": 2},
                            backend=backend)
    for rel in files:
        got = (project.path / rel).read_text()
        expected_path = snapshot / rel
        if os.environ.get("TRIGC_UPDATE_GOLDEN") == "1":
            expected_path.parent.mkdir(parents=True, exist_ok=True)
            expected_path.write_text(got)
        assert got == expected_path.read_text(), f"{rel} differs from the golden snapshot"

"""The committed firmware projects of the reference models are what trigc generates.

Regenerate after an intended change of the generated code with `make fpga_projects`
and review the diff of fpga_projects/ before committing it."""

from pathlib import Path

import pytest

import trigc

ROOT = Path(__file__).resolve().parents[2]
MODELS = ["jet_tagger_qkeras", "jet_tagger_brevitas", "conv_tagger", "anomaly_ae"]
SKIP = {".png"}  # the plot depends on the matplotlib version


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix not in SKIP}


@pytest.mark.parametrize("name", MODELS)
def test_committed_project_is_regenerated_identically(tmp_path, name):
    committed = ROOT / "fpga_projects" / name
    assert committed.is_dir(), f"run `make fpga_projects` to create fpga_projects/{name}"
    fresh = trigc.compile(ROOT / "models" / name / f"{name}.onnx", tmp_path / name).path
    expected, got = _tree(committed), _tree(fresh)
    assert sorted(got) == sorted(expected)
    differing = [f for f in got if got[f] != expected[f]]
    assert not differing, f"regenerate with `make fpga_projects`; differing: {differing}"

"""The committed firmware projects of the reference models are what trigc generates.

Regenerate after an intended change of the generated code with `make fpga_projects`
and review the diff of fpga_projects/ before committing it."""

import json
from pathlib import Path

import pytest

import trigc
from trigc.outputs import MANIFEST

ROOT = Path(__file__).resolve().parents[2]
MODELS = ["jet_tagger_qkeras", "jet_tagger_brevitas", "conv_tagger", "anomaly_ae"]
SKIP = {".png"}  # the plot depends on the matplotlib version


def _content(path: Path) -> bytes:
    """The file's bytes; for the manifest, without the hashes of skipped files."""
    if path.name != MANIFEST:
        return path.read_bytes()
    manifest = json.loads(path.read_text())
    manifest["files"] = {rel: digest for rel, digest in manifest["files"].items()
                         if Path(rel).suffix not in SKIP}
    return json.dumps(manifest, sort_keys=True).encode()


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): _content(p) for p in sorted(root.rglob("*"))
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

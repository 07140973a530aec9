"""Issue 11, finding 9, and sanitizer builds of the reference models.

9. A truncated or corrupted cached C-sim library crashed with SIGBUS or a raw OSError;
   the cache was never checked. Now every cached artifact carries its SHA-256, checked
   before it is loaded or run; a bad entry is rebuilt with a warning. The library is
   loaded in a subprocess here, so a crash fails the test instead of killing pytest.

The sanitizer tests build each reference model's own testbench with
``-fsanitize=address,undefined -fno-sanitize-recover=all`` and run it on its tb_data.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import trigc
from trigc.csim.build import build_testbench, sanitizer_env
from trigc.outputs import CACHE_HASH_SUFFIX as HASH_SUFFIX
from trigc.outputs import cached

from helpers.qonnx_models import mlp

ROOT = Path(__file__).resolve().parents[2]
REFERENCE_MODELS = ["jet_tagger_qkeras", "jet_tagger_brevitas", "conv_tagger", "anomaly_ae"]

CSIM_SCRIPT = textwrap.dedent("""
    import logging, sys
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    import trigc
    print(trigc.Project({project!r}).compare())
""")


def _digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _csim_in_subprocess(project: Path, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TRIGC_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, "-c", CSIM_SCRIPT.format(project=str(project))],
                          capture_output=True, text=True, env=env, timeout=600,
                          check=False)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _zero(path: Path) -> None:
    path.write_bytes(bytes(path.stat().st_size))


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # in the code or data: may load, may crash, is wrong
    path.write_bytes(bytes(data))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _drop_hash(path: Path) -> None:
    Path(str(path) + HASH_SUFFIX).unlink()


DAMAGE = {"truncated": _truncate, "zeroed": _zero, "flipped": _flip, "empty": _empty,
          "no-hash": _drop_hash}


@pytest.fixture(scope="module")
def small_project(tmp_path_factory) -> Path:
    return trigc.compile(mlp(sizes=(8, 6, 4), seed=5),
                         tmp_path_factory.mktemp("cache") / "p").path


@pytest.mark.csim
@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_csim_library_is_rebuilt_with_a_warning(small_project, tmp_path, damage):
    cache = tmp_path / "cache"
    first = _csim_in_subprocess(small_project, cache)
    assert first.returncode == 0 and "bit-exact: 100/100 events" in first.stdout, first
    (lib,) = cache.glob("csim/*/libtrigc_csim.so")
    assert Path(str(lib) + HASH_SUFFIX).read_text().strip() == _digest(lib)
    DAMAGE[damage](lib)

    again = _csim_in_subprocess(small_project, cache)
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    assert "bit-exact: 100/100 events" in again.stdout
    assert "truncated or corrupted; rebuilding it" in again.stderr
    assert Path(str(lib) + HASH_SUFFIX).read_text().strip() == _digest(lib)
    third = _csim_in_subprocess(small_project, cache)  # the rebuilt entry is trusted
    assert third.returncode == 0 and "rebuilding" not in third.stderr, third.stderr


@pytest.mark.csim
@pytest.mark.parametrize("damage", ["truncated", "flipped", "no-hash"])
def test_damaged_testbench_is_rebuilt_with_a_warning(small_project, tmp_path, monkeypatch,
                                                     caplog, damage):
    monkeypatch.setenv("TRIGC_CACHE_DIR", str(tmp_path / "cache"))
    project = trigc.Project(small_project)
    code, output = project.run_testbench()  # the executable runs in a child process
    assert code == 0, output
    exe = build_testbench(small_project, project.name)
    assert cached(exe)
    DAMAGE[damage](exe)
    with caplog.at_level(logging.WARNING, logger="trigc.outputs"):
        code, output = project.run_testbench()
    assert code == 0 and "bit-exact: 100/100 events" in output, output
    assert any("rebuilding it" in r.getMessage() for r in caplog.records)
    assert cached(exe)


def test_cache_miss_is_silent(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        assert not cached(tmp_path / "absent.so")
    assert not caplog.records


# ---- sanitizer builds of the reference models ------------------------------------
@pytest.mark.csim
@pytest.mark.slow
@pytest.mark.parametrize("name", REFERENCE_MODELS)
def test_reference_model_testbench_is_clean_under_sanitizers(tmp_path, monkeypatch, name):
    """Each committed project's testbench, built with ASan + UBSan (-O1), runs its
    tb_data bit-exactly with no sanitizer report."""
    monkeypatch.setenv("TRIGC_CACHE_DIR", str(tmp_path / "cache"))
    project = ROOT / "fpga_projects" / name
    start = time.perf_counter()
    build_testbench(project, name, sanitize=True)
    logging.getLogger(__name__).info("sanitized build of %s: %.1f s", name,
                                     time.perf_counter() - start)
    proc = _run_sanitized(project, name, tmp_path)
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, report[-4000:]
    assert "runtime error" not in report and "Sanitizer" not in report, report[-4000:]
    events = len((project / "tb_data" / "tb_output_predictions.dat").read_text().splitlines())
    assert f"bit-exact: {events}/{events} events" in proc.stdout
    got = np.loadtxt(tmp_path / "csim_results.log", dtype=np.int64, ndmin=2)
    expected = np.loadtxt(project / "tb_data" / "tb_output_predictions.dat", dtype=np.int64,
                          ndmin=2)
    np.testing.assert_array_equal(got, expected)


def _run_sanitized(project: Path, name: str, workdir: Path) -> subprocess.CompletedProcess:
    exe = build_testbench(project, name, sanitize=True)
    return subprocess.run([str(exe), str(project / "tb_data" / "tb_input_features.dat"),
                           str(project / "tb_data" / "tb_output_predictions.dat"),
                           str(workdir / "csim_results.log")],
                          capture_output=True, text=True, env=sanitizer_env(workdir),
                          timeout=600, check=False)


@pytest.mark.csim
@pytest.mark.slow
def test_sanitized_testbench_reports_a_memory_error(tmp_path, monkeypatch):
    """The harness can fail: a heap overflow added to a copy of the firmware is caught."""
    import shutil

    monkeypatch.setenv("TRIGC_CACHE_DIR", str(tmp_path / "cache"))
    project = tmp_path / "anomaly_ae"
    shutil.copytree(ROOT / "fpga_projects" / "anomaly_ae", project)
    top = project / "firmware" / "anomaly_ae.cpp"
    top.write_text(top.read_text() + textwrap.dedent("""
        #include <cstdlib>
        static int probe() {
            int *p = (int *)std::malloc(4 * sizeof(int));
            volatile int v = p[4];
            std::free(p);
            return v;
        }
        static int probe_value = probe();
    """))
    proc = _run_sanitized(project, "anomaly_ae", tmp_path)
    assert proc.returncode in (98, 99), proc.stderr[-3000:]  # UBSan's or ASan's exit code
    assert "anomaly_ae.cpp:" in proc.stderr  # the report names the overflowing line

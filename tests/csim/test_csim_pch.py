"""The C-sim library's precompiled number-type header (trigc.csim.build.precompiled_header):
used when present, the same results as without it, rebuilt when damaged, and a build
without it when it cannot be made."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import trigc
from trigc.csim import build

from helpers.qonnx_models import mlp

pytestmark = pytest.mark.csim


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory):
    return trigc.compile(mlp(sizes=(8, 6, 4), seed=11),
                         tmp_path_factory.mktemp("pch") / "p").path


def _run(project_dir, monkeypatch, cache, caplog, pch="1"):
    monkeypatch.setenv("TRIGC_CACHE_DIR", str(cache))
    monkeypatch.setenv(build.PCH_ENV, pch)
    x = np.random.default_rng(3).normal(0, 4, (400, 8))
    project = trigc.Project(project_dir)
    with caplog.at_level(logging.INFO, logger="trigc.csim.build"):
        got = project.csim(x, raw=True)
    np.testing.assert_array_equal(got, project.emulate(x, raw=True))
    return got


def _library_command(caplog) -> str:
    (line,) = [r.getMessage() for r in caplog.records
               if r.getMessage().startswith("building C-sim library")]
    return line


@pytest.mark.parametrize("backend", ["vitis", "catapult"], ids=["ap_fixed", "ac_fixed"])
def test_precompiled_header_is_used_and_changes_nothing(tmp_path_factory, tmp_path,
                                                        monkeypatch, caplog, backend):
    project_dir = trigc.compile(mlp(sizes=(8, 6, 4), seed=11), tmp_path / "p",
                                backend=backend).path
    with_pch = _run(project_dir, monkeypatch, tmp_path / "a", caplog)
    (gch,) = (tmp_path / "a").glob("pch/*/trigc_pch.h.gch")
    header = gch.with_name("trigc_pch.h")
    assert header.read_text() == "".join(f"#include <{h}>\n"
                                         for h in build.PCH_HEADERS[backend])
    assert f"-include {header}" in _library_command(caplog)
    caplog.clear()
    without = _run(project_dir, monkeypatch, tmp_path / "b", caplog, pch="0")
    assert not list((tmp_path / "b").glob("pch"))
    assert "-include" not in _library_command(caplog)
    np.testing.assert_array_equal(with_pch, without)


def test_damaged_precompiled_header_is_rebuilt(project_dir, tmp_path, monkeypatch, caplog):
    cache = tmp_path / "cache"
    _run(project_dir, monkeypatch, cache, caplog)
    (gch,) = cache.glob("pch/*/trigc_pch.h.gch")
    data = bytearray(gch.read_bytes())
    data[len(data) // 2] ^= 0xFF
    gch.write_bytes(bytes(data))
    for lib in cache.glob("csim/*/libtrigc_csim.so"):
        lib.unlink()  # the next csim() builds the library, and so checks the header
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="trigc.outputs"):
        _run(project_dir, monkeypatch, cache, caplog)
    messages = [r.getMessage() for r in caplog.records]
    assert any(f"{gch} has SHA-256" in m and m.endswith("rebuilding it") for m in messages), \
        messages
    assert any(r.getMessage().startswith("building precompiled header")
               for r in caplog.records)


def test_unbuildable_precompiled_header_falls_back(project_dir, tmp_path, monkeypatch,
                                                   caplog):
    monkeypatch.setitem(build.PCH_HEADERS, "vitis", ("no_such_vendor_header.h",))
    _run(project_dir, monkeypatch, tmp_path / "cache", caplog)
    assert any("building without a precompiled header" in r.getMessage()
               and r.levelno == logging.WARNING for r in caplog.records)
    assert "-include" not in _library_command(caplog)

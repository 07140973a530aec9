"""Issue 11, findings 1, 11 and 6: names that reach generated code and a layer wider
than the trace.

1. A node, input or model name is C++ (or Tcl) code: a newline ended the ``//``
   comment it was printed in and ``system("touch PWNED")`` ran in the C-sim. Now
   every name goes through :mod:`trigc.names`; the C-sim is bit-exact and the marker
   file never appears.
11. A model file named ``int.onnx`` (``class``, ``main``, ``std``, ``trigc``,
   ``ap_fixed``, ...) compiled, and g++ failed on the top function's name.
6. A layer wider than 64 bits made the C-sim write before its trace buffer
   (``TRIGC_TRACE(-1, ...)``): a double free. It runs in a subprocess here, so a crash
   fails the test instead of killing pytest.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import trigc
from trigc.frontends.qonnx_builder import QonnxBuilder
from trigc.names import (
    MAX_IDENTIFIER, MAX_PRINTABLE, comment, identifier, is_reserved, printable,
)


MARKER = "PWNED"
INJECTION = 'x\n#include <cstdlib>\nstatic int v = system("touch PWNED");'
CR_INJECTION = 'x\r#include <cstdlib>\rstatic int v = system("touch PWNED");'
ROOT = Path(__file__).resolve().parents[2]
# what the builder names its own tensors: a graph input may not reuse them
_BUILDER_NAMES = re.compile(r"(scale|zp|bits|w|quant|matmul)_\d+")


def tiny_model(node_name: str = "dense/MatMul", input_name: str = "x",
               graph_name: str = "tiny"):
    """Input Quant, a quantized 4x3 MatMul named ``node_name``, output Quant."""
    b = QonnxBuilder(graph_name)
    x = b.quant(input_name, 2.0**-4, 8, signed=True, name="in/Quant")
    w = np.random.default_rng(1).normal(0, 0.5, (4, 3))
    wq = b.quant(b.const(w, "w"), 2.0**-4, 6, narrow=True)
    h = b.node("MatMul", [x, wq], name=node_name)
    y = b.quant(h, 2.0**-3, 10, signed=True, name="out/Quant")
    return b.model({input_name: (1, 4)}, y, (1, 3))


def _generated_files(project: Path) -> list[Path]:
    return [*sorted((project / "firmware").glob("*.*")), *sorted((project / "tb").glob("*")),
            project / "build_prj.tcl"]


def check_project(project: trigc.Project, cwd: Path) -> None:
    """Bit-exact C-sim, no marker file, and every generated source is printable ASCII."""
    comparison = project.compare()
    assert comparison.ok and comparison.events == 100, str(comparison)
    for folder in (cwd, project.path, project.path / "tb_data"):
        assert not (folder / MARKER).exists(), f"injected code ran: {folder / MARKER}"
    for path in _generated_files(project.path):
        data = path.read_bytes()
        bad = sorted({b for b in data if not (32 <= b < 127 or b == 10)})
        assert not bad, f"{path.name} holds non-printable bytes {bad}"


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """Own C-sim cache and working directory (the marker would land in the cwd)."""
    monkeypatch.setenv("TRIGC_CACHE_DIR", str(tmp_path / "cache"))
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.mark.csim
@pytest.mark.parametrize("where", ["node", "input", "model"])
@pytest.mark.parametrize("payload", [INJECTION, CR_INJECTION], ids=["newline", "cr"])
def test_injected_name_runs_nothing(private_cache, tmp_path, where, payload):
    names = {"node_name": "dense/MatMul", "input_name": "x", "graph_name": "tiny"}
    names[{"node": "node_name", "input": "input_name", "model": "graph_name"}[where]] = payload
    project = trigc.compile(tiny_model(**names), tmp_path / "out")
    check_project(project, private_cache)
    code, output = project.run_testbench()  # the project's own testbench, as Vitis csim
    assert code == 0, output
    assert not (project.path / MARKER).exists()


@pytest.mark.csim
@pytest.mark.parametrize("stem", ["int", "class", "main", "std", "trigc", "ap_fixed",
                                  "1model", "a b", "module", "NULL"])
def test_reserved_model_file_names_compile_and_simulate(private_cache, tmp_path, stem):
    import onnx

    path = tmp_path / f"{stem}.onnx"
    onnx.save(tiny_model(), str(path))
    project = trigc.compile(path, tmp_path / "out")
    assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", project.name)
    assert project.name not in {"int", "class", "main", "std", "trigc", "ap_fixed"}
    check_project(project, private_cache)
    if stem in ("int", "main"):  # main also names the testbench's entry point
        code, output = project.run_testbench()
        assert code == 0, output


# ---- hypothesis: arbitrary unicode names ------------------------------------------
HOSTILE_PARTS = st.sampled_from([
    INJECTION, "\n", "\r", "\r\n", "\u2028", "\u2029", "\x85", "\x00", "\\", "\\\n", "*/",
    "/*", "//", '"', "'", "$(touch PWNED)", "`touch PWNED`", "}", "{", "[exec touch PWNED]",
    "int", "class", "module", "main", "std", "trigc", "ap_fixed", "AP_WRAP", "NULL",
    "0", "9lives", "__x", "_X", "in", "out", "é", "日本", "\U0001F600", " ", "#define",
])
SAFE_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
SHORT_NAMES = st.lists(st.one_of(HOSTILE_PARTS, SAFE_TEXT), min_size=1, max_size=5).map("".join)
LONG_NAMES = st.builds(lambda part, n: (part * (n // max(len(part), 1) + 1))[:n],
                       st.one_of(HOSTILE_PARTS, SAFE_TEXT.filter(bool)),
                       st.integers(100, 10_000))
NAMES = st.one_of(SHORT_NAMES, LONG_NAMES).filter(lambda s: s.strip("\x00") != "")


@pytest.mark.csim
@pytest.mark.slow
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@example(node=INJECTION, inp=CR_INJECTION, model="int")
@example(node="x" * 10_000, inp="*/ $(touch PWNED) `id` [exec id] {", model="\u2028main")
@given(node=NAMES, inp=NAMES, model=NAMES)
def test_arbitrary_names_compile_simulate_and_run_nothing(private_cache, tmp_path, node,
                                                          inp, model):
    assume(not _BUILDER_NAMES.fullmatch(inp))
    out = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
    project = trigc.compile(tiny_model(node, inp, model), out)
    check_project(project, private_cache)



# ---- Tcl: build_prj.tcl and the IP export run no injected command ------------------
def _stub_calls(directory: Path, script: str) -> list[list[str]]:
    """``script`` sourced by tclsh with tests/export's stub Vitis HLS commands."""
    import shutil

    tclsh = shutil.which("tclsh")
    if tclsh is None:
        pytest.skip("tclsh not found (apt-get install tcl)")
    log = directory / ".stub_calls"
    env = {**os.environ, "TRIGC_STUB_LOG": str(log), "TRIGC_STUB_EXIT": "0"}
    proc = subprocess.run([tclsh, str(ROOT / "tests" / "export" / "stub_run.tcl"), script],
                          cwd=directory, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [line.split("\x1f") for line in log.read_text().splitlines()]


def test_tcl_scripts_carry_names_as_single_words(private_cache, tmp_path):
    from trigc.export import BOARDS, export_ip

    evil = "a}\nexec touch PWNED\n{[exec touch PWNED] $(touch PWNED)"
    project = trigc.compile(tiny_model(evil, evil, evil), tmp_path / "out")
    result = export_ip(project.path, board=next(iter(BOARDS)), run_tool=False,
                       description="[exec touch PWNED] $x \"q\" ; é")
    for script in ("build_prj.tcl", "export_ip.tcl"):
        calls = _stub_calls(result.path, script)
        assert ["set_top", project.name] in calls
        assert ["add_files", f"firmware/{project.name}.cpp", "-cflags", "-std=c++14"] in calls
        assert ["open_project", "-reset", f"{project.name}_prj"] in calls
    export = {c[0]: c[1:] for c in _stub_calls(result.path, "export_ip.tcl")}["export_design"]
    description = export[export.index("-description") + 1]
    assert "PWNED" in description and "[" not in description  # escaped, literal
    for folder in (private_cache, project.path, result.path):
        assert not (folder / MARKER).exists()


def test_tcl_word_refuses_what_would_leave_the_braces():
    from trigc.backends.vitis.writer import tcl_word
    from trigc.errors import ConfigError

    assert tcl_word("xcvu9p-flga2104-2L-e") == "{xcvu9p-flga2104-2L-e}"
    assert tcl_word(5.0) == "{5.0}"
    for bad in ("x}\nexec touch PWNED", "a b", "[exec id]", "$x", "a\\", "", "é"):
        with pytest.raises(ConfigError, match="cannot be written into a Tcl script"):
            tcl_word(bad)


# ---- finding 6: a layer wider than the 64-bit trace ---------------------------------
WIDE_SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    import trigc
    from helpers.qonnx_models import mlp
    project = trigc.compile(mlp(sizes=(8, 6, 4), seed=3), {out!r},
                            precision={{"dense_0": "fixed<65,20>"}})
    print(project.compare())
    code, output = project.run_testbench()
    print("testbench", code, output.strip())
""")


@pytest.mark.csim
def test_layer_wider_than_64_bits_simulates_without_crashing(tmp_path):
    out = tmp_path / "wide"
    env = {**os.environ, "TRIGC_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run(
        [sys.executable, "-c", WIDE_SCRIPT.format(tests=str(ROOT / "tests"), out=str(out))],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "bit-exact: 100/100 events" in proc.stdout
    assert "testbench 0 bit-exact: 100/100 events" in proc.stdout
    project = trigc.Project(out)
    widths = {n["node"]: n for n in project.meta["trace"]}
    wide = [n for n in project.graph.nodes if n.output.type.width > 64]
    assert wide, "the override did not make a layer wider than 64 bits"
    assert all(n.name not in widths for n in wide)  # untraced ...
    top = (out / "firmware" / f"{project.name}.cpp").read_text()
    assert "TRIGC_TRACE(-1" not in top  # ... and no trace write is emitted for it



# ---- the sanitizer itself -----------------------------------------------------------
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@pytest.mark.parametrize("name, expected", [
    ("/fc1/Gemm", "fc1_Gemm"), ("dense_0_MatMul", "dense_0_MatMul"), ("a b", "a_b"),
    ("int", "n_int"), ("1model", "n_1model"), ("main", "n_main"), ("ap_fixed", "n_ap_fixed"),
    ("AP_WRAP", "n_AP_WRAP"), ("__x", "x"), ("x__y", "x_y"), ("Signal", "n_Signal"),
    ("", "unnamed"), ("\u2028", "unnamed"),
])
def test_identifier_examples(name, expected):
    assert identifier(name) == expected


def test_identifier_avoids_derived_reserved_names():
    # a node "int8" emits the type int8_t, which <cstdint> already defines
    assert identifier("int8", forms=(lambda b: b + "_t",)) == "n_int8"
    assert identifier("int8") == "int8"


def test_long_names_are_bounded_and_stay_distinct():
    a, b = identifier("x" * 10_000), identifier("x" * 9_999)
    assert a != b and len(a) <= MAX_IDENTIFIER and len(b) <= MAX_IDENTIFIER
    assert a.startswith("xxxxxxxx")


@settings(max_examples=100, deadline=None)
@given(names=st.lists(NAMES, min_size=1, max_size=6))
def test_identifier_properties(names):
    taken: set[str] = set()
    for name in names:
        ident = identifier(name, taken)
        assert IDENT.fullmatch(ident) and not is_reserved(ident)
        assert ident not in taken
        assert len(ident) <= MAX_IDENTIFIER + 8
        assert identifier(ident) == ident  # idempotent
        kept = re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_")
        if kept and len(kept) < 40:
            assert kept in ident  # readable: the user's alphanumeric runs survive
        taken.add(ident)


@settings(max_examples=100, deadline=None)
@given(text=NAMES)
def test_printable_is_one_safe_line(text):
    out = printable(text)
    assert re.fullmatch(r"[A-Za-z0-9 _.,:/+=()%-]*(\.\.\.)?", out), out
    assert "*/" not in out and "/*" not in out and len(out) <= MAX_PRINTABLE + 3
    assert comment(text) == out


def test_printable_round_trips_short_text():
    from urllib.parse import unquote

    text = 'a\n#include "x" */ \\ {$(id)} é\u2028'
    assert unquote(printable(text)) == text

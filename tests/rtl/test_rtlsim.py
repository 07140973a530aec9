"""trigc.rtlsim on hand-written projects that obey the Verilog project contract:
bit-exact at II 1, latency measured (neighbours rejected), wrong designs reported,
ports wider than 64 bits, the verified build cache, hostile port maps."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from trigc.cli import main
from trigc.errors import ProjectError
from trigc.rtlsim import Field, RtlSimError, build, pack, read_port_map, run, unpack

from tests.rtl.fixtures.projects import needs_verilator, write_project

pytestmark = needs_verilator
N = 1000


@pytest.fixture
def shared(shared_cache, monkeypatch):
    monkeypatch.setenv("TRIGC_CACHE_DIR", str(shared_cache))
    return shared_cache


def test_adder_is_bit_exact_with_its_latency(tmp_path, shared):
    result = run(write_project(tmp_path), n=N, seed=1)
    assert result.ok, str(result)
    assert (result.events, result.exact, result.latency, result.ii) == (N, N, 1, 1)
    assert result.neighbours_match == [] and result.valid_errors == 0
    text = str(result)
    assert text.startswith(f"bit-exact: {N}/{N} events, latency 1 cycles, II 1")
    assert "offsets 0 and 2 rejected" in text


def test_float_inputs_are_quantized_like_the_emulator(tmp_path, shared):
    project = write_project(tmp_path)
    x = np.random.default_rng(3).uniform(-9, 9, size=(300, 2))  # off-grid, saturating
    result = run(project, x)  # one (events, total) array split over the two inputs
    assert result.ok and result.events == 300, str(result)
    assert run(project, [x[:, :1], x[:, 1:]]).ok


def test_wrong_arithmetic_names_the_event_and_output(tmp_path, shared):
    result = run(write_project(tmp_path, bug=True), n=N, seed=2)
    rng_a = _raw_a(read_port_map(tmp_path), N, seed=2)
    first_bad = int(np.nonzero(rng_a == 3)[0][0])  # the bug adds 1 when a == 3
    assert not result.ok
    assert result.latency is None and result.best_offset == 1
    assert result.exact == N - int((rng_a == 3).sum())
    assert (result.first.event, result.first.output_index) == (first_bad, 0)
    assert result.first.rtl == result.first.expected + 1
    assert f"first mismatch: event {first_bad}, output 0 (out[0])" in str(result)


def _raw_a(ports, n, seed):
    from trigc.rtlsim.sim import load_graph, random_inputs

    graph = load_graph(ports.root)
    a = random_inputs(graph, n, seed)[0][:, 0]
    return np.round(a * 2 ** graph.inputs[0].type.frac_bits).astype(int)


def test_off_by_one_latency_in_the_port_map_is_reported(tmp_path, shared):
    result = run(write_project(tmp_path, latency=2), n=N)
    assert not result.ok and result.latency == 1 and result.exact == N
    assert "port_map.json latency 2: DISAGREES" in str(result)
    assert main(["rtlsim", str(tmp_path), "-n", "100"]) == 1


def test_constant_outputs_cannot_tell_the_latency(tmp_path, shared):
    result = run(write_project(tmp_path), np.zeros((50, 2)))
    assert result.exact == 50 and result.latency == 1
    assert result.neighbours_match == [0, 2] and not result.latency_unique
    assert "cannot tell" in str(result)


def test_wide_ports_round_trip(tmp_path, shared):
    project = write_project(tmp_path, "wide")
    ports = read_port_map(project)
    assert (ports.in_bits, ports.out_bits) == (160, 90)
    result = run(project, n=N, seed=4)
    assert result.ok, str(result)
    assert result.latency == 2 and result.exact == N
    assert main(["rtlsim", str(project), "-n", "50", "--seed", "9"]) == 0


def test_pack_unpack_any_width():
    fields = [Field("a", 0, 0, 7, 8, True, 0, "fixed<8,8>"),
              Field("b", 1, 8, 77, 70, False, 0, "ufixed<70,70>"),
              Field("c", 2, 78, 80, 3, True, 0, "fixed<3,3>")]
    raw = np.array([[-128, (1 << 70) - 1, -4], [127, 0, 3], [-1, 123456789012345678901, -1]],
                   dtype=object)
    packed = pack(raw, fields)
    assert packed.shape == (3, 11) and packed.dtype == np.uint8
    assert int.from_bytes(packed[1].tobytes(), "little") == 127 | (3 << 78)
    assert (unpack(packed, fields) == raw).all()
    with pytest.raises(ValueError, match="outside"):
        pack(np.array([[128, 0, 0]], dtype=object), fields)


def test_build_cache_hit_and_corrupt_entry_rebuilt(tmp_path, cache_dir, caplog):
    project = write_project(tmp_path / "p")
    exe = build(project)
    assert exe.is_relative_to(cache_dir / "rtlsim")
    digest = (exe.parent / (exe.name + ".sha256")).read_text()
    start = time.monotonic()
    assert build(project) == exe
    assert time.monotonic() - start < 1.0  # verified hit, no Verilator run
    exe.write_bytes(b"\0" * 64)  # truncated / zeroed artifact
    assert build(project) == exe
    assert "corrupted" in caplog.text
    assert (exe.parent / (exe.name + ".sha256")).read_text() == digest or exe.stat().st_size > 64
    assert run(project, n=100).ok


@pytest.mark.parametrize(("edit", "match"), [
    (lambda m: m.update(rtl_files=["../outside.v"]), "not a relative path inside"),
    (lambda m: m.update(rtl_files=["/etc/passwd.v"]), "not a relative path inside"),
    (lambda m: m.update(rtl_files=["rtl/missing.v"]), "not a file inside the project"),
    (lambda m: m.update(latency="2"), "'latency' must be int"),
    (lambda m: m.update(top="x; rm -rf /"), "not a Verilog identifier"),
    (lambda m: m["outputs"][0].update(width=4), r"outputs\[0\]\.'width'"),
    (lambda m: m.pop("inputs"), "'inputs' is missing"),
])
def test_hostile_port_maps_are_refused(tmp_path, edit, match):
    project = write_project(tmp_path)
    port_map = json.loads((project / "port_map.json").read_text())
    edit(port_map)
    (project / "port_map.json").write_text(json.dumps(port_map))
    with pytest.raises(ProjectError, match=match):
        read_port_map(project)


def test_missing_verilator_is_one_line(tmp_path, monkeypatch, cache_dir):
    monkeypatch.setenv("VERILATOR", "no-such-verilator")
    with pytest.raises(RtlSimError, match="make setup"):
        build(write_project(tmp_path))


def test_damaged_project_is_one_line_error(tmp_path, capsys):
    (tmp_path / "port_map.json").write_text("{not json")
    assert main(["rtlsim", str(tmp_path)]) == 2
    assert "port_map.json" in capsys.readouterr().err

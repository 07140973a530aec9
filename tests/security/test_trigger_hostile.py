"""Issue 11, findings 5, 8 and 12 and the trigger part of the "raw tracebacks" list:
``trigc emulate`` never writes over an input and writes its outputs atomically, menus
cannot hang or exhaust the stack or memory, worker counts are capped, NaN/Inf inputs
are refused alike by every backend, and damaged event files are typed errors."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import re
import resource
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from trigger.trigger_helpers import MENU_TOML, make_events

import trigc
from trigc.cli import main
from trigc.errors import PrecisionError
from trigc.frontends.qonnx_builder import quantized_mlp
from trigc.trigger.conditions import OutputInfo, compile_condition
from trigc.trigger.errors import EventDataError, MenuError, OutputError, WorkerError
from trigc.trigger.menu import load_menu
from trigc.trigger.run import emulate_events, max_workers

@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The jet-tagger MLP of tests/trigger (16 -> ... -> 5, 6-bit), compiled."""
    return trigc.compile(quantized_mlp(seed=11), tmp_path_factory.mktemp("prj") / "jet_mlp")


@pytest.fixture()
def files(tmp_path):
    """A menu and 600 events (.npz) in a fresh folder."""
    menu = tmp_path / "menu.toml"
    menu.write_text(MENU_TOML)
    x, labels = make_events(600)
    data = tmp_path / "jets.npz"
    np.savez(data, x=x, label=labels)
    return tmp_path, menu, data


def emulate_cli(project, data, menu, *extra, capsys):
    """``trigc emulate`` in-process: (exit status, stdout, stderr)."""
    code = main(["emulate", str(project.path), "--data", str(data), "--menu", str(menu),
                 "--workers", "1", "--no-progress", *map(str, extra)])
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line_error(code, err) -> str:
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("trigc: error: "), lines
    return lines[0]


def bounded(function, seconds: float = 10.0, memory_mb: int | None = None):
    """Run ``function`` in a forked child (so a hang or a memory blow-up of the old code
    fails the test instead of the test run): ``(outcome, message, seconds)`` where
    outcome is the exception's class name, ``"ok"`` or ``"timeout"``."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def child():
        if memory_mb:
            with open("/proc/self/statm") as fp:
                size = int(fp.read().split()[0]) * resource.getpagesize()
            limit = size + memory_mb * 2**20
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        try:
            function()
            send.send(("ok", ""))
        except BaseException as exc:  # noqa: BLE001 (reported to the parent)
            send.send((type(exc).__name__, str(exc)[:2000]))

    started = time.perf_counter()
    process = context.Process(target=child)
    process.start()
    ready = receive.poll(seconds)
    elapsed = time.perf_counter() - started
    result = receive.recv() if ready else ("timeout", "")
    process.kill()
    process.join()
    return (*result, elapsed)


def output_info(project) -> dict:
    t = project.graph.outputs[0]
    return {"score": OutputInfo("score", t.name, 0, tuple(t.shape), t.type)}


def menu_with(project, condition: str) -> dict:
    return {"outputs": {"score": {"tensor": 0}}, "bits": {"hostile": condition}}


# ---- 5. outputs never over inputs, atomic, into missing folders ------------------------

def test_out_over_the_data_file_is_refused_and_the_events_survive(project, files, capsys):
    _, menu, data = files
    before = data.read_bytes()
    code, _, err = emulate_cli(project, data, menu, "--out", data, capsys=capsys)
    assert "--out" in one_line_error(code, err) and "is the --data file" in err
    assert data.read_bytes() == before
    with pytest.raises(OutputError, match="never writes over an input"):
        emulate_events(project, data, menu, out=data)
    assert data.read_bytes() == before


@pytest.mark.parametrize("option, victim", [
    ("--out", "data"), ("--out", "menu"), ("--junit", "golden"), ("--summary", "project"),
    ("--summary", "menu")])
@pytest.mark.parametrize("link", [os.link, os.symlink])
def test_links_to_an_input_are_refused(project, files, capsys, option, victim, link, tmp_path):
    folder, menu, data = files
    project = trigc.Project(shutil.copytree(project.path, tmp_path / "own_prj"))
    golden = folder / "golden.npz"
    assert emulate_cli(project, data, menu, "--out", golden, capsys=capsys)[0] == 0
    target = {"data": data, "menu": menu, "golden": golden,
              "project": project.path / "trigc.json"}[victim]
    alias = folder / f"alias{target.suffix}"
    link(target, alias)
    before = target.read_bytes()
    extra = [option, alias] + (["--golden", golden] if option == "--junit" else [])
    code, _, err = emulate_cli(project, data, menu, *extra, capsys=capsys)
    assert "(the same file)" in one_line_error(code, err)
    assert target.read_bytes() == before


def test_two_outputs_on_one_path_are_refused(project, files, capsys):
    folder, menu, data = files
    code, _, err = emulate_cli(project, data, menu, "--out", folder / "x.npz", "--summary",
                               folder / "x.npz", capsys=capsys)
    assert "are the same file" in one_line_error(code, err)
    assert not (folder / "x.npz").exists()


def test_a_failed_summary_keeps_the_previous_one(project, files, capsys, monkeypatch):
    folder, menu, data = files
    summary = folder / "summary.json"
    summary.write_text('{"previous": true}')
    from trigc.trigger.stats import Stats

    to_dict = Stats.to_dict  # a value JSON cannot hold, after the others
    monkeypatch.setattr(Stats, "to_dict", lambda self: {**to_dict(self), "zz": object()})
    with pytest.raises(TypeError):
        main(["--debug", "emulate", str(project.path), "--data", str(data), "--menu",
              str(menu), "--workers", "1", "--summary", str(summary), "--no-progress"])
    assert summary.read_text() == '{"previous": true}'
    assert sorted(p.name for p in folder.iterdir()) == ["jets.npz", "menu.toml",
                                                       "summary.json"]


def test_a_failed_run_keeps_the_previous_decision_file(project, files, capsys):
    folder, menu, data = files
    out = folder / "decisions.parquet"
    assert emulate_cli(project, data, menu, "--out", out, capsys=capsys)[0] == 0
    before = out.read_bytes()
    x, labels = make_events(600)
    x[450, 2] = np.nan  # in the last chunk: earlier chunks are already written
    np.savez(data, x=x, label=labels)
    with pytest.raises(EventDataError, match="event 450 has NaN"):
        emulate_events(project, data, menu, out=out, chunk_size=100)
    assert out.read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["decisions.parquet", "jets.npz",
                                                       "menu.toml"]


def test_outputs_into_missing_folders_are_created(project, files, capsys):
    folder, menu, data = files
    out, golden = folder / "a" / "b" / "x.parquet", folder / "g" / "golden.npz"
    assert emulate_cli(project, data, menu, "--out", golden, capsys=capsys)[0] == 0
    code, _, err = emulate_cli(project, data, menu, "--out", out, "--summary",
                               folder / "s" / "summary.json", "--plots", folder / "p" / "q",
                               "--golden", golden, "--junit", folder / "j" / "golden.xml",
                               capsys=capsys)
    assert code == 0, err
    for path in (out, folder / "s/summary.json", folder / "p/q/rate_vs_threshold.png",
                 folder / "j/golden.xml"):
        assert path.is_file() and path.stat().st_size > 0, path


def test_an_output_below_a_file_is_a_typed_error(project, files, capsys):
    _, menu, data = files
    code, _, err = emulate_cli(project, data, menu, "--out", menu / "x.parquet",
                               capsys=capsys)
    assert "is a file, not a folder" in one_line_error(code, err)


# ---- 8. menus: numbers, nesting, sizes, YAML; worker counts ----------------------------

@pytest.mark.parametrize("number", ["1e999999999", "1e-999999999", "1" * 5000,
                                    "0." + "0" * 5000 + "1"])
def test_huge_menu_numbers_are_typed_errors_at_once(project, number):
    menu = menu_with(project, f"score[0] > {number}")
    outcome, message, seconds = bounded(lambda: load_menu(menu, project.graph))
    assert outcome == "MenuError", (outcome, message[:300])
    assert "out of bounds" in message and "bit 'hostile'" in message
    assert seconds < 3


def test_leading_zeros_of_an_exponent_are_only_zeros(project):
    menu = menu_with(project, "score[0] > 0.5e" + "0" * 5000 + "1")  # 5
    assert load_menu(menu, project.graph).bits[0].resolved == "score[0] > 5"


@pytest.mark.parametrize("condition", [
    "(" * 5000 + "score[0] > 0" + ")" * 5000,
    "not " * 5000 + "score[0] > 0",
    "-" * 5000 + "score[0] > 0",
    "max(" * 5000 + "score" + ")" * 5000 + " > 0"])
def test_deep_nesting_is_a_typed_error(project, condition):
    with pytest.raises(MenuError, match=r"bit 'hostile': the condition nests more than 50 "
                                        r"levels deep"):
        load_menu(menu_with(project, condition), project.graph)
    nested = "(" * 40 + "score[0] > 0" + ")" * 40  # reasonable nesting still works
    assert load_menu(menu_with(project, nested), project.graph).bits[0].resolved


def test_a_flat_sum_of_20000_terms_works(project):
    terms = [f"score[{i % 5}]" for i in range(20000)]
    ops = ["+" if i % 3 else "-" for i in range(1, 20000)]
    text = terms[0] + "".join(f" {op} {t}" for op, t in zip(ops, terms[1:])) + " >= 0.25"
    condition = compile_condition(text, outputs=output_info(project), where="bit 'long'")
    condition = pickle.loads(pickle.dumps(condition))  # as shipped to worker processes
    raw = np.random.default_rng(1).integers(-64, 64, (50, 5))
    signs = np.array([1] + [1 if op == "+" else -1 for op in ops])
    total = (raw[:, np.arange(20000) % 5] * signs).sum(axis=1)
    frac = project.graph.outputs[0].type.frac_bits
    np.testing.assert_array_equal(condition.evaluate({"score": raw}),
                                  total >= 0.25 * 2**frac)


def test_defines_that_double_are_bounded(project):
    defines = {"d0": 'score["t"]', **{f"d{i}": f"d{i - 1} + d{i - 1}" for i in range(1, 45)}}
    menu = {"outputs": {"score": {"tensor": 0, "elements": list("gqWZt")}},
            "define": defines, "bits": {"b": "d44 > 0"}}
    outcome, message, seconds = bounded(lambda: load_menu(menu, project.graph),
                                        memory_mb=1000)
    assert outcome == "MenuError" and "expands to" in message, (outcome, message[:300])
    assert seconds < 3


BOMB = "name:\n  a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(  # 9**9 x's under name:
    f"  {c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))


@pytest.mark.parametrize("name, text, match", [
    ("bomb.yaml", BOMB + "bits: {b: 'out[0] > 0'}\n",
     r"bomb.yaml:3: YAML aliases \(\*a\) are not allowed"),
    ("alias.yaml", "bits:\n  a: &c 'out[0] > 0'\n  b: *c\n", "YAML aliases"),
    ("deep.yaml", "name: " + "[" * 3000 + "]" * 3000 + "\n", "nests more than 32 levels"),
    ("deep.toml", "name = " + "[" * 3000 + "]" * 3000 + "\n", "nests tables or lists too"),
    ("latin1.toml", "name = 'caf\xe9'\n", r"is not UTF-8 text \(byte 0xe9"),
    ("list.yaml", "- bits\n- more\n", "a menu is a mapping with a 'bits' section, not a list")])
def test_hostile_menu_files_are_typed_errors_at_once(project, tmp_path, name, text, match):
    path = tmp_path / name
    path.write_bytes(text.encode("latin-1"))
    outcome, message, seconds = bounded(lambda: load_menu(path, project.graph),
                                        memory_mb=500)
    assert outcome == "MenuError", (outcome, message[:300])
    assert re.search(match, message), message
    assert seconds < 3


@pytest.mark.parametrize("section, value, match", [
    ("outputs", {"score": {"tensor": 0, "elements": 5}}, "outputs.score.elements must be a list"),
    ("labels", {"names": 5}, "labels.names must be a list"),
    ("labels", {"background": 1.5}, "labels.background must be a list"),
    ("labels", {"column": {}}, "labels.column must be a column name"),
    ("rates", {"filled_bunches": float("inf")}, r"\[rates\] values must be numbers"),
    ("rates", {"bx_frequency_mhz": float("inf")}, r"\[rates\] needs 0 < bx_frequency_mhz")])
def test_menu_values_of_the_wrong_kind_are_typed_errors(project, section, value, match):
    menu = {"bits": {"b": "out[0] > 0"}, section: value}
    if section == "outputs":
        menu["bits"] = {"b": "score[0] > 0"}
    with pytest.raises(MenuError, match=match):
        load_menu(menu, project.graph)


class NoPool:
    """Stands in for ProcessPoolExecutor: the old code forked thousands of processes."""

    def __init__(self, workers, **kwargs) -> None:
        raise AssertionError(f"a pool of {workers} processes was started")


@pytest.mark.parametrize("workers", [5000, max_workers() + 1, 0, -2, True, 2.5])
def test_worker_counts_are_capped(project, files, workers, monkeypatch):
    import concurrent.futures

    _, menu, data = files
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", NoPool)
    with pytest.raises(WorkerError, match=r"--workers"):
        emulate_events(project, data, menu, workers=workers)
    assert multiprocessing.active_children() == []


def test_cli_worker_count_error_is_one_line(project, files, capsys, monkeypatch):
    import concurrent.futures

    _, _, data = files
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", NoPool)
    with pytest.raises(SystemExit) as exit_info:
        main(["emulate", str(project.path), "--data", str(data), "--workers", "5000"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert f"--workers 5000 is more than 4 per core ({max_workers()} on this machine" in err


# ---- raw tracebacks: damaged event files -------------------------------------------------

@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
def test_a_truncated_root_file_is_a_typed_error(project, files, keep):
    uproot = pytest.importorskip("uproot")
    folder, menu, _ = files
    x, labels = make_events(600)
    path = folder / "events.root"
    with uproot.recreate(path) as f:
        f["Events"] = {"x": x, "label": labels}
    content = path.read_bytes()
    path.write_bytes(content[:int(len(content) * keep)])
    with pytest.raises(EventDataError, match="events.root") as info:
        emulate_events(project, path, menu)
    assert "\n" not in str(info.value)


def test_a_corrupt_compressed_npz_is_a_typed_error(project, files):
    folder, menu, _ = files
    x, labels = make_events(600)
    path = folder / "packed.npz"
    np.savez_compressed(path, x=x, label=labels)
    content = bytearray(path.read_bytes())
    content[len(content) // 3] ^= 0xFF  # inside the deflated data of x
    path.write_bytes(bytes(content))
    with pytest.raises(EventDataError, match="looks truncated or damaged"):
        emulate_events(project, path, menu)


# ---- 12. NaN/Inf: the csim backend refuses them as the emulator does ---------------------

@pytest.mark.csim
@pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_are_refused_alike_by_emulator_and_csim(project, files, bad):
    _, menu, data = files
    x, labels = make_events(600)
    x[123, 4] = bad
    np.savez(data, x=x, label=labels)
    errors = {}
    for backend in ("emulator", "csim"):
        with pytest.raises(EventDataError, match="event 123 has NaN or infinite") as info:
            emulate_events(project, data, menu, backend=backend)
        errors[backend] = str(info.value)
    assert errors["emulator"] == errors["csim"]
    with pytest.raises(PrecisionError) as emulated:
        trigc.emulate(project.graph, x)  # the emulator's own check
    with pytest.raises(PrecisionError) as simulated:
        project.csim(x)
    assert str(simulated.value) == str(emulated.value)


# ---- Ctrl-C during a multi-worker run ------------------------------------------------------

def test_ctrl_c_stops_every_worker(project, tmp_path):
    psutil = pytest.importorskip("psutil")
    x, _ = make_events(400_000)
    data = tmp_path / "many.npy"
    np.save(data, x)
    # SIGINT at its default, as a shell starts a foreground job, whatever the test
    # runner's worker process (which the child inherits from) ignores or blocks
    code = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT}); "
            "from trigc.cli import main; sys.exit(main(sys.argv[1:]))")
    # the interpreter: the generated kernel would finish 400,000 events before the signal
    run = subprocess.Popen(
        [sys.executable, "-c", code, "emulate", str(project.path), "--data", str(data),
         "--workers", "2", "--chunk-size", "2000", "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "TRIGC_EMULATOR": "interpreter"})
    parent = psutil.Process(run.pid)
    deadline = time.monotonic() + 60
    while len(parent.children()) < 2 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = parent.children()
    assert len(workers) >= 2, "the workers did not start"
    time.sleep(0.1)
    os.killpg(run.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    _, err = run.communicate(timeout=30)
    assert run.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    psutil.wait_procs(workers, timeout=5)
    assert not [w for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]

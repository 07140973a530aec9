"""Issue 11, findings 3 and 7 and the "raw tracebacks" list: the target values that
reach tcl are matched exactly, the clock is bounded, bad configuration and input
files are typed one-line errors, and the CLI prints one line with exit status 2 (130
on Ctrl-C) and a traceback only with --debug."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pytest

from trigc.cli import main
from trigc.frontends.qonnx_builder import quantized_mlp
from trigc.target import check_clock, check_part

MARKER = "PWNED"


@pytest.fixture()
def model_path(tmp_path):
    path = tmp_path / "tiny.onnx"
    onnx.save(quantized_mlp(sizes=(4, 3), seed=1), str(path))
    return path


def run_cli(argv, capsys, cwd):
    """Run ``trigc`` in-process from ``cwd``; (exit status, stdout, stderr)."""
    old = os.getcwd()
    os.chdir(cwd)
    try:
        code = main([str(a) for a in argv])
    finally:
        os.chdir(old)
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_one_line_error(code, err, match):
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("trigc: error: ")
    assert match in lines[0], lines[0]


# ---- finding 3: tcl injection through --part ---------------------------------------------

TCL_PAYLOADS = [
    "xcvu9p-flga2104-2L-e}\nexec touch PWNED\n#",
    "xcvu9p-flga2104-2L-e\"; exec touch PWNED; #",
    "xcvu9p-[exec touch PWNED]",
    "xcvu9p-$(touch PWNED)",
]


@pytest.mark.parametrize("part", TCL_PAYLOADS)
def test_part_with_tcl_is_refused_before_anything_is_written(part, model_path, tmp_path,
                                                            capsys):
    out_dir = tmp_path / "prj"
    code, _, err = run_cli(["compile", model_path, "-o", out_dir, "--part", part], capsys,
                           tmp_path)
    assert_one_line_error(code, err, "Unknown FPGA part")
    assert not out_dir.exists()
    assert not (tmp_path / MARKER).exists()


def test_part_from_config_is_checked_the_same_way(model_path, tmp_path, capsys):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"part": TCL_PAYLOADS[0]}))
    code, _, err = run_cli(["compile", model_path, "-o", tmp_path / "prj", "--config", cfg],
                           capsys, tmp_path)
    assert_one_line_error(code, err, "Unknown FPGA part")
    assert not (tmp_path / "prj").exists()


def test_known_part_is_written_in_its_canonical_spelling(model_path, tmp_path, capsys):
    code, _, err = run_cli(["compile", model_path, "-o", tmp_path / "prj", "--part",
                            "  XCKU5P-FFVB676-2-E "], capsys, tmp_path)
    assert code == 0, err
    tcl = (tmp_path / "prj" / "build_prj.tcl").read_text()
    assert "xcku5p-ffvb676-2-e" in tcl and "XCKU5P" not in tcl


def test_unknown_part_lists_close_matches():
    with pytest.raises(Exception, match="closest known parts: xcvu9p-flga2104-2L-e"):
        check_part("xcvu9p-flga2104-2l")
    with pytest.raises(Exception, match="known dies: xcvu9p"):
        check_part("ep4sgx230")
    assert check_part("xcvu13p-flga2577-2-e") == "xcvu13p-flga2577-2-e"


def test_unknown_board_suggests_the_close_one(model_path, tmp_path, capsys):
    code, _, err = run_cli(["compile", model_path, "-o", tmp_path / "prj", "--board",
                            "vcu11"], capsys, tmp_path)
    assert_one_line_error(code, err, "did you mean vcu118")


# ---- finding 7: clock period ---------------------------------------------------------------

@pytest.mark.parametrize("clock", ["1e-9", "0", "-5", "nan", "inf", "1e300"])
def test_clock_outside_the_sane_range_is_a_typed_error(clock, model_path, tmp_path, capsys):
    start = time.monotonic()
    code, _, err = run_cli(["compile", model_path, "-o", tmp_path / "prj", "--clock-ns",
                            clock], capsys, tmp_path)
    assert_one_line_error(code, err, "trigc targets clocks from 1 ns (1 GHz) to 1000 ns")
    assert time.monotonic() - start < 30  # 1e-9 used to loop (3.8 GB in 30 s) forever
    assert not (tmp_path / "prj").exists()


def test_clock_zero_in_config_is_not_silently_the_default(model_path, tmp_path, capsys):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"clock_ns": 0}))
    code, _, err = run_cli(["compile", model_path, "-o", tmp_path / "prj", "--config", cfg],
                           capsys, tmp_path)
    assert_one_line_error(code, err, "clock period is 0 ns")


def test_check_clock_bounds():
    assert check_clock(1) == 1.0 and check_clock("2.777") == 2.777
    for bad in (0.999, 1000.5, float("nan"), True, None, "fast"):
        with pytest.raises(Exception, match="clock"):
            check_clock(bad)


# ---- configuration files ----------------------------------------------------------------

CONFIGS = [
    (b"[1, 2]", "must be a JSON object"),
    (b'{"precision": "fixed<16,6>"}', "'precision' in the config file"),
    (b'{"default_reuse": "abc"}', "must be an integer reuse factor"),
    (b'{"reuse": {"fc1": 0}}', "must be an integer reuse factor"),
    (b'{"clock": 5}', "did you mean 'clock_ns'"),
    (b'{"precision": {"x": 16}}', "must be a type such as"),
    (b'{"budgets": {"lut": "many"}}', "must be a finite number"),
    (b"\xff\xfe{}", "is not UTF-8 text"),
    (b'{"precision": ', "is not valid JSON"),
    (b"[" * 100_000, "nests too deeply"),
]


@pytest.mark.parametrize("content,match", CONFIGS)
def test_bad_config_is_a_one_line_error(content, match, model_path, tmp_path, capsys):
    cfg = tmp_path / "cfg.json"
    cfg.write_bytes(content)
    code, _, err = run_cli(["compile", model_path, "-o", tmp_path / "prj", "--config", cfg],
                           capsys, tmp_path)
    assert_one_line_error(code, err, match)
    code, _, err = run_cli(["inspect", model_path, "--config", cfg], capsys, tmp_path)
    assert_one_line_error(code, err, match)


def test_missing_config_names_the_file(model_path, tmp_path, capsys):
    code, _, err = run_cli(["compile", model_path, "-o", tmp_path / "prj", "--config",
                            tmp_path / "nope.json"], capsys, tmp_path)
    assert_one_line_error(code, err, "nope.json")


# ---- input arrays (csim --inputs, compile --tb-inputs) ------------------------------------

@pytest.fixture()
def project(model_path, tmp_path, capsys):
    code, _, err = run_cli(["compile", model_path, "-o", tmp_path / "prj"], capsys, tmp_path)
    assert code == 0, err
    return tmp_path / "prj"


def _write(tmp_path, name, writer):
    path = tmp_path / name
    writer(path)
    return path


BAD_INPUTS = [
    ("missing.npy", None, "no file"),
    ("objects.npy", lambda p: np.save(p, np.array([{"a": 1}], dtype=object)), "cannot read"),
    ("strings.npy", lambda p: np.save(p, np.array([["a"] * 4])), "inputs must be numbers"),
    ("empty.npy", lambda p: np.save(p, np.zeros((0, 4))), "at least one event"),
    ("scalar.npy", lambda p: np.save(p, np.float64(1.0)), "at least one event"),
    ("text.npy", lambda p: p.write_text("1 2 3 4\n"), "cannot read"),
    ("trunc.npz", lambda p: p.write_bytes(b"PK\x03\x04" + b"\0" * 10), "cannot read"),
    ("none.npz", lambda p: np.savez(p), "holds no arrays"),
]


@pytest.mark.parametrize("name,writer,match", BAD_INPUTS)
def test_bad_input_arrays_are_one_line_errors(name, writer, match, project, tmp_path, capsys):
    path = tmp_path / name if writer is None else _write(tmp_path, name, writer)
    code, _, err = run_cli(["csim", project, "--inputs", path], capsys, tmp_path)
    assert_one_line_error(code, err, match)
    code, _, err = run_cli(["compile", tmp_path / "tiny.onnx", "-o", tmp_path / "prj2",
                            "--tb-inputs", path], capsys, tmp_path)
    assert_one_line_error(code, err, match)


@pytest.mark.csim
def test_npz_inputs_are_used_in_file_order(project, tmp_path, capsys):
    path = tmp_path / "in.npz"
    np.savez(path, x=np.random.default_rng(0).uniform(-4, 4, (20, 4)))
    code, out, err = run_cli(["csim", project, "--inputs", path], capsys, tmp_path)
    assert code == 0, err
    assert "bit-exact: 20/20 events" in out


def test_wrong_input_shape_is_a_one_line_error(project, tmp_path, capsys):
    path = _write(tmp_path, "wide.npy", lambda p: np.save(p, np.zeros((3, 5))))
    code, _, err = run_cli(["csim", project, "--inputs", path], capsys, tmp_path)
    assert_one_line_error(code, err, "expects shape (N, 4)")


# ---- the CLI's own reporting --------------------------------------------------------------

def test_internal_error_is_one_line_and_debug_shows_the_traceback(monkeypatch, model_path,
                                                                  tmp_path, capsys):
    import trigc.cli.compile

    def broken(args):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(trigc.cli.compile, "cmd_inspect", broken)
    code, _, err = run_cli(["inspect", model_path], capsys, tmp_path)
    assert_one_line_error(code, err, "internal error RuntimeError: boom (1 more line(s)")
    with pytest.raises(RuntimeError, match="boom"):
        main(["--debug", "inspect", str(model_path)])


def test_os_error_names_the_file(monkeypatch, model_path, tmp_path, capsys):
    import trigc.cli.compile

    def full_disk(args):
        raise OSError(28, "No space left on device", str(tmp_path / "prj" / "x.h"))

    monkeypatch.setattr(trigc.cli.compile, "cmd_inspect", full_disk)
    code, _, err = run_cli(["inspect", model_path], capsys, tmp_path)
    assert_one_line_error(code, err, "No space left on device:")
    assert "x.h" in err


def test_ctrl_c_exits_130_without_a_traceback(tmp_path):
    """A real SIGINT delivered to a running ``trigc`` process."""
    script = (
        "import os, signal, sys, threading, time\n"
        # as a shell starts a foreground job: SIGINT at its default, whatever the test
        # runner's worker process (which this child inherits from) ignores or blocks
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})\n"
        "import trigc.cli as cli, trigc.cli.compile as commands\n"
        "commands.cmd_inspect = lambda args: time.sleep(60)\n"
        # to the main thread: a process-directed signal may land on the timer's thread,
        # and the main thread's sleep would then not be interrupted
        "main = threading.main_thread().ident\n"
        "threading.Timer(0.5, lambda: signal.pthread_kill(main, signal.SIGINT)).start()\n"
        "sys.exit(cli.main(['inspect', 'm.onnx']))\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.strip() == "trigc: interrupted"


def test_typed_error_message_keeps_names_printable(tmp_path, capsys):
    """A hostile file name with a newline cannot forge a second output line."""
    evil = tmp_path / "a\ntrigc: ok.onnx"
    code, _, err = run_cli(["inspect", evil], capsys, tmp_path)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert Path(tmp_path).exists()


def test_profile_never_writes_over_its_input(tmp_path, capsys):
    """``trigc profile M --data profile.json``-style collisions: the calibration data
    (or the model) is never replaced by an output."""
    from trigc.frontends.qonnx_builder import quantized_mlp as mlp

    onnx.save(mlp(sizes=(4, 3), seed=1), str(tmp_path / "tiny.onnx"))
    data = tmp_path / "profile.png"
    with open(data, "wb") as f:
        np.save(f, np.zeros((8, 4)))
    before = data.read_bytes()
    code, _, err = run_cli(["profile", "tiny.onnx", "--data", data, "--out", tmp_path],
                           capsys, tmp_path)
    assert_one_line_error(code, err, "is the input")
    assert data.read_bytes() == before

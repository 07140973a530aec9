"""Issue 11, finding 4 and "Not atomic": trigc never deletes what it did not write, the
project swap never loses the target, leftovers of killed runs are cleaned up, and
file-system failures and damaged projects are one-line typed errors."""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import onnx
import pytest

import trigc
from trigc import outputs
from trigc.cli import main
from trigc.errors import OutputError, ProjectError
from trigc.export import export_ip
from trigc.outputs import MANIFEST, TEMP_MARKER, atomic_write

from helpers.qonnx_models import mlp

ROOT = Path(__file__).resolve().parents[2]


def _snapshot(root: Path) -> dict[str, bytes | None]:
    """Every entry under ``root``: files with their bytes, folders as None."""
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


def _reuse(project: Path) -> int:
    return json.loads((project / "trigc.json").read_text())["settings"]["default_reuse"]


def _leftovers(parent: Path, name: str = "p") -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}."))


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model") / "model.onnx"
    onnx.save(mlp(sizes=(4, 3)), str(path))
    return path


@pytest.fixture
def project(model_file, tmp_path) -> Path:
    return trigc.compile(model_file, tmp_path / "p").path


def _add_build_outputs(project: Path) -> None:
    """What `trigc build`/`trigc export` with Vitis and `trigc csim` leave in a project."""
    (project / "mlp_prj" / "solution1" / "syn").mkdir(parents=True)
    (project / "mlp_prj" / "solution1" / "syn" / "csynth.rpt").write_text("synthesis")
    (project / "ip").mkdir()
    (project / "ip" / "mlp_1.0.zip").write_bytes(b"PK archive")
    (project / "tb_data" / "csim_results.log").write_text("0 1 2\n")


# ---- finding 4: folders trigc did not write ------------------------------------------
def test_compile_into_the_working_folder_deletes_nothing(model_file, tmp_path, monkeypatch,
                                                        capsys):
    work = tmp_path / "analysis"
    (work / "data").mkdir(parents=True)
    (work / "model.onnx").write_bytes(model_file.read_bytes())
    (work / "train.py").write_text("print('my training script')\n")
    (work / "data" / "jets.npy").write_bytes(b"\x93NUMPY events")
    (work / "trigc.json").write_text('{"default_reuse": 1}\n')
    before = _snapshot(work)
    monkeypatch.chdir(work)
    assert main(["compile", "model.onnx", "-o", ".", "--config", "trigc.json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a trigc project" in err and "--overwrite" in err
    assert _snapshot(work) == before and _leftovers(tmp_path, "analysis") == []


def test_recompiling_over_build_outputs_is_refused(model_file, project):
    _add_build_outputs(project)
    before = _snapshot(project)
    with pytest.raises(OutputError, match=r"p/ip' \(and 2 more\) is in the trigc project.*"
                                          r"did not write.*--overwrite"):
        trigc.compile(model_file, project, reuse=2)
    assert _snapshot(project) == before and _leftovers(project.parent) == []


def test_overwrite_replaces_trigc_files_and_keeps_the_others(model_file, project):
    _add_build_outputs(project)
    (project / "notes.txt").write_text("mine")
    kept = {k: v for k, v in _snapshot(project).items()
            if k.split("/")[0] in ("mlp_prj", "ip", "notes.txt") or k.endswith(".log")}
    trigc.compile(model_file, project, reuse=2, overwrite=True)
    after = _snapshot(project)
    assert _reuse(project) == 2 and {k: after[k] for k in kept} == kept
    manifest = json.loads((project / MANIFEST).read_text())["files"]
    assert "trigc.json" in manifest and not set(manifest) & set(kept)
    assert _leftovers(project.parent) == []
    trigc.compile(model_file, project, reuse=3, overwrite=True)  # and again
    assert _reuse(project) == 3 and (project / "ip" / "mlp_1.0.zip").is_file()


def test_recompiling_a_clean_project_needs_no_flag(model_file, project):
    trigc.compile(model_file, project, reuse=2)
    assert _reuse(project) == 2 and _leftovers(project.parent) == []


def test_a_changed_trigc_file_is_not_replaced_silently(model_file, project):
    params = project / "firmware" / "parameters.h"
    params.write_text(params.read_text() + "// tuned by hand\n")
    with pytest.raises(OutputError, match="parameters.h.*changed after trigc wrote it"):
        trigc.compile(model_file, project)
    assert params.read_text().endswith("// tuned by hand\n")
    trigc.compile(model_file, project, overwrite=True)
    assert "tuned by hand" not in params.read_text()


def test_export_in_place_keeps_vitis_outputs(project):
    _add_build_outputs(project)
    before = _snapshot(project)
    with pytest.raises(OutputError, match="p/ip'.*--overwrite"):
        export_ip(project, "vcu118", run_tool=False)
    assert _snapshot(project) == before
    result = export_ip(project, "vcu118", run_tool=False, overwrite=True)
    after = _snapshot(project)
    assert result.bundle.is_file() and after["ip/mlp_1.0.zip"] == b"PK archive"
    assert after["mlp_prj/solution1/syn/csynth.rpt"] == b"synthesis"
    assert "export_bundle.zip" in json.loads((project / MANIFEST).read_text())["files"]


def test_project_of_an_older_trigc_is_never_deleted(model_file, project):
    (project / MANIFEST).unlink()
    (project / "notes.txt").write_text("mine")
    before = _snapshot(project)
    with pytest.raises(OutputError, match=f"not a trigc project of this version.*{MANIFEST}"):
        trigc.compile(model_file, project, reuse=2)
    assert _snapshot(project) == before
    trigc.compile(model_file, project, reuse=2, overwrite=True)
    assert _reuse(project) == 2 and (project / "notes.txt").read_text() == "mine"
    assert (project / MANIFEST).is_file()


def test_an_empty_folder_is_a_fine_target(model_file, tmp_path):
    (tmp_path / "p").mkdir()
    assert trigc.compile(model_file, tmp_path / "p").path == tmp_path / "p"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("output", ["f", "f/sub", "f/sub/deeper"])
def test_a_file_as_target_is_a_typed_error(model_file, tmp_path, output, capsys):
    (tmp_path / "f").write_text("my file")
    assert main(["compile", str(model_file), "-o", str(tmp_path / output)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "OutputError" not in err and "is a file" in err
    assert str(tmp_path / "f") in err and (tmp_path / "f").read_text() == "my file"


# ---- "Not atomic": leftovers and kills -----------------------------------------------
def _marker(folder: Path, pid: int, role: str = "temp", moved=()) -> None:
    folder.mkdir()
    (folder / TEMP_MARKER).write_text(json.dumps(
        {"pid": pid, "host": socket.gethostname(), "role": role, "target": "p",
         "moved": list(moved)}))


def test_leftovers_of_killed_runs_are_removed_and_nothing_else(model_file, project):
    parent = project.parent
    _marker(parent / ".p.k1ll3d", _dead_pid())
    (parent / ".p.k1ll3d" / "firmware").mkdir()
    (parent / ".p.k1ll3d" / "firmware" / "mlp.cpp").write_text("half writ")
    _marker(parent / f".p.old.{_dead_pid()}", _dead_pid(), role="old")
    _marker(parent / ".p.running", os.getppid())  # a run still going
    (parent / ".p.mine").mkdir()  # the user's own dot-folder
    (parent / ".p.mine" / "notes.txt").write_text("mine")
    (parent / ".p.fake").mkdir()  # a marker that names another folder
    (parent / ".p.fake" / TEMP_MARKER).write_text('{"pid": 1, "target": "q"}')
    trigc.compile(model_file, project, reuse=2)
    assert _leftovers(parent) == [".p.fake", ".p.mine", ".p.running"]
    assert (parent / ".p.mine" / "notes.txt").read_text() == "mine"


def test_user_files_in_a_killed_runs_temp_folder_go_back(model_file, project):
    parent = project.parent
    _marker(parent / ".p.k1ll3d", _dead_pid(), moved=["ip", "tb_data/csim_results.log"])
    (parent / ".p.k1ll3d" / "ip").mkdir()
    (parent / ".p.k1ll3d" / "ip" / "mlp_1.0.zip").write_text("zip")
    (parent / ".p.k1ll3d" / "tb_data").mkdir()
    (parent / ".p.k1ll3d" / "tb_data" / "csim_results.log").write_text("log")
    with pytest.raises(OutputError, match="p/ip'"):  # they are back, so they count
        trigc.compile(model_file, project)
    assert (project / "ip" / "mlp_1.0.zip").read_text() == "zip"
    assert (project / "tb_data" / "csim_results.log").read_text() == "log"
    assert _leftovers(parent) == []


KILL_SCRIPT = textwrap.dedent("""
    import os, sys
    import trigc, trigc.outputs as outputs
    from trigc.backends.vitis import writer
    point, model, target = sys.argv[1:]
    real_rename, real_exchange = os.rename, outputs._exchange
    def rename(src, dst):
        real_rename(src, dst)
        if ".old." in os.path.basename(dst):
            os._exit(137)
    def exchange(a, b):
        assert real_exchange(a, b)
        os._exit(137)
    def write_tb_data(*args):
        os._exit(137)
    if point == "between_renames":
        outputs._exchange = lambda a, b: False
        os.rename = rename
    elif point == "after_exchange":
        outputs._exchange = exchange
    else:
        writer._write_tb_data = write_tb_data
    trigc.compile(model, target, reuse=2, overwrite=True)
""")


@pytest.mark.parametrize("point", ["during_build", "between_renames", "after_exchange"])
def test_a_killed_compile_is_recovered_by_the_next_run(model_file, project, point):
    (project / "notes.txt").write_text("mine")
    proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, point, str(model_file),
                           str(project)], capture_output=True, text=True, check=False)
    assert proc.returncode == 137, proc.stderr
    if point == "between_renames":  # only without renameat2: the old one is beside it
        assert not project.exists()
        assert [n for n in _leftovers(project.parent) if ".old." in n]
        project.mkdir()  # an empty folder made meanwhile does not win over the project
    else:  # the old project, or the new one, is at the target
        assert _reuse(project) == (2 if point == "after_exchange" else 1)
    assert _leftovers(project.parent)
    with pytest.raises(OutputError, match="notes.txt"):  # restored; it is the user's
        trigc.compile(model_file, project, reuse=3)
    assert (project / "notes.txt").read_text() == "mine"
    assert _reuse(project) == (2 if point == "after_exchange" else 1)
    assert _leftovers(project.parent) == []


def test_a_failure_between_the_renames_restores_the_project(model_file, project,
                                                            monkeypatch):
    real_rename, calls = os.rename, []

    def rename(src, dst):
        calls.append((Path(src).name, Path(dst).name))
        if Path(src).name.startswith(".p.") and Path(dst).name == "p" and len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        real_rename(src, dst)

    monkeypatch.setattr(outputs, "_exchange", lambda a, b: False)
    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OutputError, match="no space left on the device"):
        trigc.compile(model_file, project, reuse=2)
    assert calls[0][1].startswith(".p.old.") and calls[2] == (calls[0][1], "p")
    assert _reuse(project) == 1 and _leftovers(project.parent) == []


# ---- raw tracebacks: file-system failures ----------------------------------------------
@pytest.mark.parametrize("code,message", [
    (errno.EACCES, "permission denied; make it writable"),
    (errno.EROFS, "the file system is read-only"),
    (errno.ENOSPC, "no space left on the device; free some space"),
])
def test_unwritable_output_folder_is_a_typed_error(model_file, project, monkeypatch, code,
                                                   message):
    def mkdtemp(prefix, dir):
        raise OSError(code, os.strerror(code), str(Path(dir) / prefix))

    before = _snapshot(project)
    monkeypatch.setattr(outputs.tempfile, "mkdtemp", mkdtemp)
    with pytest.raises(OutputError, match=f"Cannot write '{project.parent}.*{message}"):
        trigc.compile(model_file, project, reuse=2)
    assert _snapshot(project) == before


def test_disk_full_while_writing_keeps_the_old_project(model_file, project, monkeypatch):
    from trigc.backends.vitis import writer

    def write_tb_data(root, *args):
        raise OSError(errno.ENOSPC, "No space left on device",
                      str(root / "tb_data" / "tb_input_features.dat"))

    before = _snapshot(project)
    monkeypatch.setattr(writer, "_write_tb_data", write_tb_data)
    with pytest.raises(OutputError, match="tb_input_features.dat': no space left"):
        trigc.compile(model_file, project, reuse=2)
    assert _snapshot(project) == before and _leftovers(project.parent) == []


def test_file_size_limit_is_a_one_line_error(model_file, tmp_path):
    """A real failing write: RLIMIT_FSIZE makes the kernel refuse (EFBIG) a large file."""
    import resource

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    proc = subprocess.run([sys.executable, "-m", "trigc.cli", "compile", str(model_file),
                           "-o", str(tmp_path / "p")], capture_output=True, text=True,
                          preexec_fn=limit, cwd=tmp_path, check=False)
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert "Traceback" not in proc.stderr
    assert last.startswith("trigc: error: Cannot write") and "file size limit" in last
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_folder_for_real(model_file, tmp_path):
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o555)
    try:
        with pytest.raises(OutputError, match="permission denied"):
            trigc.compile(model_file, tmp_path / "ro" / "p")
    finally:
        (tmp_path / "ro").chmod(0o755)


# ---- raw tracebacks: damaged projects --------------------------------------------------
def _truncate(path: Path, keep: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


@pytest.mark.parametrize("damage,message", [
    (lambda p: _truncate(p / "trigc.json", 0.5), "trigc.json' is truncated or corrupted"),
    (lambda p: (p / "trigc.json").write_bytes(b"\xff\xfe\x00garbage"), "truncated or corr"),
    (lambda p: (p / "trigc.json").write_text("[1, 2]"), "a JSON list, not an object"),
    (lambda p: (p / "trigc.json").write_text('{"name": "mlp"}'), "lacks graph, settings"),
    (lambda p: (p / "trigc.json").write_text(
        (p / "trigc.json").read_text().replace('"nodes"', '"nodez"')), "damaged graph"),
    (lambda p: (p / "trigc.json").unlink(), "is not a trigc project"),
])
@pytest.mark.parametrize("command", ["check", "csim"])
def test_damaged_trigc_json_is_a_one_line_error(project, damage, message, command, capsys):
    damage(project)
    with pytest.raises(ProjectError, match=message):
        trigc.Project(project)
    capsys.readouterr()
    assert main([command, str(project)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message.split("'")[-1][:12] in err


@pytest.mark.parametrize("damage,message", [
    (lambda f: _truncate(f, 0.5), "truncated or corrupted"),
    (lambda f: f.write_text(""), "holds 0 rows"),
    (lambda f: f.write_bytes(b"\x00\xff\xfe garbage\n"), "truncated or corrupted"),
    (lambda f: f.write_text("1 2\n3 4\n"), "rows of 2 numbers where the model needs rows of 4"),
    (lambda f: f.write_text("nan 1 2 3\n"), "NaN or infinite"),
    (lambda f: f.unlink(), "Cannot read"),
])
def test_damaged_tb_data_is_a_one_line_error(project, damage, message, capsys):
    features = project / "tb_data" / "tb_input_features.dat"
    damage(features)
    with pytest.raises(ProjectError, match=message):
        trigc.Project(project).tb_inputs()
    capsys.readouterr()
    assert main(["csim", str(project)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "tb_input_features.dat" in err


# ---- atomic_write, the helper for every single-file output -------------------------------
def test_atomic_write_refuses_to_write_over_an_input(tmp_path):
    events = tmp_path / "jets.npz"
    events.write_bytes(b"events")
    (tmp_path / "link.npz").symlink_to(events)
    os.link(events, tmp_path / "hard.npz")
    for out in ("jets.npz", "link.npz", "hard.npz", "./sub/../jets.npz"):
        with pytest.raises(OutputError, match="it is the input.*choose another output"):
            atomic_write(tmp_path / out, b"decisions", inputs=[events])
    assert events.read_bytes() == b"events"


def test_atomic_write_replaces_whole_files_only(tmp_path):
    out = tmp_path / "rates.npz"
    out.write_bytes(b"old")

    def fails(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp))

    with pytest.raises(OutputError, match="no space left"):
        atomic_write(out, fails)
    assert out.read_bytes() == b"old" and sorted(tmp_path.iterdir()) == [out]
    atomic_write(out, lambda tmp: tmp.write_bytes(b"new" + tmp.suffix.encode()))
    assert out.read_bytes() == b"new.npz"
    stale = tmp_path / f".rates.trigc-{_dead_pid()}-abc123.npz"
    stale.write_bytes(b"killed")
    atomic_write(out, "text")
    assert sorted(tmp_path.iterdir()) == [out] and out.read_text() == "text"


def test_atomic_write_into_a_missing_folder_or_onto_a_folder(tmp_path):
    with pytest.raises(OutputError, match="the folder .*missing' does not exist; create it"):
        atomic_write(tmp_path / "missing" / "out.json", "{}")
    assert atomic_write(tmp_path / "made" / "out.json", "{}", make_parents=True).is_file()
    with pytest.raises(OutputError, match="it is a folder; give a file name"):
        atomic_write(tmp_path / "made", "{}")
    (tmp_path / "f").write_text("file")
    with pytest.raises(OutputError, match="'.*f' is a file, not a folder"):
        atomic_write(tmp_path / "f" / "out.json", "{}")


@pytest.mark.parametrize("keep,tail,match", [
    (50, "", "100 input rows but 50 expected-output rows"),
    (50, "12", "truncated or corrupted .the number of columns changed"),
    (0, "", "holds 0 rows"),
])
def test_truncated_expected_outputs_stop_the_testbench(project, keep, tail, match):
    predictions = project / "tb_data" / "tb_output_predictions.dat"
    lines = predictions.read_text().splitlines(keepends=True)
    predictions.write_text("".join(lines[:keep]) + tail)
    with pytest.raises(ProjectError, match=match):
        trigc.Project(project).run_testbench()

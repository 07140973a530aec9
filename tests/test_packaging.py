"""`pip install .` gives a working trigc package and command, templates included."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(out), str(ROOT)], check=True, capture_output=True)
    (path,) = out.glob("trigc-*.whl")
    return path


def test_wheel_ships_every_template(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = [p for p in (ROOT / "hls_templates").rglob("*")
               if p.suffix in (".h", ".j2", ".tcl")]
    assert any(p.suffix == ".h" for p in shipped) and any(p.suffix == ".j2" for p in shipped)
    for p in shipped:
        assert f"trigc/hls_templates/{p.relative_to(ROOT / 'hls_templates')}" in names, p
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "trigc = trigc.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_imports_and_runs(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True, capture_output=True)
    code = ("import trigc, pathlib; from trigc.backends.vitis.writer import templates_dir; "
            "print(trigc.__file__); print(sorted(p.name for p in (templates_dir() / 'glue')"
            ".iterdir()))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
                          cwd=tmp_path, check=True)
    module_file, glue = proc.stdout.splitlines()
    assert module_file.startswith(str(target))
    assert "top.cpp.j2" in glue
    cli = subprocess.run([sys.executable, "-m", "trigc.cli", "--version"], capture_output=True,
                         text=True, env={"PYTHONPATH": str(target)}, cwd=tmp_path)
    assert cli.returncode == 0 and "trigc" in cli.stdout


def test_wheel_ships_every_module(wheel):
    """A subpackage missing from pyproject's ``packages`` list would be left out."""
    names = set(zipfile.ZipFile(wheel).namelist())
    compiler = ROOT / "compiler"
    missing = [str(p.relative_to(compiler)) for p in compiler.rglob("*.py")
               if f"trigc/{p.relative_to(compiler).as_posix()}" not in names]
    assert missing == []

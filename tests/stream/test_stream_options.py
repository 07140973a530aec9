"""``--io stream`` options and refusals: the CLI end to end (compile, csim
--size-fifos, --compare-io), typed one-line errors for options that do not apply,
FIFO depths checked key by key, and hostile layer names that reach the stream C++
only as identifiers and escaped strings."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import trigc
from trigc.cli.app import main
from trigc.errors import ConfigError, ProjectError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers.qonnx_models import Builder  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "conv_tagger" / "conv_tagger.onnx"
MARKER = "PWNED"
INJECTIONS = ['x\n#include <cstdlib>\nstatic int v = system("touch PWNED");',
              'c"); system("touch PWNED"); //', "a\rb\\"]


def small_conv(conv_name="c/Conv", pool_name="p/MaxPool", input_name="x", seed=0):
    rng = np.random.default_rng(seed)
    b = Builder("small_conv")
    x = b.quant(input_name, 2.0**-4, 8)
    w = b.quant(b.const(rng.normal(0, 0.5, (3, 2, 3, 3))), 2.0**-4, 6, narrow=True)
    h = b.node("Conv", [x, w], name=conv_name, kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    h = b.quant(h, 2.0**-3, 8)
    h = b.node("MaxPool", [h], name=pool_name, kernel_shape=[2, 2], strides=[2, 2])
    out = b.quant(h, 2.0**-3, 8, name="out/Quant")
    return b.model({input_name: (1, 2, 6, 6)}, out, (1, 3, 3, 3))


def run_cli(argv, capsys):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.csim
def test_cli_compile_size_fifos_compare_io(tmp_path, capsys):
    out = tmp_path / "p"
    code, stdout, err = run_cli(["compile", MODEL, "-o", out, "--io", "stream",
                                 "--compare-io"], capsys)
    assert code in (0, 1), err  # 1: a budget exceeded; the project is written
    assert "II=100" in stdout and "stream" in stdout
    code, stdout, err = run_cli(["csim", out, "--size-fifos"], capsys)
    assert code == 0, err
    assert "sized 12 FIFOs" in stdout and "bit-exact: 100/100 events" in stdout
    assert "latency 119 cycles (plan 119)" in stdout
    meta = json.loads((out / "trigc.json").read_text())
    depths = meta["settings"]["fifo_depths"]
    assert depths["x_t"] == 20 and set(depths.values()) >= {2}
    src = next((out / "firmware").glob("conv_tagger.cpp")).read_text()
    assert "#pragma HLS STREAM variable=s1_x_t depth=20" in src
    assert "#pragma HLS DATAFLOW" in src


def test_stream_refusals(tmp_path):
    graph = trigc.load(small_conv())
    cases = [({"backend": "catapult"}, "Vitis HLS backend"),
             ({"interface": "pipeline"}, "AXI4-Stream ports"),
             ({"axis_word_bits": 64, "interface": "axis"}, "drop --axis-word-bits"),
             ({"fifo_depths": {"nope": 4}}, "unknown streams \\['nope'\\]"),
             ({"fifo_depths": {"x_t": 1}}, "FIFO depth from 2"),
             ({"fifo_depths": {"x_t": True}}, "FIFO depth from 2")]
    for kw, match in cases:
        with pytest.raises(ConfigError, match=match):
            trigc.compile(graph, tmp_path / "p", io="stream", overwrite=True, **kw)
    with pytest.raises(ConfigError, match="io_mode"):
        trigc.compile(graph, tmp_path / "p", config={"io_mode": "dataflow"}, overwrite=True)


@pytest.mark.csim
def test_parallel_project_has_no_fifos(tmp_path):
    project = trigc.compile(small_conv(), tmp_path / "p")
    with pytest.raises(ProjectError, match="compile it with --io stream"):
        project.size_fifos()


@pytest.mark.csim
@pytest.mark.parametrize("payload", range(len(INJECTIONS)), ids=["newline", "quote", "cr"])
def test_hostile_names_in_stream_code(tmp_path, monkeypatch, payload):
    """Layer and input names with newlines, quotes and backslashes: the stream design
    compiles, simulates exactly (scheduler and DATAFLOW testbench) and runs nothing;
    every generated source stays printable ASCII."""
    monkeypatch.chdir(tmp_path)
    evil = INJECTIONS[payload]
    model = small_conv(conv_name=evil, pool_name=evil + "2", input_name="in" + evil[:3])
    project = trigc.compile(model, tmp_path / "out", io="stream")
    assert project.compare().ok
    code, output = project.run_testbench()
    assert code == 0, output
    for folder in (tmp_path, project.path, project.path / "tb_data"):
        assert not (folder / MARKER).exists()
    for path in [*(project.path / "firmware").glob("*.*"), *(project.path / "tb").glob("*")]:
        data = path.read_bytes()
        assert all(32 <= b < 127 or b == 10 for b in data), path.name

"""The Catapult HLS project (``--backend catapult``): its build_prj.tcl and
directives.tcl run under tclsh with stub Catapult commands (stub_catapult.tcl; the
tool itself is not available here), in the order of Siemens' documented flow; the
typed refusals (AP_WRAP_SM, AXI4-Stream, IP export); ``trigc compile`` / ``csim`` /
``build`` on the command line. The C-simulation against ac_fixed.h is proved in
tests/csim and tests/models."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
import trigc
from export_util import run_cli, run_stub
from trigc.errors import ConfigError, PrecisionError
from trigc.fixed import FixedType, Overflow, Rounding
from trigc.frontends.qonnx_builder import quantized_mlp

GO_ORDER = ["analyze", "compile", "libraries", "assembly", "architect", "allocate", "extract"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    model = quantized_mlp(sizes=(4, 6, 3), seed=3)
    model.graph.name = "tiny"
    return trigc.compile(model, tmp_path_factory.mktemp("cat") / "tiny", backend="catapult",
                         clock_ns=4.0)


def _calls(project, args=()):
    return run_stub(project.path, "build_prj.tcl", args, tool="catapult")


def _index(calls, *prefix) -> int:
    for i, call in enumerate(calls):
        if call[:len(prefix)] == list(prefix):
            return i
    raise AssertionError(f"{prefix} not called; calls: {calls}")


def test_asic_flow_order_and_directives(project):
    calls = _calls(project, ["csim=0", "synth=1", "tech=asic"])
    stages = [c[1] for c in calls if c[0] == "go"]
    assert stages == GO_ORDER
    files = [c for c in calls if c[:3] == ["solution", "file", "add"]]
    assert [Path(c[3]).name for c in files] == ["tiny.cpp", "tiny_test.cpp"]
    assert all(Path(c[3]).is_file() for c in files) and files[1][-2:] == ["-exclude", "true"]
    top = _index(calls, "solution", "design", "set", "tiny", "-top")
    assert top < _index(calls, "go", "analyze")
    # each directive after the stage it needs, before the next
    assert _index(calls, "go", "analyze") < _index(calls, "directive", "set",
                                                   "-MEM_MAP_THRESHOLD") < _index(
        calls, "go", "compile")
    lib = calls[_index(calls, "solution", "library", "add")]
    assert lib[3] == "nangate-45nm_beh"
    clocks = calls[_index(calls, "directive", "set", "-CLOCKS")]
    assert "-CLOCK_PERIOD 4.0" in clocks[3]
    assert _index(calls, "go", "libraries") < _index(calls, "directive", "set", "-CLOCKS") < \
        _index(calls, "go", "assembly")
    ports = [c for c in calls if c[:2] == ["directive", "set"] and c[2].endswith(":rsc")]
    assert [c[2] for c in ports] == ["/tiny/x:rsc", "/tiny/dense_1_MatMul_out:rsc"]
    assert [c[4] for c in ports] == ["ccs_ioport.ccs_in_vld", "ccs_ioport.ccs_out_vld"]
    ii = calls[_index(calls, "directive", "set", "/tiny/core/main")]
    assert ii[3:] == ["-PIPELINE_INIT_INTERVAL", str(project.meta["ii"])]
    assert _index(calls, "go", "assembly") < _index(calls, "directive", "set",
                                                    "/tiny/core/main")
    assert not [c for c in calls if c[0] == "flow"]  # csim=0
    assert calls[-1][:2] == ["project", "save"]


def test_fpga_flow_with_csim_and_no_synthesis(project):
    calls = _calls(project, ["csim=1", "synth=0", "tech=fpga"])
    assert [c[1] for c in calls if c[0] == "go"] == GO_ORDER[:4]
    lib = calls[_index(calls, "solution", "library", "add")]
    assert lib[3].startswith("mgc_Xilinx") and lib[-1] == project.meta["settings"]["part"]
    assert _index(calls, "go", "compile") < _index(calls, "flow", "run") < \
        _index(calls, "go", "libraries")


def test_pipeline_interface_uses_plain_wires(tmp_path):
    p = trigc.compile(quantized_mlp(sizes=(3, 2)), tmp_path / "p", backend="catapult",
                      interface="pipeline")
    calls = _calls(p)
    modules = {c[2]: c[4] for c in calls if c[:2] == ["directive", "set"]
               and c[2].endswith(":rsc")}
    assert set(modules.values()) == {"ccs_ioport.ccs_in", "ccs_ioport.ccs_out"}


def test_wrap_sm_is_refused_naming_the_layer(tmp_path):
    graph = trigc.load(quantized_mlp(sizes=(4, 6, 3)))
    node = graph.nodes[0]
    t = node.output.type
    node.output.type = FixedType(True, t.width, t.integer_bits, Rounding.TRN, Overflow.WRAP_SM)
    with pytest.raises(PrecisionError, match=r"AP_WRAP_SM.*(--backend vitis|AP_SAT)") as err:
        trigc.compile(graph, tmp_path / "p", backend="catapult")
    assert node.name in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "p").exists()
    trigc.compile(graph, tmp_path / "v")  # the same graph is fine for Vitis


def test_axis_and_ip_export_are_refused(project, tmp_path):
    with pytest.raises(ConfigError, match="axis"):
        trigc.compile(quantized_mlp(sizes=(3, 2)), tmp_path / "a", backend="catapult",
                      interface="axis")
    from trigc.export import export_ip

    with pytest.raises(ConfigError, match="Catapult"):
        export_ip(project.path, board="pynq-z2", output_dir=tmp_path / "ip", run_tool=False)


def test_cli_compile_csim_and_build(tmp_path, capsys, monkeypatch):
    model = tmp_path / "m.onnx"
    onnx.save(quantized_mlp(sizes=(5, 4, 2), seed=8), model)
    out = tmp_path / "proj"
    assert run_cli(["compile", str(model), "-o", str(out), "--backend", "catapult"]) == 0
    assert "#define TRIGC_AC_TYPES" in (out / "firmware" / "defines.h").read_text()
    assert not (out / "firmware" / "kernels" / "trigc_types_ap.h").exists()
    assert run_cli(["csim", str(out)]) == 0
    assert "bit-exact: 100/100" in capsys.readouterr().out
    monkeypatch.setenv("PATH", os.pathsep.join(
        d for d in os.environ["PATH"].split(os.pathsep) if not (Path(d) / "catapult").exists()))
    assert run_cli(["build", str(out)]) == 2
    assert "catapult -shell -file build_prj.tcl" in capsys.readouterr().err


def test_ac_rounding_carry_hazard_is_refused(tmp_path):
    """ac_fixed.h drops the rounding carry of an all-ones unsigned source whose bits
    above the rounding position fill the destination's 32-bit word (divergence 3 of
    tests/csim/test_fixed_vs_acfixed.py): such a layer is refused by name."""
    graph = trigc.load(quantized_mlp(sizes=(4, 6, 3)))
    first, second = graph.nodes[0], graph.nodes[1]
    assert second.output.type.frac_bits == 3  # kept, so dense_1's accumulator still fits
    first.output.type = FixedType(False, 45, 29, Rounding.TRN, Overflow.WRAP)  # 16 + 29 bits
    second.output.type = FixedType(True, 4, 1, Rounding.RND, Overflow.SAT)
    with pytest.raises(PrecisionError, match="rounding carry") as err:
        trigc.compile(graph, tmp_path / "p", backend="catapult")
    assert second.name in str(err.value)
    first.output.type = FixedType(False, 44, 28, Rounding.TRN, Overflow.WRAP)  # 16 + 28 bits
    project = trigc.compile(graph, tmp_path / "q", backend="catapult")
    assert project.compare(np.random.default_rng(0).normal(0, 8, (300, 4))).ok


def test_ac_double_conversion_hazard_on_inputs_is_refused(tmp_path):
    """ac_fixed.h turns a double just below the minimum of a signed 32-bit AP_SAT_ZERO
    type with rounding into 0 (divergence 4): such an input type is refused by name."""
    graph = trigc.load(quantized_mlp(sizes=(4, 6, 3)))
    x = graph.inputs[0]
    x.type = FixedType(True, 32, 19, Rounding.RND_ZERO, Overflow.SAT_ZERO)
    with pytest.raises(PrecisionError, match="31 or 33 bits") as err:
        trigc.compile(graph, tmp_path / "p", backend="catapult")
    assert repr(x.name) in str(err.value)

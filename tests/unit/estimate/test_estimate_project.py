"""The estimator on a compiled project, as ``trigc compile`` / ``trigc check`` use it."""

from trigc.estimate import Budgets, check, estimate
from trigc.frontends.qonnx_builder import quantized_mlp
from trigc.project import compile as compile_model
from trigc.target import BuildOptions


def test_estimate_from_project_meta_matches_backend_settings(tmp_path):
    project = compile_model(quantized_mlp(), tmp_path / "prj", reuse=2)
    est = estimate(project.graph, project.meta["settings"])
    assert est.ii == project.meta["ii"] == 2
    assert [layer.name for layer in est.layers] == [n.name for n in project.graph.nodes]
    same = estimate(project.graph, BuildOptions(default_reuse=2))
    assert same.total == est.total and same.latency_cycles == est.latency_cycles
    assert check(est, Budgets(ii=2, dsp_pct=1)) == []
    (v,) = check(est, Budgets(ii=1))
    assert v.budget == "ii" and "to at most 1" in v.hint

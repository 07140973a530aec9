"""Runs: identical decisions whatever the chunking, workers, Dask or backend; golden
comparison; rates, efficiencies and overlaps against a direct numpy computation."""

import tomllib
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from trigger_helpers import MENU_TOML

from trigc.trigger import emulate_events, load_menu, open_events
from trigc.trigger.decisions import read_meta
from trigc.trigger.plots import write_plots


def decisions(path) -> dict:
    source = open_events(path)
    return source.read(0, source.columns["event"].length, list(source.columns))


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


@pytest.fixture(scope="module")
def unchunked(project, menu_file, events, tmp_path_factory):
    path, _, _ = events
    out = tmp_path_factory.mktemp("unchunked") / "golden.npz"
    result = emulate_events(project, path, menu_file, out=out, chunk_size=10**6)
    return out, result


def test_decision_file_holds_bits_prescales_and_raw_outputs(project, menu_file, events,
                                                            unchunked):
    _, x, _ = events
    out, _ = unchunked
    got = decisions(out)
    raw = project.emulate(x, raw=True)
    np.testing.assert_array_equal(got["raw:score"], raw)
    np.testing.assert_array_equal(got["event"], np.arange(len(x)))
    menu = load_menu(menu_file, project.graph)
    bits = menu.evaluate([raw])
    for i, name in enumerate(menu.bit_names):
        np.testing.assert_array_equal(got["bit:" + name], bits[:, i])
    fired = np.nonzero(bits[:, 1])[0]  # w_like, prescale 3: its 3rd, 6th, ... firing
    np.testing.assert_array_equal(np.nonzero(got["prescaled:w_like"])[0], fired[2::3])
    ps = np.stack([got["prescaled:" + n] for n in menu.bit_names], 1)
    np.testing.assert_array_equal(got["L1A"], ps[:, 0] | (ps[:, 1] & ~ps[:, 2]) | ps[:, 3])
    meta = read_meta(out)
    assert meta["bits"]["top_tag"]["resolved"] == 'argmax(score) == 4 and score["t"] >= 0.25'
    assert meta["outputs"]["score"]["type"] == "fixed<10,7,RND_CONV,SAT>"


def test_chunked_and_unchunked_runs_agree_exactly(project, menu_file, events, unchunked,
                                                  tmp_path):
    path, _, _ = events
    ref, ref_result = unchunked
    for size in (1, 999):  # 1: every prescale counter crosses a chunk boundary
        out = tmp_path / f"chunked{size}.parquet"
        result = emulate_events(project, path, menu_file, out=out, chunk_size=size,
                                max_events=300 if size == 1 else None)
        expected = decisions(ref)
        if size == 1:
            expected = {k: v[:300] for k, v in expected.items()}
        else:
            assert result.stats.to_dict() == ref_result.stats.to_dict()
        assert_same(decisions(out), expected)


def test_two_local_workers_agree_exactly(project, menu_file, events, unchunked, tmp_path):
    path, _, _ = events
    out = tmp_path / "workers.npz"
    result = emulate_events(project, path, menu_file, out=out, chunk_size=700, workers=2)
    assert result.workers == "2"
    assert_same(decisions(out), decisions(unchunked[0]))
    assert result.stats.to_dict() == unchunked[1].stats.to_dict()


def test_dask_local_cluster_agrees_exactly(project, menu_file, events, unchunked, tmp_path):
    distributed = pytest.importorskip("distributed")
    path, _, _ = events
    out = tmp_path / "dask.parquet"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        result = emulate_events(project, path, menu_file, out=out, chunk_size=800,
                                dask=cluster.scheduler_address, golden=unchunked[0])
    assert result.workers.startswith("Dask at ")
    assert result.golden.ok, str(result.golden)
    assert_same(decisions(out), decisions(unchunked[0]))


@pytest.mark.csim
def test_emulator_and_csim_backends_agree_exactly(project, menu_file, events, unchunked,
                                                  tmp_path):
    path, _, _ = events
    out = tmp_path / "csim.npz"
    result = emulate_events(project, path, menu_file, out=out, backend="csim",
                            chunk_size=2000, max_events=4000, golden=unchunked[0])
    assert result.backend == "csim"
    expected = {k: v[:4000] for k, v in decisions(unchunked[0]).items()}
    assert_same(decisions(out), expected)
    # the golden file has 6000 events: only the event count differs
    assert result.golden.differing_events == 0 and not result.golden.ok


def test_golden_check_lists_the_first_differing_events_and_writes_junit(
        project, events, unchunked, tmp_path):
    path, _, _ = events
    changed = tomllib.loads(MENU_TOML)
    changed["define"]["top"] = 'score["t"]'
    changed["bits"]["top_tag"] = 'argmax(score) == 4 and top >= 0.375'
    junit = tmp_path / "golden.xml"
    result = emulate_events(project, path, changed, golden=unchunked[0], junit=junit,
                            max_listed=3)
    report = result.golden
    assert not report.ok and report.differing_events > 0
    text = str(report)
    assert f"golden check FAILED against {unchunked[0]}: {report.differing_events} of 6000 " \
           "events differ" in text
    assert "bit top_tag: condition was 'argmax(score) == 4 and score[\"t\"] >= 0.25', now " \
           "'argmax(score) == 4 and score[\"t\"] >= 0.375'" in text
    diff = report.columns["bit:top_tag"]
    assert diff.events == diff.lost > 0 and diff.gained == 0  # a tighter cut only loses
    assert report.columns["raw:score"].events == 0
    assert len(report.first) == 3 and "first differing events:\n  event " in text
    _, cols = report.first[0]
    assert ("bit:top_tag", True, False) in [(n, bool(g), bool(v)) for n, g, v in cols]
    suite = ET.parse(junit).getroot().find("testsuite")
    failures = [tc.get("name") for tc in suite if tc.find("failure") is not None]
    assert "bit:top_tag" in failures and "raw:score" not in failures
    assert int(suite.get("failures")) == len(failures)
    assert int(suite.get("tests")) == len(suite.findall("testcase"))


def test_golden_check_passes_and_reports_missing_bits(project, menu_file, events, unchunked,
                                                      tmp_path):
    path, _, _ = events
    ok = emulate_events(project, path, menu_file, golden=unchunked[0], junit=tmp_path / "j.xml")
    assert ok.golden.ok and str(ok.golden).startswith("golden check passed: 6000 events")
    fewer = tomllib.loads(MENU_TOML)
    del fewer["bits"]["sum_hi"]
    fewer["l1"]["accept"] = "top_tag or (w_like and not window)"
    report = emulate_events(project, path, fewer, golden=unchunked[0]).golden
    assert not report.ok and report.missing == ["bit:sum_hi", "prescaled:sum_hi"]
    assert "bit:sum_hi: in the golden file but not produced now" in str(report)


def test_rates_efficiencies_and_overlaps_match_numpy(project, menu_file, events, unchunked):
    _, x, labels = events
    stats = unchunked[1].stats.to_dict()
    menu = load_menu(menu_file, project.graph)
    bits = menu.evaluate([project.emulate(x, raw=True)])
    background = np.isin(labels, [0, 1])
    f = 40.079e6 * 2808 / 3564
    assert stats["effective_collision_rate_hz"] == pytest.approx(f)
    assert stats["rate_events"] == background.sum()
    for i, bit in enumerate(stats["bits"]):
        count = bits[background, i].sum()
        assert bit["fired"] == count
        assert bit["rate_hz"] == pytest.approx(count / background.sum() * f)
        assert bit["rate_err_hz"] == pytest.approx(np.sqrt(count) / background.sum() * f)
        for k, name in enumerate("gqWZt"):
            assert bit["efficiency"][name] == pytest.approx(bits[labels == k, i].mean())
    b = bits[background].astype(int)
    assert stats["overlaps"]["events"] == (b.T @ b).tolist()
    assert stats["bits"][1]["prescaled_rate_hz"] < stats["bits"][1]["rate_hz"]


def test_bunch_settings_and_plots(project, menu_file, events, tmp_path):
    path, _, _ = events
    result = emulate_events(project, path, menu_file, max_events=2000,
                            bunches={"bx_frequency_mhz": 40.0, "filled_bunches": 1,
                                     "total_bunches": 1}, background=[])
    stats = result.stats.to_dict()
    assert stats["effective_collision_rate_hz"] == 40e6 and stats["rate_events"] == 2000
    written = write_plots(result.stats, tmp_path / "plots")
    assert [p.name for p in written] == ["rate_vs_threshold.png", "efficiency_vs_rate.png"]
    for p in written:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000


def test_run_without_menu_writes_and_compares_raw_outputs(project, events, tmp_path):
    path, x, _ = events
    out = tmp_path / "raw.parquet"
    emulate_events(project, path, None, out=out, max_events=1000)
    got = decisions(out)
    assert sorted(got) == ["L1A", "event", "raw:out"]
    np.testing.assert_array_equal(got["raw:out"], project.emulate(x[:1000], raw=True))
    assert emulate_events(project, path, None, golden=out, max_events=1000).golden.ok

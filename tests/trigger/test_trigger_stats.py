"""Stats counts through one joint-code histogram (the fast path) == the direct counts
(the general path, for menus with many bits), count for count, over chunks."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from trigc.trigger import stats as stats_mod
from trigc.trigger.stats import Stats

FIELDS = ("n_events", "n_rate", "fired", "fired_ps", "pure", "overlap", "l1a",
          "l1a_unprescaled")


def _stats(monkeypatch, nb, background):
    monkeypatch.setattr(stats_mod, "_curves", lambda menu: [])
    menu = SimpleNamespace(bits=[None] * nb, labels=SimpleNamespace(background=background))
    return Stats(menu)


def _labels(kind, n, rng):
    if kind == "none":
        return None
    if kind == "small":
        return rng.choice([0, 1, 2, 4, 7], n).astype(np.int8)
    if kind == "negative":
        return rng.choice([-3, -1, 5], n).astype(np.int64)
    if kind == "wide":  # too wide a range to count: sorted (np.unique)
        return rng.choice([-10**6, 3, 10**7], n)
    return rng.choice([0.0, 1.0, 2.0], n)  # float labels


@pytest.mark.parametrize("nb", [1, 3, 7])
@pytest.mark.parametrize("kind", ["none", "small", "negative", "wide", "float"])
@pytest.mark.parametrize("background", [None, "some"])
def test_joint_counts_equal_direct_counts(monkeypatch, nb, kind, background):
    rng = np.random.default_rng(nb * 100 + len(kind))
    chunks = []
    for n in (5000, 1, 0, 777):
        bits = rng.random((n, nb)) < rng.random(nb)
        prescaled = bits & (rng.random((n, nb)) < 0.5)
        l1a = prescaled.any(axis=1)
        chunks.append((bits, prescaled, l1a, bits.any(axis=1), _labels(kind, n, rng)))
    labels_all = [c[4] for c in chunks if c[4] is not None and len(c[4])]
    bg = None
    if background and labels_all:
        bg = sorted(set(np.concatenate(labels_all).tolist()))[:2]
    fast = _stats(monkeypatch, nb, bg)
    slow = _stats(monkeypatch, nb, bg)
    for bits, prescaled, l1a, l1a_u, labels in chunks:
        fast.feed({}, bits, prescaled, l1a, l1a_u, labels)
        monkeypatch.setattr(stats_mod, "JOINT_MAX_BITS", -1)  # force the general path
        slow.feed({}, bits, prescaled, l1a, l1a_u, labels)
        monkeypatch.setattr(stats_mod, "JOINT_MAX_BITS", 12)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name), err_msg=name)
    assert fast.n_events == 5778
    if kind != "none":
        assert set(fast.class_n) == set(slow.class_n) and len(fast.class_n) >= 2
        for key in slow.class_n:
            assert fast.class_n[key] == slow.class_n[key]
            np.testing.assert_array_equal(fast.class_fired[key], slow.class_fired[key])
            assert fast.class_l1a[key] == slow.class_l1a[key]
    # the fast path's result is the plain count, too
    bits = np.concatenate([c[0] for c in chunks])
    if bg is None:
        np.testing.assert_array_equal(fast.fired, bits.sum(axis=0))
        np.testing.assert_array_equal(fast.overlap, bits.T.astype(int) @ bits.astype(int))


@pytest.mark.parametrize("kind", ["none", "small", "wide"])
def test_threshold_curves_count_every_class(monkeypatch, kind):
    """The rate-vs-threshold histograms (one bincount per curve and chunk) equal a
    direct count of the quantity's bin per event, for the rate sample and each class."""
    rng = np.random.default_rng(5)
    lo, shift, bins = -40, 2, 31
    quantity = SimpleNamespace(lo=lo, evaluate=lambda env: env["v"])
    curve = stats_mod.Curve(quantity, [], shift, np.zeros(bins, np.int64))
    monkeypatch.setattr(stats_mod, "_curves", lambda menu: [curve])
    chunks = []
    for n in (3000, 0, 1, 999):
        labels = _labels(kind, n, rng)
        chunks.append((rng.integers(lo, lo + (bins << shift), n), labels))
    present = sorted(set(np.concatenate([c[1] for c in chunks]).tolist())) \
        if kind != "none" else []
    bg = present[:1] or None
    menu = SimpleNamespace(bits=[None], labels=SimpleNamespace(background=bg))
    st = Stats(menu)
    for v, labels in chunks:
        bits = (v > 0)[:, None]
        st.feed({"v": v}, bits, bits, bits[:, 0], bits[:, 0], labels)
    v = np.concatenate([c[0] for c in chunks])
    at = (v - lo) >> shift
    if kind == "none":
        np.testing.assert_array_equal(curve.rate_hist, np.bincount(at, minlength=bins))
        assert not curve.class_hist
        return
    labels = np.concatenate([c[1] for c in chunks])
    np.testing.assert_array_equal(curve.rate_hist,
                                  np.bincount(at[np.isin(labels, bg)], minlength=bins))
    assert sorted(curve.class_hist) == present
    for key in present:
        np.testing.assert_array_equal(curve.class_hist[key],
                                      np.bincount(at[labels == key], minlength=bins))


def _prescale_reference(prescales, chunks):
    """The counter-based prescale as one cumulative count over the whole sample."""
    bits = np.concatenate(chunks)
    count = np.cumsum(bits, axis=0, dtype=np.int64)
    p = np.asarray(prescales)
    return bits & (count % np.where(p > 0, p, 1) == 0) & (p > 0)


@pytest.mark.parametrize("prescales", [[1, 4, 0, 3], [2, 2, 2, 2], [1, 1, 1, 1],
                                       [0, 0, 7, 1000]])
def test_prescaler_over_chunks_equals_one_count(prescales):
    from trigc.trigger.menu import Prescaler

    rng = np.random.default_rng(sum(prescales))
    chunks = [rng.random((n, 4)) < 0.3 for n in (1000, 0, 1, 333, 5000)]
    pre = Prescaler(prescales)
    got = np.concatenate([pre.apply(c) for c in chunks])
    np.testing.assert_array_equal(got, _prescale_reference(prescales, chunks))
    np.testing.assert_array_equal(pre.fired, np.concatenate(chunks).sum(axis=0))


def test_check_finite_fast_path_and_overflowing_sums():
    """Finite inputs whose sum overflows are not refused; NaN/inf are, naming the event."""
    from trigc.trigger.errors import EventDataError
    from trigc.trigger.worker import check_finite

    job = SimpleNamespace(plan=SimpleNamespace(inputs=[("x", None, ["a", "b"])]),
                          source=SimpleNamespace(path="f.npy"))
    big = np.full((10, 2), 1e308)
    big[3, 1] = -1e308
    check_finite(job, 0, [big])  # the sum is inf, every value finite
    for bad in (np.nan, np.inf, -np.inf):
        x = big.copy()
        x[7, 0] = bad
        with pytest.raises(EventDataError, match="event 107 has NaN or infinite"):
            check_finite(job, 100, [x])
        y = np.zeros((10, 2))
        y[2, 1] = bad
        with pytest.raises(EventDataError, match="event 2 has NaN or infinite"):
            check_finite(job, 0, [y])

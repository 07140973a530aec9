"""Counts, rates, efficiencies and overlaps, accumulated chunk by chunk in event order.

Rates are ``count / N * f`` with ``f`` the effective collision rate (bunch-crossing
frequency times the filled fraction of bunches) and ``N`` the events of the rate
sample: the background classes when the menu names them, else every event. The
uncertainty is Poisson, ``sqrt(count) / N * f``. Efficiencies of a bit are over the
events of one label class, before prescales; the L1 accept's are after prescales.

For the plots, each quantity a menu bit cuts on (``prob[2]`` in ``prob[2] > 0.5``)
is histogrammed on its raw integers (at most 4096 bins, so the curves are exact at
every bin edge), for the rate sample and for every class.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from trigc.trigger.conditions import Element, thresholds
from trigc.trigger.menu import Menu

MAX_BINS_LOG2 = 12
MAX_DEFAULT_QUANTITIES = 16
# Counting through one histogram of joint codes (Stats._feed_joint) for menus of at
# most this many bits, while classes x 2**(bits + 1) cells stay below JOINT_MAX_CELLS
JOINT_MAX_BITS = 12
JOINT_MAX_CELLS = 1 << 16
SMALL_LABEL_RANGE = 4096  # integer labels spanning fewer values: counted, not sorted


def _classes(labels) -> tuple[np.ndarray, np.ndarray]:
    """The distinct labels in order and each event's index into them; without labels
    one pseudo-class (an object array) that every event belongs to."""
    if labels is None:
        return np.array([None], dtype=object), 0
    labels = np.asarray(labels)
    if labels.dtype.kind in "iub" and len(labels):
        lo, hi = int(labels.min()), int(labels.max())
        if hi - lo < SMALL_LABEL_RANGE:
            shifted = labels.astype(np.int64) - lo
            present = np.flatnonzero(np.bincount(shifted, minlength=hi - lo + 1))
            lookup = np.zeros(hi - lo + 1, np.int64)
            lookup[present] = np.arange(len(present))
            return present + lo, lookup[shifted]
    classes, index = np.unique(labels, return_inverse=True)
    return classes, index.reshape(-1)


@dataclass
class Curve:
    """Events with ``quantity >= edges[k]`` (raw) for the rate sample and each class."""

    quantity: object
    markers: list  # (bit name, op, threshold value as float)
    shift: int
    rate_hist: np.ndarray
    class_hist: dict = field(default_factory=dict)

    def edges(self) -> np.ndarray:
        lo = self.quantity.lo
        return (lo + (np.arange(len(self.rate_hist)) << self.shift)) * 2.0**-self.quantity.frac

    @staticmethod
    def passing(hist: np.ndarray) -> np.ndarray:
        return np.cumsum(hist[::-1])[::-1]


def _curves(menu: Menu) -> list:
    by_text: dict = {}
    for bit in menu.bits:
        for quantity, op, const in thresholds(bit.condition):
            entry = by_text.setdefault(quantity.text, (quantity, []))
            entry[1].append((bit.name, op, float(const.raw * 2.0**-quantity.frac)))
    if not by_text:  # no menu: every output element (when there are few)
        for o in menu.outputs:
            for i in range(o.size):
                t = o.type
                text = o.alias if o.size == 1 else f"{o.alias}[{i}]"
                q = Element(text, t.frac_bits, t.min_raw, t.max_raw, str(t), o.alias, i)
                by_text[text] = (q, [])
        if len(by_text) > MAX_DEFAULT_QUANTITIES:
            by_text = dict(list(by_text.items())[:MAX_DEFAULT_QUANTITIES])
    curves = []
    for quantity, markers in by_text.values():
        span = quantity.hi - quantity.lo
        shift = max(0, span.bit_length() - MAX_BINS_LOG2)
        curves.append(Curve(quantity, markers, shift, np.zeros((span >> shift) + 1, np.int64)))
    return curves


class Stats:
    def __init__(self, menu: Menu) -> None:
        self.menu = menu
        nb = len(menu.bits)
        self.n_events = self.n_rate = 0
        self.fired = np.zeros(nb, np.int64)  # rate sample, before prescales
        self.fired_ps = np.zeros(nb, np.int64)
        self.pure = np.zeros(nb, np.int64)
        self.overlap = np.zeros((nb, nb), np.int64)
        self.l1a = self.l1a_unprescaled = 0
        self.class_n: dict = {}
        self.class_fired: dict = {}
        self.class_l1a: dict = {}
        self.curves = _curves(menu)

    def feed(self, env: dict, bits, prescaled, l1a, l1a_unprescaled, labels) -> None:
        self.n_events += len(bits)
        bits, prescaled = np.asarray(bits, bool), np.asarray(prescaled, bool)
        l1a, l1a_unprescaled = np.asarray(l1a, bool), np.asarray(l1a_unprescaled, bool)
        classes, index = _classes(labels)
        background = self.menu.labels.background
        in_rate = np.isin(classes, background) if labels is not None and background \
            else None
        rate_mask = in_rate[index] if in_rate is not None else slice(None)
        nb = bits.shape[1]
        if nb <= JOINT_MAX_BITS and len(classes) << (nb + 1) <= JOINT_MAX_CELLS:
            self._feed_joint(bits, prescaled, l1a, l1a_unprescaled, classes, index, in_rate)
        else:
            self._feed_general(bits, prescaled, l1a, l1a_unprescaled, labels, rate_mask)
        for c in self.curves:
            bins = len(c.rate_hist)
            at = (c.quantity.evaluate(env) - c.quantity.lo) >> c.shift
            if labels is None:
                c.rate_hist += np.bincount(at, minlength=bins)
                continue
            # (class, bin) -> events, in one pass
            per_class = np.bincount(index * bins + at, minlength=len(classes) * bins)
            per_class = per_class.reshape(len(classes), bins)
            c.rate_hist += per_class[in_rate if in_rate is not None else slice(None)].sum(0)
            for k, label in enumerate(classes):
                key = int(label)
                if key not in c.class_hist:
                    c.class_hist[key] = np.zeros_like(c.rate_hist)
                c.class_hist[key] += per_class[k]

    def _feed_joint(self, bits, prescaled, l1a, l1a_unprescaled, classes, index,
                    in_rate) -> None:
        """Every count from one histogram of the events' joint codes (class, the bits,
        the L1 accept): O(events) integer work, then sums over at most
        ``JOINT_MAX_CELLS`` cells. Equal to :meth:`_feed_general`, count for count."""
        nb = bits.shape[1]
        weights = 1 << np.arange(nb, dtype=np.int64)
        code = bits @ weights if nb else np.zeros(len(bits), np.int64)
        code_ps = prescaled @ weights if nb else code
        cells = 1 << nb
        # (class, code, l1a, l1a unprescaled) -> events
        joint = np.bincount(((index * cells + code) << 2) + (l1a.astype(np.int64) << 1)
                            + l1a_unprescaled,
                            minlength=len(classes) * cells * 4).reshape(len(classes), cells, 4)
        # prescaled bits: (class, code) -> events
        joint_ps = np.bincount(index * cells + code_ps,
                               minlength=len(classes) * cells).reshape(len(classes), cells)
        rate = slice(None) if in_rate is None else in_rate
        h = joint[rate].sum(axis=0)  # rate sample: (code, l1a, l1a unprescaled)
        per_code = h.sum(axis=1)
        member = (np.arange(cells)[:, None] >> np.arange(nb)) & 1  # (code, bit) -> 0/1
        self.n_rate += int(per_code.sum())
        self.overlap += member.T @ (per_code[:, None] * member)
        self.fired += per_code @ member
        self.fired_ps += joint_ps[rate].sum(axis=0) @ member
        alone = member.sum(axis=1) == 1
        self.pure += (per_code * alone) @ member
        self.l1a += int(h[:, 2:].sum())
        self.l1a_unprescaled += int(h[:, 1::2].sum())
        if classes.dtype == object:  # no labels
            return
        for k, label in enumerate(classes):
            key = int(label)
            counts = joint[k].sum(axis=1)
            self.class_n[key] = self.class_n.get(key, 0) + int(counts.sum())
            self.class_fired[key] = self.class_fired.get(key, 0) + counts @ member
            self.class_l1a[key] = self.class_l1a.get(key, 0) + int(joint[k][:, 2:].sum())

    def _feed_general(self, bits, prescaled, l1a, l1a_unprescaled, labels, rate_mask) -> None:
        """The counts for menus with too many bits (or classes) for one joint histogram."""
        b, bps = bits[rate_mask], prescaled[rate_mask]
        self.n_rate += len(b)
        # counts as float64 matrix products (BLAS, exact below 2**53 events per chunk):
        # column sums of a (events, bits) boolean array are several times slower
        as_float = b.astype(np.float64)
        overlap = (as_float.T @ as_float).astype(np.int64)
        self.overlap += overlap
        self.fired += overlap.diagonal()
        ones = np.ones(len(b))
        self.fired_ps += (ones @ bps.astype(np.float64)).astype(np.int64)
        alone = (as_float @ np.ones(as_float.shape[1])) == 1
        self.pure += (alone.astype(np.float64) @ as_float).astype(np.int64)
        self.l1a += int(np.count_nonzero(l1a[rate_mask]))
        self.l1a_unprescaled += int(np.count_nonzero(l1a_unprescaled[rate_mask]))
        if labels is None:
            return
        for label in np.unique(labels):
            mask = labels == label
            key = int(label)
            self.class_n[key] = self.class_n.get(key, 0) + int(mask.sum())
            self.class_fired[key] = self.class_fired.get(key, 0) + bits[mask].sum(axis=0)
            self.class_l1a[key] = self.class_l1a.get(key, 0) + int(l1a[mask].sum())

    # ---- results ----------------------------------------------------------------------
    def rate(self, count) -> tuple:
        if self.n_rate == 0:
            return None, None
        f = self.menu.bunches.effective_hz
        return count / self.n_rate * f, np.sqrt(count) / self.n_rate * f

    def efficiency(self, label: int, count) -> float:
        return float(count) / self.class_n[label] if self.class_n.get(label) else float("nan")

    def signal_classes(self) -> list:
        background = set(self.menu.labels.background or ())
        return [k for k in sorted(self.class_n) if k not in background]

    def to_dict(self) -> dict:
        menu = self.menu
        bits = []
        for i, bit in enumerate(menu.bits):
            rate, err = self.rate(int(self.fired[i]))
            bits.append({
                "name": bit.name, "condition": bit.text, "resolved": bit.resolved,
                "prescale": bit.prescale, "fired": int(self.fired[i]),
                "rate_hz": rate, "rate_err_hz": err,
                "prescaled_rate_hz": self.rate(int(self.fired_ps[i]))[0],
                "pure_rate_hz": self.rate(int(self.pure[i]))[0],
                "efficiency": {menu.labels.name(k): self.efficiency(k, self.class_fired[k][i])
                               for k in sorted(self.class_n)}})
        rate, err = self.rate(self.l1a)
        return {
            "events": self.n_events, "rate_events": self.n_rate,
            "effective_collision_rate_hz": menu.bunches.effective_hz,
            "bunches": {"bx_frequency_mhz": menu.bunches.bx_frequency_mhz,
                        "filled_bunches": menu.bunches.filled_bunches,
                        "total_bunches": menu.bunches.total_bunches},
            "bits": bits,
            "l1a": {"accept": menu.accept_text, "fired": self.l1a, "rate_hz": rate,
                    "rate_err_hz": err, "unprescaled_rate_hz": self.rate(self.l1a_unprescaled)[0],
                    "efficiency": {menu.labels.name(k): self.efficiency(k, self.class_l1a[k])
                                   for k in sorted(self.class_n)}},
            "overlaps": {"bits": list(menu.bit_names), "events": self.overlap.tolist()},
            "classes": {menu.labels.name(k): n for k, n in sorted(self.class_n.items())},
        }


def format_rate(hz) -> str:
    if hz is None:
        return "n/a"
    for unit, scale in (("MHz", 1e6), ("kHz", 1e3)):
        if hz >= scale:
            return f"{hz / scale:.3g} {unit}"
    return f"{hz:.3g} Hz"


def _table(rows: list) -> list:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def format_summary(stats: Stats) -> str:
    d, menu = stats.to_dict(), stats.menu
    b = menu.bunches
    sample = f"{d['rate_events']} events"
    if menu.labels.background and stats.class_n:
        names = ", ".join(map(menu.labels.name, menu.labels.background))
        sample += f" of background classes {names}"
    lines = [(f"rates: {format_rate(b.effective_hz)} collisions ({b.bx_frequency_mhz:g} MHz x "
              f"{b.filled_bunches}/{b.total_bunches} filled bunches), on {sample}")]
    if not menu.bits:
        return "\n".join(lines + ["(no menu: raw outputs only)"])
    classes = [menu.labels.name(k) for k in sorted(stats.class_n)]
    head = ["bit", "condition", "prescale", "fired", "rate", "after prescale", "pure"]
    rows = [head + [f"eff {c}" for c in classes]]
    for bit in d["bits"]:
        rows.append([bit["name"], bit["resolved"], bit["prescale"], bit["fired"],
                     f"{format_rate(bit['rate_hz'])} ± {format_rate(bit['rate_err_hz'])}",
                     format_rate(bit["prescaled_rate_hz"]), format_rate(bit["pure_rate_hz"])]
                    + [f"{bit['efficiency'][c]:.3f}" for c in classes])
    l1 = d["l1a"]
    rows.append(["L1A", l1["accept"], "", l1["fired"],
                 f"{format_rate(l1['rate_hz'])} ± {format_rate(l1['rate_err_hz'])}",
                 format_rate(l1["rate_hz"]), ""] + [f"{l1['efficiency'][c]:.3f}"
                                                     for c in classes])
    lines += _table(rows)
    if len(menu.bits) > 1:
        lines.append("overlaps (rate-sample events firing both bits, before prescales):")
        names = list(menu.bit_names)
        lines += _table([[""] + names] + [[n] + [int(v) for v in row]
                                          for n, row in zip(names, stats.overlap)])
    return "\n".join(lines)


__all__ = ["Curve", "Stats", "format_rate", "format_summary"]

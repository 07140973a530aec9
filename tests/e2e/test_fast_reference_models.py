"""The reference models (models/*/*.onnx): the emulator's fast path (the C kernel of
trigc.emulator.fast) equals the interpreter on every output bit of thousands of
events, both on typical inputs and over each input type's whole range."""

from pathlib import Path

import numpy as np
import pytest

import trigc
from trigc.emulator import emulate, fast
from trigc.fixed import to_float

REPO = Path(__file__).resolve().parents[2]
MODELS = sorted(REPO.glob("models/*/*.onnx"))


@pytest.mark.skipif(fast.compiler() is None, reason="no C compiler")
@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_fast_path_equals_interpreter(path):
    graph = trigc.load(path)
    assert fast.unsupported_reason(graph) is None
    rng = np.random.default_rng(17)
    n = 6000
    xs = []
    for t in graph.inputs:
        typical = rng.normal(0, 1.5, (n // 2, *t.shape))
        raw = rng.integers(t.type.min_raw, t.type.max_raw + 1, (n - n // 2, *t.shape))
        xs.append(np.concatenate([typical, to_float(raw, t.type)]))
    want = emulate(graph, *xs, raw=True, engine="interpreter")
    got = emulate(graph, *xs, raw=True, engine="fast")
    for w, g in zip(*(r if isinstance(r, list) else [r] for r in (want, got))):
        np.testing.assert_array_equal(g, w)
        assert len(np.unique(w)) > 10  # the comparison discriminates

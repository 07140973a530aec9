"""Many generated C-sim libraries in one process stay independent (they all define
the same C++ symbol names: config structs, template instances, static caches)."""

import numpy as np
import pytest

import trigc
from trigc.frontends.qonnx_builder import quantized_mlp


@pytest.mark.csim
def test_same_layer_names_different_weights_in_one_process(tmp_path):
    x = np.random.default_rng(0).normal(0, 3, (300, 8))
    projects = [trigc.compile(quantized_mlp(sizes=(8, 6, 3), seed=s), tmp_path / f"p{s}")
                for s in (1, 2)]
    outputs = [p.csim(x, raw=True) for p in projects]  # both libraries loaded at once
    for p, out in zip(projects, outputs):
        np.testing.assert_array_equal(out, p.emulate(x, raw=True))
    assert not np.array_equal(outputs[0], outputs[1])

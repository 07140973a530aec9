"""End to end on the CNV-1W1A topology (FINN / QONNX model zoo CIFAR-10 BNN): the
model rebuilt by ``helpers.cnv`` loads in trigc, and trigc's emulator equals qonnx's
executor bit for bit.

Equality is exact (``assert_array_equal`` on the float outputs): the reference is
float32 but every value it computes is exact in float32 (binary weights and
activations give integer accumulators far below 2**24, the first conv's are
integers times 2**-7; BN scales are signed powers of two and means / betas lie on a
2**-3 grid; the final TensorNorm is a power-of-two scale and a 2**-4 grid bias), so
no tolerance is needed, including for sign decisions taken exactly at 0 (with
these parameters every binary layer is roughly half +1, and dozens of pre-activations
per image are exactly 0, where BipolarQuant gives +1).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import trigc
from trigc.ir.ops import Op
from helpers.cnv import IN_BITS, IN_SCALE, cnv_model, final_side, parameter_count
from helpers.qonnx_models import qonnx_execute
from e2e_util import assert_csim_matches, quant_inputs

SMALL = 0.125


def grid_images(n: int, image: int = 32, seed: int = 0) -> np.ndarray:
    """Random images on the input Quant's grid: k * 2**-7, k in [-128, 127]."""
    rng = np.random.default_rng(seed)
    k = rng.integers(-(1 << (IN_BITS - 1)), 1 << (IN_BITS - 1), (n, 3, image, image))
    return (k * IN_SCALE).astype(np.float32)


def check(model, x: np.ndarray):
    graph = trigc.load(model)
    got = trigc.emulate(graph, x)
    ref = qonnx_execute(model, x).astype(np.float64)
    assert got.shape == ref.shape == (len(x), 10)
    np.testing.assert_array_equal(got, ref)
    return graph, ref


def op_counts(graph) -> dict:
    counts: dict = {}
    for node in graph.nodes:
        counts[node.op] = counts.get(node.op, 0) + 1
    return counts


@pytest.mark.parametrize("batchnorm", [True, False], ids=["batchnorm", "folded_affine"])
def test_small_cnv_matches_qonnx(batchnorm):
    model = cnv_model(width=SMALL, seed=0, batchnorm=batchnorm)
    graph, ref = check(model, grid_images(20))
    counts = op_counts(graph)
    assert counts[Op.CONV] == 6 and counts[Op.MAXPOOL] == 2, counts
    assert counts[Op.DENSE] == 3, counts
    # not vacuous: the logits differ between images and take many values
    assert len({tuple(r) for r in ref}) == len(ref)
    assert len(np.unique(ref)) >= 16


def test_small_cnv_off_grid_inputs():
    """Tie-heavy, saturating, off-grid inputs exercise the 8-bit input Quant too."""
    model = cnv_model(width=SMALL, seed=1)
    x = quant_inputs((3, 32, 32), IN_SCALE, IN_BITS, n=20, seed=3)
    check(model, x)


@pytest.mark.csim
def test_small_cnv_csim_matches_emulator():
    """The generated io_parallel C++ (g++ C-sim) equals the emulator (~4 s)."""
    assert_csim_matches(trigc.load(cnv_model(width=SMALL, seed=0)), grid_images(20, seed=7))


def test_small_cnv_channel_counts():
    model = cnv_model(width=SMALL)
    inits = {i.name: i for i in model.graph.initializer}
    shapes = [tuple(inits[n.input[0]].dims) for n in model.graph.node
              if n.op_type == "BipolarQuant" and "weight" in n.name]
    assert shapes == [(8, 3, 3, 3), (8, 8, 3, 3), (16, 8, 3, 3), (16, 16, 3, 3),
                      (32, 16, 3, 3), (32, 32, 3, 3), (32, 64), (64, 64), (64, 10)]


@pytest.mark.parametrize("image", [33, 36])
def test_larger_images(image):
    """Any image >= 32 fits; 36 leaves a 2x2 final map (FC reads 4x the features)."""
    side = final_side(image)
    assert side == {33: 1, 36: 2}[image]
    check(cnv_model(width=SMALL, seed=2, image=image), grid_images(4, image, seed=image))


@pytest.mark.parametrize("image", [16, 31])
def test_too_small_images_rejected(image):
    with pytest.raises(ValueError, match="image >= 32"):
        cnv_model(width=SMALL, image=image)


@pytest.mark.slow
def test_full_width_cnv_matches_qonnx():
    """The full CNV (64..256 conv channels, FC 512): ~1.54 M binary weights. About
    5 s in total (load ~0.5 s, emulating 4 images ~2 s, qonnx ~0.2 s)."""
    model = cnv_model(width=1.0, seed=0)
    assert parameter_count(model)["weights"] == 1_542_848
    start = time.perf_counter()
    graph, ref = check(model, grid_images(4, seed=5))
    assert time.perf_counter() - start < 60
    assert len({tuple(r) for r in ref}) == 4

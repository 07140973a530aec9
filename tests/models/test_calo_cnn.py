"""The streaming reference model ``models/calo_cnn`` (16x16 calorimeter-image CNN)
and its data, ``trigc.datasets.calo_images_large``.

From the committed artefacts (no training): trigc's emulation of the committed
``calo_cnn.onnx`` must EQUAL the Brevitas model rebuilt from the committed
``calo_cnn.pt``, bit for bit, on toy images plus input-grid edge cases, and the
model must keep its accuracy. Exact equality holds for the reason given in
``test_reference_models.py``: power-of-two grids everywhere and no value wider
than float32's 24-bit significand (checked below).
"""

from __future__ import annotations

import numpy as np
import pytest
import trigc
from reference_util import MODELS_DIR, framework_settings_restored, train_script
from trigc import datasets

NAME = "calo_cnn"
N_IMAGES = 2_000
N_EDGE = 500
N_CSIM = 1_000
EVAL_SEED = 9_999  # not a training seed
ACCURACY_FLOOR = 0.82  # measured 0.8733 on 50,000 test images


def _committed_onnx():
    path = MODELS_DIR / NAME / f"{NAME}.onnx"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run python models/{NAME}/train.py")
    return path


@pytest.fixture(scope="module")
def graph():
    return trigc.load(_committed_onnx())


def _edge_images(graph, n: int, seed: int) -> np.ndarray:
    """Rounding ties and exact points of the input grid, and values beyond its
    range (saturation), a little outside the representable codes too."""
    t = graph.inputs[0]
    lsb = 2.0 ** -t.type.frac_bits
    lo, hi = t.type.min_raw, t.type.max_raw
    rng = np.random.default_rng(seed)
    size = (n, *datasets.CALO_LARGE_SHAPE)
    ties = (rng.integers(lo - 8, hi + 8, size) + 0.5) * lsb
    grid = rng.integers(lo - 8, hi + 8, size) * lsb
    extreme = rng.choice([hi * lsb * 4, 1e4, -1e4, 0.0], size)
    pick = rng.integers(0, 10, size)
    return np.where(pick < 5, ties, np.where(pick < 8, grid, extreme)).astype(np.float32)


def test_calo_images_large_is_the_wider_view():
    x, y = datasets.calo_images_large(300, seed=5)
    x_again, y_again = datasets.calo_images_large(300, seed=5)
    _, y_small = datasets.calo_images(300, seed=5)
    assert x.shape == (300, *datasets.CALO_LARGE_SHAPE) and x.dtype == np.float32
    assert y.dtype == np.int64
    np.testing.assert_array_equal(x, x_again)
    np.testing.assert_array_equal(y, y_again)
    np.testing.assert_array_equal(y, y_small)  # the same latent jets
    assert x.min() >= 0 and 0 < x.max() < 4  # inside the model's ufixed<8,2> input
    assert datasets.calo_images_large(3, seed=5, size=12)[0].shape == (3, 1, 12, 12)
    with pytest.raises(ValueError, match="size must be an integer of at least 2"):
        datasets.calo_images_large(3, size=1)


def test_calo_cnn_types(graph):
    """The input word and the widest value (why float32 is exact)."""
    assert tuple(graph.inputs[0].shape) == datasets.CALO_LARGE_SHAPE
    assert str(graph.inputs[0].type).startswith("ufixed<8,2")
    widths = [n.output.type.width for n in graph.nodes]
    widths += [n.attrs.accum_type.width for n in graph.nodes
               if getattr(n.attrs, "accum_type", None) is not None]
    assert max(widths) <= 24, f"a {max(widths)}-bit value; float32 may round"


def test_calo_cnn_emulator_equals_brevitas(graph):
    pytest.importorskip("torch")
    pytest.importorskip("brevitas")
    script = train_script(NAME)
    x, labels = datasets.calo_images_large(N_IMAGES, EVAL_SEED)
    x = np.concatenate([x, _edge_images(graph, N_EDGE, EVAL_SEED + 1)])
    ref = script.forward(script.load_trained(), x)
    got = trigc.emulate(graph, x)
    assert got.shape == ref.shape == (N_IMAGES + N_EDGE, 3)
    np.testing.assert_array_equal(got, ref)
    assert len(np.unique(got)) > 100  # a real comparison, not constant outputs
    accuracy = float(np.mean(np.argmax(got[:N_IMAGES], axis=1) == labels))
    assert accuracy >= ACCURACY_FLOOR, f"{accuracy:.4f} < {ACCURACY_FLOOR}"


@pytest.mark.csim
def test_calo_cnn_csim_bit_exact(graph, tmp_path):
    """The committed .onnx compiles (io_parallel) and its C++ equals the emulator."""
    x, _ = datasets.calo_images_large(N_CSIM * 3 // 4, EVAL_SEED)
    x = np.concatenate([x, _edge_images(graph, N_CSIM - len(x), EVAL_SEED + 2)])
    project = trigc.compile(_committed_onnx(), tmp_path / NAME)
    comparison = project.compare(x)
    assert comparison.ok, str(comparison)
    assert comparison.events == N_CSIM


@pytest.mark.slow
def test_calo_cnn_training_smoke(tmp_path):
    """train.py end to end for a few steps: trains, exports, trigc-emulates exactly."""
    pytest.importorskip("torch")
    pytest.importorskip("brevitas")
    script = train_script(NAME)
    with framework_settings_restored():
        metrics = script.run(tmp_path, epochs=1, float_epochs=1, max_steps=3,
                             n_train=2048, n_test=1000, log=lambda *args: None)
    assert (tmp_path / f"{NAME}.onnx").is_file() and (tmp_path / f"{NAME}.pt").is_file()
    assert metrics["parameters"] == 4339
    equal, total = metrics["trigc_equals_brevitas"].split("/")
    assert equal == total, metrics

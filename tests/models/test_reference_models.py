"""The reference trigger models in ``models/<name>/``.

For every model, from the COMMITTED artefacts (fast path, no training):

* ``test_csim_bit_exact``: ``trigc.compile`` the committed ``<name>.onnx`` and
  C-simulate it (g++ against the real ``ap_fixed.h``, and the Catapult project against
  the real ``ac_fixed.h``): bit-exact with trigc's emulator on 2,000 events (toy events plus input-grid ties and out-of-range
  values);
* ``test_emulator_equals_framework``: rebuild the framework model (Brevitas /
  QKeras) from the committed weights and require trigc's emulation of the
  committed ``.onnx`` to EQUAL its own quantized forward pass, on 10,000 toy
  events plus 2,000 edge inputs; also a floor on the model's quality so that a
  broken model cannot be committed silently.

  Exact equality is expected, not approximate: inputs are quantized on a
  power-of-two grid, weights are 6-bit on a power-of-two grid, biases lie on the
  accumulator's grid, and every value the models compute fits in at most 21
  bits (the widest type trigc infers, checked below), so every partial sum of the
  framework's float32 arithmetic (24-bit significand) is exact too, whatever
  the summation order.

* ``test_training_smoke`` (slow): the model's ``train.py`` pipeline (float
  baseline, QAT, export, trigc emulation, estimate) for a few steps into
  ``tmp_path``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import trigc
from reference_util import MODELS_DIR, framework_settings_restored, train_script
from trigc import datasets

N_EXACT = 10_000   # toy events for the framework comparison
N_EDGE = 2_000     # grid ties and out-of-range inputs, added to the above
N_CSIM = 2_000     # events for emulator vs C-sim
EVAL_SEED = 9_999  # not a training seed of any model


def _jet(n, seed):
    return datasets.jet_features(n, seed)


def _calo(n, seed):
    return datasets.calo_images(n, seed)


def _l1(n, seed):
    """80 % background, 5 % each signal; label 1 for signal."""
    n_sig = n // 20
    parts = [datasets.l1_events(n - 4 * n_sig, seed)]
    parts += [datasets.l1_events(n_sig, seed + 1 + i, sig)
              for i, sig in enumerate(datasets.L1_SIGNALS)]
    labels = np.repeat([0, 1], [n - 4 * n_sig, 4 * n_sig])
    return np.concatenate(parts), labels


def _constituents(n, seed):
    return datasets.jet_constituents(n, seed)


def _hgcal(n, seed):
    """HGCAL modules; an autoencoder's "labels" are its inputs."""
    x, _ = datasets.hgcal_modules(n, seed)
    return x, x


def _reconstruction(latent, x):
    """R^2 of the modules that the committed float decoder rebuilds from the
    encoder's output."""
    return train_script("econ_t").quality(latent, x)


def _accuracy(out, y):
    return float(np.mean(np.argmax(out, axis=1) == y))


def _auc(out, y):
    return datasets.roc_auc(out[y == 0], out[y == 1])


@dataclass(frozen=True)
class Spec:
    framework: str                      # "brevitas" or "qkeras"
    data: Callable                      # (n, seed) -> (x, labels)
    quality: Callable                   # (outputs, labels) -> figure of merit
    floor: float                        # the committed model must reach it
    smoke: dict                         # run() keyword arguments of the smoke test


SPECS = {
    "jet_tagger_brevitas": Spec("brevitas", _jet, _accuracy, 0.72,
                                {"n_train": 4096, "n_test": 1000}),
    "conv_tagger": Spec("brevitas", _calo, _accuracy, 0.80, {"n_train": 2048, "n_test": 1000}),
    "anomaly_ae": Spec("brevitas", _l1, _auc, 0.85,
                       {"n_train": 4096, "n_bkg": 2000, "n_sig": 200}),
    "deepsets_tagger": Spec("brevitas", _constituents, _accuracy, 0.66,
                            {"n_train": 4096, "n_test": 1000}),
    "jet_tagger_qkeras": Spec("qkeras", _jet, _accuracy, 0.72,
                              {"n_train": 4096, "n_test": 1000}),
    "econ_t": Spec("qkeras", _hgcal, _reconstruction, 0.75, {"n_train": 4096, "n_test": 1000}),
}


def _needs_framework(name):
    spec = SPECS[name]
    if spec.framework == "brevitas":
        pytest.importorskip("torch")
        pytest.importorskip("brevitas")
    else:
        os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
        pytest.importorskip("qkeras")
    return train_script(name)


def _committed_onnx(name) -> Path:
    path = MODELS_DIR / name / f"{name}.onnx"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run python models/{name}/train.py")
    return path


def edge_inputs(graph, n: int, seed: int) -> np.ndarray:
    """Inputs that stress the input quantizer: exact rounding ties of the input
    grid (half an LSB between two codes), exact grid points, and values beyond
    the representable range (saturation), in and a little outside the range."""
    t = graph.inputs[0]
    lsb = 2.0 ** -t.type.frac_bits
    lo, hi = t.type.min_raw, t.type.max_raw
    rng = np.random.default_rng(seed)
    size = (n, *t.shape)
    ties = (rng.integers(lo - 8, hi + 8, size) + 0.5) * lsb
    grid = rng.integers(lo - 8, hi + 8, size) * lsb
    extreme = rng.choice([lo * lsb * 4, hi * lsb * 4, 1e4, -1e4, 0.0], size)
    pick = rng.integers(0, 10, size)
    x = np.where(pick < 5, ties, np.where(pick < 8, grid, extreme))
    return x.astype(np.float32)


@pytest.fixture(scope="module")
def graphs():
    """trigc graphs of the committed .onnx files, loaded once per module."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = trigc.load(_committed_onnx(name))
        return cache[name]

    return get


@pytest.mark.csim
@pytest.mark.parametrize("backend", ["vitis", "catapult"])
@pytest.mark.parametrize("name", list(SPECS))
def test_csim_bit_exact(name, backend, graphs, tmp_path):
    """The committed .onnx compiles and its C++ (ap_fixed for Vitis HLS, ac_fixed for
    Catapult HLS) equals the emulator bit for bit."""
    graph = graphs(name)
    x, _ = SPECS[name].data(N_CSIM * 3 // 4, EVAL_SEED)
    x = np.concatenate([x, edge_inputs(graph, N_CSIM - len(x), EVAL_SEED)])
    project = trigc.compile(_committed_onnx(name), tmp_path / name, backend=backend)
    comparison = project.compare(x)
    assert comparison.ok, str(comparison)
    assert comparison.events == N_CSIM
    assert (project.path / "report.txt").is_file()


@pytest.mark.parametrize("name", list(SPECS))
def test_emulator_equals_framework(name, graphs):
    """trigc's emulation of the committed .onnx == the framework's quantized forward
    pass of the model rebuilt from the committed weights, on 12,000 inputs."""
    script = _needs_framework(name)
    spec = SPECS[name]
    graph = graphs(name)
    # why float32 is exact here: no tensor or accumulator is wider than its significand
    widths = [n.output.type.width for n in graph.nodes]
    widths += [n.attrs.accum_type.width for n in graph.nodes
               if getattr(n.attrs, "accum_type", None) is not None]
    assert max(widths) <= 24, f"{name}: a {max(widths)}-bit value; float32 may round"
    x, labels = spec.data(N_EXACT, EVAL_SEED)
    x = np.concatenate([x, edge_inputs(graph, N_EDGE, EVAL_SEED + 1)])
    model = script.load_trained()
    ref = script.forward(model, x)
    got = trigc.emulate(graph, x)
    assert got.shape == ref.shape
    np.testing.assert_array_equal(got, ref)
    assert len(np.unique(got)) > 100  # a real comparison, not constant outputs
    quality = spec.quality(got[:N_EXACT], labels)
    assert quality >= spec.floor, f"{name}: {quality:.4f} < {spec.floor}"


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SPECS))
def test_training_smoke(name, tmp_path):
    """train.py end to end for a few steps: trains, exports, trigc-emulates exactly."""
    script = _needs_framework(name)
    with framework_settings_restored():
        metrics = script.run(tmp_path, epochs=1, float_epochs=1, max_steps=3,
                             log=lambda *args: None, **SPECS[name].smoke)
    assert (tmp_path / f"{name}.onnx").is_file()
    weights = [p for p in tmp_path.iterdir() if p.suffix in (".pt", ".h5")]
    assert weights, "no framework weights written"
    equal, total = metrics[f"trigc_equals_{SPECS[name].framework}"].split("/")
    assert equal == total, metrics

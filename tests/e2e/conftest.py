"""Session fixtures of the end-to-end tests: Brevitas models exported once."""

from __future__ import annotations

import pytest

from e2e_util import MLP_SHAPE


@pytest.fixture(scope="session")
def bmodels():
    """The ``brevitas_models`` module (skips when torch/brevitas are missing)."""
    pytest.importorskip("torch")
    pytest.importorskip("brevitas")
    import brevitas_models

    return brevitas_models


@pytest.fixture(scope="session")
def brevitas_mlp(bmodels, tmp_path_factory):
    """(module, path) of the calibrated Brevitas MLP exported with the default
    ``export_qonnx`` settings."""
    module = bmodels.calibrated(bmodels.QuantMLP(), MLP_SHAPE)
    path = bmodels.export(module, MLP_SHAPE, tmp_path_factory.mktemp("brevitas") / "mlp.onnx")
    return module, path

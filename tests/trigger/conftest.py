"""Fixtures for trigger emulation: one compiled jet-tagger MLP per test process, and
small event samples made here (not by trigc.datasets), so the tests stay fast."""

import numpy as np
import pytest
from trigger_helpers import MENU_TOML, make_events

import trigc
from trigc.frontends.qonnx_builder import quantized_mlp


@pytest.fixture(scope="session")
def project(tmp_path_factory):
    """The jet-tagger MLP architecture (16 -> 64 -> 32 -> 32 -> 5, 6-bit), compiled."""
    return trigc.compile(quantized_mlp(seed=11), tmp_path_factory.mktemp("prj") / "jet_mlp")


@pytest.fixture(scope="session")
def menu_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("menu") / "menu.toml"
    path.write_text(MENU_TOML)
    return path


@pytest.fixture(scope="session")
def events(tmp_path_factory):
    """6000 events as .npz (x, label)."""
    x, labels = make_events(6000)
    path = tmp_path_factory.mktemp("events") / "events.npz"
    np.savez(path, x=x, label=labels)
    return path, x, labels

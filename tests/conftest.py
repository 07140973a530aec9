import os

# QKeras needs the legacy Keras 2 API, chosen before TensorFlow is first imported.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# every pipeline run in the tests verifies the IR after each pass (trigc.passes)
os.environ.setdefault("TRIGC_VERIFY", "1")

import shutil  # noqa: E402

import pytest  # noqa: E402


def pytest_collection_modifyitems(config, items):
    skip_csim = pytest.mark.skip(reason="g++ not found")
    skip_vitis = pytest.mark.skip(reason="vitis_hls not on PATH")
    for item in items:
        if "csim" in item.keywords and shutil.which("g++") is None:
            item.add_marker(skip_csim)
        if "vitis" in item.keywords and shutil.which("vitis_hls") is None:
            item.add_marker(skip_vitis)

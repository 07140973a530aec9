"""Helpers of the reference-model tests: the models' training scripts imported as
modules, and the frameworks' global settings restored after a script changed them.
(A uniquely named module rather than conftest.py, which several test folders have.)"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


def train_script(name: str):
    """``models/<name>/train.py`` as a module (imported once per process)."""
    mod_name = f"trigc_reference_{name}_train"
    if mod_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(mod_name, MODELS_DIR / name / "train.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[mod_name]
            raise
    return sys.modules[mod_name]


@contextlib.contextmanager
def framework_settings_restored():
    """``train.run`` pins torch to one thread and deterministic algorithms, and turns
    on TensorFlow's op determinism; undo that for the other tests of this worker.
    Enter it after the framework is imported."""
    torch = sys.modules.get("torch")
    saved = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()) \
        if torch is not None else None
    tf_config = None
    if "tensorflow" in sys.modules:
        from tensorflow.python.framework import config as tf_config
    tf_saved = tf_config.is_op_determinism_enabled() if tf_config is not None else False
    try:
        yield
    finally:
        if saved is not None:
            torch.set_num_threads(saved[0])
            torch.use_deterministic_algorithms(saved[1])
        if tf_config is not None and not tf_saved:
            tf_config.disable_op_determinism()

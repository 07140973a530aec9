"""Loading a QKeras file does not import Keras 3 (trigc.frontends.qkeras_import), and
leaves ``import keras`` working for later Keras 3 code (HGQ2) in the same process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("qkeras")

SCRIPT = r"""
import json, sys
import numpy as np
import tensorflow as tf
from qkeras import QDense, quantized_bits  # noqa: F401 - only to save the file below
"""


def run(code: str, tmp_path) -> dict:
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_compile_h5_without_keras3_then_keras3_still_imports(tmp_path):
    saver = """
import tensorflow as tf
from qkeras import QDense, quantized_bits
from qkeras import QActivation
m = tf.keras.Sequential([tf.keras.Input((4,)), QActivation(quantized_bits(8, 2, alpha=1)), QDense(
    3, kernel_quantizer=quantized_bits(4, 0, alpha=1),
    bias_quantizer=quantized_bits(4, 0, alpha=1), name="d")])
m.save("m.h5", include_optimizer=False)
import json; print(json.dumps({}))
"""
    run(saver, tmp_path)
    user = """
import json, sys
import numpy as np
import trigc
project = trigc.compile("m.h5", "proj")
loaded_keras3 = "keras" in sys.modules
import qkeras.utils  # QKeras itself works after the guarded import
import keras
x = np.linspace(-2, 2, 40, dtype=np.float32).reshape(10, 4)
print(json.dumps({"keras3_during_compile": loaded_keras3, "keras": keras.__version__,
                  "qkeras": "qkeras" in sys.modules,
                  "outputs": np.asarray(project.emulate(x)).shape[0]}))
"""
    got = run(user, tmp_path)
    assert got["keras3_during_compile"] is False
    assert got["keras"].startswith("3."), got   # the real Keras 3, not tf_keras
    assert got["qkeras"] and got["outputs"] == 10


def test_keras3_already_imported_is_kept(tmp_path):
    code = """
import json, sys
import keras
k = sys.modules["keras"]
from trigc.frontends.qkeras_import import import_qkeras
import_qkeras()
print(json.dumps({"same": sys.modules["keras"] is k}))
"""
    assert run(code, tmp_path) == {"same": True}

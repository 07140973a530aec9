"""Import QKeras without Keras 3.

QKeras imports tensorflow_model_optimization, whose pruning registry tries
``from keras.src.engine import base_layer`` (the Keras 2.13 layout) and falls back to
TensorFlow's internal Keras when that fails. With TensorFlow 2.16+ the package
``keras`` is Keras 3: the attempt imports all of Keras 3 (and scikit-learn through its
wrappers), about 1.2 s, only to fail on ``keras.src.engine``, which Keras 3 does not
have. Blocking the name while QKeras loads makes the attempt fail at once, with the
same outcome. Nothing else changes: a process that already imported Keras 3 keeps it,
and ``import keras`` afterwards still gives Keras 3.
"""

from __future__ import annotations

import os
import sys


def import_qkeras():
    """``import qkeras`` (which needs TF_USE_LEGACY_KERAS=1, set here if unset), without
    importing Keras 3 on the way when nothing has imported it yet."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    if "qkeras" in sys.modules or "keras" in sys.modules:
        import qkeras

        return qkeras
    sys.modules["keras"] = None  # `import keras` raises ImportError until restored
    try:
        import qkeras
    finally:
        if sys.modules.get("keras", 0) is None:
            del sys.modules["keras"]
    return qkeras

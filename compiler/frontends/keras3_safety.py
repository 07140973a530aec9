"""Recognise Keras 3, HGQ2 and HGQ v1 models, and vet a Keras 3 file before Keras runs.

trigc reads two Keras worlds in one process: QKeras on tf_keras (Keras 2) and Keras 3
(with HGQ2). Which one a model belongs to is decided here without importing either:

* a model object is Keras 3 when its class comes from the ``keras`` package (3.x)
  or from ``hgq`` (HGQ2 is built on Keras 3), not from ``tf_keras``/``qkeras``;
* a ``.keras`` file is Keras 3 when its ``metadata.json`` says ``keras_version`` 3.x;
* an ``.h5`` file whose configuration names HGQ v1 layers (``HQuantize``, ``HDense``,
  ``FixedPointQuantizer``, ...) is refused with its fix: HGQ v1 needs tf_keras-era
  HGQ, which cannot share this environment with HGQ2.

A Keras 3 file's ``config.json`` is vetted with keras_safety's checker (no Lambda,
no class or module outside Keras / HGQ2) before any Keras code runs.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

from trigc.errors import ModelError, UnsupportedOpError
from trigc.frontends.keras_safety import check_keras_config, read_keras_config

KERAS3_MODULE_ROOTS = ("keras", "hgq")
# nested objects of a Keras 3 / HGQ2 config: the format's tensor reference, HGQ2's
# quantizer configs, bit-width constraints and regularizers (plain data classes)
KERAS3_NESTED = frozenset({
    "__keras_tensor__", "QuantizerConfig", "MinMax", "Min", "Max", "MonoL1",
})

# HGQ v1 (the tf_keras-era package `HGQ`) layer classes, as they appear in an .h5 config
HGQ1_LAYERS = frozenset({
    "HQuantize", "HDense", "HDenseBatchNorm", "HConv1D", "HConv2D", "HConv1DBatchNorm",
    "HConv2DBatchNorm", "HActivation", "HAdd", "HAveragePooling1D", "HAveragePooling2D",
    "HMaxPooling1D", "HMaxPooling2D", "PMaxPooling1D", "PMaxPooling2D",
    "PAveragePooling1D", "PAveragePooling2D", "PFlatten", "PReshape", "PConcatenate",
    "PDropout", "Signature", "FixedPointQuantizer", "PLayerBase", "HLayerBase",
})
HGQ1_FIX = ("HGQ v1 needs the tf_keras-era `HGQ` package, which cannot be installed "
            "beside HGQ2 and QKeras here. Convert it in an HGQ v1 environment with "
            "HGQ.proxy.to_proxy_model and export that to QONNX, or re-train the model "
            "with HGQ2 (`pip install hgq2`, `import hgq`) and pass the model or its "
            ".keras file")


def keras_version_of(model) -> str | None:
    """'3' for a Keras 3 / HGQ2 model object, else None (tf_keras, QKeras, other)."""
    root = type(model).__module__.split(".")[0]
    if root == "hgq":
        return "3"
    if root != "keras":
        return None
    keras = sys.modules.get("keras")
    version = getattr(keras, "__version__", "") if keras is not None else ""
    return "3" if version.startswith("3") else None


def is_keras3_file(path: Path) -> bool:
    """True for a ``.keras`` zip whose metadata says Keras 3.x (read without Keras)."""
    if path.suffix != ".keras" or not path.is_file():
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("metadata.json")
            if info.file_size > 1 << 20:
                return False
            metadata = json.loads(archive.read(info))
    except (KeyError, zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False
    version = metadata.get("keras_version", "") if isinstance(metadata, dict) else ""
    return isinstance(version, str) and version.startswith("3")


def refuse_hgq1(config: dict, path: Path) -> None:
    """An HGQ v1 model file: a one-line error naming the layer and the way forward."""
    layer = _first_class(config, HGQ1_LAYERS)
    if layer is not None:
        raise UnsupportedOpError(
            f"{str(path)!r} is an HGQ v1 model (layer class {layer!r}); trigc reads HGQ2 "
            f"(Keras 3) models, not HGQ v1. {HGQ1_FIX}")


def _first_class(obj, names: frozenset) -> str | None:
    if isinstance(obj, dict):
        cls = obj.get("class_name")
        if isinstance(cls, str) and cls in names:
            return cls
        obj = list(obj.values())
    if isinstance(obj, list):
        for item in obj:
            found = _first_class(item, names)
            if found is not None:
                return found
    return None


def vet_keras3_file(path: Path, layers, custom_objects=()) -> None:
    """Read and check a Keras 3 file's configuration: raise before Keras sees it."""
    config = read_keras_config(path)
    refuse_hgq1(config, path)
    check_keras_config(config, path, layers, KERAS3_NESTED | frozenset(custom_objects),
                       module_roots=KERAS3_MODULE_ROOTS)


def check_h5_for_hgq1(path: Path) -> None:
    """Refuse an HGQ v1 .h5, or a legacy .h5 written by Keras 3, by name (called before
    the QKeras loader sees the file)."""
    if path.suffix != ".h5" or not path.is_file():
        return
    try:
        config = read_keras_config(path)
    except ModelError:
        return  # the QKeras loader gives its own error for an unreadable file
    refuse_hgq1(config, path)
    if _h5_keras_version(path).startswith("3"):
        raise UnsupportedOpError(
            f"{str(path)!r} is a legacy .h5 written by Keras 3, which trigc reads only in "
            "the .keras format; save the model with model.save('model.keras') (or pass the "
            "model object)")


def _h5_keras_version(path: Path) -> str:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            version = f.attrs.get("keras_version", "")
    except OSError:
        return ""
    return version.decode() if isinstance(version, bytes) else str(version)

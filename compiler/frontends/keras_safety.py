"""Check a Keras model file's configuration before Keras loads it.

Loading a Keras file can run Python code that came with the file: a legacy .h5
stores a ``Lambda`` layer's function as marshalled bytecode, which Keras
rebuilds and calls while it reconstructs the model, whatever ``safe_mode`` says;
a .keras file names Python modules that Keras imports, and QKeras evaluates
quantizer strings. trigc therefore reads the model's JSON configuration itself
(the ``model_config`` attribute of an .h5, ``config.json`` inside a .keras zip)
and refuses, before any Keras code runs, every layer, nested object, module and
quantizer string that is not a Keras/QKeras built-in it knows.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable
from pathlib import Path

from trigc.errors import ModelError, UnsupportedOpError

# Layers that embed or call arbitrary Python (or TF ops picked by name) on load.
CODE_LAYERS = frozenset({"Lambda", "TFOpLambda", "SlicingOpLambda"})
MODEL_CLASSES = frozenset({"Functional", "Sequential", "Model", "InputLayer"})

QKERAS_OBJECTS = frozenset({
    "Clip", "QInitializer", "bernoulli", "binary", "quantized_bits", "quantized_po2",
    "quantized_relu", "quantized_relu_po2", "quantized_sigmoid", "quantized_tanh",
    "quantized_ulaw", "stochastic_binary", "stochastic_ternary", "ternary",
})
# QKeras' quantizing functions (pure functions of qkeras.quantizers), named by string
QKERAS_FUNCTIONS = frozenset({"binary_sigmoid", "binary_tanh"})
# names other tools (hls4ml, BinaryNet ports) use for what QKeras 0.9.0 spells otherwise
QKERAS_SPELLINGS = {"ternary_tanh": "QActivation(ternary())"}
KERAS_ACTIVATIONS = frozenset({
    "elu", "exponential", "gelu", "hard_sigmoid", "linear", "mish", "relu", "selu",
    "sigmoid", "softmax", "softplus", "softsign", "swish", "tanh",
})
KERAS_NESTED = frozenset({
    # initializers
    "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
    "LecunNormal", "LecunUniform", "Ones", "Orthogonal", "RandomNormal", "RandomUniform",
    "TruncatedNormal", "VarianceScaling", "Zeros", "constant", "glorot_normal",
    "glorot_uniform", "he_normal", "he_uniform", "identity", "lecun_normal", "lecun_uniform",
    "ones", "orthogonal", "random_normal", "random_uniform", "truncated_normal",
    "variance_scaling", "zeros",
    # regularizers and constraints
    "L1", "L1L2", "L2", "OrthogonalRegularizer", "l1", "l1_l2", "l2",
    "MaxNorm", "MinMaxNorm", "NonNeg", "RadialConstraint", "UnitNorm", "max_norm",
    "min_max_norm", "non_neg", "radial_constraint", "unit_norm",
    # dtype policies and the .keras format's own value wrappers
    "Policy", "DTypePolicy", "__tensor__", "__numpy__", "__bytes__", "__typespec__",
    "__ellipsis__", "__slice__",
})
SAFE_MODULE_ROOTS = ("keras", "tf_keras", "qkeras")
MAX_CONFIG_BYTES = 64 << 20
# compile=False: Keras never deserialises these, so they may name any optimizer or loss
IGNORED_KEYS = frozenset({"compile_config", "training_config"})


def read_keras_config(path: Path) -> dict:
    """The model configuration (JSON) of a .h5 or .keras file, read without Keras."""
    if path.suffix == ".keras":
        text = _read_zip_config(path)
    else:
        text = _read_h5_config(path)
    try:
        config = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"{str(path)!r}: the model configuration is not valid JSON ({exc}); "
                         "the file is corrupt, re-save the model") from None
    if not isinstance(config, dict):
        raise ModelError(f"{str(path)!r}: the model configuration is not a JSON object; "
                         "the file is corrupt, re-save the model")
    return config


def _read_zip_config(path: Path) -> bytes:
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("config.json")
            if info.file_size > MAX_CONFIG_BYTES:
                raise ModelError(f"{str(path)!r}: config.json is {info.file_size} bytes; a "
                                 "model configuration is far smaller, the file is not a model")
            return archive.read(info)
    except KeyError:
        raise ModelError(f"{str(path)!r} has no config.json, so it is not a .keras model; "
                         "save the whole model with model.save('model.keras')") from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ModelError(f"{str(path)!r} is not a readable .keras (zip) file ({exc}); it is "
                         "truncated or corrupt, re-save or re-download it") from None


def _read_h5_config(path: Path) -> str | bytes:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if "model_config" not in f.attrs:
                raise ModelError(
                    f"{str(path)!r} holds no model configuration (a weights-only file from "
                    "save_weights?); save the whole model with model.save('model.h5')")
            return f.attrs["model_config"]
    except OSError as exc:
        raise ModelError(f"{str(path)!r} is not a readable HDF5 (.h5) file ({exc}); it is "
                         "truncated or corrupt, re-save or re-download it") from None


def check_keras_config(config: dict, path: Path, layers: Iterable[str],
                       custom_objects: Iterable[str] = (),
                       module_roots: tuple[str, ...] = SAFE_MODULE_ROOTS) -> None:
    """Raise ``UnsupportedOpError`` for anything in ``config`` that could run code
    on load: Lambda layers, classes that are not Keras/QKeras built-ins (``layers``
    are the layer classes trigc exports; ``custom_objects`` the names the user
    passed in), modules outside Keras/QKeras, unknown quantizer strings."""
    checker = _Checker(path, frozenset(layers) | MODEL_CLASSES, frozenset(custom_objects))
    checker.module_roots = module_roots
    checker.visit(config, "the model", is_layer=True)


class _Checker:
    def __init__(self, path: Path, layers: frozenset, custom: frozenset) -> None:
        self.path, self.layers, self.custom = path, layers, custom
        self.module_roots = SAFE_MODULE_ROOTS

    def refuse(self, layer: str, what: str, fix: str) -> None:
        raise UnsupportedOpError(
            f"Keras {layer} in {str(self.path)!r}: {what}. trigc refused to load the file, "
            f"so none of its code ran; {fix}")

    def visit(self, obj, layer: str, is_layer: bool = False) -> None:
        if isinstance(obj, list):
            for item in obj:
                self.visit(item, layer)
            return
        if not isinstance(obj, dict):
            return
        if "class_name" in obj:
            layer = self.check_object(obj, layer, is_layer)
        for key, value in obj.items():
            if key in IGNORED_KEYS:
                continue
            if isinstance(value, str) and (key == "activation" or key.endswith("quantizer")):
                self.check_function_string(value, layer, key)
            elif key == "layers" and isinstance(value, list):
                for item in value:
                    self.visit(item, layer, is_layer=True)
            elif key == "layer" and isinstance(value, dict):  # wrappers (TimeDistributed...)
                self.visit(value, layer, is_layer=True)
            else:
                self.visit(value, layer)

    def check_object(self, obj: dict, layer: str, is_layer: bool) -> str:
        cls = obj["class_name"]
        if not isinstance(cls, str):
            self.refuse(layer, f"class_name {cls!r} is not a string", "re-save the model")
        if is_layer:
            config = obj.get("config")
            name = obj.get("name") or (config.get("name") if isinstance(config, dict) else None)
            layer = f"layer {name!r}" if name else layer
        module = obj.get("module")
        if module is not None and (not isinstance(module, str) or (
                module.split(".")[0] not in self.module_roots and module != "builtins")):
            self.refuse(layer, f"class {cls!r} names the Python module {module!r}, which "
                        "is not part of Keras or QKeras", "re-save the model with "
                        "built-in layers only")
        if cls in CODE_LAYERS or cls == "__lambda__":
            self.refuse(layer, f"{cls} layers carry Python code that runs when the model is "
                        "loaded, and trigc does not support them", "replace the "
                        f"{cls} by built-in (Q)Keras layers and save the model again")
        if cls == "function":
            self.check_function_string(str(obj.get("config")), layer, "function")
        elif is_layer and cls not in self.layers and cls not in self.custom:
            self.refuse(layer, f"{cls} is not a Keras/QKeras layer that trigc supports",
                        "replace the layer by a supported one (see the trigc docs) and save "
                        "the model again")
        elif not is_layer and cls not in QKERAS_OBJECTS | KERAS_NESTED | self.layers \
                and cls not in self.custom:
            self.refuse(layer, f"{cls!r} is not a Keras/QKeras built-in (a custom class "
                        "would run its own code on load)", "pass the class in "
                        "custom_objects if you trust it, or save the model without it")
        return layer

    def check_function_string(self, text: str, layer: str, key: str) -> None:
        name = text.split("(", 1)[0].strip()
        if name in QKERAS_OBJECTS | QKERAS_FUNCTIONS or name in KERAS_ACTIVATIONS or \
                name in self.custom:
            return
        if name in QKERAS_SPELLINGS:
            self.refuse(layer, f"{key} {text[:80]!r} is not a QKeras 0.9.0 quantizer",
                        f"use {QKERAS_SPELLINGS[name]} and save the model again")
        self.refuse(layer, f"{key} {text[:80]!r} is not a Keras activation or QKeras "
                    "quantizer", "use a built-in quantizer or activation, or pass yours in "
                    "custom_objects if you trust it")

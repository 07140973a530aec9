"""Issue 11, frontend findings: hostile and careless model files.

* 2: a Keras file (.h5 or .keras) whose Lambda layer would run code on load, and a
  pickled torch checkpoint whose ``__reduce__`` would: trigc refuses each with a
  typed error, and the marker file the code would write stays absent.
* 10: bit widths that are not whole, positive numbers of bits (Quant, Trunc) and
  bad BipolarQuant scales: a typed error naming the layer, never a silently
  truncated width or a raw "negative shift count".
* NaN weights and scales, zero-sized axes, and model files that are empty,
  truncated, garbage, text, undecodable, a directory or missing: each its own
  accurate one-line typed error naming the file, layer or op.
"""

from __future__ import annotations

import json
import math
import pickle
import re
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest

import trigc
from trigc.frontends.onnx_validate import MAX_BIT_WIDTH
from trigc.frontends.qonnx_builder import QONNX_DOMAIN, QonnxBuilder

REPO = Path(__file__).resolve().parents[2]


# ---- finding 2: code in Keras files ------------------------------------------------

@pytest.fixture(scope="module")
def keras():
    pytest.importorskip("tensorflow")
    pytest.importorskip("qkeras")
    import tf_keras

    return tf_keras


def booby_trapped_model(keras, marker: Path):
    """A working model whose Lambda writes ``marker`` whenever it is called."""
    inp = keras.Input((4,), name="x")
    h = keras.layers.Dense(3, name="fc1")(inp)
    trap = keras.layers.Lambda(lambda x, m=str(marker): (open(m, "w").close(), x)[1],
                               name="evil")
    model = keras.Model(inp, trap(h))
    model(np.ones((1, 4), np.float32))
    assert marker.exists(), "the trap must really run when the layer is called"
    marker.unlink()
    return model


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_keras_lambda_runs_nothing(keras, tmp_path, suffix):
    marker = tmp_path / "PWNED"
    path = tmp_path / f"evil{suffix}"
    booby_trapped_model(keras, marker).save(path)
    assert not marker.exists()
    with pytest.raises(trigc.TrigcError) as info:
        trigc.load(path)
    assert not marker.exists(), "loading the file ran its code"
    assert info.type is trigc.UnsupportedOpError
    info.match(r"layer 'evil'.*Lambda layers carry Python code.*refused")


def test_keras_lambda_through_cli_inspect(keras, tmp_path, capsys):
    from trigc.cli import main

    marker = tmp_path / "PWNED"
    path = tmp_path / "evil.h5"
    booby_trapped_model(keras, marker).save(path)
    assert main(["inspect", str(path)]) == 2
    assert "Lambda" in capsys.readouterr().err
    assert not marker.exists()


def _rewrite_keras_config(path: Path, edit) -> None:
    with zipfile.ZipFile(path) as archive:
        files = {n: archive.read(n) for n in archive.namelist()}
    config = json.loads(files["config.json"])
    edit(config["config"]["layers"])
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)


@pytest.mark.parametrize("edit, match", [
    (lambda layers: layers[1].update(class_name="MyCustomDense"),
     r"layer 'fc1'.*MyCustomDense is not a Keras/QKeras layer that trigc supports"),
    (lambda layers: layers[1].update(module="os"),
     r"layer 'fc1'.*names the Python module 'os'"),
    (lambda layers: layers[1]["config"].update(
        kernel_initializer={"class_name": "Sneaky", "config": {}}),
     r"layer 'fc1'.*'Sneaky' is not a Keras/QKeras built-in"),
    (lambda layers: layers[1]["config"].update(activation="deserialize_keras_object('x')"),
     r"layer 'fc1'.*activation \"deserialize_keras_object\('x'\)\" is not a Keras"),
], ids=["custom_layer", "module", "custom_initializer", "quantizer_string"])
def test_keras_config_vetted_before_loading(keras, tmp_path, edit, match):
    inp = keras.Input((4,), name="x")
    path = tmp_path / "model.keras"
    keras.Model(inp, keras.layers.Dense(3, name="fc1")(inp)).save(path)
    _rewrite_keras_config(path, edit)
    with pytest.raises(trigc.UnsupportedOpError, match=match):
        trigc.load(path)


def test_keras_bad_files(keras, tmp_path):
    inp = keras.Input((4,), name="x")
    model = keras.Model(inp, keras.layers.Dense(3, name="fc1")(inp))
    model.save_weights(tmp_path / "weights.h5")
    with pytest.raises(trigc.ModelError, match=r"holds no model configuration.*model\.save"):
        trigc.load(tmp_path / "weights.h5")
    (tmp_path / "empty.h5").write_bytes(b"")
    with pytest.raises(trigc.ModelError, match=r"is empty \(0 bytes\)"):
        trigc.load(tmp_path / "empty.h5")
    model.save(tmp_path / "m.keras")
    data = (tmp_path / "m.keras").read_bytes()
    (tmp_path / "cut.keras").write_bytes(data[: len(data) // 3])
    with pytest.raises(trigc.ModelError, match=r"not a readable \.keras \(zip\) file.*truncated"):
        trigc.load(tmp_path / "cut.keras")
    (tmp_path / "dir.keras").mkdir()
    with pytest.raises(trigc.ModelError, match="is a directory"):
        trigc.load(tmp_path / "dir.keras")


# ---- finding 2: pickled torch checkpoints ----------------------------------------------

class _Trap:
    """Unpickling this calls ``open(marker, 'w')``."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


@pytest.mark.parametrize("name", ["model.pt", "model.pth", "model.onnx"])
def test_pickled_checkpoint_runs_nothing(tmp_path, name):
    torch = pytest.importorskip("torch")
    marker = tmp_path / "PWNED"
    path = tmp_path / name
    torch.save({"state": _Trap(marker)}, path)
    with pytest.raises(trigc.TrigcError) as info:
        trigc.load(path)
    assert not marker.exists(), "loading the file ran its code"
    info.match(r"PyTorch checkpoint")
    # the trap is real: an unsafe load would have run it
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    assert not marker.exists()


def test_plain_pickle_named_onnx(tmp_path):
    marker = tmp_path / "PWNED"
    path = tmp_path / "model.onnx"
    path.write_bytes(pickle.dumps(_Trap(marker)))
    with pytest.raises(trigc.ModelError, match=r"is a Python pickle.*not an ONNX model"):
        trigc.load(path)
    assert not marker.exists()


def test_every_torch_load_is_weights_only():
    """trigc, its reference-model scripts and tests load checkpoints weights-only."""
    calls = []
    for folder in ("compiler", "models", "tests", "bench"):
        for path in (REPO / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            calls += [(path, m) for m in re.finditer(r"torch\.load\(([^()]|\([^()]*\))*\)",
                                                     text)]
    assert calls, "the reference models load their weights with torch.load"
    for path, match in calls:
        assert "weights_only=True" in match.group(0), f"{path}: {match.group(0)}"


# ---- finding 10: bit widths --------------------------------------------------------

def dense_model(weight_bits=6, act_bits=8, w=None, scale=2.0**-4, bias=None,
                in_shape=(1, 4)) -> onnx.ModelProto:
    b = QonnxBuilder("m")
    x = b.quant("x", 2.0**-4, act_bits, name="inp/Quant")
    w = np.full((4, 3), 0.3) if w is None else w
    h = b.node("MatMul", [x, b.quant(b.const(w, "w"), scale, weight_bits,
                                     name="fc1/WeightQuant")], name="fc1/MatMul")
    if bias is not None:
        h = b.node("Add", [h, b.const(bias, "bias")], name="fc1/BiasAdd")
    return b.model({"x": in_shape}, b.quant(h, 2.0**-3, 8, name="out/Quant"), (1, 3))


BAD_BITS = [
    (2.5, r"bit width 2\.5 is not an integer; trigc needs integer bit widths\. Round"),
    (0, r"bit width 0 is out of range; trigc needs 1 to 1024 bits"),
    (-3, r"bit width -3 is out of range"),
    (math.nan, r"bit width is nan"),
    (math.inf, r"bit width is inf"),
    (MAX_BIT_WIDTH + 1, r"bit width 1025 is out of range"),
]


@pytest.mark.parametrize("bits, match", BAD_BITS, ids=lambda v: str(v)[:8])
def test_weight_quant_bit_width(bits, match):
    if bits == 2.5:
        _truncating_differs_from_qonnx()
    with pytest.raises(trigc.UnsupportedOpError,
                       match=r"layer 'fc1' \(node 'fc1/WeightQuant', Quant\): " + match):
        trigc.load(dense_model(weight_bits=bits))


@pytest.mark.parametrize("bits, match", BAD_BITS, ids=lambda v: str(v)[:8])
def test_activation_quant_bit_width(bits, match):
    with pytest.raises(trigc.UnsupportedOpError, match=r"layer 'inp'.*Quant\): " + match):
        trigc.load(dense_model(act_bits=bits))


def _truncating_differs_from_qonnx():
    """What trigc used to do (truncate 2.5 to 2) is not QONNX's semantics, whose
    clip bounds -2**1.5 and 2**1.5 - 1 let -3 and 2 through."""
    from qonnx.custom_op.general.quant import quant

    x, one, zero = np.array([-3.0, 2.0, 1.7]), np.array(1.0), np.array(0.0)
    assert not np.array_equal(quant(x, one, zero, np.array(2.5), 1, 0, "ROUND"),
                              quant(x, one, zero, np.array(2.0), 1, 0, "ROUND"))


def trunc_model(in_bits=8, out_bits=4, version=1, scale=2.0**-4, out_scale=2.0**-2):
    b = QonnxBuilder("t")
    x = b.quant("x", 2.0**-4, 8, name="inp/Quant")
    ins = [x, b.const(scale, "scale"), b.const(0.0, "zp"), b.const(in_bits, "in_bits")]
    ins += [b.const(out_bits, "out_bits")] if version == 1 else \
        [b.const(out_scale, "out_scale"), b.const(out_bits, "out_bits")]
    y = b.node("Trunc", ins, domain=QONNX_DOMAIN, name="pool/Trunc", rounding_mode="FLOOR")
    return b.model({"x": (1, 4)}, y, (1, 4))


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("field, value, match", [
    ("in_bits", 7.5, r"input bit width 7\.5 is not an integer"),
    ("in_bits", 0, r"input bit width 0 is out of range"),
    ("out_bits", -1, r"output bit width -1 is out of range"),
    ("out_bits", math.nan, r"output bit width is nan"),
    ("scale", 0.0, r"scale 0 is not positive"),
])
def test_trunc_bit_widths_and_scales(version, field, value, match):
    with pytest.raises(trigc.UnsupportedOpError, match=r"layer 'pool'.*Trunc\): " + match):
        trigc.load(trunc_model(version=version, **{field: value}))


@pytest.mark.parametrize("scale, error, match", [
    (0.0, trigc.UnsupportedOpError, r"scale 0 is not positive"),
    (-0.5, trigc.UnsupportedOpError, r"scale -0\.5 is not positive"),
    (math.nan, trigc.ModelError, r"scale holds 1 NaN value"),
])
def test_bipolar_quant_scale(scale, error, match):
    b = QonnxBuilder("bp")
    x = b.quant("x", 2.0**-4, 8, name="inp/Quant")
    y = b.node("BipolarQuant", [x, b.const(scale, "scale")], domain=QONNX_DOMAIN,
               name="sign/BipolarQuant")
    with pytest.raises(error, match=r"layer 'sign'.*BipolarQuant\): " + match):
        trigc.load(b.model({"x": (1, 4)}, y, (1, 4)))


# ---- NaN constants, zero-sized axes --------------------------------------------------

def test_nan_weights_name_the_layer():
    w = np.full((4, 3), 0.3)
    w[2, 1] = np.nan
    with pytest.raises(trigc.ModelError, match=r"layer 'fc1' \(node 'fc1/WeightQuant', "
                       r"Quant\): constant input 0 .*holds 1 NaN value\(s\) \(first at index "
                       r"\(2, 1\)\).*Retrain"):
        trigc.load(dense_model(w=w))


def test_nan_scale_names_the_layer():
    scale = np.full(3, 2.0**-4)
    scale[1] = np.nan
    with pytest.raises(trigc.ModelError, match=r"layer 'fc1'.*scale holds 1 NaN value"):
        trigc.load(dense_model(scale=scale))


def test_infinite_bias_names_the_layer():
    with pytest.raises(trigc.ModelError, match=r"layer 'fc1'.*Add\): .*3 infinite value"):
        trigc.load(dense_model(bias=np.full(3, np.inf)))


def test_zero_sized_axis():
    with pytest.raises(trigc.ModelError,
                       match=r"'x' has shape \[1, 0\], with a zero-sized axis"):
        trigc.load(dense_model(in_shape=(1, 0)))


# ---- unreadable model files ----------------------------------------------------------

def _non_utf8_name(path: Path) -> None:
    model = dense_model()
    model.graph.node[2].name = "RENAME_ME"
    path.write_bytes(model.SerializeToString().replace(b"RENAME_ME", b"\xff\xfe_name__"))


def _truncated(path: Path) -> None:
    data = dense_model().SerializeToString()
    path.write_bytes(data[: len(data) // 2])


BAD_FILES = {
    "empty": (lambda p: p.write_bytes(b""), r"is empty \(0 bytes\)"),
    "truncated": (_truncated, r"is not a valid ONNX file: it is truncated or corrupt"),
    "garbage": (lambda p: p.write_bytes(bytes(range(256))),
                r"is not a valid ONNX file: it is truncated or corrupt"),
    "text": (lambda p: p.write_text("name: model\nlayers: [dense]\n"),
             r"is a text file, not an ONNX model"),
    "non_utf8_name": (_non_utf8_name, r"node #2 name b'\\xff\\xfe_name__' is not valid UTF-8"),
    "directory": (lambda p: p.mkdir(), r"is a directory, not an ONNX model file"),
    "missing": (lambda p: None, r"does not exist; check the path"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_onnx_files(tmp_path, case):
    make, match = BAD_FILES[case]
    path = tmp_path / "model.onnx"
    make(path)
    with pytest.raises(trigc.ModelError, match=match) as info:
        trigc.load(path)
    assert "model.onnx" in str(info.value) and "\n" not in str(info.value)

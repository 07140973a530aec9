"""Train the 16-bit-input QKeras jet tagger (16 -> 64 -> 32 -> 32 -> 5 MLP) and export it.

    python models/jet_tagger_qkeras16/train.py [--epochs N] [--out DIR]

The reference QKeras jet tagger (``../jet_tagger_qkeras``) with the inputs of the
hls4ml jet-tagging example: ``ap_fixed<16,6>`` instead of ``fixed<8,4>``. Everything
else is the same: toy jets of ``trigc.datasets.jet_features`` (classes g, q, W, Z, t),

    inputs   QActivation(quantized_bits(16, 5, alpha=1))  fixed<16,6>, hls4ml's default type
    fc1..3   QDense(quantized_bits(6, 0, alpha=1) kernel and bias) + QActivation(quantized_relu(6))
    fc4      QDense(5, same quantizers)                   logits out

Steps (seeded, deterministic TensorFlow ops, one thread): a float Keras baseline of
the same architecture, QAT initialised from it, export with trigc's own QKeras ->
QONNX exporter (``trigc.frontends.qkeras.to_qonnx``) to ``jet_tagger_qkeras16.onnx``,
the weights to ``jet_tagger_qkeras16.h5``, accuracies (float / QKeras / trigc) and
trigc's estimate. The same training recipe as the 8-bit model (about 30 s on 2 cores).

The exported model's output is the logits: the softmax is monotonic and not
needed for the trigger decision; it is only used in the loss.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

NAME = "jet_tagger_qkeras16"
HERE = Path(__file__).resolve().parent
INPUT_Q = (16, 5)  # quantized_bits(16, 5): ap_fixed<16,6> (5 integer bits + sign)


def _base():
    """``../jet_tagger_qkeras/train.py``, whose recipe this variant runs."""
    path = HERE.parent / "jet_tagger_qkeras" / "train.py"
    name = "trigc_reference_jet_tagger_qkeras_train"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def load_trained(weights=HERE / f"{NAME}.h5"):
    """Rebuild the quantized model from the committed weights."""
    return _base().load_trained(weights, input_q=INPUT_Q)


def forward(model, x, batch: int = 10_000):
    """The 8-bit model's inference-mode forward pass (float64 numpy)."""
    return _base().forward(model, x, batch)


def run(out_dir=HERE, **kwargs) -> dict:
    """The 8-bit model's ``run`` with this variant's name and input quantizer."""
    return _base().run(out_dir, name=NAME, input_q=INPUT_Q, **kwargs)


def main(argv=None) -> int:
    return _base().main(argv, doc=__doc__, here=HERE, name=NAME, input_q=INPUT_Q)


if __name__ == "__main__":
    sys.exit(main())

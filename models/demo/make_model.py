"""Write the demo model: the jet-tagger architecture (16->64->32->32->5, 6-bit weights
and activations, power-of-two scales) as QONNX, with seeded random weights.

The trained reference jet tagger (QKeras and Brevitas) lives in models/ once the
frontends land; this untrained stand-in exercises exactly the same firmware path."""

import sys
from pathlib import Path

import onnx

from trigc.frontends.qonnx_builder import quantized_mlp

if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "jet_mlp_demo.onnx")
    model = quantized_mlp(sizes=(16, 64, 32, 32, 5), weight_bits=6, act_bits=6, seed=2026)
    model.graph.name = out.stem
    onnx.save(model, str(out))
    print(f"wrote {out}")

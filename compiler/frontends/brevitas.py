"""Brevitas / PyTorch modules to QONNX through ``brevitas.export.export_qonnx``."""

from __future__ import annotations

import tempfile
from pathlib import Path

import onnx

from trigc.errors import ModelError, UnsupportedOpError


def export_module(module, example_input) -> onnx.ModelProto:
    """Export ``module`` (eval mode) to QONNX; plain torch layers export as ONNX."""
    try:
        from brevitas.export import export_qonnx
    except ImportError:
        raise UnsupportedOpError(
            "Exporting a torch module needs Brevitas: pip install 'trigc[brevitas]'") from None
    was_training = module.training
    module.eval()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.onnx"
            try:
                export_qonnx(module, example_input, str(path))
            except Exception as exc:  # torch.onnx raises many error types
                raise ModelError(
                    f"Brevitas/torch export of {type(module).__name__} failed: {exc}") from None
            model = onnx.load(str(path))
    finally:
        module.train(was_training)
    if not model.graph.name or model.graph.name in ("main_graph", "torch_jit"):
        model.graph.name = type(module).__name__.lower()
    return model

"""Frontends: everything ends in (Q)ONNX, then the common import."""

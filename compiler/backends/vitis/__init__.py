"""Vitis HLS C++ backend: per-op glue (config.py) and the project writer (writer.py)."""

from trigc.backends.vitis.writer import Settings, write_project

__all__ = ["Settings", "write_project"]

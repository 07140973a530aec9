"""Vitis HLS C++ backend: per-op glue (config.py) and the project writer (writer.py)."""

from trigc.backends.vitis.writer import ProjectData, render, write_project

__all__ = ["ProjectData", "render", "write_project"]

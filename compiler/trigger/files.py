"""Output files of ``trigc emulate``: never written over an input, always atomically.

Every output (``--out``, ``--junit``, ``--summary``, the ``--plots`` images) is checked
before the run starts against every input (``--data``, the menu, ``--golden`` and the
files of the project directory), by file identity, so a symlink or a hard link to
an input is caught as well as the same path. A missing parent folder is created. Each
file is written to a temporary name beside it and renamed over the target only when
complete (:func:`trigc.outputs.atomic_write`; the streaming decision writers use
:func:`temp_path`), so an interrupted or failed run leaves the previous output intact.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from trigc.trigger.errors import OutputError

log = logging.getLogger(__name__)

PLOT_NAMES = ("rate_vs_threshold.png", "efficiency_vs_rate.png")


def temp_path(path) -> Path:
    """A fresh hidden file beside ``path`` (same folder, so ``os.replace`` is atomic),
    named as :func:`trigc.outputs.atomic_write` names its own, whose next run on the
    same path removes it if this process was killed."""
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.trigc-{os.getpid()}-",
                                suffix=path.suffix, dir=path.parent)
    os.close(fd)
    return Path(name)


def prepare_folder(folder, what: str) -> Path:
    """Create ``folder`` (and its parents) if missing; a typed error if it cannot be a
    writable folder."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise OutputError(f"Cannot write {what}: {str(folder)!r} (or a folder above it) is a "
                          "file, not a folder; choose another path") from None
    except OSError as exc:
        raise OutputError(f"Cannot create the folder {str(folder)!r} for {what}: "
                          f"{exc.strerror}; choose a folder you can write to") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"Cannot write {what} into {str(folder)!r}: permission denied; "
                          "choose a folder you can write to")
    return folder


def _identity(path):
    """(device, inode) of an existing file or folder (following symlinks), else None."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def _project_files(project_dir) -> dict:
    """(device, inode) -> path of every file in the project directory."""
    found = {}
    for root, _, names in os.walk(project_dir):
        for name in names:
            full = os.path.join(root, name)
            ident = _identity(full)
            if ident is not None:
                found[ident] = full
    return found


def check_outputs(outputs: dict, inputs: dict, project_dir=None) -> None:
    """Refuse outputs that would overwrite an input or each other; create missing
    parent folders. ``outputs`` and ``inputs`` map an option name (``"--out"``) to a
    path (or None); the files of ``project_dir`` count as inputs too."""
    outputs = {k: Path(v) for k, v in outputs.items() if v is not None}
    inputs = {k: v for k, v in inputs.items() if v is not None}
    seen: dict = {}
    for option, path in outputs.items():
        resolved = path.resolve()
        if resolved in seen:
            raise OutputError(f"{option} and {seen[resolved]} are the same file "
                              f"{str(path)!r}; give each output its own path")
        seen[resolved] = option
    existing = {option: _identity(path) for option, path in outputs.items()}
    existing = {option: ident for option, ident in existing.items() if ident is not None}
    if existing:
        _refuse_overwrites(outputs, existing, inputs, project_dir)
    for option, path in outputs.items():
        if path.is_dir():
            raise OutputError(f"{option} {str(path)!r} is a folder; give a file name")
        prepare_folder(path.parent, f"{option} {str(path)!r}")


def _refuse_overwrites(outputs: dict, existing: dict, inputs: dict, project_dir) -> None:
    sources = {}
    for option, path in inputs.items():
        ident = _identity(path)
        if ident is not None:
            sources[ident] = f"the {option} file {str(path)!r}"
    if project_dir is not None:
        for ident, path in _project_files(project_dir).items():
            sources.setdefault(ident, f"the project file {path!r}")
    for option, ident in existing.items():
        if ident in sources:
            path = outputs[option]
            raise OutputError(f"{option} {str(path)!r} is {sources[ident]} (the same file); "
                              f"trigc never writes over an input: choose another path, e.g. "
                              f"{str(path.with_name(path.stem + '_new' + path.suffix))!r}")


def event_file(data) -> str:
    """The event file of ``--data`` (without a ``:TREE`` suffix)."""
    text = str(data)
    return text.split(".root:", 1)[0] + ".root" if ".root:" in text else text


def plot_files(folder) -> dict:
    """The files ``--plots FOLDER`` writes, as outputs for :func:`check_outputs`."""
    return {f"--plots {name}": Path(folder) / name for name in PLOT_NAMES}


__all__ = ["PLOT_NAMES", "check_outputs", "event_file", "plot_files", "prepare_folder",
           "temp_path"]

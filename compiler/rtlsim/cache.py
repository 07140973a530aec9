"""The trigc build cache, as :mod:`trigc.csim.build` keeps it: ``$TRIGC_CACHE_DIR``
(default ``~/.cache/trigc``), each artifact with a SHA-256 sidecar (``NAME.sha256``)
verified before use. A copy of csim's two helpers, because the layer rule
(docs/architecture.md) forbids importing a peer of layer 9; the day they move below
(e.g. into ``trigc.outputs``), this file goes."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from trigc.outputs import file_sha256

log = logging.getLogger(__name__)

HASH_SUFFIX = ".sha256"


def cache_root() -> Path:
    return Path(os.environ.get("TRIGC_CACHE_DIR", Path.home() / ".cache" / "trigc"))


def sidecar(artifact: Path) -> Path:
    return artifact.with_name(artifact.name + HASH_SUFFIX)


def cached(artifact: Path) -> bool:
    """True when ``artifact`` exists and matches its recorded SHA-256; a damaged entry
    is removed (only the artifact and its sidecar) with a warning, so it is rebuilt."""
    digest_path = sidecar(artifact)
    if not artifact.exists() and not digest_path.exists():
        return False
    try:
        if digest_path.read_text().strip() == file_sha256(artifact):
            return True
        problem = "does not match its recorded SHA-256"
    except (OSError, UnicodeDecodeError) as exc:
        problem = f"cannot be verified ({exc.__class__.__name__})"
    log.warning("cache entry %s %s: it is truncated or corrupted; rebuilding it",
                artifact, problem)
    for path in (artifact, digest_path):
        try:
            path.unlink()
        except FileNotFoundError:
            pass
    return False


def publish(built: Path, artifact: Path) -> None:
    """Move a fresh file into the cache, then its SHA-256 (both renamed into place, so
    a reader never sees half of either)."""
    digest = file_sha256(built)
    built.replace(artifact)
    tmp = built.with_name(built.name + HASH_SUFFIX)
    tmp.write_text(digest + "\n")
    tmp.replace(sidecar(artifact))

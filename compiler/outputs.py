"""Writing outputs so that no user file is ever lost and no output is ever half written.

Two entry points, for every command that writes something:

``atomic_write(path, data, inputs=(), make_parents=False)``
    One file (``--out``, ``--junit``, ``--summary``, a plot, a zip). ``data`` is
    ``bytes``, ``str`` (UTF-8) or a callback ``write(tmp_path)`` that creates the file
    at the temporary path it is given (the temporary name keeps the suffix, so
    ``np.savez``/``savefig`` see ``.npz``/``.png``). The file is written beside
    ``path`` and moved over it with ``os.replace``: readers see the old or the new
    file, never a partial one. It refuses, with an ``OutputError`` and before writing
    anything, a ``path`` that is one of ``inputs`` (the same file after symlinks and
    hard links), a folder, or lies in a missing folder (unless ``make_parents``).

``replace_dir(target, build, overwrite=False)``
    A whole folder (a firmware project, an export). ``build(tmp)`` fills a temporary
    folder beside ``target``; trigc then records a **manifest** of what it wrote,
    ``.trigc-manifest.json`` (``{"format": "trigc-manifest/1", "files": {relative
    posix path: sha256}}``, written last), and swaps the folder in.

    - Replacing an existing folder removes only files listed in its manifest whose
      content is unchanged. Anything else (a user's files, ``<name>_prj/`` from Vitis,
      ``ip/``, a file edited by hand, a folder of an older trigc without a manifest)
      stops with an ``OutputError`` naming the first such file, before anything is
      written.
    - ``overwrite=True`` (``--overwrite``) replaces trigc's files and **keeps every
      other file**: they are moved into the new folder around trigc's files. Only a
      file at a path the new project itself writes is replaced.
    - The swap never leaves ``target`` missing: ``renameat2(RENAME_EXCHANGE)`` on
      Linux, else two renames (old -> ``.NAME.old.PID``, new -> ``NAME``).
    - Every temporary folder holds a marker (``.trigc-temp.json``: pid, host, role,
      the user entries moved into it). The next run on the same target restores or
      removes the leftovers of a killed run, and only those whose marker names a dead
      process on this host; user files moved into a leftover are moved back first.

``output_errors(path)`` turns an ``OSError`` (read-only, full disk, a file where a
folder is needed) into a one-line ``OutputError``.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from trigc.errors import OutputError

log = logging.getLogger(__name__)

MANIFEST = ".trigc-manifest.json"
MANIFEST_FORMAT = "trigc-manifest/1"
TEMP_MARKER = ".trigc-temp.json"
OVERWRITE_HINT = ("pass --overwrite (overwrite=True) to replace only trigc's files and "
                  "keep the others")
_ANY_PATH = "choose another output path (-o)"
_FS_REASONS = {
    errno.EACCES: ("permission denied", f"make it writable or {_ANY_PATH}"),
    errno.EPERM: ("operation not permitted", f"make it writable or {_ANY_PATH}"),
    errno.EROFS: ("the file system is read-only", f"{_ANY_PATH} on a writable disk"),
    errno.ENOSPC: ("no space left on the device", f"free some space or {_ANY_PATH}"),
    errno.EDQUOT: ("the disk quota is exceeded", f"free some space or {_ANY_PATH}"),
    errno.EFBIG: ("the file is larger than allowed (file size limit)",
                  f"raise the limit (ulimit -f) or {_ANY_PATH}"),
    errno.ENOTDIR: ("a part of the path is a file, not a folder", _ANY_PATH),
    errno.EISDIR: ("it is a folder, not a file", _ANY_PATH),
    errno.ENAMETOOLONG: ("the name is too long", "choose a shorter output path"),
}


# ---- errors ----------------------------------------------------------------------
def fs_error(exc: OSError, path) -> OutputError:
    """A one-line ``OutputError`` for a failed file-system call while writing ``path``."""
    where = exc.filename if exc.filename is not None else path
    reason, fix = _FS_REASONS.get(exc.errno, (exc.strerror or str(exc), _ANY_PATH))
    return OutputError(f"Cannot write {str(where)!r}: {reason}; {fix}")


@contextlib.contextmanager
def output_errors(path) -> Iterator[None]:
    """Turn any ``OSError`` raised inside the block into an ``OutputError``."""
    try:
        yield
    except OSError as exc:
        raise fs_error(exc, path) from exc


def _check_parents(path: Path) -> None:
    """The nearest existing ancestor of ``path`` must be a folder."""
    for parent in path.parents:
        if os.path.lexists(parent):
            if not parent.is_dir():
                raise OutputError(f"Cannot write {str(path)!r}: {str(parent)!r} is a file, "
                                  f"not a folder; {_ANY_PATH}")
            return


def refuse_inputs(path, inputs: Iterable) -> None:
    """Raise ``OutputError`` when ``path`` is one of ``inputs`` (after resolving symlinks,
    or the same file through a hard link)."""
    out = Path(path)
    for source in inputs:
        if source is None:
            continue
        source = Path(source)
        same = out.resolve() == source.resolve()
        if not same and out.exists() and source.exists():
            with contextlib.suppress(OSError):
                same = os.path.samefile(out, source)
        if same:
            raise OutputError(f"Refusing to write {str(out)!r}: it is the input "
                              f"{str(source)!r}, which would be lost; choose another "
                              "output path")


# ---- one file --------------------------------------------------------------------
def atomic_write(path, data: bytes | str | Callable[[Path], None], *,
                 inputs: Iterable = (), make_parents: bool = False,
                 mode: int = 0o644) -> Path:
    """Write one file atomically; see the module docstring. Returns the path."""
    path = Path(path).absolute()
    refuse_inputs(path, inputs)
    with output_errors(path):
        _check_parents(path)
        if path.is_dir():
            raise OutputError(f"Cannot write {str(path)!r}: it is a folder; give a file name")
        if not path.parent.is_dir():
            if not make_parents:
                raise OutputError(f"Cannot write {str(path)!r}: the folder "
                                  f"{str(path.parent)!r} does not exist; create it first")
            path.parent.mkdir(parents=True, exist_ok=True)
        _clean_temp_files(path)
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}.trigc-{os.getpid()}-",
                                    suffix=path.suffix, dir=path.parent)
        tmp = Path(name)
        try:
            if callable(data):
                os.close(fd)
                data(tmp)
            else:
                with os.fdopen(fd, "wb") as f:
                    f.write(data.encode() if isinstance(data, str) else data)
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
    return path


def _clean_temp_files(path: Path) -> None:
    """Remove temporary files of ``atomic_write`` runs on ``path`` that were killed."""
    pattern = re.compile(re.escape(f".{path.stem}.trigc-") + r"(\d+)-[a-z0-9_]+"
                         + re.escape(path.suffix) + "$")
    for entry in path.parent.iterdir():
        found = pattern.match(entry.name)
        if found and entry.is_file() and not entry.is_symlink() \
                and _pid_dead(int(found.group(1)), socket.gethostname()):
            log.info("removing %s, left by a killed trigc run", entry)
            with contextlib.suppress(OSError):
                entry.unlink()


# ---- manifest ----------------------------------------------------------------------
def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes (hex), read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---- the build cache (C-sim, Verilator, Yosys) -------------------------------------
CACHE_HASH_SUFFIX = ".sha256"


def cache_root() -> Path:
    """Where builds are cached: ``$TRIGC_CACHE_DIR``, default ``~/.cache/trigc``."""
    return Path(os.environ.get("TRIGC_CACHE_DIR", Path.home() / ".cache" / "trigc"))


def cache_sidecar(artifact: Path) -> Path:
    """The file holding ``artifact``'s recorded SHA-256."""
    return artifact.with_name(artifact.name + CACHE_HASH_SUFFIX)


def cached(artifact: Path, what: str = "cache") -> bool:
    """True when ``artifact`` is in the cache and its bytes match the recorded SHA-256.
    A damaged entry (no hash, wrong hash, unreadable) is removed (the artifact and its
    sidecar only) with a warning naming ``what``, so the caller rebuilds it."""
    digest_path = cache_sidecar(artifact)
    if not artifact.exists() and not digest_path.exists():
        return False
    try:
        expected = digest_path.read_text().strip()
        actual = file_sha256(artifact)
    except (OSError, UnicodeDecodeError) as exc:
        problem = f"cannot be verified ({exc.__class__.__name__}: {exc})"
    else:
        if expected == actual:
            return True
        problem = f"has SHA-256 {actual[:16]}..., not the recorded {expected[:16]}..."
    log.warning("%s entry %s %s: it is truncated or corrupted; rebuilding it", what,
                artifact, problem)
    for path in (artifact, digest_path):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return False


def publish(built: Path, artifact: Path) -> None:
    """Move a fresh build into the cache: the artifact, then its SHA-256 (both renamed
    into place, so a reader never sees half of either)."""
    digest = file_sha256(built)
    built.replace(artifact)
    tmp = built.with_name(built.name + CACHE_HASH_SUFFIX)
    tmp.write_text(digest + "\n")
    tmp.replace(cache_sidecar(artifact))


def write_manifest(root: Path) -> dict[str, str]:
    """Record every regular file under ``root`` (relative posix path -> sha256) in
    ``root/.trigc-manifest.json``. Call it last, after every file is written."""
    files = {}
    for path in sorted(Path(root).rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel not in (MANIFEST, TEMP_MARKER) and path.is_file() and not path.is_symlink():
            files[rel] = file_sha256(path)
    data = {"format": MANIFEST_FORMAT, "files": files,
            "note": "files trigc wrote; trigc replaces only these when it rewrites the folder"}
    (Path(root) / MANIFEST).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return files


def _safe_rel(rel) -> bool:
    if not isinstance(rel, str) or not rel or "\\" in rel:
        return False
    pure = PurePosixPath(rel)
    return not pure.is_absolute() and ".." not in pure.parts and "." not in rel.split("/")


def read_manifest(root: Path) -> dict[str, str] | None:
    """The manifest of ``root`` (relative path -> sha256); None when absent or invalid."""
    path = Path(root) / MANIFEST
    if not path.is_file() or path.is_symlink():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        log.warning("ignoring the unreadable manifest %s: %s", path, exc)
        return None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict) or data.get("format") != MANIFEST_FORMAT:
        log.warning("ignoring %s: not a %s file", path, MANIFEST_FORMAT)
        return None
    return {rel: digest for rel, digest in files.items()
            if _safe_rel(rel) and isinstance(digest, str)}


# ---- what an existing folder holds -----------------------------------------------------
@dataclass
class Survey:
    """An existing output folder: ``foreign`` lists its top-most entries trigc did not
    write (relative path, why), in sorted order."""

    target: Path
    exists: bool
    manifest: dict[str, str] | None
    foreign: list[tuple[str, str]]


def survey(target: Path) -> Survey:
    """Sort the entries of ``target`` into trigc's (unchanged manifest files) and foreign."""
    if not os.path.lexists(target):
        return Survey(target, False, None, [])
    if not target.is_dir():
        raise OutputError(f"Cannot write the folder {str(target)!r}: it is a file; "
                          f"{_ANY_PATH}")
    manifest = read_manifest(target)
    owned = manifest or {}
    dirs = {parent.as_posix() for rel in owned for parent in PurePosixPath(rel).parents}
    foreign: list[tuple[str, str]] = []
    _walk(target, "", owned, dirs, foreign)
    return Survey(target, True, manifest, foreign)


def _walk(root: Path, rel_dir: str, owned: dict, dirs: set, foreign: list) -> None:
    with os.scandir(root / rel_dir) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
        if rel == MANIFEST or (rel == TEMP_MARKER and _stale_marker(Path(entry.path))):
            continue
        if entry.is_dir(follow_symlinks=False):
            if rel in dirs:
                _walk(root, rel, owned, dirs, foreign)
            else:
                foreign.append((rel, "trigc did not write this folder"))
        elif rel not in owned:
            foreign.append((rel, "trigc did not write it"))
        elif entry.is_symlink() or file_sha256(Path(entry.path)) != owned[rel]:
            foreign.append((rel, "it was changed after trigc wrote it"))


def check_target(target, overwrite: bool = False) -> Survey:
    """Raise ``OutputError`` unless trigc may replace the folder ``target``: it is new,
    empty, or holds only unchanged files of its manifest (or ``overwrite``). Leftovers
    of killed runs beside it are first restored or removed (``recover``)."""
    target = Path(target)
    _check_parents(target)
    if target.parent.is_dir():
        recover(target)
    found = survey(target)
    if found.foreign and not overwrite:
        raise OutputError(_foreign_message(found))
    return found


def _foreign_message(found: Survey) -> str:
    rel, why = found.foreign[0]
    where = str(found.target / rel)
    more = f" (and {len(found.foreign) - 1} more)" if len(found.foreign) > 1 else ""
    if found.manifest is not None:
        return (f"{where!r}{more} is in the trigc project {str(found.target)!r} but {why}; "
                "trigc replaces only the files it wrote. Move it out, choose another "
                f"output folder (-o), or {OVERWRITE_HINT}")
    if (found.target / "trigc.json").is_file():
        return (f"{str(found.target)!r} is not a trigc project of this version: it has no "
                f"{MANIFEST}, so trigc cannot tell its files from yours (it holds "
                f"{where!r}{more}). Choose another output folder (-o), or {OVERWRITE_HINT}")
    return (f"{str(found.target)!r} is not empty and not a trigc project (no {MANIFEST}; "
            f"it holds {where!r}{more}). Choose a new or empty output folder (-o), or "
            f"{OVERWRITE_HINT}")


# ---- markers of temporary folders ------------------------------------------------------
def _write_marker(folder: Path, target: Path, role: str, moved: Iterable[str] = ()) -> None:
    data = {"pid": os.getpid(), "host": socket.gethostname(), "role": role,
            "target": target.name, "moved": list(moved)}
    (folder / TEMP_MARKER).write_text(json.dumps(data, sort_keys=True) + "\n")


def _read_marker(folder: Path) -> dict | None:
    path = folder / TEMP_MARKER
    if folder.is_symlink() or not path.is_file() or path.is_symlink():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    valid = (isinstance(data, dict) and isinstance(data.get("pid"), int) and data["pid"] > 0
             and data.get("role") in ("temp", "old") and isinstance(data.get("host"), str)
             and isinstance(data.get("target"), str) and isinstance(data.get("moved"), list)
             and all(_safe_rel(rel) for rel in data["moved"]))
    return data if valid else None


def _pid_dead(pid: int, host: str) -> bool:
    """True only when ``pid`` on this host is certainly not running (not ourselves)."""
    if host != socket.gethostname() or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _stale_marker(path: Path) -> bool:
    marker = _read_marker(path.parent)
    return marker is not None and _pid_dead(marker["pid"], marker["host"])


# ---- recovery of killed runs ------------------------------------------------------------
def recover(target: Path, *, own: bool = False) -> None:
    """Restore or remove what killed runs left beside ``target``: a missing target is
    restored from its ``old`` folder, user entries moved into a temporary folder go
    back, then trigc's leftovers are removed. ``own`` also treats this process's
    leftovers as dead (rollback after an exception)."""
    leftovers = []
    prefix = f".{target.name}."
    for entry in sorted(target.parent.iterdir()):
        if not entry.name.startswith(prefix) or not entry.is_dir() or entry.is_symlink():
            continue
        marker = _read_marker(entry)
        if marker is None or marker["target"] != target.name:
            continue
        mine = own and marker["pid"] == os.getpid() and marker["host"] == socket.gethostname()
        if mine or _pid_dead(marker["pid"], marker["host"]):
            leftovers.append((entry, marker))
    for entry, marker in sorted(leftovers, key=lambda item: item[1]["role"] != "old"):
        if marker["role"] == "old":
            _recover_old(entry, target)
        else:
            _recover_temp(entry, marker, target)
    marker = _read_marker(target) if target.is_dir() else None
    if marker is not None and (own or _pid_dead(marker["pid"], marker["host"])):
        (target / TEMP_MARKER).unlink()


def _recover_old(entry: Path, target: Path) -> None:
    if target.is_dir() and not target.is_symlink() and not any(target.iterdir()):
        target.rmdir()  # an empty folder made meanwhile: the old project is worth more
    if not os.path.lexists(target):
        os.rename(entry, target)
        log.warning("restored %s from %s, left by a killed trigc run", target, entry.name)
        return
    log.info("removing %s, left by a killed trigc run", entry)
    shutil.rmtree(entry)  # holds only files the run was replacing: keepers moved out first


def _recover_temp(entry: Path, marker: dict, target: Path) -> None:
    stuck = []
    for rel in marker["moved"]:
        source, dest = entry / rel, target / rel
        if not os.path.lexists(source):
            continue
        if target.is_dir() and not os.path.lexists(dest) and dest.parent.is_dir():
            os.rename(source, dest)
        else:
            stuck.append(rel)
    if stuck:
        log.warning("kept %s: it holds your %s, which could not be moved back into %s",
                    entry, ", ".join(stuck), target)
        return
    log.info("removing %s, left by a killed trigc run", entry)
    shutil.rmtree(entry)


# ---- the swap ------------------------------------------------------------------------
def replace_dir(target, build: Callable[[Path], None], *, overwrite: bool = False) -> Path:
    """Write the folder ``target`` with ``build(tmp)``; see the module docstring.
    Returns the resolved target."""
    target = Path(target).resolve()
    with output_errors(target):
        check_target(target, overwrite)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            os.chmod(tmp, 0o755)
            _write_marker(tmp, target, "temp")
            build(tmp)
            write_manifest(tmp)
            old = _swap(target, tmp, check_target(target, overwrite))
        except BaseException:
            recover(target, own=True)
            if tmp.is_dir() and _read_marker(tmp) is None:  # failed before the marker
                shutil.rmtree(tmp, ignore_errors=True)
            raise
    if old is not None:
        try:
            shutil.rmtree(old)
        except OSError as exc:
            log.warning("could not remove %s (%s); the next run removes it", old, exc)
    return target


def _swap(target: Path, tmp: Path, found: Survey) -> Path | None:
    """Move the user's entries into ``tmp``, then exchange it with ``target``. Returns
    the folder holding the replaced files (to delete), or None."""
    keep: list[str] = []
    replaced: list[str] = []
    for rel, _ in found.foreign:
        _keep_or_replace(target, tmp, rel, keep, replaced)
    if replaced:
        log.warning("--overwrite: replacing %d file(s) trigc did not write, first %s",
                    len(replaced), target / replaced[0])
    _write_marker(tmp, target, "temp", keep)
    for rel in keep:
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        os.rename(target / rel, tmp / rel)
    if not found.exists:
        os.rename(tmp, target)
        old = None
    else:
        _write_marker(target, target, "old")
        if _exchange(tmp, target):
            old = tmp
        else:
            old = target.with_name(f".{target.name}.old.{os.getpid()}")
            os.rename(target, old)
            os.rename(tmp, target)
    (target / TEMP_MARKER).unlink()
    return old


def _keep_or_replace(target: Path, tmp: Path, rel: str, keep: list, replaced: list) -> None:
    source, dest = target / rel, tmp / rel
    if not os.path.lexists(dest):
        blocked = any(os.path.lexists(tmp / p) and not (tmp / p).is_dir()
                      for p in PurePosixPath(rel).parents if str(p) != ".")
        (replaced if blocked else keep).append(rel)
    elif source.is_dir() and not source.is_symlink() and dest.is_dir() \
            and not dest.is_symlink():
        for child in sorted(os.listdir(source)):
            _keep_or_replace(target, tmp, f"{rel}/{child}", keep, replaced)
    else:
        replaced.append(rel)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where
    the platform or file system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


__all__ = ["MANIFEST", "TEMP_MARKER", "OutputError", "Survey", "atomic_write", "file_sha256",
           "check_target", "fs_error", "output_errors", "read_manifest", "recover",
           "refuse_inputs", "replace_dir", "survey", "write_manifest"]

"""Decision files: per-event trigger bits and raw model outputs, as Parquet or npz.

Columns (one row per event, in event order):

- ``event``: the event's index in the input file;
- ``L1A``: the L1 accept (after prescales);
- ``bit:<name>``: each bit's decision before its prescale, ``prescaled:<name>`` after;
- ``raw:<alias>``: the raw integers of each model output, (N, size), int64; the value
  is ``raw * 2**-frac`` of the output's fixed-point type, stored in the metadata.

Both writers stream: each chunk is appended as it arrives (a Parquet row group; for
npz, one temporary ``.npy`` per column that is zipped, uncompressed, at the end), and
the file appears only when complete (written to a temporary name, then renamed).
Metadata (menu, conditions, types, backend) is JSON in the Parquet schema metadata
(key ``trigc``) or in the npz member ``__trigc__``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from trigc.trigger.errors import EventDataError, OutputError
from trigc.trigger.files import prepare_folder, temp_path
from trigc.trigger.menu import Menu

WRITERS = (".parquet", ".pq", ".npz")
META_KEY = "__trigc__"


def decision_columns(menu: Menu, start: int, raw: list, bits, prescaled, l1a) -> dict:
    columns = {"event": np.arange(start, start + len(bits), dtype=np.int64),
               "L1A": np.asarray(l1a, dtype=bool)}
    for i, name in enumerate(menu.bit_names):
        columns["bit:" + name] = bits[:, i]
        columns["prescaled:" + name] = prescaled[:, i]
    for info, r in zip(menu.outputs, raw):
        columns["raw:" + info.alias] = np.asarray(r, dtype=np.int64).reshape(len(r), -1)
    return columns


def decision_column_names(menu: Menu) -> list:
    names = ["event", "L1A"]
    for name in menu.bit_names:
        names += ["bit:" + name, "prescaled:" + name]
    return names + ["raw:" + o.alias for o in menu.outputs]


def decision_meta(menu: Menu, project, backend: str) -> dict:
    return {
        "project": project.name, "backend": backend, "menu": menu.name,
        "menu_file": menu.source, "accept": menu.accept_text,
        "bits": {b.name: {"condition": b.text, "resolved": b.resolved, "prescale": b.prescale}
                 for b in menu.bits},
        "outputs": {o.alias: {"tensor": o.tensor, "shape": list(o.shape), "type": str(o.type),
                              "frac_bits": o.type.frac_bits} for o in menu.outputs},
    }


def open_writer(path, meta: dict, n_events: int):
    """A streaming writer of the decision file ``path`` (its folder is created)."""
    suffix = Path(path).suffix.lower()
    if suffix not in WRITERS:
        raise EventDataError(f"Decision file {str(path)!r} must end in .parquet or .npz")
    prepare_folder(Path(path).parent, f"--out {str(path)!r}")
    with _write_errors(path):
        return NpzWriter(path, meta, n_events) if suffix == ".npz" else \
            ParquetWriter(path, meta)


@contextlib.contextmanager
def _write_errors(path):
    """Turn an OSError while writing ``path`` (disk full, permissions) into an
    OutputError."""
    try:
        yield
    except OSError as exc:
        raise OutputError(f"Cannot write --out {str(path)!r}: {exc.strerror or exc}; check "
                          "the free space and permissions of its folder") from None


class ParquetWriter:
    def __init__(self, path, meta: dict) -> None:
        self.path, self.meta = Path(path), meta
        self.tmp = temp_path(self.path)
        self.writer = None

    def write(self, columns: dict) -> None:
        with _write_errors(self.path):
            self._write(columns)

    def _write(self, columns: dict) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrays = {}
        for name, values in columns.items():
            if values.ndim == 2:
                flat = pa.array(values.ravel())
                arrays[name] = pa.FixedSizeListArray.from_arrays(flat, values.shape[1])
            else:
                arrays[name] = pa.array(values)
        table = pa.table(arrays)
        if self.writer is None:
            schema = table.schema.with_metadata({"trigc": json.dumps(self.meta)})
            self.writer = pq.ParquetWriter(self.tmp, schema)
        self.writer.write_table(table.replace_schema_metadata(self.writer.schema.metadata))

    def close(self) -> None:
        if self.writer is None:
            self.abort()
            raise EventDataError(f"No events to write to {self.path}")
        try:
            with _write_errors(self.path):
                self.writer.close()
                os.replace(self.tmp, self.path)
        except BaseException:
            self.tmp.unlink(missing_ok=True)
            raise

    def abort(self) -> None:
        if self.writer is not None:
            with contextlib.suppress(OSError):
                self.writer.close()
        self.tmp.unlink(missing_ok=True)


class NpzWriter:
    def __init__(self, path, meta: dict, n_events: int) -> None:
        self.path, self.meta, self.n = Path(path), meta, n_events
        self.dir = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=self.path.parent))
        self.files: dict = {}
        self.written = 0

    def _open(self, name: str, values: np.ndarray):
        fp = open(self.dir / f"{len(self.files)}.npy", "wb")  # noqa: SIM115 (closed in close)
        header = {"descr": np.lib.format.dtype_to_descr(values.dtype), "fortran_order": False,
                  "shape": (self.n, *values.shape[1:])}
        np.lib.format.write_array_header_2_0(fp, header)
        self.files[name] = fp
        return fp

    def write(self, columns: dict) -> None:
        with _write_errors(self.path):
            for name, values in columns.items():
                fp = self.files.get(name) or self._open(name, values)
                fp.write(np.ascontiguousarray(values).tobytes())
        self.written += len(columns["event"])

    def close(self) -> None:
        if self.written != self.n:
            self.abort()
            raise EventDataError(f"{self.path}: wrote {self.written} of {self.n} events")
        try:
            with _write_errors(self.path):
                self._zip()
        finally:
            self.abort()  # the temporary folder (after the rename, only the column files)

    def _zip(self) -> None:
        tmp = self.dir / "out.npz"
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            for name, fp in self.files.items():
                fp.close()
                zf.write(fp.name, f"{name}.npy")
            buf = io.BytesIO()
            np.save(buf, np.array(json.dumps(self.meta)))
            zf.writestr(f"{META_KEY}.npy", buf.getvalue())
        os.replace(tmp, self.path)

    def abort(self) -> None:
        for fp in self.files.values():
            fp.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def read_meta(path) -> dict:
    """The metadata of a decision file ({} when it has none)."""
    path = Path(path)
    if path.suffix.lower() == ".npz":
        with np.load(path) as data:
            return json.loads(str(data[META_KEY])) if META_KEY in data.files else {}
    import pyarrow.parquet as pq

    metadata = pq.read_schema(path).metadata or {}
    return json.loads(metadata[b"trigc"]) if b"trigc" in metadata else {}


__all__ = ["NpzWriter", "ParquetWriter", "decision_column_names", "decision_columns",
           "decision_meta", "open_writer", "read_meta"]

"""Event files, read in ranges of events with bounded memory.

Every reader opens its file per read and keeps no handle, so a reader pickles to a
worker process or a Dask worker and reads its own range there (the file must be
visible at the same path). Formats:

- ``.npy``: one array (N, ...) or a structured array (its fields are columns); read
  with seek + read, never memory-mapped, so a 10M-event file costs one chunk of RSS;
- ``.npz``: one column per member; members stored uncompressed (``np.savez``) are
  read like ``.npy`` at their offset inside the zip; compressed ones
  (``np.savez_compressed``) only stream in order, so the main process reads them;
- HDF5 (``.h5``, ``.hdf5``): every dataset is a column (``group/name`` paths), and
  the fields of a compound dataset are columns ``dataset.field``;
- Parquet (``.parquet``, ``.pq``): numeric columns, and fixed-size list columns as
  (N, k) arrays; streamed in record batches by the main process (row groups cannot be
  entered in the middle, so ranges read elsewhere would decode them many times);
- ROOT (``.root``, via uproot): the branches of a TTree or the fields of an RNTuple
  (``file.root:tree``, or the only one in the file); fixed-size array branches are
  (N, k); jagged branches cannot be model inputs.
"""

from __future__ import annotations

import contextlib
import logging
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trigc.errors import TrigcError
from trigc.trigger.errors import EventDataError

log = logging.getLogger(__name__)

FORMATS = {".npy": "npy", ".npz": "npz", ".h5": "hdf5", ".hdf5": "hdf5", ".hdf": "hdf5",
           ".parquet": "parquet", ".pq": "parquet", ".root": "root"}


@dataclass(frozen=True)
class Column:
    name: str
    length: int
    shape: tuple  # per event; None for a jagged column
    dtype: str


class EventSource:
    """Base class: ``columns`` (name -> Column) and ``read(start, stop, names)``."""

    format = "?"
    parallel_reads = True  # False: only the main process may read, in order

    def __init__(self, path) -> None:
        self.path = str(path)
        self.columns: dict[str, Column] = {}

    def read(self, start: int, stop: int, names) -> dict:
        """Columns ``names`` of events ``start..stop``; a damaged file (truncated,
        corrupt) is an EventDataError, whatever the reading library raised."""
        with damaged_file_errors(self.path, f"events {start}..{stop}"):
            return self._read(start, stop, names)

    def _read(self, start: int, stop: int, names) -> dict:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r}, {len(self.columns)} columns)"


def open_events(path, tree: str | None = None) -> EventSource:
    """The reader for an event file, chosen by its extension (``file.root:tree`` names
    a TTree)."""
    text = str(path)
    if tree is None and ".root:" in text:
        text, tree = text.split(".root:", 1)
        text += ".root"
    kind = FORMATS.get(Path(text).suffix.lower())
    if kind is None:
        raise EventDataError(f"Cannot tell the format of {text!r}; event files are "
                             f"{', '.join(sorted(FORMATS))}")
    if not Path(text).is_file():
        raise EventDataError(f"Event file {text!r} does not exist")
    with damaged_file_errors(text, "the columns"):
        if kind == "root":
            return RootSource(text, tree)
        return {"npy": NpySource, "npz": NpzSource, "hdf5": Hdf5Source,
                "parquet": ParquetSource}[kind](text)


@contextlib.contextmanager
def damaged_file_errors(path: str, what: str):
    """Turn whatever numpy, zipfile, h5py, pyarrow or uproot raise on a truncated or
    corrupt file into one EventDataError line naming the file."""
    try:
        yield
    except TrigcError:
        raise
    except Exception as exc:  # the libraries raise OSError, ValueError, zlib.error, ...
        log.debug("reading %s of %s failed", what, path, exc_info=True)
        raise EventDataError(f"Cannot read {what} of {path!r} ({type(exc).__name__}: "
                             f"{one_line(exc)}); the file looks truncated or damaged: copy or "
                             "write it again") from None


def one_line(exc: BaseException, limit: int = 300) -> str:
    """A library's exception message on one line (uproot's span several), shortened."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "..."


# ---- .npy / .npz --------------------------------------------------------------------

def _npy_header(fp) -> tuple[tuple, np.dtype, bool]:
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fp)
    return np.lib.format.read_array_header_2_0(fp)


class _NpyArray:
    """An .npy array at a byte offset of a file (0 for .npy, the member's for .npz)."""

    def __init__(self, path: str, offset: int, label: str) -> None:
        self.path, self.label = path, label
        with open(path, "rb") as fp:
            fp.seek(offset)
            try:
                shape, fortran, dtype = _npy_header(fp)
            except ValueError as exc:
                raise EventDataError(f"{label}: not a valid .npy array: {one_line(exc)}") from None
            self.data_offset = fp.tell()
        if fortran and len(shape) > 1:
            raise EventDataError(f"{label} is stored in Fortran order; re-save it with "
                                 "np.save(path, np.ascontiguousarray(x))")
        if dtype.hasobject:
            raise EventDataError(f"{label} holds Python objects; save numeric arrays")
        self.shape, self.dtype = tuple(shape), dtype
        self.row_items = int(np.prod(shape[1:])) if len(shape) > 1 else 1

    def read_rows(self, start: int, stop: int) -> np.ndarray:
        count = max(stop - start, 0)
        with open(self.path, "rb") as fp:
            fp.seek(self.data_offset + start * self.row_items * self.dtype.itemsize)
            flat = np.fromfile(fp, dtype=self.dtype, count=count * self.row_items)
        if flat.size != count * self.row_items:
            raise EventDataError(f"{self.label} is truncated: cannot read events "
                                 f"{start}..{stop}")
        return flat.reshape(count, *self.shape[1:])


def _columns_of(array_shape, dtype, name: str) -> dict:
    if not array_shape:
        return {}
    if dtype.names:
        return {f: Column(f, array_shape[0], tuple(dtype[f].shape) + tuple(array_shape[1:]),
                          str(dtype[f].base)) for f in dtype.names}
    return {name: Column(name, array_shape[0], tuple(array_shape[1:]), str(dtype))}


def _split_fields(arr: np.ndarray, name: str, names) -> dict:
    if arr.dtype.names:
        return {f: np.ascontiguousarray(arr[f]) for f in arr.dtype.names if f in names}
    return {name: arr} if name in names else {}


class NpySource(EventSource):
    format = "npy"

    def __init__(self, path) -> None:
        super().__init__(path)
        self.name = Path(path).stem
        self.array = _NpyArray(self.path, 0, self.path)
        self.columns = _columns_of(self.array.shape, self.array.dtype, self.name)

    def _read(self, start, stop, names) -> dict:
        return _split_fields(self.array.read_rows(start, stop), self.name, names)


def _member_offset(path: str, info: zipfile.ZipInfo) -> int:
    """Where a stored member's bytes start: after its local header, whose extra field
    may differ from the central directory's."""
    with open(path, "rb") as fp:
        fp.seek(info.header_offset)
        header = fp.read(30)
    if header[:4] != b"PK\x03\x04":
        raise EventDataError(f"{path}: corrupt zip local header for {info.filename}")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_len + extra_len


class _CompressedMember:
    """A deflated .npz member, streamed in order (seeking back reopens it)."""

    def __init__(self, path: str, member: str) -> None:
        self.path, self.member = path, member
        with zipfile.ZipFile(path) as zf, zf.open(member) as fp:
            self.shape, _, self.dtype = _npy_header(fp)
        self.row_bytes = int(np.prod(self.shape[1:], dtype=np.int64)) * self.dtype.itemsize
        self._stream = None

    def __getstate__(self):
        return {**self.__dict__, "_stream": None}

    def read_rows(self, start: int, stop: int) -> np.ndarray:
        if self._stream is None or self._stream[2] > start:
            zf = zipfile.ZipFile(self.path)
            fp = zf.open(self.member)
            _npy_header(fp)
            self._stream = [zf, fp, 0]
        zf, fp, cursor = self._stream
        skip = (start - cursor) * self.row_bytes
        while skip > 0:
            skip -= len(fp.read(min(skip, 1 << 24)))
        data = fp.read((stop - start) * self.row_bytes)
        self._stream[2] = stop
        return np.frombuffer(data, dtype=self.dtype).reshape(stop - start, *self.shape[1:])


class NpzSource(EventSource):
    format = "npz"

    def __init__(self, path) -> None:
        super().__init__(path)
        self.members: dict[str, object] = {}
        try:
            with zipfile.ZipFile(self.path) as zf:
                infos = [i for i in zf.infolist() if i.filename.endswith(".npy")]
        except zipfile.BadZipFile as exc:
            raise EventDataError(f"{self.path} is not a valid .npz file: {one_line(exc)}") from None
        for info in infos:
            key = info.filename[:-4]
            if info.compress_type == zipfile.ZIP_STORED:
                member = _NpyArray(self.path, _member_offset(self.path, info),
                                   f"{self.path}[{key}]")
            else:
                member = _CompressedMember(self.path, info.filename)
                self.parallel_reads = False
            self.members[key] = member
            self.columns.update(_columns_of(member.shape, member.dtype, key))
        self._owner = {c: key for key, m in self.members.items()
                       for c in _columns_of(m.shape, m.dtype, key)}

    def _read(self, start, stop, names) -> dict:
        out = {}
        for key in dict.fromkeys(self._owner[n] for n in names):
            out.update(_split_fields(self.members[key].read_rows(start, stop), key, names))
        return out


# ---- HDF5 -----------------------------------------------------------------------------

class Hdf5Source(EventSource):
    format = "hdf5"

    def __init__(self, path) -> None:
        super().__init__(path)
        import h5py

        self._fields: dict[str, tuple[str, str | None]] = {}
        try:
            with h5py.File(self.path, "r") as f:
                f.visititems(self._visit)
        except OSError as exc:
            raise EventDataError(f"Cannot read HDF5 file {self.path!r}: {one_line(exc)}") from None

    def _visit(self, name, obj) -> None:
        import h5py

        if not isinstance(obj, h5py.Dataset) or obj.ndim == 0:
            return
        for col in _columns_of(obj.shape, obj.dtype, name).values():
            field = col.name if obj.dtype.names else None
            key = f"{name}.{col.name}" if field else name
            self.columns[key] = Column(key, col.length, col.shape, col.dtype)
            self._fields[key] = (name, field)

    def _read(self, start, stop, names) -> dict:
        import h5py

        out = {}
        with h5py.File(self.path, "r") as f:
            for name in names:
                dataset, field = self._fields[name]
                data = f[dataset][start:stop]
                out[name] = np.ascontiguousarray(data[field]) if field else data
        return out


# ---- Parquet ----------------------------------------------------------------------------

def _arrow_to_numpy(array, name: str, path: str) -> np.ndarray:
    import pyarrow as pa

    array = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
    if pa.types.is_fixed_size_list(array.type) or pa.types.is_list(array.type):
        values = array.flatten().to_numpy(zero_copy_only=False)
        if len(array) == 0:
            return values.reshape(0, 0)
        width, rem = divmod(len(values), len(array))
        offsets = np.asarray(array.offsets) if pa.types.is_list(array.type) else None
        if rem or (offsets is not None and np.any(np.diff(offsets) != width)):
            raise EventDataError(f"{path}: column {name!r} has lists of different lengths; "
                                 "model inputs need the same number of values in every event")
        return values.reshape(len(array), width)
    return array.to_numpy(zero_copy_only=False)


class ParquetSource(EventSource):
    """Row groups can be large (a million rows) and cannot be entered in the middle, so
    the main process decodes the file once, in order, and ships chunks to workers."""

    format = "parquet"
    parallel_reads = False

    def __init__(self, path) -> None:
        super().__init__(path)
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(self.path)
        except (OSError, pa.ArrowException) as exc:
            raise EventDataError(f"Cannot read Parquet file {self.path!r}: "
                                 f"{one_line(exc)}") from None
        self.row_groups = [pf.metadata.row_group(i).num_rows
                           for i in range(pf.metadata.num_row_groups)]
        n = pf.metadata.num_rows
        first = next(pf.iter_batches(batch_size=1), None)
        for field in pf.schema_arrow:
            kind = field.type
            if pa.types.is_fixed_size_list(kind):
                shape, dtype = (kind.list_size,), kind.value_type
            elif pa.types.is_list(kind):
                width = len(first.column(field.name)[0]) if first is not None else 0
                shape, dtype = (width,), kind.value_type
            else:
                shape, dtype = (), kind
            self.columns[field.name] = Column(field.name, n, shape, str(dtype))

    def __getstate__(self):
        return {**self.__dict__, "_stream": None}

    def _open_stream(self, start: int, names: tuple) -> dict:
        import pyarrow.parquet as pq

        first_row, group = 0, 0
        while group < len(self.row_groups) and first_row + self.row_groups[group] <= start:
            first_row += self.row_groups[group]
            group += 1
        # column chunks streamed through a 1 MB buffer, not read whole (a row group of
        # a million events would otherwise sit in memory, compressed and decoded)
        pf = pq.ParquetFile(self.path, buffer_size=1 << 20, pre_buffer=False)
        # one row group at a time: asked for several, pyarrow pre-buffers all of them
        batches = (batch for g in range(group, len(self.row_groups))
                   for batch in pf.iter_batches(batch_size=65536, columns=list(names),
                                                row_groups=[g]))
        return {"batches": batches, "row": first_row, "names": names, "pending": None}

    def _read(self, start, stop, names) -> dict:
        """Stream in order (each row decoded once); reading backwards reopens the file."""
        import pyarrow as pa

        names = tuple(names)
        stream = getattr(self, "_stream", None)
        if stream is None or stream["row"] > start or stream["names"] != names:
            stream = self._stream = self._open_stream(start, names)
        parts = []
        while stream["row"] < stop:
            batch = stream["pending"] or next(stream["batches"], None)
            stream["pending"] = None
            if batch is None:
                break
            row = stream["row"]
            lo, hi = max(start - row, 0), min(stop - row, batch.num_rows)
            if hi > lo:
                parts.append(batch.slice(lo, hi - lo))
            if hi < batch.num_rows:  # the rest of this batch belongs to the next read
                stream["pending"], stream["row"] = batch.slice(hi), row + hi
            else:
                stream["row"] = row + batch.num_rows
        table = pa.Table.from_batches(parts) if parts else None
        return {n: _arrow_to_numpy(table.column(n), n, self.path) if table is not None
                else np.zeros((0, *self.columns[n].shape)) for n in names}


# ---- ROOT ------------------------------------------------------------------------------

class RootSource(EventSource):
    """A TTree (or an RNTuple, which recent uproot writes by default)."""

    format = "root"
    KINDS = ("TTree", "ROOT::RNTuple")

    def __init__(self, path, tree: str | None = None) -> None:
        super().__init__(path)
        import uproot

        try:
            f = uproot.open(self.path)
        except (OSError, ValueError) as exc:
            raise EventDataError(f"Cannot read ROOT file {self.path!r}: {one_line(exc)}") from None
        with f:
            trees = [k.split(";")[0] for k, c in f.classnames().items() if c in self.KINDS]
            if tree is None:
                if len(trees) != 1:
                    raise EventDataError(f"{self.path} has {len(trees)} trees {trees}; name "
                                         f"one as {self.path}:TREE or with --tree")
                tree = trees[0]
            if tree not in trees:
                raise EventDataError(f"{self.path} has no TTree {tree!r}; its trees are "
                                     f"{trees}")
            t = f[tree]
            n = int(t.num_entries)
            probe = t.arrays(t.keys(), entry_stop=min(n, 1), library="np")
        for name, values in probe.items():
            values = np.asarray(values)
            jagged = values.dtype == object
            self.columns[name] = Column(name, n, None if jagged else values.shape[1:],
                                        "jagged" if jagged else str(values.dtype))
        self.tree = tree

    def _read(self, start, stop, names) -> dict:
        import uproot

        with uproot.open(self.path) as f:
            arrays = f[self.tree].arrays(list(names), entry_start=start, entry_stop=stop,
                                         library="np")
        return {n: np.asarray(arrays[n]) for n in names}


__all__ = ["FORMATS", "Column", "EventSource", "Hdf5Source", "NpySource", "NpzSource",
           "ParquetSource", "RootSource", "open_events"]

"""Event readers: every format gives the same events and so the same decisions."""

import awkward as ak
import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import uproot

from trigc.trigger import EventDataError, emulate_events, open_events
from trigc.trigger.inputs import parse_map, plan_inputs

FEATURES = [f"f{i}" for i in range(16)]
N = 3000


@pytest.fixture(scope="module")
def sample(events):
    _, x, labels = events
    return x[:N], labels[:N]


def write_format(kind: str, directory, x, labels):
    """One event file per format; returns (path, mapping, label column)."""
    columns = {f: x[:, i] for i, f in enumerate(FEATURES)}
    if kind == "npy":
        path = directory / "x.npy"
        np.save(path, x)
        return path, {}, None
    if kind == "npy-structured":
        path = directory / "jets.npy"
        table = np.zeros(len(x), dtype=[(f, "f4") for f in FEATURES] + [("label", "i8")])
        for f in FEATURES:
            table[f] = columns[f]
        table["label"] = labels
        np.save(path, table)
        return path, {"x": tuple(FEATURES)}, "label"
    if kind == "npz-compressed":
        path = directory / "jets.npz"
        np.savez_compressed(path, x=x, label=labels)
        return path, {}, "label"
    if kind == "hdf5":
        path = directory / "jets.h5"
        with h5py.File(path, "w") as f:
            f["jets/features"] = x
            f["jets/label"] = labels
        return path, {"x": "jets/features"}, "jets/label"
    if kind == "hdf5-compound":
        path = directory / "table.hdf5"
        table = np.zeros(len(x), dtype=[(f, "f4") for f in FEATURES] + [("label", "i4")])
        for f in FEATURES:
            table[f] = columns[f]
        table["label"] = labels
        with h5py.File(path, "w") as f:
            f.create_dataset("events", data=table, chunks=True)
        return path, {"x": tuple(f"events.{c}" for c in FEATURES)}, "events.label"
    if kind == "parquet":
        path = directory / "jets.parquet"
        pq.write_table(pa.table({**columns, "label": labels}), path, row_group_size=700)
        return path, {"x": tuple(FEATURES)}, "label"
    if kind == "parquet-list":
        path = directory / "list.parquet"
        values = pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), 16)
        pq.write_table(pa.table({"features": values, "label": labels}), path,
                       row_group_size=1000)
        return path, {"x": "features"}, "label"
    if kind == "root-ttree":
        path = directory / "jets.root"
        with uproot.recreate(path) as f:
            f.mktree("Events", {**{c: np.float32 for c in FEATURES}, "label": np.int64})
            f["Events"].extend({**columns, "label": labels})
        return path, {"x": tuple(FEATURES)}, "label"
    if kind == "root-array-branch":
        path = directory / "arr.root"
        with uproot.recreate(path) as f:
            f.mktree("t", {"x": (np.float32, (16,)), "label": np.int64})
            f["t"].extend({"x": x, "label": labels})
        return path, {}, "label"
    raise AssertionError(kind)


def decisions(path) -> dict:
    source = open_events(path)
    return source.read(0, source.columns["event"].length, list(source.columns))


@pytest.fixture(scope="module")
def reference(project, menu_file, sample, tmp_path_factory):
    x, labels = sample
    directory = tmp_path_factory.mktemp("ref")
    np.savez(directory / "ref.npz", x=x, label=labels)
    result = emulate_events(project, directory / "ref.npz", menu_file,
                            out=directory / "ref.npz.decisions.npz")
    return decisions(directory / "ref.npz.decisions.npz"), result


KINDS = ["npy", "npy-structured", "npz-compressed", "hdf5", "hdf5-compound", "parquet",
         "parquet-list", "root-ttree", "root-array-branch"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_format_gives_identical_decisions(kind, project, menu_file, sample, reference,
                                                tmp_path):
    x, labels = sample
    path, mapping, label_col = write_format(kind, tmp_path, x, labels)
    out = tmp_path / "decisions.parquet"
    workers = 2 if kind == "npz-compressed" else 1  # compressed npz: read by the main process
    result = emulate_events(project, path, menu_file, out=out, mapping=mapping,
                            labels=label_col, chunk_size=1100, workers=workers)
    expected, ref_result = reference
    got = decisions(out)
    assert got.keys() == expected.keys()
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
    if label_col is not None:
        assert result.stats.to_dict() == ref_result.stats.to_dict()


@pytest.mark.parametrize("kind", KINDS)
def test_range_reads_equal_slices(kind, sample, tmp_path):
    x, labels = sample
    path, mapping, _ = write_format(kind, tmp_path, x, labels)
    source = open_events(path)
    cols = mapping.get("x", "x")
    cols = (cols,) if isinstance(cols, str) else cols
    data = source.read(1234, 2345, list(cols))
    got = np.concatenate([np.asarray(data[c]).reshape(1111, -1) for c in cols], axis=1)
    np.testing.assert_array_equal(got, x[1234:2345])


def test_npz_stored_members_are_read_in_place(tmp_path, sample):
    x, labels = sample
    np.savez(tmp_path / "a.npz", x=x, label=labels)
    source = open_events(tmp_path / "a.npz")
    assert source.parallel_reads  # workers read their own ranges
    np.savez_compressed(tmp_path / "b.npz", x=x, label=labels)
    assert not open_events(tmp_path / "b.npz").parallel_reads


def test_mapping_errors_say_what_to_write(project, tmp_path, sample):
    x, labels = sample
    path, _, _ = write_format("parquet", tmp_path, x, labels)
    source = open_events(path)
    with pytest.raises(EventDataError, match=r"Cannot tell which columns .* feed model input "
                                             r"'x' \(16 values per event\); map them with "
                                             r"--map x=COLUMN"):
        plan_inputs(source, project.graph.inputs)
    with pytest.raises(EventDataError, match=r"column 'f99', which .* does not have \(did "
                                             r"you mean 'f9'\?\)"):
        plan_inputs(source, project.graph.inputs, {"x": ("f1", "f99")})
    with pytest.raises(EventDataError, match=r"takes 16 values per event \(shape \(16,\)\), "
                                             r"but columns \['f0', 'f1'\] give 2"):
        plan_inputs(source, project.graph.inputs, {"x": ("f0", "f1")})
    with pytest.raises(EventDataError, match=r"names \['y'\], which are not model inputs"):
        plan_inputs(source, project.graph.inputs, {"y": "f0"})
    with pytest.raises(EventDataError, match=r"Label column 'labels' is not in .*did you "
                                             r"mean 'label'"):
        plan_inputs(source, project.graph.inputs, {"x": tuple(FEATURES)}, "labels")
    assert parse_map(["x=a,b", "y=c"]) == {"x": ("a", "b"), "y": "c"}
    with pytest.raises(EventDataError, match="--map takes INPUT=COLUMN"):
        parse_map(["x"])


def test_jagged_branches_and_bad_files_are_clear(project, tmp_path):
    path = tmp_path / "jagged.root"
    with uproot.recreate(path) as f:
        f.mktree("t", {"pt": "var * float32"})
        f["t"].extend({"pt": ak.Array([[1.0] * (i % 3) for i in range(16)])})
    with pytest.raises(EventDataError, match="'pt' .* is jagged"):
        plan_inputs(open_events(path), project.graph.inputs, {"x": "pt"})
    with pytest.raises(EventDataError, match="does not exist"):
        open_events(tmp_path / "missing.parquet")
    with pytest.raises(EventDataError, match="Cannot tell the format"):
        open_events(tmp_path / "events.csv")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(EventDataError, match="not a valid .npz"):
        open_events(tmp_path / "bad.npz")

"""The data set fingerprint: list files, counts, bytes on disk, the prepare options; copies that differ differ."""

import hashlib
import json

from slowfast.datasets.video_list import PREPARE_OPTIONS_FILENAME, dataset_fingerprint


def _copy(folder, train_lines, video_bytes=10):
    folder.mkdir()
    (folder / "train.csv").write_text("".join(f"{name} 0\n" for name in train_lines))
    (folder / "val.csv").write_bytes(b"d.mp4 0\n")
    for name in [*train_lines, "d.mp4"]:
        (folder / name).write_bytes(b"x" * video_bytes)
    return str(folder)


def test_dataset_fingerprint(tmp_path):
    train = b"a/1.mp4 0\nb/2.mp4 1\n\nc/3.mp4 2\n"
    (tmp_path / "train.csv").write_bytes(train)
    (tmp_path / "val.csv").write_bytes(b"d/4.mp4 0\n")
    fingerprint = dataset_fingerprint(str(tmp_path), str(tmp_path))
    assert set(fingerprint) == {"train", "val", "encoding", "covers", "digest"}
    assert fingerprint["train"] == {"videos": 3, "sha256": hashlib.sha256(train).hexdigest(), "bytes": 0, "missing": 3}
    assert fingerprint["val"]["videos"] == 1 and fingerprint["encoding"] is None
    assert "labels" in fingerprint["covers"]


def test_copies_that_differ_have_different_fingerprints(tmp_path):
    full = dataset_fingerprint(*[_copy(tmp_path / "full", ["a.mp4", "b.mp4"])] * 2)
    same = dataset_fingerprint(*[_copy(tmp_path / "same", ["a.mp4", "b.mp4"])] * 2)
    missing = dataset_fingerprint(*[_copy(tmp_path / "missing", ["a.mp4"])] * 2)
    reencoded = dataset_fingerprint(*[_copy(tmp_path / "reencoded", ["a.mp4", "b.mp4"], video_bytes=7)] * 2)
    prepared = tmp_path / "prepared"
    _copy(prepared, ["a.mp4", "b.mp4"])
    (prepared / PREPARE_OPTIONS_FILENAME).write_text(json.dumps({"options": {"reencode_short_side": 320}}))
    options = dataset_fingerprint(str(prepared), str(prepared))
    assert full["digest"] == same["digest"]
    assert len({full["digest"], missing["digest"], reencoded["digest"], options["digest"]}) == 4
    assert reencoded["train"]["bytes"] == 14 and options["encoding"] == {"reencode_short_side": 320}

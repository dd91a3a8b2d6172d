"""The data set fingerprint read from the list files."""

import hashlib

from slowfast.datasets.video_list import dataset_fingerprint


def test_dataset_fingerprint(tmp_path):
    train = b"a/1.mp4 0\nb/2.mp4 1\n\nc/3.mp4 2\n"
    (tmp_path / "train.csv").write_bytes(train)
    (tmp_path / "val.csv").write_bytes(b"d/4.mp4 0\n")
    fingerprint = dataset_fingerprint(str(tmp_path))
    assert set(fingerprint) == {"train", "val"}
    assert fingerprint["train"] == {"videos": 3, "sha256": hashlib.sha256(train).hexdigest()}
    assert fingerprint["val"]["videos"] == 1

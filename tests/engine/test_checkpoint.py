"""Checkpoints are written atomically and a partial or corrupt file is never resumed from."""

import os

import pytest
import torch

from slowfast.engine import checkpoint as ckpt


def _state(value):
    return {"epoch": value, "model_state": {"w": torch.full((3,), float(value))}, "clock": {"elapsed_s": 1.5}}


def test_save_writes_file_and_pointer(tmp_path):
    path = ckpt.save_checkpoint(str(tmp_path), 2, _state(2))
    assert os.path.basename(path) == "checkpoint_epoch_00002.pyth"
    with open(tmp_path / "checkpoints" / "last_checkpoint") as f:
        assert f.read() == "checkpoint_epoch_00002.pyth"
    loaded = ckpt.load_checkpoint_file(path)
    assert loaded["epoch"] == 2 and torch.equal(loaded["model_state"]["w"], torch.full((3,), 2.0))
    assert ckpt.find_resume_checkpoint(str(tmp_path)) == path
    assert sorted(os.listdir(tmp_path / "checkpoints")) == ["checkpoint_epoch_00002.pyth", "last_checkpoint"]


def test_no_checkpoint_means_no_resume(tmp_path):
    assert ckpt.find_resume_checkpoint(str(tmp_path)) is None


def test_write_killed_midway_keeps_previous_checkpoint(tmp_path, monkeypatch):
    good = ckpt.save_checkpoint(str(tmp_path), 1, _state(1))

    def dies_halfway(obj, f):
        f.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt  # what a kill looks like from inside the write

    monkeypatch.setattr(torch, "save", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save_checkpoint(str(tmp_path), 2, _state(2))
    monkeypatch.undo()
    assert not os.path.exists(ckpt.checkpoint_path(str(tmp_path), 2))
    assert [f for f in os.listdir(tmp_path / "checkpoints") if f.endswith(".tmp")] == []
    assert ckpt.find_resume_checkpoint(str(tmp_path)) == good


def test_corrupt_newest_file_and_leftover_temp_are_skipped(tmp_path):
    good = ckpt.save_checkpoint(str(tmp_path), 1, _state(1))
    folder = tmp_path / "checkpoints"
    # A file cut short (e.g. a disk that lost the tail) named as the newest checkpoint, the pointer at it,
    # and a temp file left by a SIGKILL during torch.save.
    (folder / "checkpoint_epoch_00002.pyth").write_bytes(open(good, "rb").read()[:100])
    (folder / "last_checkpoint").write_text("checkpoint_epoch_00002.pyth")
    (folder / ".checkpoint_epoch_00003.pyth.abc.tmp").write_bytes(b"garbage")
    assert ckpt.find_resume_checkpoint(str(tmp_path)) == good


def test_pyslowfast_file_initialises_model(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(3, 2))
    foreign = {"model_state": {f"module.{k}": v + 1 for k, v in model.state_dict().items()}, "epoch": 196}
    path = tmp_path / "x3d_m.pyth"
    torch.save(foreign, path)
    target = torch.nn.Sequential(torch.nn.Linear(3, 2))
    ckpt.initialise_model_from_file(target, str(path))
    for key, value in model.state_dict().items():
        assert torch.equal(target.state_dict()[key], value + 1)

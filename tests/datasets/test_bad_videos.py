"""Broken files are counted, replaced in training, reported (never substituted) in evaluation, never fatal."""

import pytest
from conftest import small_cfg, write_csv

from slowfast.config import load_config
from slowfast.datasets.bad_videos import BadVideoTracker, TooManyBadVideos
from slowfast.datasets.build import build_dataset
from slowfast.datasets.loader import build_loader, set_loader_epoch
from slowfast.utils.errors import UserError


def _run_epoch(loader, tracker, epoch=0):
    set_loader_epoch(loader, epoch)
    batches = list(loader)
    for _, _, _, meta in batches:
        tracker.update(meta)
    return batches


@pytest.mark.parametrize("workers", [0, 2])
def test_train_replaces_and_counts_broken_files(tiny_dataset, workers):
    folder, good, broken = tiny_dataset
    write_csv(folder, "train", good + broken)
    cfg = small_cfg(folder, ["DATA_LOADER.NUM_WORKERS", str(workers), "DATA.MAX_BAD_FRACTION", "0.9"])
    loader = build_loader(cfg, "train")
    tracker = BadVideoTracker(loader.dataset.num_videos, cfg.DATA.MAX_BAD_FRACTION, "train")
    batches = _run_epoch(loader, tracker)
    assert len(batches) == len(good + broken) // cfg.TRAIN.BATCH_SIZE
    for inputs, labels, index, meta in batches:
        assert inputs[0].shape == (2, 3, 4, 32, 32) and bool(meta["valid"].all())
        # A replacement brings its own label: only good videos (labels 0..3) reach the model.
        assert int(labels.max()) < len(good) and labels.tolist() == index.tolist()
    assert tracker.summary()["count"] == len(broken)
    assert {p.rsplit("/", 1)[-1] for p in tracker.summary()["paths"]} == set(broken)
    tracker.check()


@pytest.mark.parametrize("workers", [0, 2])
def test_eval_reports_broken_files_as_invalid_zero_clips(tiny_dataset, workers):
    folder, good, broken = tiny_dataset
    write_csv(folder, "val", good + broken)
    cfg = small_cfg(folder, ["DATA_LOADER.NUM_WORKERS", str(workers)])
    loader = build_loader(cfg, "val")
    tracker = BadVideoTracker(loader.dataset.num_videos, cfg.DATA.MAX_BAD_FRACTION, "val")
    batches = _run_epoch(loader, tracker)
    valid = [v for _, _, _, meta in batches for v in meta["valid"].tolist()]
    names = [p.rsplit("/", 1)[-1] for _, _, _, meta in batches for p in meta["path"]]
    labels = [lab for _, labels, _, _ in batches for lab in labels.tolist()]
    assert names == good + broken and labels == list(range(len(names)))
    assert valid == [True] * len(good) + [False] * len(broken)
    for inputs, _, _, meta in batches:
        invalid = ~meta["valid"]
        assert float(inputs[0][invalid].abs().sum()) == 0.0
    assert tracker.summary()["count"] == len(broken)
    with pytest.raises(RuntimeError, match="too_short.mp4"):
        tracker.check()


def test_too_short_threshold_and_short_videos_repeat_last_frame(tiny_dataset):
    folder, good, _ = tiny_dataset
    write_csv(folder, "test", good[:1])
    # A clip spans 8 frames at 30 fps; 40 frames are enough, so force a longer span to make it short.
    cfg = small_cfg(folder, ["DATA.SAMPLING_RATE", "16"])  # span 64 frames: 40/64 >= 0.5, still good
    frames, _, _, meta = build_dataset("kinetics", cfg, "test")[0]
    assert meta["valid"]
    assert frames[0][:, -1].equal(frames[0][:, -2])
    strict = small_cfg(folder, ["DATA.SAMPLING_RATE", "16", "DATA.MIN_CLIP_COVERAGE", "0.8"])
    assert not build_dataset("kinetics", strict, "test")[0][3]["valid"]


def test_pyslowfast_default_keeps_a_two_frame_video_and_repeats_its_last_frame(tiny_dataset):
    folder, _, _ = tiny_dataset
    write_csv(folder, "test", ["too_short.mp4"])
    cfg = small_cfg(folder, ["DATA.MIN_CLIP_COVERAGE", "0.0"])
    assert load_config(None).DATA.MIN_CLIP_COVERAGE == 0.0  # the default is PySlowFast's rule
    frames, _, _, meta = build_dataset("kinetics", cfg, "test")[0]
    assert meta["valid"]
    assert all(frames[0][:, t].equal(frames[0][:, -1]) for t in range(1, frames[0].shape[1]))


def test_tracker_counts_per_epoch_and_keeps_a_run_total_across_a_resume():
    tracker = BadVideoTracker(100, 0.5, "train")
    tracker.update({"bad_paths": ["a.mp4", "b.mp4"]})
    assert tracker.summary()["count"] == 2 and tracker.summary()["run_total"] == 2
    tracker.end_epoch()
    tracker.update({"bad_paths": ["b.mp4", "c.mp4"]})
    assert tracker.summary()["count"] == 2 and tracker.summary()["run_total"] == 3
    tracker.end_epoch()
    resumed = BadVideoTracker(100, 0.5, "train")
    resumed.restore_run_paths(tracker.run_paths())
    resumed.update({"bad_paths": ["d.mp4"]})
    assert resumed.summary()["count"] == 1 and resumed.summary()["run_total"] == 4


def test_tracker_merges_states_of_ranks():
    rank0, rank1 = BadVideoTracker(100, 0.02, "train"), BadVideoTracker(100, 0.02, "train")
    rank0.update({"bad_paths": ["a.mp4", "b.mp4"]})
    rank1.update({"bad_paths": ["b.mp4", "c.mp4"]})
    rank0.merge([rank0.state(), rank1.state()])
    assert rank0.summary() == {"count": 3, "paths": ["a.mp4", "b.mp4", "c.mp4"], "run_total": 3}
    with pytest.raises(TooManyBadVideos, match="a.mp4, b.mp4, c.mp4") as stopped:
        rank0.check()
    assert isinstance(stopped.value, UserError)  # a data problem: one error: line, no traceback

"""Tests of the synthetic Kinetics-format generator: files, counts, determinism, shapes and motions."""

import hashlib
import importlib.util
import json
import os

import av
import numpy as np
import pytest

from slowfast.datasets import synthetic
from slowfast.datasets.synthetic import (
    MOTIONS,
    SHAPES,
    DataFolderError,
    SyntheticSpec,
    class_names,
    make_synthetic_dataset,
    render_video,
    sample_video_spec,
    shape_signed_distance,
    video_rng,
)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def decode_rgb(path):
    """All frames of a video as (T, H, W, 3) uint8."""
    with av.open(path) as container:
        return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])


def read_csv(path):
    """(relative path, label) pairs of a PySlowFast CSV."""
    with open(path) as handle:
        return [(name, int(label)) for name, label in (line.split(" ") for line in handle.read().splitlines())]


def folder_hashes(folder):
    """sha256 of every file under ``folder``, keyed by relative path."""
    hashes = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                hashes[os.path.relpath(path, folder)] = hashlib.sha256(handle.read()).hexdigest()
    return hashes


def tiny_dataset(out_dir, counts=(2, 1, 1), workers=1, **overrides):
    """A very small dataset (4 classes, 48x32, 8 frames); ``overrides``: other ``SyntheticSpec`` values."""
    train, val, test = counts
    settings = dict(width=48, height=32, fps=8, seconds=1.0, gop=4, seed=0, num_classes=4)
    spec = SyntheticSpec(train_per_class=train, val_per_class=val, test_per_class=test, **dict(settings, **overrides))
    return make_synthetic_dataset(spec, out_dir=str(out_dir), workers=workers, progress=False)


def test_csv_counts_classes_and_decoding(tmp_path):
    summary = tiny_dataset(tmp_path, num_classes=20, counts=(2, 1, 0))
    names = class_names(20)
    assert (tmp_path / "classes.txt").read_text().splitlines() == names
    expected = {"train": 2, "val": 1, "test": 1}
    for split, per_class in expected.items():
        rows = read_csv(tmp_path / f"{split}.csv")
        labels = [label for _, label in rows]
        assert sorted(set(labels)) == list(range(20))
        assert all(labels.count(label) == per_class for label in range(20))
        for relative, label in rows:
            assert relative.startswith("videos/") and names[label] in relative
    # No test videos requested: test.csv repeats val.csv, the Kinetics convention.
    assert (tmp_path / "test.csv").read_text() == (tmp_path / "val.csv").read_text()
    videos = sorted(os.listdir(tmp_path / "videos"))
    assert len(videos) == summary["num_videos"] == 60
    for name in videos:
        with av.open(str(tmp_path / "videos" / name)) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264"
            frames = list(container.decode(video=0))
        assert len(frames) == 8 and (frames[0].width, frames[0].height) == (48, 32)
    record = json.loads((tmp_path / "dataset.json").read_text())
    assert record["counts"]["train"] == [2] * 20 and record["num_frames"] == 8


@pytest.mark.slow
def test_same_seed_same_videos_in_any_worker_count(tmp_path):
    """Same seed: the same files byte for byte, in one process or two; another seed: other pictures."""
    for name, seed, workers in (("a", 3, 1), ("b", 3, 2), ("c", 4, 1)):
        tiny_dataset(tmp_path / name, seed=seed, workers=workers)
    first, second = (folder_hashes(tmp_path / name) for name in "ab")
    listings = [name for name in first if not name.startswith("videos")]
    assert sorted(listings) == ["classes.txt", "dataset.json", "test.csv", "train.csv", "val.csv"]
    assert first == second
    videos = sorted(name for name in first if name.startswith("videos"))
    assert len(videos) == 16
    for name in videos:
        frames_a, frames_c = (decode_rgb(str(tmp_path / run / name)).astype(np.float32) for run in "ac")
        assert np.abs(frames_a - frames_c).mean() > 10, name


def test_shapes_are_flip_symmetric_and_distinct():
    size = 41
    offsets = np.arange(size, dtype=np.float32) - size // 2
    dy, dx = offsets[:, None], offsets[None, :]
    masks = {shape: shape_signed_distance(shape, dy, dx, 15.0) < 0 for shape in SHAPES}
    for shape, mask in masks.items():
        assert mask.sum() > 100, shape
        assert np.array_equal(mask, mask[:, ::-1]), shape
    for index, first in enumerate(SHAPES):
        for second in SHAPES[index + 1 :]:
            overlap = (masks[first] & masks[second]).sum() / (masks[first] | masks[second]).sum()
            assert overlap < 0.85, (first, second, overlap)


def object_mask(frames, background):
    """Pixels whose colour is far from the known background."""
    return np.abs(frames.astype(np.float32) - background[None]).sum(axis=-1) > 60


def test_decoded_videos_show_each_class_motion(tmp_path):
    """Measure the object's centroid and area in the decoded mp4 of every class; check the class motion."""
    width, height, fps, seconds = 96, 72, 8, 2.0
    tiny_dataset(
        tmp_path, (1, 0, 0), width=width, height=height, fps=fps, seconds=seconds, gop=8, seed=11, num_classes=20
    )
    for label, name in enumerate(class_names(20)):
        decoded = decode_rgb(str(tmp_path / "videos" / f"train_{name}_000.mp4"))
        spec = sample_video_spec(video_rng(11, "train", label, 0), label, width, height, len(decoded))
        _, coverage = render_video(spec)
        mask = object_mask(decoded, spec.background)
        truth = coverage > 0.5
        # Not higher: H.264 at crf 23 and 4:2:0 chroma blur the edges of these small objects.
        iou = (mask & truth).sum() / (mask | truth).sum()
        assert iou > 0.65, (name, iou)
        area = mask.sum(axis=(1, 2))
        rows = np.arange(height)[None, :, None]
        centroid_y = (mask * rows).sum(axis=(1, 2)) / area
        shift, growth = centroid_y[-1] - centroid_y[0], area[-1] / area[0]
        motion = MOTIONS[label % len(MOTIONS)]
        if motion == "moving_up":
            assert shift < -0.2 * height and 0.7 < growth < 1.4, (name, shift, growth)
        elif motion == "moving_down":
            assert shift > 0.2 * height and 0.7 < growth < 1.4, (name, shift, growth)
        elif motion == "growing":
            assert growth > 2.5 and abs(shift) < 0.1 * height, (name, shift, growth)
        else:
            assert growth < 0.4 and abs(shift) < 0.1 * height, (name, shift, growth)


def test_rejects_odd_sizes(tmp_path):
    with pytest.raises(ValueError, match="even"):
        tiny_dataset(tmp_path, width=47)


def test_command_line_tool(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        "make_tool", os.path.join(REPO_ROOT, "tools", "make_synthetic_dataset.py")
    )
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert (
        tool.main(
            [
                "--out",
                str(tmp_path),
                "--size",
                "32x16",
                "--fps",
                "4",
                "--seconds",
                "1",
                "--videos-per-class",
                "1",
                "1",
                "0",
                "--classes",
                "2",
                "--seed",
                "5",
            ]
        )
        == 0
    )
    assert "wrote 4 videos" in capsys.readouterr().out
    assert read_csv(tmp_path / "train.csv") == [
        ("videos/train_disc_moving_up_000.mp4", 0),
        ("videos/train_disc_moving_down_000.mp4", 1),
    ]
    record = json.loads((tmp_path / "dataset.json").read_text())
    assert (record["width"], record["height"], record["seed"]) == (32, 16, 5)


def test_generator_never_overwrites_a_folder_holding_the_users_data(tmp_path):
    data = tmp_path / "my_kinetics"
    (data / "videos").mkdir(parents=True)
    (data / "train.csv").write_text("videos/train_disc_moving_up_000.mp4 0\n")
    (data / "videos" / "train_disc_moving_up_000.mp4").write_bytes(b"my own video")
    before = folder_hashes(data)
    with pytest.raises(DataFolderError, match=f"{data} holds files the synthetic generator did not make"):
        tiny_dataset(data)
    assert folder_hashes(data) == before
    (data / "dataset.json").write_text(json.dumps({"note": "someone else's dataset.json"}))
    with pytest.raises(DataFolderError):
        tiny_dataset(data)


def test_generator_replaces_its_own_folder_and_fills_an_empty_one(tmp_path):
    tiny_dataset(tmp_path / "data", seed=0)
    tiny_dataset(tmp_path / "data", seed=1)  # its own (dataset.json): replaced as a whole
    assert json.loads((tmp_path / "data" / "dataset.json").read_text())["seed"] == 1
    (tmp_path / "empty").mkdir()
    tiny_dataset(tmp_path / "empty")
    assert sorted(os.listdir(tmp_path)) == ["data", "empty"]  # no staging folder left beside them


def test_interrupted_generation_leaves_nothing_half_made(tmp_path, monkeypatch):
    tiny_dataset(tmp_path / "data", seed=0)
    before = folder_hashes(tmp_path / "data")

    def interrupted(tasks, workers, progress):
        synthetic._write_video(tasks[0])  # one video written, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(synthetic, "_run_tasks", interrupted)
    for target in ("data", "new"):
        with pytest.raises(KeyboardInterrupt):
            tiny_dataset(tmp_path / target, seed=1)
    assert folder_hashes(tmp_path / "data") == before  # the previous data set is intact
    assert sorted(os.listdir(tmp_path)) == ["data"]  # no half-made "new" folder, no staging folder

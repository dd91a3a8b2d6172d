"""Shared helpers of the dataset tests: tiny real mp4 files and small configs."""

import os

import numpy as np
import pytest

from slowfast.config import load_config
from slowfast.datasets.video_writer import write_mp4

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLDEN_DIR = os.path.join(REPO, "tests", "golden", "data")


def moving_frames(num_frames, height=48, width=64, seed=0):
    """uint8 (T,H,W,3) frames with a moving square on noise, different for every frame."""
    rng = np.random.default_rng(seed)
    frames = np.repeat(rng.integers(0, 200, (1, height, width, 3), dtype=np.uint8), num_frames, axis=0)
    for t in range(num_frames):
        y, x = (2 * t) % (height - 8), (3 * t) % (width - 8)
        frames[t, y : y + 8, x : x + 8] = 255
    return frames


def write_broken_files(folder, good_bytes):
    """Write one file of each kind of breakage; returns their names."""
    names = {
        "truncated.mp4": good_bytes[: len(good_bytes) // 2],
        "zeros.mp4": b"\0" * 4096,
        "empty.mp4": b"",
        "text.mp4": b"this is not a video\n" * 20,
    }
    for name, data in names.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    write_mp4(os.path.join(folder, "too_short.mp4"), moving_frames(2))
    return sorted(names) + ["too_short.mp4", "missing.mp4"]


def small_cfg(data_dir, opts=()):
    """A tiny X3D-style config reading ``data_dir`` (4 frames, 32-pixel crops, one process)."""
    base = [
        "NUM_GPUS",
        "0",
        "DATA.PATH_TO_DATA_DIR",
        data_dir,
        "DATA.PATH_PREFIX",
        data_dir,
        "DATA.NUM_FRAMES",
        "4",
        "DATA.SAMPLING_RATE",
        "2",
        "DATA.TRAIN_JITTER_SCALES",
        "[48, 56]",
        "DATA.TRAIN_CROP_SIZE",
        "32",
        "DATA.TEST_CROP_SIZE",
        "32",
        "TRAIN.BATCH_SIZE",
        "2",
        "TEST.BATCH_SIZE",
        "2",
        "TEST.NUM_ENSEMBLE_VIEWS",
        "2",
        "DATA_LOADER.NUM_WORKERS",
        "0",
        "DATA_LOADER.PIN_MEMORY",
        "False",
        # Stricter than PySlowFast's keep-everything default, so that too_short.mp4 counts as broken.
        "DATA.MIN_CLIP_COVERAGE",
        "0.5",
    ]
    return load_config(None, base + list(opts))


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """Folder with 4 good 40-frame videos (labels 0..3) and every kind of broken file.

    Returns:
        tuple: (folder, list of good names, list of broken names).
    """
    folder = str(tmp_path_factory.mktemp("tiny"))
    good = []
    for i in range(4):
        name = f"good_{i}.mp4"
        write_mp4(os.path.join(folder, name), moving_frames(40, seed=i), gop=10)
        good.append(name)
    with open(os.path.join(folder, good[0]), "rb") as f:
        broken = write_broken_files(folder, f.read())
    return folder, good, broken


def write_csv(folder, split, names, labels=None):
    """Write ``folder/split.csv`` listing ``names`` (labels default to 0, 1, ...)."""
    labels = labels if labels is not None else range(len(names))
    with open(os.path.join(folder, f"{split}.csv"), "w") as f:
        f.writelines(f"{name} {label}\n" for name, label in zip(names, labels))


def _torchcodec_missing_reason():
    from slowfast.datasets.decoder import check_backend
    from slowfast.datasets.video_reader import DecoderUnavailableError

    try:
        check_backend("torchcodec")
    except DecoderUnavailableError as error:
        return str(error)
    return ""


# CI (.ci/run) installs torchcodec and FFmpeg and sets VMB_REQUIRE_TORCHCODEC=1, so there these tests fail
# instead of skipping when the backend is missing; a plain `pip install -e .` skips them with the fix.
TORCHCODEC_MISSING = _torchcodec_missing_reason()
requires_torchcodec = pytest.mark.skipif(
    not os.environ.get("VMB_REQUIRE_TORCHCODEC") and bool(TORCHCODEC_MISSING),
    reason=f"torchcodec backend unavailable: {TORCHCODEC_MISSING}",
)
BACKENDS = ["pyav", pytest.param("torchcodec", marks=requires_torchcodec)]

"""Test and val clips equal PySlowFast's recorded ones (tests/golden/data, copied from the shared goldens).

Test-mode items run with both decoding backends: torchcodec must give the clips PyAV and PySlowFast give.
"""

import hashlib
import json
import os

import numpy as np
import pytest
import torch
from conftest import BACKENDS, GOLDEN_DIR

from slowfast.config import load_config
from slowfast.datasets import temporal_sampling as ts
from slowfast.datasets.build import build_dataset
from slowfast.datasets.decoder import decode_clip
from slowfast.datasets.kinetics import eval_pixels
from slowfast.datasets.spatial_transforms import normalize_batch

with open(os.path.join(GOLDEN_DIR, "goldens.json")) as _f:
    GOLDENS = json.load(_f)["goldens"]
_CONFIG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "configs")
CONFIGS = {
    "x3d_m": os.path.join(_CONFIG_DIR, "X3D_M.yaml"),
    "mvit_b_16x4": os.path.join(_CONFIG_DIR, "MVIT_B_16x4.yaml"),
}


def _cfg(entry, backend="pyav"):
    root = os.path.join(GOLDEN_DIR, "edge" if entry["dataset"] == "edge" else "")
    return load_config(
        CONFIGS[entry["config"]],
        [
            "NUM_GPUS",
            "0",
            "DATA.PATH_TO_DATA_DIR",
            root,
            "DATA.PATH_PREFIX",
            root,
            "TEST.BATCH_SIZE",
            "4",
            "TRAIN.BATCH_SIZE",
            "4",
            "DATA.DECODING_BACKEND",
            backend,
        ],
    )


def _assert_matches(frames, entry):
    # Handed over as uint8 exactly when PySlowFast does not resize the normalised clip.
    assert frames.dtype == (torch.float32 if entry["spatial"]["resize"][0]["interpolated"] else torch.uint8)
    if frames.dtype == torch.uint8:  # a clip needing no resize: the training device normalises it, as here
        data = _cfg(entry).DATA
        frames = normalize_batch(frames[None], data.MEAN, data.STD)[0]
    x = frames.numpy().astype(np.float64)
    assert list(frames.shape) == entry["shape"] and str(frames.dtype) == "torch.float32"
    per_frame_mean = [x[:, t].mean() for t in range(x.shape[1])]
    per_frame_std = [x[:, t].std() for t in range(x.shape[1])]
    np.testing.assert_allclose(per_frame_mean, entry["per_frame_mean"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(per_frame_std, entry["per_frame_std"], rtol=0, atol=1e-5)
    # Same op order as PySlowFast (uint8 clips too, normalised on the device), so the float bytes are identical:
    # tolerance 0.
    assert hashlib.sha256(frames.contiguous().numpy().tobytes()).hexdigest() == entry["sha256"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "entry",
    [e for e in GOLDENS if e["mode"] == "test"],
    ids=lambda e: f"{e['config']}-{os.path.basename(e['video'])}-{e['clip_index']}",
)
def test_test_mode_items_equal_goldens(entry, backend):
    cfg = _cfg(entry, backend)
    dataset = build_dataset("kinetics", cfg, "test")
    views = cfg.TEST.NUM_ENSEMBLE_VIEWS * cfg.TEST.NUM_SPATIAL_CROPS
    frames, label, index, meta = dataset[entry["csv_row"] * views + entry["clip_index"]]
    assert label == entry["label"] and meta["valid"] and meta["bad_paths"] == []
    assert meta["time_idx"] == entry["time_idx"]
    _assert_matches(frames[0], entry)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "entry",
    [e for e in GOLDENS if e["mode"] == "test"][::5],
    ids=lambda e: f"{e['config']}-{os.path.basename(e['video'])}-{e['clip_index']}",
)
def test_decoded_frames_and_uint8_clip_equal_goldens(entry, backend):
    cfg = _cfg(entry)
    path = os.path.join(cfg.DATA.PATH_PREFIX, entry["video"])
    clip = decode_clip(
        path,
        num_frames=cfg.DATA.NUM_FRAMES,
        sampling_rate=cfg.DATA.SAMPLING_RATE,
        target_fps=cfg.DATA.TARGET_FPS,
        choose_start=lambda n, span: ts.uniform_clip_start(
            n, span, entry["temporal_clip"], cfg.TEST.NUM_ENSEMBLE_VIEWS, cfg.DATA.USE_OFFSET_SAMPLING
        ),
        backend=backend,
    )
    assert clip.frame_numbers == entry["temporal"]["frame_indices"]
    assert hashlib.sha256(clip.frames.tobytes()).hexdigest() == entry["temporal"]["uint8_thwc_sha256"]


class ReplayRng:
    """Returns PySlowFast's recorded draws in the order eval_pixels asks for them."""

    def __init__(self, integers, flip):
        self._integers, self._flip = list(integers), flip

    def integers(self, low, high):
        value = self._integers.pop(0)
        assert low <= value < high
        return value

    def uniform(self):
        return 0.0 if self._flip else 0.9


@pytest.mark.parametrize(
    "entry",
    [e for e in GOLDENS if e["mode"] == "val"],
    ids=lambda e: f"{os.path.basename(e['video'])}-{e['time_idx'][0]:.2f}",
)
def test_random_val_mode_replaying_pyslowfast_draws(entry):
    cfg = _cfg(entry)
    path = os.path.join(cfg.DATA.PATH_PREFIX, entry["video"])
    clip = decode_clip(
        path,
        num_frames=cfg.DATA.NUM_FRAMES,
        sampling_rate=cfg.DATA.SAMPLING_RATE,
        target_fps=cfg.DATA.TARGET_FPS,
        choose_start=lambda n, span: entry["time_idx"][0],
    )
    assert clip.frame_numbers == entry["temporal"]["frame_indices"]
    out_h, out_w = entry["spatial"]["resize"][0]["out_hw"]
    crop = entry["spatial"]["crop"][0]
    size = cfg.DATA.TRAIN_CROP_SIZE
    draws = [v for v, side in ((crop["y0"], out_h), (crop["x0"], out_w)) if side > size]
    frames = eval_pixels(
        clip.frames,
        min(out_h, out_w),
        size,
        -1,
        cfg.DATA.MEAN,
        cfg.DATA.STD,
        ReplayRng(draws, bool(entry["spatial"]["flip"][0])),
    )
    _assert_matches(frames, entry)


def test_center_val_mode_is_the_centre_clip_and_crop_in_every_epoch():
    cfg = load_config(
        CONFIGS["x3d_m"],
        [
            "NUM_GPUS",
            "0",
            "DATA.PATH_TO_DATA_DIR",
            GOLDEN_DIR,
            "DATA.PATH_PREFIX",
            GOLDEN_DIR,
            "TEST.BATCH_SIZE",
            "4",
            "TRAIN.BATCH_SIZE",
            "4",
        ],
    )
    dataset = build_dataset("kinetics", cfg, "val")
    assert len(dataset) == dataset.num_videos == 4
    frames, label, index, meta = dataset[(0, 2)]
    assert meta["time_idx"] == [110.0, 189.0, 0.0] and label == 3 and index == 2
    path = os.path.join(GOLDEN_DIR, "videos/val_c03_0.mp4")
    clip = decode_clip(path, num_frames=16, sampling_rate=5, target_fps=30, choose_start=lambda n, span: 110.0)
    expected = eval_pixels(clip.frames, 256, 224, 1, cfg.DATA.MEAN, cfg.DATA.STD)
    assert frames[0].equal(expected) and frames[0].shape == (3, 16, 224, 224)
    assert dataset[(7, 2)][0][0].equal(frames[0])

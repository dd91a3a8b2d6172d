"""Kinetics-style video classification dataset: PySlowFast's clips, robust to bad videos, seeded per item.

Items and their sampling:
- train: one item per CSV row; random clip, then on each of AUG.NUM_SAMPLE views of one decoded clip the
  X3D recipe (short-side jitter, random crop, flip) or, with DATA.TRAIN_JITTER_SCALES_RELATIVE set, a
  random resized crop instead of the jitter; AUG.ENABLE adds RandAugment before it and random erasing
  after normalising (the MViT recipe). Training clips are handed over as uint8 (C,T,H,W), a quarter of
  float32's shared memory and copying: the training step normalises them on its device, and erases there
  what meta["erase"] plans (random_erasing.py). A bad video is replaced by another one, drawn from the
  item's seed, and reported in meta["bad_paths"].
- val: one item per row; DATA.VAL_SAMPLING "center" (centre clip, short side TRAIN_JITTER_SCALES[0],
  centre TRAIN_CROP_SIZE crop) or "random" (PySlowFast's random val mode).
- test: TEST.NUM_ENSEMBLE_VIEWS x TEST.NUM_SPATIAL_CROPS items per row, exactly PySlowFast's test views.
Evaluation never substitutes: a bad video gives a zero clip with meta["valid"] False.
"""

import logging

import numpy as np
import torch
from torch.utils.data import Dataset

from slowfast.datasets import spatial_transforms as st
from slowfast.datasets import temporal_sampling as ts
from slowfast.datasets.decoder import check_backend, decode_config_clip
from slowfast.datasets.rand_augment import RandAugment
from slowfast.datasets.random_erasing import erasing_plan
from slowfast.datasets.registry import DATASET_REGISTRY
from slowfast.datasets.video_list import SPLITS, list_path, read_video_list
from slowfast.datasets.video_reader import VideoDecodeError

logger = logging.getLogger(__name__)

# Videos tried for one training item before the run is declared broken.
_MAX_TRAIN_TRIES = 20
# Seed-sequence tags separating the independent random streams of one item.
_CLIP_STREAM, _REPLACEMENT_STREAM, _VIEW_STREAM = 0, 1, 2


def item_rng(*keys):
    """numpy Generator seeded by a tuple of non-negative ints (seed, epoch, index, ...)."""
    return np.random.default_rng([int(k) for k in keys])


@DATASET_REGISTRY.register()
class Kinetics(Dataset):
    """Videos listed in ``DATA.PATH_TO_DATA_DIR/{split}.csv`` (see the module docstring)."""

    def __init__(self, cfg, split):
        """
        Args:
            cfg (CfgNode): configuration (DATA, TEST, AUG, DATA_LOADER, RNG_SEED).
            split (str): "train", "val" or "test".
        """
        if split not in SPLITS:
            raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
        check_backend(cfg.DATA.DECODING_BACKEND, cfg.DATA.DECODING_DEVICE)
        self.cfg, self.split = cfg, split
        self.video_paths, self.labels = read_video_list(
            list_path(cfg.DATA.PATH_TO_DATA_DIR, split), cfg.DATA.PATH_PREFIX, cfg.DATA.PATH_LABEL_SEPARATOR
        )
        test_views = cfg.TEST.NUM_ENSEMBLE_VIEWS * cfg.TEST.NUM_SPATIAL_CROPS
        self.views_per_video = test_views if split == "test" else 1
        self.rand_augment = None
        if split == "train":
            st.crop_ops()  # torchvision, imported before the loader's workers fork (see crop_ops)
            if cfg.AUG.ENABLE and cfg.AUG.AA_TYPE:
                self.rand_augment = RandAugment.from_policy(cfg.AUG.AA_TYPE, interpolation=cfg.AUG.INTERPOLATION)
        # Paths that already failed in this process: skipped without another decode attempt.
        self._known_bad = set()

    @property
    def num_videos(self):
        """Rows of the CSV file."""
        return len(self.video_paths)

    def __len__(self):
        return self.num_videos * self.views_per_video

    def __getitem__(self, key):
        """Args: key: index, or (epoch, index) from the epoch-aware sampler. Returns: see the registry."""
        epoch, index = key if isinstance(key, (tuple, list)) else (0, key)
        if self.split == "train":
            return self._train_item(epoch, index)
        return self._eval_item(epoch, index)

    def _decode(self, path, choose_start):
        if path in self._known_bad:
            raise VideoDecodeError(f"{path} failed earlier in this process")
        try:
            return decode_config_clip(self.cfg, path, choose_start)
        except VideoDecodeError as error:
            self._known_bad.add(path)
            logger.warning("bad video: %s", error)
            raise

    def _meta(self, video, clip, bad_paths, valid=True):
        time_idx = [clip.start, clip.end, 0.0] if clip is not None else [0.0, 0.0, 0.0]
        return {
            "path": self.video_paths[video],
            "video_idx": video,
            "time_idx": time_idx,
            "valid": valid,
            "bad_paths": bad_paths,
        }

    def _train_item(self, epoch, index):
        seed = self.cfg.RNG_SEED
        replacement_rng = item_rng(seed, epoch, index, _REPLACEMENT_STREAM)
        video, bad_paths = index, []
        for attempt in range(_MAX_TRAIN_TRIES):
            clip_rng = item_rng(seed, epoch, index, _CLIP_STREAM, attempt)
            try:
                clip = self._decode(
                    self.video_paths[video], lambda n, span, rng=clip_rng: ts.random_clip_start(n, span, rng)
                )
                break
            except VideoDecodeError:
                bad_paths.append(self.video_paths[video])
                video = int(replacement_rng.integers(self.num_videos))
        else:
            raise RuntimeError(f"{_MAX_TRAIN_TRIES} videos in a row failed to decode, last: {bad_paths[-1]}")
        clip_tchw = torch.from_numpy(clip.frames).permute(0, 3, 1, 2)
        meta = self._meta(video, clip, bad_paths)
        num_views, aug = self.cfg.AUG.NUM_SAMPLE, self.cfg.AUG
        view_rngs = [item_rng(seed, epoch, index, _VIEW_STREAM, view) for view in range(num_views)]
        views = [self._augment(clip_tchw, rng) for rng in view_rngs]
        if aug.ENABLE and aug.RE_PROB > 0:  # drawn after each view's augmentation, from its stream, as before
            meta["erase"] = torch.stack(
                [erasing_plan(aug.RE_PROB, aug.RE_COUNT, *v.shape[-2:], rng) for v, rng in zip(views, view_rngs)]
            )
        label = self.labels[video]
        if num_views == 1:
            return [views[0]], label, video, meta
        return [[v] for v in views], [label] * num_views, [video] * num_views, meta

    def _augment(self, clip_tchw, rng):
        """One training view: uint8 (T,C,H,W) in, uint8 (C,T,H,W) out (normalised on the training device)."""
        data = self.cfg.DATA
        size = data.TRAIN_CROP_SIZE
        if self.rand_augment is not None:
            clip_tchw = self.rand_augment(clip_tchw, rng)
        if data.TRAIN_JITTER_SCALES_RELATIVE:
            clip_tchw = st.random_resized_crop_uint8(
                clip_tchw,
                size,
                data.TRAIN_JITTER_SCALES_RELATIVE,
                data.TRAIN_JITTER_ASPECT_RELATIVE or [0.75, 4 / 3],
                rng,
            )
        else:
            clip_tchw = st.jitter_crop_uint8(clip_tchw, *data.TRAIN_JITTER_SCALES, size, rng)
        if data.RANDOM_FLIP:
            clip_tchw = st.random_flip(clip_tchw, rng)
        return clip_tchw.permute(1, 0, 2, 3).contiguous()  # normalised by the loop (st.normalize_batch)

    def _eval_item(self, epoch, index):
        """Test view ``index`` or the val clip of row ``index``; a bad video gives a zero clip."""
        data, test = self.cfg.DATA, self.cfg.TEST
        video, view = divmod(index, self.views_per_video)
        rng = item_rng(self.cfg.RNG_SEED, epoch, index)
        if self.split == "test":
            temporal, crops = view // test.NUM_SPATIAL_CROPS, test.NUM_SPATIAL_CROPS
            spatial = view % crops if crops > 1 else 1
            size = data.TEST_CROP_SIZE
            short_side = data.TEST_CROP_SIZE if crops > 1 else data.TRAIN_JITTER_SCALES[0]
            choose_start = lambda n, span: ts.uniform_clip_start(  # noqa: E731
                n, span, temporal, test.NUM_ENSEMBLE_VIEWS, data.USE_OFFSET_SAMPLING
            )
        elif data.VAL_SAMPLING == "center":
            spatial, size, short_side = 1, data.TRAIN_CROP_SIZE, data.TRAIN_JITTER_SCALES[0]
            choose_start = ts.center_clip_start
        else:
            spatial, size, short_side = -1, data.TRAIN_CROP_SIZE, None
            choose_start = lambda n, span: ts.random_clip_start(n, span, rng)  # noqa: E731
        path = self.video_paths[video]
        try:
            clip = self._decode(path, choose_start)
        except VideoDecodeError:
            frames = torch.zeros((3, data.NUM_FRAMES, size, size), dtype=torch.float32)
            return [frames], self.labels[video], index, self._meta(video, None, [path], valid=False)
        if short_side is None:
            short_side = int(round(rng.uniform(*data.TRAIN_JITTER_SCALES)))
        frames = eval_pixels(clip.frames, short_side, size, spatial, data.MEAN, data.STD, rng)
        return [frames], self.labels[video], index, self._meta(video, clip, [])


def eval_pixels(frames_thwc, short_side, size, spatial_idx, mean, std, rng=None):
    """PySlowFast's evaluation pixel pipeline, bit-exact: normalise, resize the short side, crop (, flip).

    A clip whose short side is already ``short_side`` needs no resize, and normalising commutes with cropping and
    flipping: it is handed over as the uint8 crop (a quarter of the bytes), which the training device normalises
    to the same bits (spatial_transforms.normalize_batch). A resized clip stays float32: PySlowFast resizes the
    normalised clip, and only that order gives its pixels exactly.

    Args:
        frames_thwc (np.ndarray): (T,H,W,3) uint8 RGB.
        short_side (int): short side after resizing.
        size (int): crop size.
        spatial_idx (int): 0, 1 or 2 for test crops; -1 for a random crop and flip (random val mode).
        mean, std (sequence of float): per channel.
        rng (numpy.random.Generator or None): draws of the random mode.
    Returns:
        Tensor: (C,T,size,size), uint8 (not resized) or normalised float32 (resized).
    """
    clip_tchw = torch.from_numpy(np.ascontiguousarray(frames_thwc)).permute(0, 3, 1, 2)
    height, width = clip_tchw.shape[-2:]
    interpolate = min(height, width) != short_side
    out_h, out_w = st.short_side_size(height, width, short_side) if interpolate else (height, width)
    if spatial_idx >= 0:
        y0, x0 = st.uniform_crop_offsets(out_h, out_w, size, spatial_idx)
    else:
        y0, x0 = st.random_crop_offsets(out_h, out_w, size, rng)
    if interpolate:
        resized = st.resize_short_side_float(st.normalize(clip_tchw, mean, std), short_side)
        clip = st.crop(resized, y0, x0, size)
    else:
        clip = st.crop(clip_tchw, y0, x0, size).permute(1, 0, 2, 3)  # normalised on the device, to the same bits
    if spatial_idx < 0 and rng.uniform() < 0.5:
        clip = clip.flip(-1)
    return clip.contiguous()

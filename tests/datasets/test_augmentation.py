"""Training clips: shapes, dtype, value ranges, clip-consistent RandAugment and erasing, mixup targets,
RandAugment's affine warp against torchvision and its bicubic mode."""

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import GOLDEN_DIR

from slowfast.config import load_config
from slowfast.datasets.build import build_dataset
from slowfast.datasets.loader import collate_clips
from slowfast.datasets.mixup import MixUp
from slowfast.datasets.rand_augment import _OPS, RandAugment, affine_warp, apply_op, op_argument
from slowfast.datasets.random_erasing import erase_batch, erase_box, erasing_plan
from slowfast.datasets.spatial_transforms import normalize_batch

LOW, HIGH = (0 - 0.45) / 0.225, (1 - 0.45) / 0.225


CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _train_dataset(cfg_file, opts=()):
    cfg = load_config(
        str(cfg_file),
        [
            "NUM_GPUS",
            "0",
            "DATA.PATH_TO_DATA_DIR",
            GOLDEN_DIR,
            "DATA.PATH_PREFIX",
            GOLDEN_DIR,
            "TRAIN.BATCH_SIZE",
            "4",
            "TEST.BATCH_SIZE",
            "4",
            *opts,
        ],
    )
    return build_dataset("kinetics", cfg, "train")


def test_x3d_train_clip_shape_dtype_range():
    dataset = _train_dataset(CONFIGS / "X3D_M.yaml")
    for index in range(2):
        frames, label, idx, meta = dataset[(0, index)]
        assert frames[0].shape == (3, 16, 224, 224) and frames[0].dtype == torch.uint8  # normalised on the device
        clip = normalize_batch(frames[0][None], dataset.cfg.DATA.MEAN, dataset.cfg.DATA.STD)
        assert LOW - 1e-6 <= float(clip.min()) and float(clip.max()) <= HIGH + 1e-6
        assert label == index == idx and meta["valid"] and 0 <= meta["time_idx"][0] <= 300 - 80


def test_mvit_train_gives_two_augmented_views_of_one_clip():
    dataset = _train_dataset(CONFIGS / "MVIT_B_16x4.yaml")
    frames, labels, index, meta = dataset[(0, 1)]
    assert len(frames) == 2 and labels == [1, 1] and index == [1, 1]
    for view in frames:  # uint8, erased on the device after normalising (its plan per view in meta["erase"])
        assert view[0].shape == (3, 16, 224, 224) and view[0].dtype == torch.uint8
    assert not frames[0][0].equal(frames[1][0])
    assert meta["erase"].shape == (2, 5) and meta["erase"].dtype == torch.int64  # RE_COUNT 1: seed + one box
    batch = collate_clips([dataset[(0, 0)], dataset[(0, 1)]])
    assert batch[0][0].dtype == torch.uint8 and batch[3]["erase"][2:].equal(meta["erase"])  # views in order


@pytest.mark.parametrize("name", _OPS)
def test_every_rand_augment_op_is_identical_on_all_frames(name):
    rng = np.random.default_rng(0)
    frame = torch.from_numpy(rng.integers(40, 180, (3, 40, 56), dtype=np.uint8))
    clip = frame.expand(6, -1, -1, -1).contiguous()
    out = apply_op(clip, name, op_argument(name, 9.0, True, rng))
    assert out.dtype == torch.uint8 and out.shape == clip.shape
    assert all(out[t].equal(out[0]) for t in range(6))
    assert not out[0].equal(frame), f"{name} at magnitude 9 left the frame unchanged"


def test_rand_augment_policy_draws_one_sequence_per_clip():
    augment = RandAugment.from_policy("rand-m7-n4-mstd0.5-inc1")
    assert (augment.num_ops, augment.magnitude, augment.magnitude_std, augment.increasing) == (4, 7.0, 0.5, True)
    rng = np.random.default_rng(1)
    frame = torch.from_numpy(rng.integers(40, 180, (3, 40, 56), dtype=np.uint8))
    clip = frame.expand(8, -1, -1, -1).contiguous()
    changed = 0
    for seed in range(10):
        out = augment(clip, np.random.default_rng(seed))
        assert all(out[t].equal(out[0]) for t in range(8))
        changed += not out[0].equal(frame)
    assert changed >= 5
    with pytest.raises(ValueError, match="AUG.AA_TYPE"):
        RandAugment.from_policy("rand-m7-x3")


def test_an_erasing_plan_makes_the_draws_of_pyslowfast_order_from_the_clip_rng():
    plan = erasing_plan(1.0, 2, 32, 40, np.random.default_rng(7)).tolist()
    rng = np.random.default_rng(7)  # the order the worker drew in: noise seed, whether to erase, the boxes
    assert plan[0] == int(rng.integers(2**62)) and rng.uniform() < 1.0
    assert plan[1:] == [*erase_box(32, 40, rng), *erase_box(32, 40, rng)]
    assert erasing_plan(0.0, 2, 32, 40, np.random.default_rng(7)).tolist()[1:] == [-1, -1, 0, 0] * 2


def test_erasing_keeps_the_probability_per_clip():
    erased = [erasing_plan(0.25, 1, 224, 224, np.random.default_rng(seed))[1] >= 0 for seed in range(800)]
    assert abs(float(np.mean(erased)) - 0.25) < 0.05  # binomial sd 0.015


@pytest.mark.parametrize("mode", ["pixel", "rand", "const"])
def test_erasing_a_batch_fills_each_planned_box_through_all_frames_and_nothing_else(mode):
    normalised = torch.rand(2, 3, 5, 32, 32)
    plans = torch.stack([erasing_plan(1.0, 2, 32, 32, np.random.default_rng(s)) for s in (3, 4)])
    erased = erase_batch(normalised.clone(), plans, mode)
    for clip, before, plan in zip(erased, normalised, plans.tolist()):
        generator = torch.Generator().manual_seed(plan[0])  # on the CPU: the noise the worker drew before
        expected = before.clone()
        for y0, x0, h, w in zip(*[iter(plan[1:])] * 4):
            shape = {"pixel": (3, 5, h, w), "rand": (3, 5, 1, 1), "const": None}[mode]
            expected[:, :, y0 : y0 + h, x0 : x0 + w] = (
                torch.zeros(1) if shape is None else torch.randn(shape, generator=generator)
            )
        assert torch.equal(clip, expected) and not torch.equal(clip, before)


@pytest.mark.parametrize("switch_prob", [0.0, 1.0])
def test_mixup_and_cutmix_targets_sum_to_one(switch_prob):
    torch.manual_seed(0)
    mix = MixUp(0.8, 1.0, 1.0, switch_prob, 0.1, num_classes=5)
    inputs = [torch.randn(4, 3, 2, 8, 8)]
    labels = torch.tensor([0, 1, 2, 3])
    mixed, targets = mix(inputs, labels)
    assert mixed[0].shape == inputs[0].shape and targets.shape == (4, 5)
    torch.testing.assert_close(targets.sum(1), torch.ones(4))
    assert float(targets.min()) >= 0.1 / 5 - 1e-6
    # Each row blends its own label with the flipped batch's label and nothing else gets more than smoothing.
    top2 = targets.topk(2, dim=1).indices.sort(dim=1).values
    assert top2.tolist() == [[0, 3], [1, 2], [1, 2], [0, 3]]
    assert not mixed[0].equal(inputs[0])


def test_jitter_crop_matches_resizing_whole_frames_then_cropping():
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.v2 import functional as TF

    from slowfast.datasets import spatial_transforms as st

    ys, xs = torch.meshgrid(torch.arange(64.0), torch.arange(80.0), indexing="ij")
    frame = torch.stack([ys * 3, xs * 2, ys + xs]).clamp(0, 255).to(torch.uint8)
    clip = frame.expand(2, -1, -1, -1).contiguous()
    for seed in range(5):
        fast = st.jitter_crop_uint8(clip, 70, 90, 48, np.random.default_rng(seed))
        rng = np.random.default_rng(seed)
        out_h, out_w = st.short_side_size(64, 80, int(round(rng.uniform(70, 90))))
        y0, x0 = st.random_crop_offsets(out_h, out_w, 48, rng)
        full = TF.resize(clip, [out_h, out_w], interpolation=InterpolationMode.BILINEAR, antialias=False)
        reference = st.crop(full, y0, x0, 48)
        assert fast.shape == reference.shape == (2, 3, 48, 48)
        assert float((fast.float() - reference.float()).abs().mean()) < 2.0


def test_fast_sharpness_agrees_with_torchvision_within_one_level():
    from torchvision.transforms.v2 import functional as TF

    from slowfast.datasets.rand_augment import _sharpness

    clip = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (2, 3, 20, 24), dtype=np.uint8))
    for factor in (0.1, 0.5, 1.0, 1.9):
        diff = (_sharpness(clip, factor).int() - TF.adjust_sharpness(clip, factor).int()).abs()
        assert int(diff.max()) <= 1


# Rotations about the centre, shears about the top-left corner (as ShearX/Y use them), a translation.
_GEOMETRIES = [
    dict(angle=23.0),
    dict(angle=-17.5),
    dict(shear=(16.7, 0.0), center=(0.0, 0.0)),
    dict(shear=(0.0, -12.0), center=(0.0, 0.0)),
    dict(translate=(11, -7)),
]


def _torchvision_bilinear_affine(image, geometry, fill):
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.v2 import functional as TF

    center = geometry.get("center")
    return TF.affine(
        image,
        angle=geometry.get("angle", 0.0),
        translate=list(geometry.get("translate", (0, 0))),
        scale=1.0,
        shear=list(geometry.get("shear", (0.0, 0.0))),
        center=None if center is None else list(center),
        interpolation=InterpolationMode.BILINEAR,
        fill=fill,
    )


@pytest.mark.parametrize("geometry", _GEOMETRIES)
def test_affine_warp_bilinear_matches_torchvision_affine(geometry):
    clip = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (2, 3, 60, 84), dtype=np.uint8))
    ours = affine_warp(clip, interpolation="bilinear", **geometry).int()
    # TF.affine with our fill rule: zero-padded float warp of (clip - 128), plus 128. Only the float32 grid
    # arithmetic differs, which can push a value across a .5 rounding boundary: 1 level, on few pixels.
    same_rule = _torchvision_bilinear_affine(clip.float() - 128, geometry, fill=None) + 128
    diff = (ours - same_rule.round().clamp(0, 255).int()).abs()
    assert int(diff.max()) <= 1 and float((diff == 0).float().mean()) >= 0.999
    # TF.affine's uint8 path with fill=128 (RandAugment's kernel before) agrees within 1 level wherever the
    # bilinear footprint is wholly inside or wholly outside the frame. On the one-pixel edge ring between, it
    # weighs the image by its coverage twice (coverage * (covered sample - fill) + fill), so it differs there.
    previous = _torchvision_bilinear_affine(clip, geometry, fill=128).int()
    coverage = _torchvision_bilinear_affine(torch.ones(1, 60, 84), geometry, fill=None)[0]
    whole = (coverage < 1e-6) | (coverage > 1 - 1e-6)
    assert float(whole.float().mean()) > 0.95
    assert int((ours - previous).abs()[..., whole].max()) <= 1


@pytest.mark.parametrize("geometry", [dict(angle=23.0), dict(shear=(16.7, 0.0), center=(0.0, 0.0))])
def test_affine_warp_bicubic_stays_near_bilinear_and_keeps_the_fill_outside(geometry):
    ys, xs = torch.meshgrid(torch.arange(60.0), torch.arange(84.0), indexing="ij")
    frame = torch.stack([ys * 3, xs * 2, 128 + 60 * torch.sin(xs / 5) * torch.cos(ys / 7)])
    clip = frame.clamp(0, 255).to(torch.uint8).expand(2, -1, -1, -1).contiguous()
    bicubic = affine_warp(clip, interpolation="bicubic", **geometry)
    bilinear = affine_warp(clip, interpolation="bilinear", **geometry)
    assert not bicubic.equal(bilinear)
    assert float((bicubic.float() - bilinear.float()).abs().mean()) < 1.0
    # Output pixels with no bilinear coverage anywhere within 3 pixels: the 4x4 bicubic taps are all outside.
    coverage = _torchvision_bilinear_affine(torch.ones(1, 60, 84), geometry, fill=None)
    far_outside = torch.nn.functional.max_pool2d(coverage[None], 7, stride=1, padding=3)[0, 0] == 0
    assert float(far_outside.float().mean()) > 0.02
    assert bool((bicubic[..., far_outside] == 128).all())


def test_mvit_dataset_warps_with_the_configured_interpolation(monkeypatch):
    modes = []
    grid_sample = torch.nn.functional.grid_sample

    def recording_grid_sample(*args, **kwargs):
        modes.append(kwargs["mode"])
        return grid_sample(*args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "grid_sample", recording_grid_sample)
    dataset = _train_dataset(CONFIGS / "MVIT_B_16x4.yaml")
    assert dataset.cfg.AUG.INTERPOLATION == "bicubic" and dataset.rand_augment.interpolation == "bicubic"
    monkeypatch.setattr(dataset.rand_augment, "sample_ops", lambda rng: [("Rotate", 20.0)])
    dataset[(0, 1)]
    assert modes == ["bicubic"] * dataset.cfg.AUG.NUM_SAMPLE
    bilinear = _train_dataset(CONFIGS / "MVIT_B_16x4.yaml", ["AUG.INTERPOLATION", "bilinear"])
    assert bilinear.rand_augment.interpolation == "bilinear"

"""One fp32 and one mixed-precision train step of both scored models through the engine's own loop (mixed: bf16
where the device supports it, else fp16 with a GradScaler, whose legitimately skipped first step is accepted)."""

import numpy as np
import pytest
import torch
from gpu_cases import clip_batch, scored_config

from slowfast.datasets.random_erasing import erase_batch, erasing_plan
from slowfast.datasets.spatial_transforms import normalize_batch
from slowfast.engine.run import build_loop_context
from slowfast.engine.trainer import train_one_epoch

pytestmark = pytest.mark.gpu


class _Ignore:
    def update(self, *args, **kwargs):
        pass

    write = update


def _context(cfg):
    """The run's own loop context (model placed on the config's device, loss, mixup), seeded."""
    torch.manual_seed(0)
    return build_loop_context(cfg, metrics=_Ignore(), clock_time=lambda: 0.0)


@pytest.mark.parametrize("name", ["X3D_M", "MVIT_B_16x4"])
@pytest.mark.parametrize("precision", ["fp32", "mixed"])
def test_train_step_of_a_scored_model(device, name, precision):
    # The step's learning rate is BASE_LR itself: no warm-up, no batch scaling.
    cfg = scored_config(
        name,
        device,
        "TRAIN.MIXED_PRECISION",
        str(precision == "mixed"),
        "MODEL.DROPOUT_RATE",
        "0.0",
        "SOLVER.BASE_LR",
        "0.01",
        "SOLVER.WARMUP_EPOCHS",
        "0.0",
        "SOLVER.BASE_LR_BATCH_SIZE",
        "0",
    )
    ctx = _context(cfg)
    assert ctx.device.type == device.type
    x, labels = clip_batch(cfg, 2, device)
    meta = {"valid": torch.ones(2, dtype=torch.bool), "bad_paths": []}
    before = [p.detach().clone() for p in ctx.model_without_ddp.parameters()]
    initial_scale = ctx.scaler.get_scale() if ctx.scaler.is_enabled() else None
    stats = train_one_epoch(ctx, [([x], labels, torch.arange(2), meta)], epoch=0, bad_videos=_Ignore())
    assert torch.isfinite(torch.tensor(stats["loss"])) and stats["loss"] > 0
    if initial_scale is not None and ctx.scaler.get_scale() < initial_scale:
        # fp16's scaler found inf/NaN gradients at its initial scale and skipped the step, as it should: the
        # weights must be untouched then.
        assert all(torch.equal(b, p.detach()) for b, p in zip(before, ctx.model_without_ddp.parameters()))
        return
    params = list(ctx.model_without_ddp.parameters())
    assert all(torch.isfinite(p.grad).all() for p in params if p.grad is not None)
    # The parameters with a gradient moved (X3D's zero-initialised final BNs leave their branches without one in
    # the first step; a gradient far below a weight's fp32 resolution may leave it unchanged), and the classifier
    # always has one.
    with_grad = [i for i, p in enumerate(params) if p.grad is not None and p.grad.abs().sum() > 0]
    assert ctx.model_without_ddp.head.projection.weight.grad.abs().sum() > 0
    moved = sum(not torch.equal(before[i], params[i].detach()) for i in with_grad)
    assert moved >= 0.9 * len(with_grad), (moved, len(with_grad))
    assert all(p.dtype == torch.float32 for p in ctx.model_without_ddp.parameters())  # master weights stay fp32


def test_an_epochs_memory_peak_is_its_own(device):
    if device.type != "cuda":
        pytest.skip("on the CPU memory_mb is the resident memory, not a peak")
    cfg = scored_config("X3D_M", device)
    ctx = _context(cfg)
    x, labels = clip_batch(cfg, 2, device)
    torch.empty(4 * 2**30, dtype=torch.uint8, device=device)  # a 4 GiB peak before the epoch, e.g. auto's search
    meta = {"valid": torch.ones(2, dtype=torch.bool), "bad_paths": []}
    stats = train_one_epoch(ctx, [([x], labels, torch.arange(2), meta)], epoch=0, bad_videos=_Ignore())
    assert 0 < stats["memory_mb"] < 4 * 1024  # X3D-M at 2 videos needs far less


def test_random_erasing_on_the_device_fills_the_planned_boxes_with_standard_normal_noise(device):
    plans = torch.stack([erasing_plan(1.0, 1, 224, 224, np.random.default_rng(seed)) for seed in range(4)])
    batch = torch.full((4, 3, 16, 224, 224), 7.0, device=device)  # 7: no normalised pixel, no noise value
    erase_batch(batch, plans, "pixel")
    for clip, (_, y0, x0, h, w) in zip(batch.cpu(), plans.tolist()):
        inside = torch.zeros(224, 224, dtype=torch.bool)
        inside[y0 : y0 + h, x0 : x0 + w] = True
        assert bool((clip[:, :, ~inside] == 7.0).all()) and not bool((clip[:, :, inside] == 7.0).any())
        noise = clip[:, :, inside]
        assert abs(float(noise.mean())) < 0.05 and abs(float(noise.std()) - 1) < 0.05  # >= 3 x 16 x 1000 values


def test_normalizing_a_batch_on_the_device_waits_for_nothing_and_matches_the_cpu(device):
    mean, std = [0.45, 0.45, 0.45], [0.225, 0.225, 0.225]
    batch = torch.randint(0, 256, (2, 3, 4, 8, 8), dtype=torch.uint8)
    on_device = batch.to(device)
    normalize_batch(on_device, mean, std)  # the first call puts the channel constants on the device
    if device.type == "cuda":
        torch.cuda.set_sync_debug_mode("error")  # any host-device synchronisation now raises
    try:
        out = normalize_batch(on_device, mean, std)
    finally:
        if device.type == "cuda":
            torch.cuda.set_sync_debug_mode("default")
    assert torch.equal(out.cpu(), normalize_batch(batch, mean, std))

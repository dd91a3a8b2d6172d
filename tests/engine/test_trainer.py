"""The loop's step logic on a tiny model: NaN stops the run naming epoch and iteration; bf16 autocast on CPU."""

import math
import os
from pathlib import Path

import pytest
import torch
from cpu_loop import cpu_loop_context

from slowfast.config import load_config
from slowfast.datasets import spatial_transforms as st
from slowfast.datasets.random_erasing import erase_batch
from slowfast.engine.trainer import eta_text, train_one_epoch, update_precise_bn
from slowfast.models import build_model
from slowfast.models.channelwise_conv import ChannelwiseConv3d

REPO = Path(__file__).resolve().parents[2]
ROOT = str(REPO)


class TinyVideoNet(torch.nn.Module):
    """Pools a clip and classifies it; takes PySlowFast's list-of-pathways input."""

    def __init__(self, num_classes=3):
        super().__init__()
        self.fc = torch.nn.Linear(3, num_classes)

    def forward(self, inputs):
        return self.fc(inputs[0].mean(dim=(2, 3, 4)))


class NoTracking:
    def update(self, meta):
        pass


def _context(amp_dtype=None):
    cfg = load_config(
        None,
        [
            "SOLVER.MAX_EPOCH",
            "2",
            "SOLVER.BASE_LR",
            "0.5",
            "LOG_PERIOD",
            "1",
            "NUM_GPUS",
            "0",
            "MODEL.NUM_CLASSES",
            "3",
        ],
    )
    return cpu_loop_context(cfg, TinyVideoNet(), amp_dtype)


def _batches(values):
    meta = {"valid": torch.ones(2, dtype=torch.bool), "bad_paths": []}
    return [([torch.full((2, 3, 2, 4, 4), v)], torch.tensor([0, 1]), torch.tensor([0, 1]), meta) for v in values]


def test_non_finite_loss_stops_the_run_naming_epoch_and_iteration():
    with pytest.raises(FloatingPointError, match="epoch 2, iteration 3"):
        train_one_epoch(_context(), _batches([0.1, 0.2, float("nan")]), epoch=1, bad_videos=NoTracking())


def test_bf16_autocast_on_cpu_trains():
    ctx = _context(amp_dtype=torch.bfloat16)
    before = ctx.model_without_ddp.fc.weight.detach().clone()
    stats = train_one_epoch(ctx, _batches([0.1, 0.2, 0.3]), epoch=0, bad_videos=NoTracking())
    assert stats["clips_per_s"] > 0 and torch.isfinite(torch.tensor(stats["loss"]))
    assert not torch.equal(before, ctx.model_without_ddp.fc.weight)
    assert ctx.model_without_ddp.fc.weight.dtype == torch.float32  # autocast leaves the master weights in fp32


def test_mixed_precision_trains_the_real_x3d_m_in_half_precision():
    # The channel-wise convolution's own backward used to receive a bf16 gradient and a float32 weight.
    cfg_file = str(REPO / "configs" / "X3D_M.yaml")
    opts = [
        "NUM_GPUS",
        "0",
        "TRAIN.BATCH_SIZE",
        "2",
        "TEST.BATCH_SIZE",
        "2",
        "DATA.NUM_FRAMES",
        "4",
        "DATA.TRAIN_CROP_SIZE",
        "64",
        "DATA.TEST_CROP_SIZE",
        "64",
        "TRAIN.MIXED_PRECISION",
        "True",
        "MIXUP.ENABLE",
        "False",
        "MODEL.LOSS_FUNC",
        "cross_entropy",
    ]
    cfg = load_config(cfg_file, opts)
    torch.manual_seed(0)  # the same initial weights whatever ran before in the process
    model = build_model(cfg)
    conv_dtypes = []
    for module in model.modules():
        if isinstance(module, ChannelwiseConv3d):
            module.register_forward_hook(lambda mod, args, out: conv_dtypes.append(out.dtype))
    ctx = cpu_loop_context(cfg, model, torch.bfloat16)
    clips = [
        (
            [torch.rand(2, 3, 4, 64, 64)],
            torch.tensor([0, 1]),
            torch.tensor([0, 1]),
            {"valid": torch.ones(2, dtype=torch.bool), "bad_paths": []},
        )
    ]
    torch.manual_seed(0)
    clips[0][0][0].copy_(torch.rand(2, 3, 4, 64, 64))
    stats = train_one_epoch(ctx, clips, epoch=0, bad_videos=NoTracking())
    assert conv_dtypes and set(conv_dtypes) == {torch.bfloat16}  # the custom convolutions ran in bf16
    assert math.isfinite(stats["loss"])
    # Backward went through every layer: float32 gradients, finite, and non-zero for many parameters (X3D's
    # zero-initialised final BNs leave the gradients before them zero at the first step).
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and g.dtype == torch.float32 and bool(torch.isfinite(g).all()) for g in grads)
    assert sum(bool(g.abs().sum() > 0) for g in grads) > len(grads) // 5
    assert all(p.dtype == torch.float32 for p in model.parameters())  # master weights stay fp32


def test_eta_is_labelled_and_shows_the_reference_target_epoch_while_ahead():
    cfg = load_config(os.path.join(ROOT, "configs", "quickstart", "X3D_M.yaml"))  # 16 epochs, reference: 3
    # After 20 of 240 iterations of epoch 1 at 1 s each: 220 + 15 x 240 s to epoch 16, 220 + 2 x 240 s to epoch 3.
    assert eta_text(cfg, 0, 19, 240, 1.0) == (
        "ETA to epoch 16 (MAX_EPOCH) 01:03:40, to epoch 3 (reference reached the target) 00:11:40"
    )
    assert eta_text(cfg, 3, 19, 240, 1.0) == "ETA to epoch 16 (MAX_EPOCH) 00:51:40"  # epoch 4: target epoch passed


class SyncCounter(torch.Tensor):
    """A tensor whose every read on the host (item, int, float, bool, tolist) is counted: on CUDA each of those
    waits for the device."""

    reads: list[str] = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in ("item", "tolist", "__int__", "__float__", "__bool__", "numpy"):
            cls.reads.append(func.__name__)
        return super().__torch_function__(func, types, args, kwargs or {})


def test_the_train_loop_reads_the_device_once_per_log_period(monkeypatch):
    ctx = _context()
    ctx.cfg.defrost()
    ctx.cfg.LOG_PERIOD = 4
    batches = [([x.as_subclass(SyncCounter)], *rest) for (x,), *rest in _batches([0.1 * v for v in range(8)])]
    monkeypatch.setattr(SyncCounter, "reads", [])
    stats = train_one_epoch(ctx, batches, epoch=0, bad_videos=NoTracking())
    # Iterations 4 and 8 are logged, and the epoch's sums are read once at its end: 3 reads, not 2 per step.
    assert len(SyncCounter.reads) == 3, SyncCounter.reads
    assert math.isfinite(stats["loss"]) and 0.0 <= stats["top1"] <= 100.0


def test_a_non_finite_loss_between_reads_names_the_iterations_it_may_be_in():
    ctx = _context()
    ctx.cfg.defrost()
    ctx.cfg.LOG_PERIOD = 4
    with pytest.raises(FloatingPointError, match="epoch 1, iterations 1-4"):
        train_one_epoch(ctx, _batches([0.1, float("nan"), 0.2, 0.3]), epoch=0, bad_videos=NoTracking())


def test_uint8_clips_are_normalised_on_the_device_before_the_model():
    uint8 = torch.randint(0, 256, (2, 3, 2, 4, 4), dtype=torch.uint8)
    meta = {"valid": torch.ones(2, dtype=torch.bool), "bad_paths": []}
    losses = []
    for clip in (uint8, st.normalize_batch(uint8, [0.45] * 3, [0.225] * 3)):
        torch.manual_seed(0)
        ctx = _context()
        stats = train_one_epoch(ctx, [([clip], torch.tensor([0, 1]), torch.tensor([0, 1]), meta)], 0, NoTracking())
        losses.append(stats["loss"])
    assert losses[0] == losses[1]


def test_uint8_clips_are_erased_on_the_device_after_normalising_as_their_plans_say():
    uint8 = torch.randint(0, 256, (2, 3, 2, 4, 4), dtype=torch.uint8)
    plans = torch.tensor([[11, 1, 1, 2, 2], [12, -1, -1, 0, 0]])  # erase a 2x2 box of clip 0, keep clip 1
    erased = erase_batch(st.normalize_batch(uint8, [0.45] * 3, [0.225] * 3), plans, "pixel")
    assert not erased[0].equal(st.normalize_batch(uint8, [0.45] * 3, [0.225] * 3)[0])
    meta = {"valid": torch.ones(2, dtype=torch.bool), "bad_paths": []}
    losses = []
    for clip, clip_meta in ((uint8, {**meta, "erase": plans}), (erased, meta)):
        torch.manual_seed(0)
        ctx = _context()
        batch = ([clip], torch.tensor([0, 1]), torch.tensor([0, 1]), clip_meta)
        losses.append(train_one_epoch(ctx, [batch], 0, NoTracking())["loss"])
    assert losses[0] == losses[1]


class _AutocastRecorder(torch.nn.Module):
    """A BatchNorm that notes whether autocast was on in each forward."""

    def __init__(self):
        super().__init__()
        self.bn = torch.nn.BatchNorm3d(3)
        self.autocast = []

    def forward(self, inputs):
        self.autocast.append(torch.is_autocast_enabled("cpu"))
        return self.bn(inputs[0])


@pytest.mark.parametrize("amp_dtype", [None, torch.bfloat16])
def test_precise_bn_runs_under_the_runs_autocast(amp_dtype):
    model = _AutocastRecorder()
    ctx = cpu_loop_context(load_config(None, ["NUM_GPUS", "0"]), model, amp_dtype=amp_dtype)
    meta = {"valid": torch.ones(2, dtype=torch.bool), "bad_paths": []}
    batches = [([torch.randn(2, 3, 2, 4, 4)], torch.zeros(2, dtype=torch.long), torch.arange(2), meta)] * 3
    update_precise_bn(ctx, batches, num_batches=2)
    assert model.autocast == [amp_dtype is not None] * 2

"""The one loop: ``train_one_epoch``, ``evaluate`` (one deterministic view per video) and multi-view ``test``.

All three share ``_device_batches`` (data-wait timing, device transfer) and ``forward`` (autocast). Training
returns logits; in eval mode the model returns PySlowFast's head activation (softmax), whose argmax is the same.
"""

import logging
import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import psutil
import torch
from fvcore.common.config import CfgNode
from fvcore.nn.precise_bn import get_bn_modules, update_bn_stats
from tqdm import tqdm

from slowfast.datasets.bad_videos import BadVideoTracker
from slowfast.datasets.random_erasing import erase_batch
from slowfast.datasets.spatial_transforms import normalize_batch
from slowfast.engine.meters import EpochStats, VideoScores, topk_hits
from slowfast.solver.lr_policy import get_lr_at_epoch
from slowfast.solver.optimizer import clip_gradients, set_lr
from slowfast.utils import distributed as du
from slowfast.utils.metrics import MetricsWriter, TrainIterRecord

logger = logging.getLogger(__name__)

T = TypeVar("T")
# One batch on the device: (inputs, labels, dataset indices, metadata, seconds spent waiting for it).
Batch = tuple[list[torch.Tensor], torch.Tensor, torch.Tensor, dict[str, Any], float]


class Loader(Protocol):
    """What the loop needs of a loader (a DataLoader, or the self-check's first N batches of one)."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...  # (inputs, labels, index, meta) batches


@dataclass
class LoopContext:
    """What every loop function needs."""

    cfg: CfgNode
    model: torch.nn.Module  # what the training step calls: DDP-wrapped with several processes, maybe compiled
    model_without_ddp: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    mixup: Callable[[list[torch.Tensor], torch.Tensor], tuple[list[torch.Tensor], torch.Tensor]] | None
    device: torch.device
    amp_dtype: torch.dtype | None
    metrics: MetricsWriter
    clock_time: Callable[[], float]


def _device_batches(loader: Loader, ctx: LoopContext) -> Iterator[Batch]:
    """Yield ``(inputs, labels, index, meta, data_wait_s)`` with inputs and labels on the device; uint8 clips
    (training items) are normalised there, a quarter of the bytes to copy, then erased as their plans say
    (``meta["erase"]``, random_erasing.py), as PySlowFast erases the normalised clip."""
    device, data = ctx.device, ctx.cfg.DATA
    end = time.perf_counter()
    for inputs, labels, index, meta in loader:
        wait = time.perf_counter() - end
        inputs = [x.to(device, non_blocking=True) for x in inputs]
        inputs = [normalize_batch(x, data.MEAN, data.STD) if x.dtype == torch.uint8 else x for x in inputs]
        if "erase" in meta:  # X3D and MViT have one pathway
            inputs = [erase_batch(x, meta["erase"], ctx.cfg.AUG.RE_MODE) for x in inputs]
        yield inputs, labels.to(device, non_blocking=True), index, meta, wait
        end = time.perf_counter()


def forward(ctx: LoopContext, model: torch.nn.Module, inputs: list[torch.Tensor]) -> torch.Tensor:
    with torch.autocast(ctx.device.type, dtype=ctx.amp_dtype, enabled=ctx.amp_dtype is not None):
        return model(inputs)


def _progress(iterable: Iterable[T], total: int, desc: str) -> Iterable[T]:
    """A progress bar on rank 0 when attached to a terminal; the plain iterable otherwise."""
    if du.is_main_process() and sys.stdout.isatty():
        return tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True)
    return iterable


def _memory_mb(device: torch.device) -> float:
    """Peak GPU memory allocated since the epoch began (CUDA), else this process's resident memory."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return psutil.Process().memory_info().rss / 2**20


def train_step(ctx: LoopContext, inputs: list[torch.Tensor], labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimisation step; returns (loss, top-1 hits) as tensors on the device, unread: reading them every
    step would make the host wait for the device twice per step."""
    targets = labels
    if ctx.mixup is not None:
        inputs, targets = ctx.mixup(inputs, labels)
    logits = forward(ctx, ctx.model, inputs)
    loss = ctx.loss_fn(logits.float(), targets)
    ctx.optimizer.zero_grad(set_to_none=True)
    ctx.scaler.scale(loss).backward()
    ctx.scaler.unscale_(ctx.optimizer)
    clip_gradients(ctx.model_without_ddp.parameters(), ctx.cfg)
    ctx.scaler.step(ctx.optimizer)
    ctx.scaler.update()
    return loss.detach(), topk_hits(logits.detach(), labels, ks=(1,))[0]


def _read_step(
    ctx: LoopContext, stats: EpochStats, loss: torch.Tensor, correct: torch.Tensor, epoch: int, it: int
) -> tuple[float, int]:
    """Read the logged step's loss and top-1 hits (the loop's one host sync per LOG_PERIOD); stop the run when
    any loss since the epoch began was not finite (their running sum then is not either).

    Raises:
        FloatingPointError: naming the epoch and the iterations the non-finite loss may be in.
    """
    loss_value, hits, loss_sum = torch.stack(
        [loss.double(), correct.double(), torch.as_tensor(stats.loss_sum).double()]
    ).tolist()
    if not math.isfinite(loss_sum):
        first = max(it + 2 - ctx.cfg.LOG_PERIOD, 1)
        where = f"iteration {it + 1}" if first == it + 1 else f"iterations {first}-{it + 1} (read every LOG_PERIOD)"
        raise FloatingPointError(f"training loss is {loss_value} at epoch {epoch + 1}, {where}")
    return loss_value, int(hits)


def train_one_epoch(ctx: LoopContext, loader: Loader, epoch: int, bad_videos: BadVideoTracker) -> dict[str, float]:
    """Train for one epoch, updating the learning rate every iteration from the fractional epoch.

    Loss and accuracy stay on the device and are read every LOG_PERIOD iterations (and at the epoch's end), so
    the host queues the next step while the device computes this one.

    Args:
        ctx (LoopContext): model, optimiser and friends.
        loader (Loader): the train loader (its epoch already set).
        epoch (int): 0-based epoch.
        bad_videos (BadVideoTracker): collects videos that failed to decode.
    Returns:
        dict: loss, top1 (%), clips_per_s (all processes), data_wait_share, lr at the end of the epoch,
        memory_mb (this process's peak during the epoch's training).
    """
    cfg, num_iters = ctx.cfg, len(loader)
    if ctx.device.type == "cuda":
        # The epoch's own peak: not auto's search (its candidates at the run's batch) nor the evaluations before.
        torch.cuda.reset_peak_memory_stats(ctx.device)
    ctx.model.train()
    stats, lr = EpochStats(), 0.0
    batches = _progress(_device_batches(loader, ctx), num_iters, f"epoch {epoch + 1}")
    for it, (inputs, labels, _, meta, wait) in enumerate(batches):
        lr = get_lr_at_epoch(cfg, epoch + it / num_iters)
        set_lr(ctx.optimizer, lr)
        loss, correct = train_step(ctx, inputs, labels)
        stats.update(loss, correct, labels.numel(), wait)
        bad_videos.update(meta)
        if (it + 1) % cfg.LOG_PERIOD == 0 or it + 1 == num_iters:
            loss_value, hits = _read_step(ctx, stats, loss, correct, epoch, it)
            _log_iteration(ctx, epoch, it, num_iters, stats, loss_value, 100.0 * hits / labels.numel(), lr, wait)
    return {**stats.reduced(), "lr": lr, "memory_mb": _memory_mb(ctx.device)}


def eta_text(cfg: CfgNode, epoch: int, it: int, num_iters: int, iter_s: float) -> str:
    """Training time left at ``iter_s`` seconds per iteration, labelled with the epoch it runs to.

    The time to the end of MAX_EPOCH comes first; where the reference's epochs to the target are known
    (BENCHMARK.REFERENCE_EPOCHS) and still ahead, the time to that epoch follows, because a run that
    stops at the target (the quick-starts) ends there. Evaluation time is not included.

    Args:
        cfg (CfgNode): the run configuration (SOLVER.MAX_EPOCH, BENCHMARK.REFERENCE_EPOCHS).
        epoch (int): 0-based epoch being trained.
        it (int): 0-based iteration just finished.
        num_iters (int): iterations per epoch.
        iter_s (float): seconds per iteration so far.
    Returns:
        str: e.g. "ETA to epoch 16 (MAX_EPOCH) 00:12:30, to epoch 3 (reference reached the target) 00:01:10".
    """

    def left(to_epoch: int) -> str:
        remaining = (num_iters - it - 1) + (to_epoch - epoch - 1) * num_iters
        return time.strftime("%H:%M:%S", time.gmtime(remaining * iter_s))

    text = f"ETA to epoch {cfg.SOLVER.MAX_EPOCH} (MAX_EPOCH) {left(cfg.SOLVER.MAX_EPOCH)}"
    target_epoch = cfg.BENCHMARK.REFERENCE_EPOCHS
    if epoch < target_epoch < cfg.SOLVER.MAX_EPOCH:
        text += f", to epoch {target_epoch} (reference reached the target) {left(target_epoch)}"
    return text


def _log_iteration(
    ctx: LoopContext,
    epoch: int,
    it: int,
    num_iters: int,
    stats: EpochStats,
    loss: float,
    top1: float,
    lr: float,
    wait: float,
) -> None:
    cfg = ctx.cfg
    elapsed = time.perf_counter() - stats.start
    world = du.get_world_size()
    clips_per_s = stats.clips * world / max(elapsed, 1e-9)
    if du.is_main_process():
        logger.info(
            "epoch %d/%d iter %d/%d  loss %.4f  lr %.3g  top1 %.2f  clips/s %.1f  data-wait %.0f ms  %s  mem %.0f MB",
            epoch + 1,
            cfg.SOLVER.MAX_EPOCH,
            it + 1,
            num_iters,
            loss,
            lr,
            top1,
            clips_per_s,
            1000 * wait,
            eta_text(cfg, epoch, it, num_iters, elapsed / (it + 1)),
            _memory_mb(ctx.device),
        )
    record: TrainIterRecord = {
        "epoch": epoch,
        "iter": it + 1,
        "global_step": epoch * num_iters + it + 1,
        "loss": loss,
        "lr": lr,
        "top1": top1,
        "clips_per_s": clips_per_s,
        "data_wait_s": wait,
        "time": ctx.clock_time(),
    }
    ctx.metrics.write("train_iter", record, step=epoch * num_iters + it + 1)


@torch.no_grad()
def evaluate(ctx: LoopContext, loader: Loader, bad_videos: BadVideoTracker) -> dict[str, float]:
    """Top-1/top-5 (%) of the bare model over the val split, one view per video, reduced over processes.

    Videos that could not be decoded (``meta["valid"]`` False) are excluded from accuracy and counted.
    Returns:
        dict: top1, top5, num_videos (evaluated over all processes).
    """
    ctx.model_without_ddp.eval()
    # Top-1 hits, top-5 hits, videos: summed on the device and read once, so that no batch waits for the last.
    totals = torch.zeros(3, dtype=torch.float64, device=ctx.device)
    for inputs, labels, _, meta, _ in _progress(_device_batches(loader, ctx), len(loader), "eval"):
        valid = meta["valid"].to(ctx.device, non_blocking=True)
        scores = forward(ctx, ctx.model_without_ddp, inputs)
        totals[:2] += topk_hits(scores, labels, valid=valid)
        totals[2] += valid.sum()
        bad_videos.update(meta)
    correct1, correct5, count = du.all_reduce_sum(totals).tolist()
    return {
        "top1": 100.0 * correct1 / max(count, 1.0),
        "top5": 100.0 * correct5 / max(count, 1.0),
        "num_videos": int(count),
    }


@torch.no_grad()
def test(ctx: LoopContext, loader: Loader, bad_videos: BadVideoTracker) -> dict[str, float]:
    """Multi-view test: sum each video's view scores (NUM_ENSEMBLE_VIEWS x NUM_SPATIAL_CROPS), then top-k.

    Returns:
        dict: top1, top5, num_videos, num_views (over all processes).
    """
    cfg = ctx.cfg
    ctx.model_without_ddp.eval()
    scores = VideoScores(cfg.TEST.NUM_ENSEMBLE_VIEWS * cfg.TEST.NUM_SPATIAL_CROPS, cfg.MODEL.NUM_CLASSES)
    for inputs, labels, index, meta, _ in _progress(_device_batches(loader, ctx), len(loader), "test"):
        valid = meta["valid"]
        output = forward(ctx, ctx.model_without_ddp, inputs).float().cpu()
        scores.add(output[valid], labels.cpu()[valid], index[valid])
        bad_videos.update(meta)
    return scores.result()


def update_precise_bn(ctx: LoopContext, loader: Loader, num_batches: int) -> None:
    """Recompute BatchNorm statistics on ``num_batches`` training batches, then average them over processes.

    Under the run's autocast (``forward``'s), so that with mixed precision the statistics are those of the
    activations that training and evaluation compute.
    """
    if not get_bn_modules(ctx.model_without_ddp):
        return
    inputs_only = (inputs for inputs, *_ in _device_batches(loader, ctx))
    with torch.autocast(ctx.device.type, dtype=ctx.amp_dtype, enabled=ctx.amp_dtype is not None):
        update_bn_stats(ctx.model_without_ddp, inputs_only, min(num_batches, len(loader)))
    for bn in get_bn_modules(ctx.model_without_ddp):
        du.all_reduce_mean([bn.running_mean, bn.running_var])  # in place

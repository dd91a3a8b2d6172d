"""The self-check's measurements, run in every process of the configured job (tools/selfcheck.py).

Each probe is time-boxed and goes through the run's own code: ``build_loop_context`` builds the model,
optimiser and DDP wrapper exactly as a run does, ``train_one_epoch`` / ``evaluate`` / ``update_precise_bn``
run the steps, ``build_loader`` builds the loaders with the configured workers and data. Steps are driven by
``Batches``, which hands the loop the first N batches of an iterable, so a probe is a short epoch.
Processes agree on every step count (rank 0 decides), because DDP steps are collective.
"""

import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import torch
from fvcore.common.config import CfgNode
from torch.utils.data import DataLoader

from slowfast.datasets.bad_videos import BadVideoTracker
from slowfast.datasets.loader import build_loader, set_loader_epoch
from slowfast.engine.implementation import choose_run_implementation
from slowfast.engine.run import build_loop_context
from slowfast.engine.setup import job_device
from slowfast.engine.trainer import LoopContext, evaluate, train_one_epoch, update_precise_bn
from slowfast.engine.warmup import train_input_shape
from slowfast.utils import distributed as du
from slowfast.utils.files import atomic_write_json
from slowfast.utils.metrics import MetricsWriter

logger = logging.getLogger(__name__)

T = TypeVar("T")
# Probes collect bad videos without ever stopping (the run itself enforces DATA.MAX_BAD_FRACTION).
_NEVER_STOP = 1.0


class Batches:
    """The first ``count`` items of ``source`` (a loader or any iterable), with ``len`` = ``count``.

    Args:
        source: iterable of batches; iterated afresh by every ``iter()``.
        count (int): how many batches to hand out.
    """

    def __init__(self, source: Iterable[Any], count: int) -> None:
        self.source, self.count = source, int(count)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Any]:
        return itertools.islice(iter(self.source), self.count)


def _agreed_count(seconds_per_item: float, budget_s: float, low: int, high: int) -> int:
    """Items that fit ``budget_s`` at rank 0's ``seconds_per_item``, clamped to [low, high], on every rank."""
    count = max(low, min(high, int(budget_s / max(seconds_per_item, 1e-6))))
    return du.broadcast_object(count)


def _timed(fn: Callable[[], T]) -> tuple[T, float]:
    """Run ``fn`` after a barrier; return (its result, wall seconds) with all processes finished."""
    du.synchronize()
    start = time.perf_counter()
    result = fn()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()
    du.synchronize()
    return result, time.perf_counter() - start


def all_reduce_bandwidth(device: torch.device, megabytes: float, repeats: int = 5) -> float | None:
    """Bus bandwidth (GB/s) of a float32 all-reduce of ``megabytes`` over the job, or None with one process.

    Bus bandwidth is NCCL's convention: bytes x 2 (n - 1) / n per second, comparable across process counts.
    """
    world = du.get_world_size()
    if world == 1:
        return None
    tensor = torch.ones(int(megabytes * 2**20 / 4), device=device)
    du.all_reduce_sum(tensor)  # warm-up: connections and buffers
    _, seconds = _timed(lambda: [du.all_reduce_sum(tensor) for _ in range(repeats)])
    return tensor.numel() * 4 * 2 * (world - 1) / world * repeats / seconds / 1e9


def synthetic_batch(
    cfg: CfgNode, clips: int, device: torch.device
) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor, dict[str, Any]]:
    """A training batch of random clips of the configured size, as the loader yields it."""
    frames, crop = cfg.DATA.NUM_FRAMES, cfg.DATA.TRAIN_CROP_SIZE
    inputs = [
        torch.randn(clips, channels, frames, crop, crop, device=device) for channels in cfg.DATA.INPUT_CHANNEL_NUM
    ]
    labels = torch.randint(0, cfg.MODEL.NUM_CLASSES, (clips,))
    meta = {"valid": torch.ones(clips, dtype=torch.bool), "bad_paths": []}
    return inputs, labels, torch.arange(clips), meta


def compute_rate(ctx: LoopContext, cfg: CfgNode, budget_s: float) -> tuple[float, float]:
    """Train steps on in-memory clips (no loader): (clips/s per process, seconds per step)."""
    clips = train_input_shape(cfg, du.get_world_size())[0]  # videos x AUG.NUM_SAMPLE, as the loader yields
    batch = synthetic_batch(cfg, clips, ctx.device)
    tracker = BadVideoTracker(1, _NEVER_STOP, "train")
    train_one_epoch(ctx, Batches(itertools.repeat(batch), 2), 0, tracker)  # warm-up: allocator, kernels
    _, first = _timed(lambda: train_one_epoch(ctx, Batches(itertools.repeat(batch), 1), 0, tracker))
    steps = _agreed_count(first, budget_s, 3, 200)
    _, seconds = _timed(lambda: train_one_epoch(ctx, Batches(itertools.repeat(batch), steps), 0, tracker))
    return clips * steps / seconds, seconds / steps


def loader_rate(loader: DataLoader, budget_s: float) -> float:
    """Clips/s this process's loader delivers alone, after its first batch (worker start-up)."""
    iterator = iter(loader)
    next(iterator)
    clips, start = 0, time.perf_counter()
    for inputs, *_ in iterator:
        clips += inputs[0].shape[0]
        if time.perf_counter() - start > budget_s:
            break
    return clips / max(time.perf_counter() - start, 1e-9)


def real_step_time(ctx: LoopContext, loader: DataLoader, budget_s: float, step_guess_s: float) -> tuple[float, float]:
    """Seconds per train step fed by the real loader, and that run's share of time waiting for data."""
    steps = _agreed_count(step_guess_s, budget_s, 5, len(loader))
    tracker = BadVideoTracker.for_loader(loader, _NEVER_STOP, "train")
    stats, seconds = _timed(lambda: train_one_epoch(ctx, Batches(loader, steps), 1, tracker))
    return seconds / steps, stats["data_wait_share"]


def evaluation_time(ctx: LoopContext, cfg: CfgNode, train_loader: DataLoader, budget_s: float) -> tuple[float, float]:
    """Predicted seconds of one evaluation: precise BN (when on) plus the val split, from timed batches."""
    val_loader = build_loader(cfg, "val")
    tracker = BadVideoTracker.for_loader(val_loader, _NEVER_STOP, "val")
    evaluate(ctx, Batches(val_loader, 1), tracker)  # warm-up: val workers start, as in a run's first epoch
    _, first = _timed(lambda: evaluate(ctx, Batches(val_loader, 1), tracker))
    batches = _agreed_count(first, budget_s, 1, len(val_loader))
    _, seconds = _timed(lambda: evaluate(ctx, Batches(val_loader, batches), tracker))
    eval_s = seconds / batches * len(val_loader)
    precise_bn_s = 0.0
    if cfg.BN.USE_PRECISE_STATS:
        count = min(cfg.BN.NUM_BATCHES_PRECISE, len(train_loader), 5)
        _, seconds = _timed(lambda: update_precise_bn(ctx, train_loader, count))
        precise_bn_s = seconds / count * min(cfg.BN.NUM_BATCHES_PRECISE, len(train_loader))
    return eval_s, precise_bn_s


def checkpoint_bytes(ctx: LoopContext) -> int:
    """Bytes of a checkpoint's tensors: model state and optimiser state."""
    tensors = list(ctx.model_without_ddp.state_dict().values())
    for state in ctx.optimizer.state_dict()["state"].values():
        tensors += [v for v in state.values() if torch.is_tensor(v)]
    return sum(t.numel() * t.element_size() for t in tensors)


def _say(message: str) -> None:
    """Progress on rank 0 (a spawned rank 0 has no logging set up: print then)."""
    if du.is_main_process():
        if logging.getLogger().handlers:
            logger.info(message)
        else:
            print(f"[selfcheck] {message}", flush=True)


def measure_job(cfg: CfgNode, result_path: str, budget_s: float) -> None:
    """The measurement job of every process; rank 0 writes the results as JSON to ``result_path``.

    Args:
        cfg (CfgNode): the configuration to check.
        result_path (str): JSON file for the results.
        budget_s (float): seconds given to each timed probe.
    """
    torch.manual_seed(cfg.RNG_SEED)
    _say(
        f"building {cfg.MODEL.MODEL_NAME}; then all-reduce, model, loader, model + loader, evaluation "
        f"(about {budget_s:.0f} s each)"
    )
    # What the run will train: auto's choice is kept in OUTPUT_DIR, and the run with this config reuses it.
    impl, cfg = choose_run_implementation(cfg, job_device(cfg), timed_by="selfcheck")
    ctx = build_loop_context(cfg, MetricsWriter("", enabled=False), lambda: 0.0, impl)
    world = du.get_world_size()
    bandwidth = all_reduce_bandwidth(ctx.device, 64 if ctx.device.type == "cuda" else 16)
    _say("timing train steps on in-memory clips")
    compute, compute_step_s = compute_rate(ctx, cfg, budget_s)
    _say(f"timing the train loader ({cfg.DATA_LOADER.NUM_WORKERS} workers)")
    train_loader = build_loader(cfg, "train")
    set_loader_epoch(train_loader, 0)
    loader = loader_rate(train_loader, budget_s)
    _say("timing train steps fed by the loader")
    step_s, data_wait = real_step_time(ctx, train_loader, budget_s, max(compute_step_s, 1 / max(loader, 1e-6)))
    _say("timing the evaluation")
    eval_s, precise_bn_s = evaluation_time(ctx, cfg, train_loader, budget_s)
    results = {
        "processes": world,
        "device": str(ctx.device),
        "allreduce_busbw_gbs": bandwidth,
        "compute_clips_per_s": du.all_gather_objects(compute),
        "loader_clips_per_s": du.all_gather_objects(loader),
        "step_s": step_s,
        "data_wait_share": data_wait,
        "steps_per_epoch": len(train_loader),
        "clips_per_step": train_input_shape(cfg, world)[0],
        "implementation": impl.describe(),
        "eval_s": eval_s,
        "precise_bn_s": precise_bn_s,
        "checkpoint_bytes": checkpoint_bytes(ctx),
    }
    if du.is_main_process():
        atomic_write_json(result_path, results)

"""Warm-up before the clock, and the compilations counted after it.

torch.compile compiles at a model's first call and cuDNN's autotuner tries its algorithms at each new shape:
left to the first timed step, both run inside the clock. ``warm_up`` runs the model that trains (DDP-wrapped,
maybe compiled) through one train step at the run's shapes and the bare model through one evaluation
forward, then puts back every weight, buffer and optimiser or scaler state the step changed, so training
starts from the same state as without it. ``compiled_frames`` counts torch.compile's compilations, so each
timed epoch can report how many happened in it (the goal is none).
"""

import copy
import logging
import time

import torch
from fvcore.common.config import CfgNode

from slowfast.engine.trainer import LoopContext, forward, train_step

logger = logging.getLogger(__name__)


def train_input_shape(cfg: CfgNode, world_size: int) -> tuple[int, int, int, int, int]:
    """One process's training batch: (clips, channels, frames, crop, crop), clips = videos x AUG.NUM_SAMPLE."""
    clips = max(1, cfg.TRAIN.BATCH_SIZE // world_size) * cfg.AUG.NUM_SAMPLE
    crop = cfg.DATA.TRAIN_CROP_SIZE
    return (clips, cfg.DATA.INPUT_CHANNEL_NUM[0], cfg.DATA.NUM_FRAMES, crop, crop)


def eval_input_shape(cfg: CfgNode, world_size: int) -> tuple[int, int, int, int, int]:
    """One process's batch of the evaluation every epoch: (videos, channels, frames, crop, crop). The val split's
    centre crop is DATA.TRAIN_CROP_SIZE (datasets/kinetics.py); TEST_CROP_SIZE is the multi-view test's, after
    the clock."""
    crop = cfg.DATA.TRAIN_CROP_SIZE
    return (max(1, cfg.TEST.BATCH_SIZE // world_size), cfg.DATA.INPUT_CHANNEL_NUM[0], cfg.DATA.NUM_FRAMES, crop, crop)


def needs_warm_up(device: torch.device, compiled: bool) -> bool:
    """Whether there is anything to warm up: CUDA (the autotuner, DDP's and the allocator's first steps) or a
    compiled model. A plain CPU model has nothing to prepare, so the CPU quick-starts skip the extra step."""
    return device.type == "cuda" or compiled


def warm_up(ctx: LoopContext, world_size: int) -> float:
    """One train step of ``ctx.model`` and one evaluation forward of ``ctx.model_without_ddp`` on random input of
    the run's shapes; then the state before them is restored.

    Args:
        ctx (LoopContext): the run's model, optimiser and scaler (every process calls this: the step all-reduces).
        world_size (int): processes in the job (the per-process batch follows from it).
    Returns:
        float: seconds the warm-up took.
    """
    began, cfg, device = time.perf_counter(), ctx.cfg, ctx.device
    saved = (
        copy.deepcopy(ctx.model_without_ddp.state_dict()),
        copy.deepcopy(ctx.optimizer.state_dict()),
        copy.deepcopy(ctx.scaler.state_dict()),
    )
    inputs = torch.randn(train_input_shape(cfg, world_size), device=device)
    labels = torch.randint(0, cfg.MODEL.NUM_CLASSES, (inputs.shape[0] // cfg.AUG.NUM_SAMPLE,), device=device)
    ctx.model.train()
    train_step(ctx, [inputs], labels.repeat_interleave(cfg.AUG.NUM_SAMPLE))
    ctx.model_without_ddp.eval()
    with torch.no_grad():
        forward(ctx, ctx.model_without_ddp, [torch.randn(eval_input_shape(cfg, world_size), device=device)])
    ctx.model_without_ddp.load_state_dict(saved[0])
    ctx.optimizer.load_state_dict(saved[1])
    if ctx.scaler.is_enabled():  # a disabled scaler has no state to put back
        ctx.scaler.load_state_dict(saved[2])
    ctx.optimizer.zero_grad(set_to_none=True)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - began
    logger.info("warm-up before the clock: one train step and one evaluation batch in %.1f s", seconds)
    return seconds


def compiled_frames() -> int:
    """Frames torch.compile has compiled in this process so far (each compilation and recompilation)."""
    from torch._dynamo.utils import counters  # torch's compile internals: imported only when asked

    return int(counters["frames"]["total"])

"""Learning rate as a pure function of the fractional epoch, with PySlowFast's policies and warm-up.

The training loop calls ``get_lr_at_epoch(cfg, epoch + iteration / iterations_per_epoch)`` (0-based
iteration, as in PySlowFast's train loop) before every step, so the schedule is smooth within an epoch and
does not depend on whether the run resumed.
"""

import math
from collections.abc import Callable

from fvcore.common.config import CfgNode

# Keys of cfg.SOLVER that are learning rates and scale together with the global batch.
_BATCH_SCALED_KEYS = ("BASE_LR", "WARMUP_START_LR", "COSINE_END_LR")


def lr_scale_factor(cfg: CfgNode) -> float:
    """Linear-scaling factor of the learning rates: global batch / the batch the rates are given for.

    TRAIN.BATCH_SIZE is the global batch (all processes of all machines), so the factor is the same under
    every launcher (our spawner, torchrun, several machines). SOLVER.BASE_LR_BATCH_SIZE = 0 turns scaling off.

    Args:
        cfg (CfgNode): run configuration (TRAIN.BATCH_SIZE, SOLVER.BASE_LR_BATCH_SIZE).
    Returns:
        float: 1.0 at the batch the rates were tuned for, 0.25 for a quarter of it, 2.0 for twice it.
    """
    reference_batch = cfg.SOLVER.BASE_LR_BATCH_SIZE
    return cfg.TRAIN.BATCH_SIZE / reference_batch if reference_batch else 1.0


def scaled_lrs(cfg: CfgNode) -> dict[str, float]:
    """Return BASE_LR, WARMUP_START_LR and COSINE_END_LR of ``cfg.SOLVER`` times ``lr_scale_factor(cfg)``.

    Args:
        cfg (CfgNode): run configuration.
    Returns:
        dict: ``{"BASE_LR": float, "WARMUP_START_LR": float, "COSINE_END_LR": float}``.
    """
    factor = lr_scale_factor(cfg)
    return {key: cfg.SOLVER[key] * factor for key in _BATCH_SCALED_KEYS}


def _cosine(cfg: CfgNode, lrs: dict[str, float], cur_epoch: float) -> float:
    solver = cfg.SOLVER
    # With COSINE_AFTER_WARMUP the half cosine starts at the end of warm-up; otherwise it spans the
    # whole run and warm-up simply overrides its first epochs.
    offset = solver.WARMUP_EPOCHS if solver.COSINE_AFTER_WARMUP else 0.0
    span = solver.MAX_EPOCH - offset  # > 0 and COSINE_END_LR <= BASE_LR: checked at load time
    progress = (cur_epoch - offset) / span
    cosine_factor = 0.5 * (1.0 + math.cos(math.pi * progress))
    return lrs["COSINE_END_LR"] + (lrs["BASE_LR"] - lrs["COSINE_END_LR"]) * cosine_factor


def _steps_with_relative_lrs(cfg: CfgNode, lrs: dict[str, float], cur_epoch: float) -> float:
    # STEPS is increasing and starts at 0 (checked at load time): the active step is the last one that
    # has started, and past MAX_EPOCH the last multiplier holds.
    started = sum(1 for start in cfg.SOLVER.STEPS if start <= cur_epoch)
    index = max(started - 1, 0)
    return cfg.SOLVER.LRS[index] * lrs["BASE_LR"]


def _constant(cfg: CfgNode, lrs: dict[str, float], cur_epoch: float) -> float:
    return lrs["BASE_LR"]


_POLICIES: dict[str, Callable[[CfgNode, dict[str, float], float], float]] = {
    "cosine": _cosine,
    "steps_with_relative_lrs": _steps_with_relative_lrs,
    "constant": _constant,
}


def _policy_lr(cfg: CfgNode, lrs: dict[str, float], cur_epoch: float) -> float:
    return _POLICIES[cfg.SOLVER.LR_POLICY](cfg, lrs, cur_epoch)  # the policy name is checked at load time


def get_lr_at_epoch(cfg: CfgNode, cur_epoch: float) -> float:
    """Learning rate at a fractional epoch: the policy's value, or linear warm-up towards it.

    During the first SOLVER.WARMUP_EPOCHS the rate rises linearly from WARMUP_START_LR to the
    policy's value at WARMUP_EPOCHS, as in PySlowFast's ``lr_policy.get_lr_at_epoch``.

    Args:
        cfg (CfgNode): run configuration (SOLVER node, TRAIN.BATCH_SIZE).
        cur_epoch (float): epochs completed so far, e.g. 2.5 halfway through the third epoch.
    Returns:
        float: the learning rate.
    """
    lrs = scaled_lrs(cfg)
    warmup_epochs = cfg.SOLVER.WARMUP_EPOCHS
    if cur_epoch < warmup_epochs:
        start = lrs["WARMUP_START_LR"]
        end = _policy_lr(cfg, lrs, warmup_epochs)
        return start + (end - start) * cur_epoch / warmup_epochs
    return _policy_lr(cfg, lrs, cur_epoch)

"""Learning rate as a pure function of the fractional epoch, with PySlowFast's policies and warm-up.

The training loop calls ``get_lr_at_epoch(cfg, epoch + (iteration + 1) / iterations_per_epoch)`` before
every step, so the schedule is smooth within an epoch and does not depend on whether the run resumed.
"""

import math

# Keys of cfg.SOLVER that are learning rates and therefore scale with NUM_SHARDS when
# BASE_LR_SCALE_NUM_SHARDS is set (PySlowFast scales all three in assert_and_infer_cfg).
_SHARD_SCALED_KEYS = ("BASE_LR", "WARMUP_START_LR", "COSINE_END_LR")


def shard_scaled_lrs(cfg):
    """Return the learning-rate keys of ``cfg.SOLVER`` after optional linear scaling by machine count.

    PySlowFast multiplies BASE_LR, WARMUP_START_LR and COSINE_END_LR by NUM_SHARDS inside its config
    loader; our loader has no side effects, so the scaling happens here, once, for every caller.

    Args:
        cfg (CfgNode): run configuration.
    Returns:
        dict: ``{"BASE_LR": float, "WARMUP_START_LR": float, "COSINE_END_LR": float}``.
    """
    factor = cfg.NUM_SHARDS if cfg.SOLVER.BASE_LR_SCALE_NUM_SHARDS else 1
    return {key: cfg.SOLVER[key] * factor for key in _SHARD_SCALED_KEYS}


def _cosine(cfg, lrs, cur_epoch):
    solver = cfg.SOLVER
    # With COSINE_AFTER_WARMUP the half cosine starts at the end of warm-up; otherwise it spans the
    # whole run and warm-up simply overrides its first epochs.
    offset = solver.WARMUP_EPOCHS if solver.COSINE_AFTER_WARMUP else 0.0
    span = solver.MAX_EPOCH - offset
    if span <= 0:
        raise ValueError(
            f"config key SOLVER.WARMUP_EPOCHS = {solver.WARMUP_EPOCHS} leaves no cosine span: it must be "
            f"below SOLVER.MAX_EPOCH = {solver.MAX_EPOCH} when SOLVER.COSINE_AFTER_WARMUP is True"
        )
    if lrs["COSINE_END_LR"] > lrs["BASE_LR"]:
        raise ValueError(
            f"config key SOLVER.COSINE_END_LR = {solver.COSINE_END_LR} is not allowed: "
            f"at most SOLVER.BASE_LR = {solver.BASE_LR}"
        )
    progress = (cur_epoch - offset) / span
    cosine_factor = 0.5 * (1.0 + math.cos(math.pi * progress))
    return lrs["COSINE_END_LR"] + (lrs["BASE_LR"] - lrs["COSINE_END_LR"]) * cosine_factor


def _steps_with_relative_lrs(cfg, lrs, cur_epoch):
    # STEPS is increasing and starts at 0 (checked at load time): the active step is the last one that
    # has started, and past MAX_EPOCH the last multiplier holds.
    started = sum(1 for start in cfg.SOLVER.STEPS if start <= cur_epoch)
    index = max(started - 1, 0)
    return cfg.SOLVER.LRS[index] * lrs["BASE_LR"]


def _constant(cfg, lrs, cur_epoch):
    return lrs["BASE_LR"]


_POLICIES = {
    "cosine": _cosine,
    "steps_with_relative_lrs": _steps_with_relative_lrs,
    "constant": _constant,
}


def _policy_lr(cfg, lrs, cur_epoch):
    policy = cfg.SOLVER.LR_POLICY
    if policy not in _POLICIES:
        raise ValueError(f"config key SOLVER.LR_POLICY = {policy!r} is not allowed: one of {list(_POLICIES)}")
    return _POLICIES[policy](cfg, lrs, cur_epoch)


def get_lr_at_epoch(cfg, cur_epoch):
    """Learning rate at a fractional epoch: the policy's value, or linear warm-up towards it.

    During the first SOLVER.WARMUP_EPOCHS the rate rises linearly from WARMUP_START_LR to the
    policy's value at WARMUP_EPOCHS, as in PySlowFast's ``lr_policy.get_lr_at_epoch``.

    Args:
        cfg (CfgNode): run configuration (SOLVER node, NUM_SHARDS).
        cur_epoch (float): epochs completed so far, e.g. 2.5 halfway through the third epoch.
    Returns:
        float: the learning rate.
    """
    lrs = shard_scaled_lrs(cfg)
    warmup_epochs = cfg.SOLVER.WARMUP_EPOCHS
    if cur_epoch < warmup_epochs:
        start = lrs["WARMUP_START_LR"]
        end = _policy_lr(cfg, lrs, warmup_epochs)
        return start + (end - start) * cur_epoch / warmup_epochs
    return _policy_lr(cfg, lrs, cur_epoch)

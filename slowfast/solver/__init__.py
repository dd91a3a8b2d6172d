"""Solver: learning-rate policy, optimizer parameter groups, gradient clipping and losses."""

from slowfast.solver.losses import get_loss_func
from slowfast.solver.lr_policy import get_lr_at_epoch
from slowfast.solver.optimizer import build_optimizer, build_param_groups, clip_gradients, set_lr

__all__ = [
    "build_optimizer",
    "build_param_groups",
    "clip_gradients",
    "get_loss_func",
    "get_lr_at_epoch",
    "set_lr",
]

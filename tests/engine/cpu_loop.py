"""The train loop's context on the CPU for a given model, shared by the loop and warm-up tests."""

import torch

from slowfast.engine.trainer import LoopContext
from slowfast.solver.losses import get_loss_func
from slowfast.solver.optimizer import build_optimizer


class NoMetrics:
    """A metrics writer that keeps nothing."""

    def write(self, *args, **kwargs):
        pass


def cpu_loop_context(cfg, model, amp_dtype=None):
    """The train loop's context for ``model`` on the CPU: cross-entropy, no scaler, mixup or metrics."""
    return LoopContext(
        cfg=cfg,
        model=model,
        model_without_ddp=model,
        optimizer=build_optimizer(model, cfg),
        scaler=torch.amp.GradScaler("cpu", enabled=False),
        loss_fn=get_loss_func("cross_entropy")(reduction="mean"),
        mixup=None,
        device=torch.device("cpu"),
        amp_dtype=amp_dtype,
        metrics=NoMetrics(),
        clock_time=lambda: 0.0,
    )

"""Classification losses selected by MODEL.LOSS_FUNC."""

from collections.abc import Callable

import torch
from torch import nn


class SoftTargetCrossEntropy(nn.Module):
    """Cross entropy against probability-vector targets (mixup / cutmix / label smoothing).

    Args:
        reduction (str): "mean" over the batch, "sum", or "none" for one value per sample.
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction = {reduction!r} is not allowed: one of ['mean', 'sum', 'none']")
        self.reduction = reduction

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Return ``-sum_c target[n, c] * log_softmax(logits)[n, c]``, reduced over the batch n.

        Args:
            logits (Tensor): (N, C) unnormalised scores.
            target (Tensor): (N, C) class probabilities, each row summing to 1.
        Returns:
            Tensor: the loss (0-dim unless reduction is "none").
        """
        per_sample = -(target * torch.log_softmax(logits, dim=-1)).sum(dim=-1)
        if self.reduction == "mean":
            return per_sample.mean()
        if self.reduction == "sum":
            return per_sample.sum()
        return per_sample


_LOSSES: dict[str, Callable[..., nn.Module]] = {
    "cross_entropy": nn.CrossEntropyLoss,
    "soft_cross_entropy": SoftTargetCrossEntropy,
}


def get_loss_func(name: str) -> Callable[..., nn.Module]:
    """Loss class for MODEL.LOSS_FUNC; instantiate it as ``get_loss_func(name)(reduction="mean")``.

    Args:
        name (str): "cross_entropy" (integer class targets) or "soft_cross_entropy" (probability targets).
    Returns:
        type: an ``nn.Module`` class taking ``reduction``.
    Raises:
        KeyError: an unknown name (the config checks allow only these two).
    """
    return _LOSSES[name]

"""Small building blocks shared by the models: width rounding, squeeze-excitation, drop path, MLP."""

from collections.abc import Callable, Iterable

import torch
from torch import Tensor, nn

# Builds a normalisation layer for a number of channels (e.g. a BatchNorm3d or LayerNorm with its eps bound).
NormLayer = Callable[[int], nn.Module]
# A (T, H, W) kernel, stride or padding.
Size3 = tuple[int, int, int]


def size3(values: Iterable[int]) -> Size3:
    """The (T, H, W) triple of three numbers (a config list or a computed sequence).

    Raises:
        ValueError: not exactly three numbers.
    """
    t, h, w = values
    return int(t), int(h), int(w)


def round_width(width: int, multiplier: float | None, *, min_width: int = 1, divisor: int = 1) -> int:
    """Scale a channel count and round it to a multiple of ``divisor`` (PySlowFast's rule).

    Args:
        width (int): channels before scaling.
        multiplier (float): scale factor; 0 or None keeps ``width``.
        min_width (int): smallest result allowed (0 means ``divisor``).
        divisor (int): the result is a multiple of it.
    Returns:
        int: the rounded width; never more than 10% below the exact product.
    """
    if not multiplier:
        return width
    scaled = width * multiplier
    min_width = min_width or divisor
    rounded = max(min_width, int(scaled + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * scaled:
        rounded += divisor
    return int(rounded)


def head_activation(name: str, dim: int) -> nn.Module:
    """The classifier's eval-mode activation: "softmax" over ``dim``, "sigmoid" or "none".

    Raises:
        KeyError: any other name (the config checks allow only these).
    """
    builders: dict[str, Callable[[], nn.Module]] = {
        "softmax": lambda: nn.Softmax(dim=dim),
        "sigmoid": nn.Sigmoid,
        "none": nn.Identity,
    }
    return builders[name]()


class SqueezeExcitation(nn.Module):
    """Channel gating: global average pool, 1x1x1 conv, ReLU, 1x1x1 conv, sigmoid, rescale the input."""

    def __init__(self, channels: int, ratio: float) -> None:
        """
        Args:
            channels (int): channels of the input.
            ratio (float): squeeze width relative to ``channels`` (rounded to a multiple of 8, at least 8).
        """
        super().__init__()
        squeezed = round_width(channels, ratio, min_width=8, divisor=8)
        self.avg_pool = nn.AdaptiveAvgPool3d((1, 1, 1))
        self.fc1 = nn.Conv3d(channels, squeezed, 1, bias=True)
        self.fc1_act = nn.ReLU()
        self.fc2 = nn.Conv3d(squeezed, channels, 1, bias=True)
        self.fc2_sig = nn.Sigmoid()

    def forward(self, x: Tensor) -> Tensor:
        gate = self.fc2_sig(self.fc2(self.fc1_act(self.fc1(self.avg_pool(x)))))
        return x * gate


class DropPath(nn.Module):
    """Stochastic depth: zero a whole sample's residual branch with probability ``drop_prob`` in training."""

    def __init__(self, drop_prob: float) -> None:
        """
        Args:
            drop_prob (float): probability of dropping the branch of a sample.
        """
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x: Tensor) -> Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep_prob = 1.0 - self.drop_prob
        mask_shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        mask = (keep_prob + torch.rand(mask_shape, dtype=x.dtype, device=x.device)).floor_()
        return x.div(keep_prob) * mask

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob}"


class Mlp(nn.Module):
    """Transformer feed-forward: Linear, GELU, (dropout), Linear, (dropout)."""

    def __init__(self, in_features: int, hidden_features: int, out_features: int, *, drop_rate: float = 0.0) -> None:
        """
        Args:
            in_features (int): input width.
            hidden_features (int): hidden width.
            out_features (int): output width.
            drop_rate (float): dropout after the activation and after the output (0 = none).
        """
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, out_features)
        self.drop = nn.Dropout(drop_rate) if drop_rate > 0.0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))

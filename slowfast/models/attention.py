"""Multiscale attention of MViT v1: q/k/v are pooled over (T, H, W) before attending."""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from slowfast.models.channelwise_conv import depthwise_conv3d
from slowfast.models.layers import NormLayer, Size3, size3


def default_pool_kernel(stride: Size3) -> Size3:
    """PySlowFast's pooling kernel for a stride: stride + 1 where the stride is above 1, else 1 (odd, centred)."""
    return size3(s + 1 if s > 1 else s for s in stride)


@dataclass(frozen=True)
class BlockPooling:
    """Pooling kernels and strides of one block's queries and keys/values; None means no pooling."""

    kernel_q: Size3 | None = None
    kernel_kv: Size3 | None = None
    stride_q: Size3 | None = None
    stride_kv: Size3 | None = None


@dataclass(frozen=True)
class AttentionSettings:
    """The settings every block's attention shares (the blocks use some of them for their own layers too).

    Attributes:
        norm_layer (callable): builds the LayerNorms (the per-head ones after conv pooling, the blocks' own).
        has_cls_token (bool): the first token is a class token.
        qkv_bias (bool): bias in the q/k/v projection.
        mode (str): pooling "conv" (channel-wise conv + norm), "max" or "avg".
        drop_rate (float): dropout after the output projection (and in the blocks' MLPs).
        fused (bool): use ``F.scaled_dot_product_attention`` (same result, less memory and time).
        channels_last (bool): pool tokens in channels_last_3d layout (see ``pool_tokens``).
        fast_channelwise_backward (bool): conv pooling through ``ChannelwiseConv3d`` (cheaper input gradient).
    """

    norm_layer: NormLayer
    has_cls_token: bool
    qkv_bias: bool = True
    mode: str = "conv"
    drop_rate: float = 0.0
    fused: bool = True
    channels_last: bool = True
    fast_channelwise_backward: bool = True


def pool_tokens(
    tokens: Tensor,
    pool: nn.Module | None,
    thw_shape: list[int],
    *,
    has_cls_token: bool,
    norm: nn.Module | None = None,
    channels_last: bool = False,
) -> tuple[Tensor, list[int]]:
    """Pool the space-time tokens of each head (the class token passes through), then normalise.

    Args:
        tokens (Tensor): (B, heads, L, C) with L = [1 +] T*H*W.
        pool (nn.Module or None): a 3D conv/pool acting on (B*heads, C, T, H, W); None returns the input.
        thw_shape (list[int]): [T, H, W] of the tokens.
        has_cls_token (bool): the first token is a class token.
        norm (nn.Module or None): applied to the pooled tokens, class token included.
        channels_last (bool): pool in channels_last_3d layout, which is the tokens' own (T, H, W, C) order:
            no transposing copy in or out, and faster channel-wise convolutions on CPU. Same numbers.
    Returns:
        tuple(Tensor, list[int]): pooled tokens (B, heads, L', C) and their [T', H', W'].
    """
    if pool is None:
        return tokens, thw_shape
    if has_cls_token:
        cls_token, tokens = tokens[:, :, :1, :], tokens[:, :, 1:, :]
    batch, heads, _, channels = tokens.shape
    grid = tokens.reshape(batch * heads, *thw_shape, channels).permute(0, 4, 1, 2, 3)
    grid = pool(grid.contiguous(memory_format=torch.channels_last_3d if channels_last else torch.contiguous_format))
    thw_shape = list(grid.shape[2:])
    tokens = grid.reshape(batch, heads, channels, -1).transpose(2, 3)
    if has_cls_token:
        tokens = torch.cat((cls_token, tokens), dim=2)
    if norm is not None:
        tokens = norm(tokens)
    return tokens, thw_shape


class MultiScaleAttention(nn.Module):
    """Multi-head self-attention whose queries and keys/values are pooled (conv, max or avg) per head."""

    def __init__(self, *, dim: int, num_heads: int, pooling: BlockPooling, settings: AttentionSettings) -> None:
        """
        Args:
            dim (int): token width (the output has the same width).
            num_heads (int): attention heads.
            pooling (BlockPooling): pooling kernels and strides of q and k/v.
            settings (AttentionSettings): the model-wide attention settings.
        """
        super().__init__()
        self.num_heads = num_heads
        head_dim = dim // num_heads
        self.scale = head_dim**-0.5
        self.has_cls_token = settings.has_cls_token
        self.fused = settings.fused
        self.channels_last = settings.channels_last
        self.qkv = nn.Linear(dim, dim * 3, bias=settings.qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(settings.drop_rate) if settings.drop_rate > 0.0 else nn.Identity()
        for name, kernel, stride in (
            ("q", pooling.kernel_q, pooling.stride_q),
            ("k", pooling.kernel_kv, pooling.stride_kv),
            ("v", pooling.kernel_kv, pooling.stride_kv),
        ):
            pool, norm = _make_pool(kernel, stride, channels=head_dim, settings=settings)
            setattr(self, f"pool_{name}", pool)
            if norm is not None:
                setattr(self, f"norm_{name}", norm)

    def forward(self, x: Tensor, thw_shape: list[int]) -> tuple[Tensor, list[int]]:
        """
        Args:
            x (Tensor): tokens (B, N, dim).
            thw_shape (list[int]): [T, H, W] of the tokens (excluding the class token).
        Returns:
            tuple(Tensor, list[int]): output tokens (B, N', dim) and the query grid [T', H', W'].
        """
        batch, tokens, _ = x.shape
        # unbind, not indexing: its backward stacks the three gradients instead of zero-filling three copies.
        q, k, v = self.qkv(x).reshape(batch, tokens, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        pooled = []
        for name, tokens_in in (("q", q), ("k", k), ("v", v)):
            pooled.append(
                pool_tokens(
                    tokens_in,
                    getattr(self, f"pool_{name}"),
                    thw_shape,
                    has_cls_token=self.has_cls_token,
                    norm=getattr(self, f"norm_{name}", None),
                    channels_last=self.channels_last,
                )
            )
        (q, q_shape), (k, _), (v, _) = pooled
        if self.fused:
            x = F.scaled_dot_product_attention(q, k, v, scale=self.scale)
        else:
            x = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1) @ v
        x = x.transpose(1, 2).reshape(batch, q.shape[2], -1)
        return self.proj_drop(self.proj(x)), q_shape


def _make_pool(
    kernel: Size3 | None, stride: Size3 | None, *, channels: int, settings: AttentionSettings
) -> tuple[nn.Module | None, nn.Module | None]:
    """The pooling layer of q, k or v and, for conv pooling, its norm; (None, None) where nothing is pooled."""
    # A 1x1x1 kernel with stride 1 would be the identity: no pooling layer at all, as PySlowFast.
    if kernel is None or stride is None or (math.prod(kernel) == 1 and math.prod(stride) == 1):
        return None, None
    padding = size3(k // 2 for k in kernel)
    if settings.mode == "conv":
        conv = depthwise_conv3d(
            channels,
            kernel,
            stride=stride,
            padding=padding,
            flip_input_grad=settings.fast_channelwise_backward,
            conv_weight_grad=False,
        )
        return conv, settings.norm_layer(channels)
    if settings.mode == "max":
        return nn.MaxPool3d(kernel, stride, padding, ceil_mode=False), None
    return nn.AvgPool3d(kernel, stride, padding, ceil_mode=False), None  # "avg", the last mode the checks allow

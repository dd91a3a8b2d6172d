"""Multiscale attention of MViT v1: q/k/v are pooled over (T, H, W) before attending."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from slowfast.models.channelwise_conv import ChannelwiseConv3d


def pool_tokens(tokens, pool, thw_shape, has_cls_token, norm=None, channels_last=False):
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

    def __init__(
        self,
        dim,
        num_heads,
        qkv_bias,
        kernel_q,
        kernel_kv,
        stride_q,
        stride_kv,
        norm_layer,
        has_cls_token,
        mode="conv",
        drop_rate=0.0,
        fused=True,
        channels_last=True,
        fast_channelwise_backward=True,
    ):
        """
        Args:
            dim (int): token width (the output has the same width).
            num_heads (int): attention heads.
            qkv_bias (bool): bias in the q/k/v projection.
            kernel_q, kernel_kv (sequence[int]): pooling kernels (empty = no pooling).
            stride_q, stride_kv (sequence[int]): pooling strides (empty = 1).
            norm_layer (callable): builds the per-head normalisation after conv pooling.
            has_cls_token (bool): the first token is a class token.
            mode (str): "conv" (channel-wise conv + norm), "max" or "avg".
            drop_rate (float): dropout after the output projection.
            fused (bool): use ``F.scaled_dot_product_attention`` (same result, less memory and time).
            channels_last (bool): pool q/k/v in channels_last_3d layout (see ``pool_tokens``).
            fast_channelwise_backward (bool): conv pooling through ``ChannelwiseConv3d`` (cheaper input gradient).
        """
        super().__init__()
        self.num_heads = num_heads
        head_dim = dim // num_heads
        self.scale = head_dim**-0.5
        self.has_cls_token = has_cls_token
        self.fused = fused
        self.channels_last = channels_last
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(drop_rate) if drop_rate > 0.0 else nn.Identity()
        # A 1x1x1 kernel with stride 1 would be the identity: no pooling layer at all, as PySlowFast.
        if math.prod(kernel_q) == 1 and math.prod(stride_q) == 1:
            kernel_q = ()
        if math.prod(kernel_kv) == 1 and math.prod(stride_kv) == 1:
            kernel_kv = ()
        for name, kernel, stride in (
            ("q", kernel_q, stride_q),
            ("k", kernel_kv, stride_kv),
            ("v", kernel_kv, stride_kv),
        ):
            pool, norm = _make_pool(mode, kernel, stride, head_dim, norm_layer, fast_channelwise_backward)
            setattr(self, f"pool_{name}", pool)
            if norm is not None:
                setattr(self, f"norm_{name}", norm)

    def forward(self, x, thw_shape):
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
                    self.has_cls_token,
                    getattr(self, f"norm_{name}", None),
                    self.channels_last,
                )
            )
        (q, q_shape), (k, _), (v, _) = pooled
        if self.fused:
            x = F.scaled_dot_product_attention(q, k, v, scale=self.scale)
        else:
            x = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1) @ v
        x = x.transpose(1, 2).reshape(batch, q.shape[2], -1)
        return self.proj_drop(self.proj(x)), q_shape


def _make_pool(mode, kernel, stride, head_dim, norm_layer, fast_channelwise_backward):
    if len(kernel) == 0:
        return None, None
    padding = [k // 2 for k in kernel]
    if mode == "conv":
        conv_class = ChannelwiseConv3d if fast_channelwise_backward else nn.Conv3d
        conv = conv_class(head_dim, head_dim, kernel, stride=stride, padding=padding, groups=head_dim, bias=False)
        return conv, norm_layer(head_dim)
    if mode == "max":
        return nn.MaxPool3d(kernel, stride, padding, ceil_mode=False), None
    return nn.AvgPool3d(kernel, stride, padding, ceil_mode=False), None  # "avg", the last mode the checks allow

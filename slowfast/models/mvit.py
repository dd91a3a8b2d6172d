"""MViT v1 (Fan et al., ICCV 2021) with PySlowFast's module layout, so state_dict keys match its checkpoints.

Sizes (B 16x4, B 32x3, ...) come from the ``cfg.MVIT`` keys: stages are expressed as per-block width/head
multipliers (DIM_MUL, HEAD_MUL) and query pooling strides (POOL_Q_STRIDE); key/value pooling strides follow
POOL_KV_STRIDE or are derived from POOL_KV_STRIDE_ADAPTIVE.
"""

import math
from functools import partial

import torch
from torch import nn

from slowfast.models.attention import MultiScaleAttention, pool_tokens
from slowfast.models.build import MODEL_REGISTRY
from slowfast.models.layers import DropPath, Mlp, head_activation, round_width
from slowfast.models.weight_init import init_transformer_weights


class PatchEmbed(nn.Module):
    """Cut the clip into space-time patches with a strided 3D convolution; returns tokens (B, N, C).

    With ``channels_last`` the convolution writes (B, T, H, W, C) memory, which already is the token order.
    """

    def __init__(self, dim_in, dim_out, kernel, stride, padding, channels_last=False):
        super().__init__()
        self.channels_last = channels_last
        self.proj = nn.Conv3d(dim_in, dim_out, kernel_size=kernel, stride=stride, padding=padding)

    def forward(self, x):
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last_3d)
        return self.proj(x).flatten(2).transpose(1, 2)


class MultiScaleBlock(nn.Module):
    """Pre-norm transformer block with pooling attention; widens to ``dim_out`` through the MLP and a
    linear projection of the skip connection, and pools the skip connection like the queries."""

    def __init__(
        self,
        dim,
        dim_out,
        num_heads,
        mlp_ratio,
        qkv_bias,
        drop_path,
        norm_layer,
        kernel_q,
        kernel_kv,
        stride_q,
        stride_kv,
        mode,
        has_cls_token,
        drop_rate=0.0,
        fused_attention=True,
        channels_last=True,
        fast_channelwise_backward=True,
    ):
        super().__init__()
        self.dim, self.dim_out = dim, dim_out
        self.has_cls_token = has_cls_token
        self.channels_last = channels_last
        self.norm1 = norm_layer(dim)
        self.attn = MultiScaleAttention(
            dim,
            num_heads,
            qkv_bias,
            kernel_q,
            kernel_kv,
            stride_q,
            stride_kv,
            norm_layer=norm_layer,
            has_cls_token=has_cls_token,
            mode=mode,
            drop_rate=drop_rate,
            fused=fused_attention,
            channels_last=channels_last,
            fast_channelwise_backward=fast_channelwise_backward,
        )
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), dim_out, drop_rate=drop_rate)
        if dim != dim_out:
            self.proj = nn.Linear(dim, dim_out)
        self.pool_skip = None
        if len(stride_q) > 0 and math.prod(stride_q) > 1:
            kernel_skip = [s + 1 if s > 1 else s for s in stride_q]
            self.pool_skip = nn.MaxPool3d(kernel_skip, stride_q, [k // 2 for k in kernel_skip], ceil_mode=False)

    def forward(self, x, thw_shape):
        attended, new_shape = self.attn(self.norm1(x), thw_shape)
        skip, _ = pool_tokens(
            x.unsqueeze(1), self.pool_skip, thw_shape, self.has_cls_token, channels_last=self.channels_last
        )
        x = skip.squeeze(1) + self.drop_path(attended)
        x_norm = self.norm2(x)
        if self.dim != self.dim_out:
            x = self.proj(x_norm)
        return x + self.drop_path(self.mlp(x_norm)), new_shape


class TransformerBasicHead(nn.Module):
    """Dropout and a linear classifier; the activation (softmax) is applied in eval mode only."""

    def __init__(self, dim_in, num_classes, dropout_rate, head_act):
        super().__init__()
        if dropout_rate > 0.0:
            self.dropout = nn.Dropout(dropout_rate)
        self.projection = nn.Linear(dim_in, num_classes, bias=True)
        self.act = head_activation(head_act, dim=1)

    def forward(self, x, return_logits=False):
        if hasattr(self, "dropout"):
            x = self.dropout(x)
        x = self.projection(x)
        if return_logits or self.training:
            return x
        return self.act(x)


def pooling_schedule(depth, pool_q_stride, pool_kv_stride, pool_kv_stride_adaptive, pool_kvq_kernel):
    """Per-block pooling kernels and strides for queries and keys/values (PySlowFast's rules).

    Args:
        depth (int): number of blocks.
        pool_q_stride (list): [[block, sT, sH, sW], ...] query strides.
        pool_kv_stride (list): [[block, sT, sH, sW], ...] key/value strides (used when no adaptive rule).
        pool_kv_stride_adaptive (list): initial [sT, sH, sW] key/value stride, divided by every query
            stride on the way, so keys/values keep a fixed resolution ([] = off).
        pool_kvq_kernel (list): pooling kernel for all pooled blocks ([] = stride + 1 where stride > 1).
    Returns:
        tuple(list, list, list, list): kernel_q, kernel_kv, stride_q, stride_kv; one entry per block,
        an empty list meaning no pooling.
    """
    kernel_q, kernel_kv = [[] for _ in range(depth)], [[] for _ in range(depth)]
    stride_q, stride_kv = [[] for _ in range(depth)], [[] for _ in range(depth)]

    def kernel_for(stride):
        return list(pool_kvq_kernel) if pool_kvq_kernel else [s + 1 if s > 1 else s for s in stride]

    for block, *stride in pool_q_stride:
        stride_q[block], kernel_q[block] = list(stride), kernel_for(stride)
    if pool_kv_stride_adaptive:
        current = list(pool_kv_stride_adaptive)
        pool_kv_stride = []
        for block in range(depth):
            if stride_q[block]:
                current = [max(s // q, 1) for s, q in zip(current, stride_q[block])]
            pool_kv_stride.append([block] + current)
    for block, *stride in pool_kv_stride:
        stride_kv[block], kernel_kv[block] = list(stride), kernel_for(stride)
    return kernel_q, kernel_kv, stride_q, stride_kv


@MODEL_REGISTRY.register()
class MViT(nn.Module):
    """Multiscale Vision Transformer v1. Input: a list with one (N, C, T, H, W) tensor of the built size."""

    def __init__(
        self,
        num_classes=400,
        num_frames=16,
        crop_size=224,
        in_channels=3,
        embed_dim=96,
        num_heads=1,
        depth=16,
        mlp_ratio=4.0,
        qkv_bias=True,
        drop_path_rate=0.1,
        dropout_rate=0.0,
        head_dropout_rate=0.5,
        head_act="softmax",
        patch_kernel=(3, 7, 7),
        patch_stride=(2, 4, 4),
        patch_padding=(1, 3, 3),
        mode="conv",
        cls_embed_on=True,
        sep_pos_embed=False,
        norm_stem=False,
        dim_mul=(),
        head_mul=(),
        pool_q_stride=(),
        pool_kv_stride=(),
        pool_kv_stride_adaptive=(),
        pool_kvq_kernel=(),
        fused_attention=True,
        channels_last=True,
        fast_channelwise_backward=True,
    ):
        """
        Args:
            num_classes (int): classifier outputs.
            num_frames (int), crop_size (int): the only input size the model accepts (position embeddings).
            in_channels (int): input channels.
            embed_dim (int), num_heads (int): width and heads of the first block.
            depth (int), mlp_ratio (float), qkv_bias (bool): transformer shape.
            drop_path_rate (float): stochastic depth, rising linearly from 0 to this over the blocks.
            dropout_rate (float): dropout after position embedding, in attention and MLP (MVIT.DROPOUT_RATE).
            head_dropout_rate (float), head_act (str): head dropout (MODEL.DROPOUT_RATE) and eval activation.
            patch_kernel, patch_stride, patch_padding (sequence[int]): patch-embedding convolution.
            mode (str): attention pooling "conv", "max" or "avg".
            cls_embed_on (bool): class token (else the tokens are averaged).
            sep_pos_embed (bool): separate spatial, temporal (and class) position embeddings.
            norm_stem (bool): LayerNorm after the position embedding.
            dim_mul, head_mul (sequence): [[block, multiplier], ...].
            pool_q_stride, pool_kv_stride, pool_kv_stride_adaptive, pool_kvq_kernel: see ``pooling_schedule``.
            fused_attention (bool): use ``F.scaled_dot_product_attention``.
            channels_last (bool): patch embedding and token pooling in channels_last_3d layout (same numbers).
            fast_channelwise_backward (bool): conv pooling through ``ChannelwiseConv3d`` (same numbers).
        """
        super().__init__()
        norm_layer = partial(nn.LayerNorm, eps=1e-6)
        self.cls_embed_on, self.sep_pos_embed = cls_embed_on, sep_pos_embed
        self.input_dims = [num_frames, crop_size, crop_size]
        self.patch_dims = [size // stride for size, stride in zip(self.input_dims, patch_stride)]
        num_patches = math.prod(self.patch_dims)
        if cls_embed_on:
            self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        if sep_pos_embed:
            self.pos_embed_spatial = nn.Parameter(torch.zeros(1, self.patch_dims[1] * self.patch_dims[2], embed_dim))
            self.pos_embed_temporal = nn.Parameter(torch.zeros(1, self.patch_dims[0], embed_dim))
            if cls_embed_on:
                self.pos_embed_class = nn.Parameter(torch.zeros(1, 1, embed_dim))
        else:
            self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + int(cls_embed_on), embed_dim))
        self.patch_embed = PatchEmbed(in_channels, embed_dim, patch_kernel, patch_stride, patch_padding, channels_last)
        self.pos_drop = nn.Dropout(dropout_rate) if dropout_rate > 0.0 else nn.Identity()
        self.norm_stem = norm_layer(embed_dim) if norm_stem else None
        schedule = pooling_schedule(depth, pool_q_stride, pool_kv_stride, pool_kv_stride_adaptive, pool_kvq_kernel)
        dim_muls, head_muls = [1.0] * (depth + 1), [1.0] * (depth + 1)
        for block, multiplier in dim_mul:
            dim_muls[block] = multiplier
        for block, multiplier in head_mul:
            head_muls[block] = multiplier
        drop_path_rates = torch.linspace(0, drop_path_rate, depth).tolist()
        self.blocks = nn.ModuleList()
        for i in range(depth):
            num_heads = round_width(num_heads, head_muls[i])
            embed_dim = round_width(embed_dim, dim_muls[i], divisor=num_heads)
            dim_out = round_width(embed_dim, dim_muls[i + 1], divisor=round_width(num_heads, head_muls[i + 1]))
            self.blocks.append(
                MultiScaleBlock(
                    embed_dim,
                    dim_out,
                    num_heads,
                    mlp_ratio,
                    qkv_bias,
                    drop_path_rates[i],
                    norm_layer,
                    kernel_q=schedule[0][i],
                    kernel_kv=schedule[1][i],
                    stride_q=schedule[2][i],
                    stride_kv=schedule[3][i],
                    mode=mode,
                    has_cls_token=cls_embed_on,
                    drop_rate=dropout_rate,
                    fused_attention=fused_attention,
                    channels_last=channels_last,
                    fast_channelwise_backward=fast_channelwise_backward,
                )
            )
        self.norm = norm_layer(dim_out)
        self.head = TransformerBasicHead(dim_out, num_classes, head_dropout_rate, head_act)
        self._init_weights()

    def _init_weights(self):
        for name in ("pos_embed", "pos_embed_spatial", "pos_embed_temporal", "pos_embed_class", "cls_token"):
            if hasattr(self, name):
                nn.init.trunc_normal_(getattr(self, name), std=0.02)
        init_transformer_weights(self, std=0.02)

    def no_weight_decay_names(self):
        """Names of the position embeddings and class token (for MVIT.ZERO_DECAY_POS_CLS)."""
        names = ("pos_embed", "pos_embed_spatial", "pos_embed_temporal", "pos_embed_class", "cls_token")
        return {name for name in names if hasattr(self, name)}

    @classmethod
    def from_config(cls, cfg):
        """Build from ``cfg.MVIT``, ``cfg.MODEL`` and ``cfg.DATA`` keys (one crop size: the config checks ensure
        DATA.TEST_CROP_SIZE equals DATA.TRAIN_CROP_SIZE)."""
        m = cfg.MVIT
        return cls(
            num_classes=cfg.MODEL.NUM_CLASSES,
            num_frames=cfg.DATA.NUM_FRAMES,
            crop_size=cfg.DATA.TRAIN_CROP_SIZE,
            in_channels=cfg.DATA.INPUT_CHANNEL_NUM[0],
            embed_dim=m.EMBED_DIM,
            num_heads=m.NUM_HEADS,
            depth=m.DEPTH,
            mlp_ratio=m.MLP_RATIO,
            qkv_bias=m.QKV_BIAS,
            drop_path_rate=m.DROPPATH_RATE,
            dropout_rate=m.DROPOUT_RATE,
            head_dropout_rate=cfg.MODEL.DROPOUT_RATE,
            head_act=cfg.MODEL.HEAD_ACT,
            patch_kernel=m.PATCH_KERNEL,
            patch_stride=m.PATCH_STRIDE,
            patch_padding=m.PATCH_PADDING,
            mode=m.MODE,
            cls_embed_on=m.CLS_EMBED_ON,
            sep_pos_embed=m.SEP_POS_EMBED,
            norm_stem=m.NORM_STEM,
            dim_mul=m.DIM_MUL,
            head_mul=m.HEAD_MUL,
            pool_q_stride=m.POOL_Q_STRIDE,
            pool_kv_stride=m.POOL_KV_STRIDE,
            pool_kv_stride_adaptive=m.POOL_KV_STRIDE_ADAPTIVE,
            pool_kvq_kernel=m.POOL_KVQ_KERNEL,
            fused_attention=m.FUSED_ATTENTION,
            channels_last=cfg.MODEL.CHANNELS_LAST,
            fast_channelwise_backward=m.FAST_CHANNELWISE_BACKWARD,
        )

    def _position_embedding(self):
        if not self.sep_pos_embed:
            return self.pos_embed
        t, h, w = self.patch_dims
        pos = self.pos_embed_spatial.repeat(1, t, 1) + torch.repeat_interleave(self.pos_embed_temporal, h * w, dim=1)
        if self.cls_embed_on:
            pos = torch.cat([self.pos_embed_class, pos], dim=1)
        return pos

    def forward(self, inputs, return_logits=False):
        x = inputs[0]
        if list(x.shape[2:]) != self.input_dims:
            raise ValueError(f"MViT was built for T,H,W = {self.input_dims}, got input {list(x.shape)}")
        x = self.patch_embed(x)
        if self.cls_embed_on:
            x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = self.pos_drop(x + self._position_embedding())
        if self.norm_stem is not None:
            x = self.norm_stem(x)
        thw_shape = list(self.patch_dims)
        for block in self.blocks:
            x, thw_shape = block(x, thw_shape)
        x = self.norm(x)
        x = x[:, 0] if self.cls_embed_on else x.mean(1)
        return self.head(x, return_logits=return_logits)

"""MViT v1 (Fan et al., ICCV 2021) with PySlowFast's module layout, so state_dict keys match its checkpoints.

Sizes (B 16x4, B 32x3, ...) come from the ``cfg.MVIT`` keys: stages are expressed as per-block width/head
multipliers (DIM_MUL, HEAD_MUL) and query pooling strides (POOL_Q_STRIDE); key/value pooling strides follow
POOL_KV_STRIDE or are derived from POOL_KV_STRIDE_ADAPTIVE.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import torch
from fvcore.common.config import CfgNode
from torch import Tensor, nn

from slowfast.models.attention import (
    AttentionSettings,
    BlockPooling,
    MultiScaleAttention,
    default_pool_kernel,
    pool_tokens,
)
from slowfast.models.build import MODEL_REGISTRY, clip_args
from slowfast.models.layers import DropPath, Mlp, Size3, head_activation, round_width, size3
from slowfast.models.weight_init import init_transformer_weights

_EMBEDDING_NAMES = ("pos_embed", "pos_embed_spatial", "pos_embed_temporal", "pos_embed_class", "cls_token")


class PatchEmbed(nn.Module):
    """Cut the clip into space-time patches with a strided 3D convolution; returns tokens (B, N, C).

    With ``channels_last`` the convolution writes (B, T, H, W, C) memory, which already is the token order.
    """

    def __init__(
        self,
        dim_in: int,
        dim_out: int,
        *,
        kernel: Size3,
        stride: Size3,
        padding: Size3,
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        self.channels_last = channels_last
        self.proj = nn.Conv3d(dim_in, dim_out, kernel_size=kernel, stride=stride, padding=padding)
        if channels_last:  # the weight in the input's layout, so the convolution does not convert it every step
            self.proj.to(memory_format=torch.channels_last_3d)

    def forward(self, x: Tensor) -> Tensor:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last_3d)
        return self.proj(x).flatten(2).transpose(1, 2)


class MultiScaleBlock(nn.Module):
    """Pre-norm transformer block with pooling attention; widens to ``dim_out`` through the MLP and a
    linear projection of the skip connection, and pools the skip connection like the queries.

    Args:
        dim (int), dim_out (int): input and output width.
        num_heads (int), mlp_ratio (float): attention heads and MLP width / dim.
        drop_path (float): stochastic depth of both residual branches.
        pooling (BlockPooling): the attention's pooling (the skip connection follows the query stride).
        settings (AttentionSettings): the model-wide attention settings (norm layer, class token, dropout and
            token layout serve the block's own layers too).
    """

    def __init__(
        self,
        *,
        dim: int,
        dim_out: int,
        num_heads: int,
        mlp_ratio: float,
        drop_path: float,
        pooling: BlockPooling,
        settings: AttentionSettings,
    ) -> None:
        super().__init__()
        self.dim, self.dim_out = dim, dim_out
        self.has_cls_token = settings.has_cls_token
        self.channels_last = settings.channels_last
        self.norm1 = settings.norm_layer(dim)
        self.attn = MultiScaleAttention(dim=dim, num_heads=num_heads, pooling=pooling, settings=settings)
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = settings.norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), dim_out, drop_rate=settings.drop_rate)
        if dim != dim_out:
            self.proj = nn.Linear(dim, dim_out)
        self.pool_skip = None
        stride_q = pooling.stride_q
        if stride_q is not None and math.prod(stride_q) > 1:
            kernel_skip = default_pool_kernel(stride_q)
            self.pool_skip = nn.MaxPool3d(kernel_skip, stride_q, size3(k // 2 for k in kernel_skip), ceil_mode=False)

    def forward(self, x: Tensor, thw_shape: list[int]) -> tuple[Tensor, list[int]]:
        attended, new_shape = self.attn(self.norm1(x), thw_shape)
        skip, _ = pool_tokens(
            x.unsqueeze(1),
            self.pool_skip,
            thw_shape,
            has_cls_token=self.has_cls_token,
            channels_last=self.channels_last,
        )
        x = skip.squeeze(1) + self.drop_path(attended)
        x_norm = self.norm2(x)
        if self.dim != self.dim_out:
            x = self.proj(x_norm)
        return x + self.drop_path(self.mlp(x_norm)), new_shape


class TransformerBasicHead(nn.Module):
    """Dropout and a linear classifier; the activation (softmax) is applied in eval mode only."""

    def __init__(self, dim_in: int, num_classes: int, *, dropout_rate: float, head_act: str) -> None:
        super().__init__()
        if dropout_rate > 0.0:
            self.dropout = nn.Dropout(dropout_rate)
        self.projection = nn.Linear(dim_in, num_classes, bias=True)
        self.act = head_activation(head_act, dim=1)

    def forward(self, x: Tensor, return_logits: bool = False) -> Tensor:
        if hasattr(self, "dropout"):
            x = self.dropout(x)
        x = self.projection(x)
        if return_logits or self.training:
            return x
        return self.act(x)


@dataclass(frozen=True)
class MViTArch:
    """The architecture of an MViT v1 (``cfg.MVIT``): everything that sets the parameters' names and shapes.

    Attributes:
        embed_dim (int), num_heads (int): width and heads of the first block.
        depth (int), mlp_ratio (float), qkv_bias (bool): transformer shape.
        patch_kernel, patch_stride, patch_padding (tuple[int, int, int]): patch-embedding convolution.
        mode (str): attention pooling "conv", "max" or "avg".
        cls_embed_on (bool): class token (else the tokens are averaged).
        sep_pos_embed (bool): separate spatial, temporal (and class) position embeddings.
        norm_stem (bool): LayerNorm after the position embedding.
        dim_mul, head_mul (sequence): [[block, multiplier], ...], see ``block_widths``.
        pool_q_stride, pool_kv_stride (sequence): [[block, sT, sH, sW], ...] query and key/value strides.
        pool_kv_stride_adaptive (sequence): initial [sT, sH, sW] key/value stride ([] = off), see ``pooling``.
        pool_kvq_kernel (sequence): pooling kernel of every pooled block ([] = ``default_pool_kernel``).
    """

    embed_dim: int = 96
    num_heads: int = 1
    depth: int = 16
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    patch_kernel: Size3 = (3, 7, 7)
    patch_stride: Size3 = (2, 4, 4)
    patch_padding: Size3 = (1, 3, 3)
    mode: str = "conv"
    cls_embed_on: bool = True
    sep_pos_embed: bool = False
    norm_stem: bool = False
    dim_mul: Sequence[Sequence[float]] = ()
    head_mul: Sequence[Sequence[float]] = ()
    pool_q_stride: Sequence[Sequence[int]] = ()
    pool_kv_stride: Sequence[Sequence[int]] = ()
    pool_kv_stride_adaptive: Sequence[int] = ()
    pool_kvq_kernel: Sequence[int] = ()

    def block_widths(self) -> list[tuple[int, int, int]]:
        """Input width, output width and heads of every block (PySlowFast's rounding): DIM_MUL and HEAD_MUL's
        [[block, multiplier], ...] multiply the width (heads) from that block on.

        Returns:
            list[tuple[int, int, int]]: (dim, dim_out, num_heads) per block; a block's dim_out is the next one's dim.
        """
        dim_muls, head_muls = [1.0] * (self.depth + 1), [1.0] * (self.depth + 1)
        for block, multiplier in self.dim_mul:
            dim_muls[int(block)] = multiplier
        for block, multiplier in self.head_mul:
            head_muls[int(block)] = multiplier
        widths, embed_dim, num_heads = [], self.embed_dim, self.num_heads
        for i in range(self.depth):
            num_heads = round_width(num_heads, head_muls[i])
            embed_dim = round_width(embed_dim, dim_muls[i], divisor=num_heads)
            dim_out = round_width(embed_dim, dim_muls[i + 1], divisor=round_width(num_heads, head_muls[i + 1]))
            widths.append((embed_dim, dim_out, num_heads))
        return widths

    def pooling(self) -> list[BlockPooling]:
        """Per-block pooling kernels and strides for queries and keys/values (PySlowFast's rules): queries are
        pooled at POOL_Q_STRIDE's blocks; keys/values at POOL_KV_STRIDE's, or, with POOL_KV_STRIDE_ADAPTIVE,
        at every block with that initial stride divided by every query stride on the way (so they keep a fixed
        resolution); every pooled block uses POOL_KVQ_KERNEL, or ``default_pool_kernel`` when it is empty.

        Returns:
            list[BlockPooling]: one entry per block.
        """

        def kernel_for(stride: Size3 | None) -> Size3 | None:
            if stride is None:
                return None
            return size3(self.pool_kvq_kernel) if self.pool_kvq_kernel else default_pool_kernel(stride)

        stride_q: list[Size3 | None] = [None] * self.depth
        for block, *stride in self.pool_q_stride:
            stride_q[block] = size3(stride)
        stride_kv: list[Size3 | None] = [None] * self.depth
        if self.pool_kv_stride_adaptive:
            current = size3(self.pool_kv_stride_adaptive)
            for block, q in enumerate(stride_q):
                if q is not None:
                    current = size3(max(s // q_s, 1) for s, q_s in zip(current, q))
                stride_kv[block] = current
        else:
            for block, *stride in self.pool_kv_stride:
                stride_kv[block] = size3(stride)
        return [
            BlockPooling(kernel_q=kernel_for(q), kernel_kv=kernel_for(kv), stride_q=q, stride_kv=kv)
            for q, kv in zip(stride_q, stride_kv)
        ]


def build_blocks(*, arch: MViTArch, drop_path_rate: float, settings: AttentionSettings) -> nn.ModuleList:
    """The transformer blocks, their stochastic depth rising linearly from 0 to ``drop_path_rate``.

    Args:
        arch (MViTArch): the architecture (block widths, heads, pooling, MLP ratio).
        drop_path_rate (float): the last block's stochastic depth.
        settings (AttentionSettings): the model-wide attention settings.
    Returns:
        nn.ModuleList: the blocks.
    """
    drop_path_rates = torch.linspace(0, drop_path_rate, arch.depth).tolist()
    return nn.ModuleList(
        MultiScaleBlock(
            dim=dim,
            dim_out=dim_out,
            num_heads=heads,
            mlp_ratio=arch.mlp_ratio,
            drop_path=rate,
            pooling=block_pooling,
            settings=settings,
        )
        for (dim, dim_out, heads), rate, block_pooling in zip(arch.block_widths(), drop_path_rates, arch.pooling())
    )


@MODEL_REGISTRY.register()
class MViT(nn.Module):
    """Multiscale Vision Transformer v1. Input: a list with one (N, C, T, H, W) tensor of the built size.

    Args:
        arch (MViTArch): the architecture (widths, depth, patches, pooling).
        num_classes (int): classifier outputs.
        num_frames (int), crop_size (int): the only input size the model accepts (position embeddings).
        in_channels (int): input channels.
        drop_path_rate (float): stochastic depth, rising linearly from 0 to this over the blocks.
        dropout_rate (float): dropout after position embedding, in attention and MLP (MVIT.DROPOUT_RATE).
        head_dropout_rate (float), head_act (str): head dropout (MODEL.DROPOUT_RATE) and eval activation.
        fused_attention (bool): use ``F.scaled_dot_product_attention``.
        channels_last (bool): patch embedding and token pooling in channels_last_3d layout (same numbers).
        fast_channelwise_backward (bool): conv pooling through ``ChannelwiseConv3d`` (same numbers).
    """

    def __init__(
        self,
        *,
        arch: MViTArch,
        num_classes: int = 400,
        num_frames: int = 16,
        crop_size: int = 224,
        in_channels: int = 3,
        drop_path_rate: float = 0.1,
        dropout_rate: float = 0.0,
        head_dropout_rate: float = 0.5,
        head_act: str = "softmax",
        fused_attention: bool = True,
        channels_last: bool = True,
        fast_channelwise_backward: bool = True,
    ) -> None:
        super().__init__()
        norm_layer = partial(nn.LayerNorm, eps=1e-6)
        self.cls_embed_on, self.sep_pos_embed = arch.cls_embed_on, arch.sep_pos_embed
        self.input_dims = [num_frames, crop_size, crop_size]
        self.patch_dims = [size // stride for size, stride in zip(self.input_dims, arch.patch_stride)]
        self._add_position_embeddings(arch.embed_dim)
        self.patch_embed = PatchEmbed(
            in_channels,
            arch.embed_dim,
            kernel=arch.patch_kernel,
            stride=arch.patch_stride,
            padding=arch.patch_padding,
            channels_last=channels_last,
        )
        self.pos_drop = nn.Dropout(dropout_rate) if dropout_rate > 0.0 else nn.Identity()
        self.norm_stem = norm_layer(arch.embed_dim) if arch.norm_stem else None
        settings = AttentionSettings(
            norm_layer=norm_layer,
            has_cls_token=arch.cls_embed_on,
            qkv_bias=arch.qkv_bias,
            mode=arch.mode,
            drop_rate=dropout_rate,
            fused=fused_attention,
            channels_last=channels_last,
            fast_channelwise_backward=fast_channelwise_backward,
        )
        self.blocks = build_blocks(arch=arch, drop_path_rate=drop_path_rate, settings=settings)
        dim_out = arch.block_widths()[-1][1]
        self.norm = norm_layer(dim_out)
        self.head = TransformerBasicHead(dim_out, num_classes, dropout_rate=head_dropout_rate, head_act=head_act)
        self._init_weights()

    def _add_position_embeddings(self, embed_dim: int) -> None:
        """Register the class token and the (joint or separate) position embeddings, zero until initialised."""
        t, h, w = self.patch_dims
        if self.cls_embed_on:
            self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        if self.sep_pos_embed:
            self.pos_embed_spatial = nn.Parameter(torch.zeros(1, h * w, embed_dim))
            self.pos_embed_temporal = nn.Parameter(torch.zeros(1, t, embed_dim))
            if self.cls_embed_on:
                self.pos_embed_class = nn.Parameter(torch.zeros(1, 1, embed_dim))
        else:
            self.pos_embed = nn.Parameter(torch.zeros(1, t * h * w + int(self.cls_embed_on), embed_dim))

    def _init_weights(self) -> None:
        for name in _EMBEDDING_NAMES:  # in this order: each draw advances the random generator
            if hasattr(self, name):
                nn.init.trunc_normal_(getattr(self, name), std=0.02)
        init_transformer_weights(self, std=0.02)

    def no_weight_decay_names(self) -> set[str]:
        """Names of the position embeddings and class token (for MVIT.ZERO_DECAY_POS_CLS)."""
        return {name for name in _EMBEDDING_NAMES if hasattr(self, name)}

    @classmethod
    def from_config(cls, cfg: CfgNode) -> "MViT":
        """Build from ``cfg.MVIT``, ``cfg.MODEL`` and ``cfg.DATA`` keys (one crop size: the config checks ensure
        DATA.TEST_CROP_SIZE equals DATA.TRAIN_CROP_SIZE)."""
        m = cfg.MVIT
        arch = MViTArch(
            embed_dim=m.EMBED_DIM,
            num_heads=m.NUM_HEADS,
            depth=m.DEPTH,
            mlp_ratio=m.MLP_RATIO,
            qkv_bias=m.QKV_BIAS,
            patch_kernel=size3(m.PATCH_KERNEL),
            patch_stride=size3(m.PATCH_STRIDE),
            patch_padding=size3(m.PATCH_PADDING),
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
        )
        return cls(
            arch=arch,
            **clip_args(cfg),
            drop_path_rate=m.DROPPATH_RATE,
            dropout_rate=m.DROPOUT_RATE,
            head_dropout_rate=cfg.MODEL.DROPOUT_RATE,
            head_act=cfg.MODEL.HEAD_ACT,
            fused_attention=m.FUSED_ATTENTION,
            channels_last=cfg.MODEL.CHANNELS_LAST,
            fast_channelwise_backward=m.FAST_CHANNELWISE_BACKWARD,
        )

    def _position_embedding(self) -> Tensor:
        if not self.sep_pos_embed:
            return self.pos_embed
        t, h, w = self.patch_dims
        pos = self.pos_embed_spatial.repeat(1, t, 1) + torch.repeat_interleave(self.pos_embed_temporal, h * w, dim=1)
        if self.cls_embed_on:
            pos = torch.cat([self.pos_embed_class, pos], dim=1)
        return pos

    def forward(self, inputs: list[Tensor], return_logits: bool = False) -> Tensor:
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

"""X3D (Feichtenhofer, CVPR 2020), with PySlowFast's module layout so state_dict keys match its checkpoints.

Every size (XS, S, M, L, ...) comes from the expansion factors in ``cfg.X3D``: the base network has a 12-channel
stem and four stages of 1, 2, 5, 3 bottleneck blocks, widths doubling per stage; WIDTH_FACTOR scales the widths,
DEPTH_FACTOR the block counts and BOTTLENECK_FACTOR the inner (channel-wise 3x3x3) width.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
from fvcore.common.config import CfgNode
from torch import Tensor, nn

from slowfast.models.build import MODEL_REGISTRY, clip_args
from slowfast.models.channelwise_conv import depthwise_conv3d
from slowfast.models.layers import NormLayer, SqueezeExcitation, head_activation, round_width
from slowfast.models.weight_init import init_cnn_weights

# Blocks of res2..res5 (before DEPTH_FACTOR); every stage halves the spatial size and doubles the base width.
_STAGE_BLOCKS = (1, 2, 5, 3)
# Squeeze-excitation width relative to the inner width, used on every other block.
_SE_RATIO = 0.0625


class X3DStem(nn.Module):
    """Stem: a spatial 1x3x3 conv (stride 2) then a channel-wise temporal 5x1x1 conv, BN, ReLU."""

    def __init__(self, dim_in: int, dim_out: int, *, norm_layer: NormLayer, temporal_kernel: int = 5) -> None:
        super().__init__()
        self.conv_xy = nn.Conv3d(dim_in, dim_out, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), bias=False)
        self.conv = nn.Conv3d(
            dim_out,
            dim_out,
            (temporal_kernel, 1, 1),
            padding=(temporal_kernel // 2, 0, 0),
            bias=False,
            groups=dim_out,
        )
        self.bn = norm_layer(dim_out)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.bn(self.conv(self.conv_xy(x))))


class X3DTransform(nn.Module):
    """Bottleneck: 1x1x1 conv, BN, ReLU; channel-wise 3x3x3 conv (strided), BN, [SE], Swish; 1x1x1 conv, BN.

    Args:
        dim_in (int), dim_out (int), dim_inner (int): input, output and inner (3x3x3) widths.
        stride (int): spatial stride of the 3x3x3 conv.
        channelwise (bool): the 3x3x3 conv is channel-wise (depthwise).
        use_se (bool): squeeze-excitation after the 3x3x3 conv's BN.
        norm_layer (callable): builds the BatchNorms.
        fast_channelwise_backward (bool), fast_channelwise_weight_grad (bool): the channel-wise conv's gradients
            through ``ChannelwiseConv3d`` (same numbers).
    """

    def __init__(
        self,
        *,
        dim_in: int,
        dim_out: int,
        dim_inner: int,
        stride: int,
        channelwise: bool,
        use_se: bool,
        norm_layer: NormLayer,
        fast_channelwise_backward: bool,
        fast_channelwise_weight_grad: bool,
    ) -> None:
        super().__init__()
        self.a = nn.Conv3d(dim_in, dim_inner, 1, bias=False)
        self.a_bn = norm_layer(dim_inner)
        self.a_relu = nn.ReLU(inplace=True)
        if channelwise:
            self.b = depthwise_conv3d(
                dim_inner,
                3,
                stride=(1, stride, stride),
                padding=1,
                flip_input_grad=fast_channelwise_backward,
                conv_weight_grad=fast_channelwise_weight_grad,
            )
        else:
            self.b = nn.Conv3d(dim_inner, dim_inner, 3, stride=(1, stride, stride), padding=1, bias=False)
        self.b_bn = norm_layer(dim_inner)
        if use_se:
            self.se = SqueezeExcitation(dim_inner, _SE_RATIO)
        self.b_relu = nn.SiLU()  # Swish
        self.c = nn.Conv3d(dim_inner, dim_out, 1, bias=False)
        self.c_bn = norm_layer(dim_out)

    def forward(self, x: Tensor) -> Tensor:
        x = self.a_relu(self.a_bn(self.a(x)))
        x = self.b_bn(self.b(x))
        if hasattr(self, "se"):
            x = self.se(x)
        return self.c_bn(self.c(self.b_relu(x)))


class ResBlock(nn.Module):
    """Residual block: ReLU(shortcut(x) + transform(x)); the shortcut projects when the shape changes.

    Args:
        dim_in (int), dim_out (int): input and output widths.
        stride (int): spatial stride.
        norm_layer (callable): builds the BatchNorms.
        make_transform (callable): builds the residual branch from ``dim_in``, ``dim_out``, ``stride`` and
            ``norm_layer`` keywords (an ``X3DTransform`` with its other arguments bound).
    """

    def __init__(
        self, *, dim_in: int, dim_out: int, stride: int, norm_layer: NormLayer, make_transform: Callable[..., nn.Module]
    ) -> None:
        super().__init__()
        if dim_in != dim_out or stride != 1:
            self.branch1 = nn.Conv3d(dim_in, dim_out, 1, stride=(1, stride, stride), bias=False)
            self.branch1_bn = norm_layer(dim_out)
        self.branch2 = make_transform(dim_in=dim_in, dim_out=dim_out, stride=stride, norm_layer=norm_layer)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        shortcut = self.branch1_bn(self.branch1(x)) if hasattr(self, "branch1") else x
        return self.relu(shortcut + self.branch2(x))


class X3DHead(nn.Module):
    """Head: 1x1x1 conv to the inner width, BN, ReLU, fixed average pool, 1x1x1 conv to DIM_C5, [BN], ReLU,
    dropout, linear classifier applied at every pooled position; in eval, softmax then mean over positions.

    Args:
        dim_in (int), dim_inner (int), dim_out (int): input, conv_5 and lin_5 widths.
        num_classes (int): classifier outputs.
        pool_size (tuple[int, int, int]): average-pooling kernel (T, H, W) of the training clip's last stage.
        dropout_rate (float), head_act (str): dropout before the classifier and eval activation.
        bn_lin5 (bool): BatchNorm after lin_5.
        norm_layer (callable): builds the BatchNorms.
    """

    def __init__(
        self,
        *,
        dim_in: int,
        dim_inner: int,
        dim_out: int,
        num_classes: int,
        pool_size: tuple[int, int, int],
        dropout_rate: float,
        head_act: str,
        bn_lin5: bool,
        norm_layer: NormLayer,
    ) -> None:
        super().__init__()
        self.conv_5 = nn.Conv3d(dim_in, dim_inner, 1, bias=False)
        self.conv_5_bn = norm_layer(dim_inner)
        self.conv_5_relu = nn.ReLU(inplace=True)
        self.avg_pool = nn.AvgPool3d(pool_size, stride=1)
        self.lin_5 = nn.Conv3d(dim_inner, dim_out, 1, bias=False)
        if bn_lin5:
            self.lin_5_bn = norm_layer(dim_out)
        self.lin_5_relu = nn.ReLU(inplace=True)
        if dropout_rate > 0.0:
            self.dropout = nn.Dropout(dropout_rate)
        self.projection = nn.Linear(dim_out, num_classes, bias=True)
        self.act = head_activation(head_act, dim=4)

    def forward(self, x: Tensor, return_logits: bool = False) -> Tensor:
        x = self.conv_5_relu(self.conv_5_bn(self.conv_5(x)))
        x = self.lin_5(self.avg_pool(x))
        if hasattr(self, "lin_5_bn"):
            x = self.lin_5_bn(x)
        x = self.lin_5_relu(x).permute(0, 2, 3, 4, 1)
        if hasattr(self, "dropout"):
            x = self.dropout(x)
        x = self.projection(x)  # (N, t, h, w, classes)
        if return_logits:
            return x.mean([1, 2, 3])
        if not self.training:
            x = self.act(x).mean([1, 2, 3])
        return x.reshape(x.shape[0], -1)


@dataclass(frozen=True)
class X3DArch:
    """The architecture of an X3D network (``cfg.X3D``); the defaults are X3D-M's.

    Attributes:
        width_factor, depth_factor, bottleneck_factor (float): X3D expansion factors of the stage widths, the
            block counts and the inner (3x3x3) widths.
        dim_c1 (int): base stem width (before width_factor); dim_c5 (int): head projection width.
        scale_res2 (bool): also double the res2 base width.
        bn_lin5 (bool): BatchNorm after the head's projection to dim_c5.
        channelwise_3x3x3 (bool): channel-wise (depthwise) 3x3x3 convolutions in the bottlenecks.
        bn_eps, bn_momentum (float): BatchNorm settings.
    """

    width_factor: float = 2.0
    depth_factor: float = 2.2
    bottleneck_factor: float = 2.25
    dim_c1: int = 12
    dim_c5: int = 2048
    scale_res2: bool = False
    bn_lin5: bool = False
    channelwise_3x3x3: bool = True
    bn_eps: float = 1e-5
    bn_momentum: float = 0.1

    def stem_width(self) -> int:
        """Output width of the stem: DIM_C1 scaled by WIDTH_FACTOR."""
        return round_width(self.dim_c1, self.width_factor)

    def stages(self) -> list[tuple[int, int, int]]:
        """Input width, output width and residual blocks of res2..res5: the base width (DIM_C1, doubled first
        when SCALE_RES2) doubles per stage, each scaled by WIDTH_FACTOR (PySlowFast's rounding); the base
        network's blocks are scaled by DEPTH_FACTOR, rounded up."""
        base_width = round_width(self.dim_c1, 2.0, divisor=8) if self.scale_res2 else self.dim_c1
        stages, dim_in = [], self.stem_width()
        for blocks in _STAGE_BLOCKS:
            dim_out = round_width(base_width, self.width_factor)
            stages.append((dim_in, dim_out, math.ceil(self.depth_factor * blocks)))
            base_width, dim_in = round_width(base_width, 2.0, divisor=8), dim_out
        return stages

    def inner_width(self, dim_out: int) -> int:
        """Inner (3x3x3) width of a bottleneck or of the head whose width is ``dim_out``."""
        return int(self.bottleneck_factor * dim_out)


def build_stage(
    *,
    dim_in: int,
    dim_out: int,
    dim_inner: int,
    num_blocks: int,
    norm_layer: NormLayer,
    make_transform: Callable[..., nn.Module],
) -> nn.Sequential:
    """One residual stage: the first block halves the spatial size; every other block, from the first, has SE.

    Args:
        dim_in (int), dim_out (int), dim_inner (int): the stage's input, output and bottleneck inner widths.
        num_blocks (int): residual blocks.
        norm_layer (callable): builds the BatchNorms.
        make_transform (callable): ``X3DTransform`` with the model's options bound.
    Returns:
        nn.Sequential: blocks named ``pathway0_res{i}`` (PySlowFast's names).
    """
    stage = nn.Sequential()
    for index in range(num_blocks):
        block = ResBlock(
            dim_in=dim_in if index == 0 else dim_out,
            dim_out=dim_out,
            stride=2 if index == 0 else 1,
            norm_layer=norm_layer,
            make_transform=partial(make_transform, dim_inner=dim_inner, use_se=index % 2 == 0),
        )
        stage.add_module(f"pathway0_res{index}", block)
    return stage


@MODEL_REGISTRY.register()
class X3D(nn.Module):
    """X3D network: s1 (stem), s2..s5 (residual stages), head. Input: a list with one (N, C, T, H, W) tensor.

    Args:
        arch (X3DArch): the architecture (widths, depths, BatchNorm settings).
        num_classes (int): classifier outputs.
        num_frames (int), crop_size (int): the training clip size; they fix the head's pooling kernel.
        in_channels (int): input channels.
        dropout_rate (float), head_act (str): head dropout and eval activation.
        fc_init_std (float), zero_init_final_bn (bool): initialisation, see ``init_cnn_weights``.
        channels_last (bool): run in channels_last_3d memory format (same numbers, faster on CPU/GPU).
        fast_channelwise_backward (bool): channel-wise conv input gradient as a flipped-kernel convolution.
        fast_channelwise_weight_grad (bool): channel-wise conv weight gradient as per-sample convolutions.
    """

    def __init__(
        self,
        *,
        arch: X3DArch,
        num_classes: int = 400,
        num_frames: int = 16,
        crop_size: int = 224,
        in_channels: int = 3,
        dropout_rate: float = 0.5,
        head_act: str = "softmax",
        fc_init_std: float = 0.01,
        zero_init_final_bn: bool = True,
        channels_last: bool = False,
        fast_channelwise_backward: bool = False,
        fast_channelwise_weight_grad: bool = False,
    ) -> None:
        super().__init__()
        self.channels_last = channels_last
        norm_layer = partial(nn.BatchNorm3d, eps=arch.bn_eps, momentum=arch.bn_momentum)
        self.s1 = nn.Sequential()
        self.s1.add_module("pathway0_stem", X3DStem(in_channels, arch.stem_width(), norm_layer=norm_layer))
        make_transform = partial(
            X3DTransform,
            channelwise=arch.channelwise_3x3x3,
            fast_channelwise_backward=fast_channelwise_backward,
            fast_channelwise_weight_grad=fast_channelwise_weight_grad,
        )
        for index, (dim_in, dim_out, num_blocks) in enumerate(arch.stages(), start=2):
            stage = build_stage(
                dim_in=dim_in,
                dim_out=dim_out,
                dim_inner=arch.inner_width(dim_out),
                num_blocks=num_blocks,
                norm_layer=norm_layer,
                make_transform=make_transform,
            )
            self.add_module(f"s{index}", stage)
        head_in = arch.stages()[-1][1]
        self.head = X3DHead(
            dim_in=head_in,
            dim_inner=arch.inner_width(head_in),
            dim_out=arch.dim_c5,
            num_classes=num_classes,
            pool_size=(num_frames, math.ceil(crop_size / 32.0), math.ceil(crop_size / 32.0)),
            dropout_rate=dropout_rate,
            head_act=head_act,
            bn_lin5=arch.bn_lin5,
            norm_layer=norm_layer,
        )
        self._init_weights(fc_init_std, zero_init_final_bn)
        if channels_last:
            # The weights in the activations' layout too (torch's advice), else a convolution whose weight layouts
            # differ (the stem's; for 1x1x1 and channel-wise weights both layouts are the same memory) converts it
            # every step.
            self.to(memory_format=torch.channels_last_3d)

    def _init_weights(self, fc_init_std: float, zero_init_final_bn: bool) -> None:
        # With RESNET.ZERO_INIT_FINAL_BN every residual branch ends in a zero BatchNorm: blocks start as identities.
        final_bns = {module.c_bn for module in self.modules() if isinstance(module, X3DTransform)}
        init_cnn_weights(self, fc_init_std=fc_init_std, zero_bns=final_bns if zero_init_final_bn else ())

    @classmethod
    def from_config(cls, cfg: CfgNode) -> "X3D":
        """Build from ``cfg.X3D``, ``cfg.MODEL``, ``cfg.DATA`` and ``cfg.RESNET`` keys."""
        arch = X3DArch(
            width_factor=cfg.X3D.WIDTH_FACTOR,
            depth_factor=cfg.X3D.DEPTH_FACTOR,
            bottleneck_factor=cfg.X3D.BOTTLENECK_FACTOR,
            dim_c1=cfg.X3D.DIM_C1,
            dim_c5=cfg.X3D.DIM_C5,
            scale_res2=cfg.X3D.SCALE_RES2,
            bn_lin5=cfg.X3D.BN_LIN5,
            channelwise_3x3x3=cfg.X3D.CHANNELWISE_3x3x3,
            bn_eps=cfg.X3D.BN_EPSILON,
            bn_momentum=cfg.X3D.BN_MOMENTUM,
        )
        return cls(
            arch=arch,
            **clip_args(cfg),
            dropout_rate=cfg.MODEL.DROPOUT_RATE,
            head_act=cfg.MODEL.HEAD_ACT,
            fc_init_std=cfg.MODEL.FC_INIT_STD,
            zero_init_final_bn=cfg.RESNET.ZERO_INIT_FINAL_BN,
            channels_last=cfg.MODEL.CHANNELS_LAST,
            fast_channelwise_backward=cfg.X3D.FAST_CHANNELWISE_BACKWARD,
            fast_channelwise_weight_grad=cfg.X3D.FAST_CHANNELWISE_WEIGHT_GRAD,
        )

    def forward(self, inputs: list[Tensor], return_logits: bool = False) -> Tensor:
        x = inputs[0]
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last_3d)
        for name in ("s1", "s2", "s3", "s4", "s5"):
            x = getattr(self, name)(x)
        return self.head(x, return_logits=return_logits)

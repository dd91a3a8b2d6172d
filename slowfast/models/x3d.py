"""X3D (Feichtenhofer, CVPR 2020), with PySlowFast's module layout so state_dict keys match its checkpoints.

Every size (XS, S, M, L, ...) comes from the expansion factors in ``cfg.X3D``: the base network has a 12-channel
stem and four stages of 1, 2, 5, 3 bottleneck blocks, widths doubling per stage; WIDTH_FACTOR scales the widths,
DEPTH_FACTOR the block counts and BOTTLENECK_FACTOR the inner (channel-wise 3x3x3) width.
"""

import math

import torch
from torch import nn

from slowfast.models.build import MODEL_REGISTRY
from slowfast.models.channelwise_conv import ChannelwiseConv3d
from slowfast.models.layers import SqueezeExcitation, head_activation, round_width
from slowfast.models.weight_init import init_cnn_weights

# Blocks and base width (before WIDTH_FACTOR) of res2..res5; every stage halves the spatial size.
_STAGE_BLOCKS = (1, 2, 5, 3)
# Squeeze-excitation width relative to the inner width, used on every other block.
_SE_RATIO = 0.0625


class X3DStem(nn.Module):
    """Stem: a spatial 1x3x3 conv (stride 2) then a channel-wise temporal 5x1x1 conv, BN, ReLU."""

    def __init__(self, dim_in, dim_out, temporal_kernel, bn_eps, bn_momentum):
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
        self.bn = nn.BatchNorm3d(dim_out, eps=bn_eps, momentum=bn_momentum)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.bn(self.conv(self.conv_xy(x))))


class X3DTransform(nn.Module):
    """Bottleneck: 1x1x1 conv, BN, ReLU; channel-wise 3x3x3 conv (strided), BN, [SE], Swish; 1x1x1 conv, BN."""

    def __init__(
        self,
        dim_in,
        dim_out,
        dim_inner,
        stride,
        channelwise,
        use_se,
        bn_eps,
        bn_momentum,
        fast_channelwise_backward,
        fast_channelwise_weight_grad,
    ):
        super().__init__()
        groups = dim_inner if channelwise else 1
        self.a = nn.Conv3d(dim_in, dim_inner, 1, bias=False)
        self.a_bn = nn.BatchNorm3d(dim_inner, eps=bn_eps, momentum=bn_momentum)
        self.a_relu = nn.ReLU(inplace=True)
        b_args = dict(kernel_size=3, stride=(1, stride, stride), padding=1, groups=groups, bias=False)
        if channelwise and (fast_channelwise_backward or fast_channelwise_weight_grad):
            self.b = ChannelwiseConv3d(
                dim_inner,
                dim_inner,
                flip_input_grad=fast_channelwise_backward,
                conv_weight_grad=fast_channelwise_weight_grad,
                **b_args,
            )
        else:
            self.b = nn.Conv3d(dim_inner, dim_inner, **b_args)
        self.b_bn = nn.BatchNorm3d(dim_inner, eps=bn_eps, momentum=bn_momentum)
        if use_se:
            self.se = SqueezeExcitation(dim_inner, _SE_RATIO)
        self.b_relu = nn.SiLU()  # Swish
        self.c = nn.Conv3d(dim_inner, dim_out, 1, bias=False)
        self.c_bn = nn.BatchNorm3d(dim_out, eps=bn_eps, momentum=bn_momentum)
        # Zero-initialised when RESNET.ZERO_INIT_FINAL_BN so the block starts as the identity.
        self.c_bn.transform_final_bn = True

    def forward(self, x):
        x = self.a_relu(self.a_bn(self.a(x)))
        x = self.b_bn(self.b(x))
        if hasattr(self, "se"):
            x = self.se(x)
        return self.c_bn(self.c(self.b_relu(x)))


class ResBlock(nn.Module):
    """Residual block: ReLU(shortcut(x) + X3DTransform(x)); the shortcut projects when shape changes."""

    def __init__(self, dim_in, dim_out, stride, bn_eps, bn_momentum, **transform_args):
        super().__init__()
        if dim_in != dim_out or stride != 1:
            self.branch1 = nn.Conv3d(dim_in, dim_out, 1, stride=(1, stride, stride), bias=False)
            self.branch1_bn = nn.BatchNorm3d(dim_out, eps=bn_eps, momentum=bn_momentum)
        self.branch2 = X3DTransform(
            dim_in, dim_out, stride=stride, bn_eps=bn_eps, bn_momentum=bn_momentum, **transform_args
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        shortcut = self.branch1_bn(self.branch1(x)) if hasattr(self, "branch1") else x
        return self.relu(shortcut + self.branch2(x))


class X3DHead(nn.Module):
    """Head: 1x1x1 conv to the inner width, BN, ReLU, fixed average pool, 1x1x1 conv to DIM_C5, [BN], ReLU,
    dropout, linear classifier applied at every pooled position; in eval, softmax then mean over positions."""

    def __init__(
        self, dim_in, dim_inner, dim_out, num_classes, pool_size, dropout_rate, head_act, bn_lin5, bn_eps, bn_momentum
    ):
        super().__init__()
        self.conv_5 = nn.Conv3d(dim_in, dim_inner, 1, bias=False)
        self.conv_5_bn = nn.BatchNorm3d(dim_inner, eps=bn_eps, momentum=bn_momentum)
        self.conv_5_relu = nn.ReLU(inplace=True)
        self.avg_pool = nn.AvgPool3d(pool_size, stride=1)
        self.lin_5 = nn.Conv3d(dim_inner, dim_out, 1, bias=False)
        if bn_lin5:
            self.lin_5_bn = nn.BatchNorm3d(dim_out, eps=bn_eps, momentum=bn_momentum)
        self.lin_5_relu = nn.ReLU(inplace=True)
        if dropout_rate > 0.0:
            self.dropout = nn.Dropout(dropout_rate)
        self.projection = nn.Linear(dim_out, num_classes, bias=True)
        self.act = head_activation(head_act, dim=4)

    def forward(self, x, return_logits=False):
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


@MODEL_REGISTRY.register()
class X3D(nn.Module):
    """X3D network: s1 (stem), s2..s5 (residual stages), head. Input: a list with one (N, C, T, H, W) tensor."""

    def __init__(
        self,
        num_classes=400,
        num_frames=16,
        crop_size=224,
        in_channels=3,
        width_factor=2.0,
        depth_factor=2.2,
        bottleneck_factor=2.25,
        dim_c1=12,
        dim_c5=2048,
        scale_res2=False,
        bn_lin5=False,
        channelwise_3x3x3=True,
        dropout_rate=0.5,
        head_act="softmax",
        bn_eps=1e-5,
        bn_momentum=0.1,
        fc_init_std=0.01,
        zero_init_final_bn=True,
        channels_last=False,
        fast_channelwise_backward=False,
        fast_channelwise_weight_grad=False,
    ):
        """
        Args:
            num_classes (int): classifier outputs.
            num_frames (int), crop_size (int): the training clip size; they fix the head's pooling kernel.
            in_channels (int): input channels.
            width_factor, depth_factor, bottleneck_factor (float): X3D expansion factors.
            dim_c1 (int): base stem width (before width_factor); dim_c5 (int): head projection width.
            scale_res2 (bool): also double the res2 base width.
            bn_lin5 (bool): BatchNorm after the head's projection to dim_c5.
            channelwise_3x3x3 (bool): channel-wise (depthwise) 3x3x3 convolutions in the bottlenecks.
            dropout_rate (float), head_act (str): head dropout and eval activation.
            bn_eps, bn_momentum (float): BatchNorm settings.
            fc_init_std (float), zero_init_final_bn (bool): initialisation, see ``init_cnn_weights``.
            channels_last (bool): run in channels_last_3d memory format (same numbers, faster on CPU/GPU).
            fast_channelwise_backward (bool): channel-wise conv input gradient as a flipped-kernel convolution.
            fast_channelwise_weight_grad (bool): channel-wise conv weight gradient as per-sample convolutions.
        """
        super().__init__()
        self.channels_last = channels_last
        bn = dict(bn_eps=bn_eps, bn_momentum=bn_momentum)
        stem_width = round_width(dim_c1, width_factor)
        self.s1 = nn.Sequential()
        self.s1.add_module("pathway0_stem", X3DStem(in_channels, stem_width, temporal_kernel=5, **bn))
        base_width = round_width(dim_c1, 2.0, divisor=8) if scale_res2 else dim_c1
        dim_in = stem_width
        for stage, base_blocks in enumerate(_STAGE_BLOCKS):
            dim_out = round_width(base_width, width_factor)
            dim_inner = int(bottleneck_factor * dim_out)
            stage_module = nn.Sequential()
            for index in range(int(math.ceil(depth_factor * base_blocks))):
                stage_module.add_module(
                    f"pathway0_res{index}",
                    ResBlock(
                        dim_in if index == 0 else dim_out,
                        dim_out,
                        stride=2 if index == 0 else 1,
                        dim_inner=dim_inner,
                        channelwise=channelwise_3x3x3,
                        use_se=index % 2 == 0,
                        fast_channelwise_backward=fast_channelwise_backward,
                        fast_channelwise_weight_grad=fast_channelwise_weight_grad,
                        **bn,
                    ),
                )
            self.add_module(f"s{stage + 2}", stage_module)
            dim_in = dim_out
            base_width = round_width(base_width, 2.0, divisor=8)
        spatial = int(math.ceil(crop_size / 32.0))
        self.head = X3DHead(
            dim_out,
            dim_inner,
            dim_c5,
            num_classes,
            pool_size=(num_frames, spatial, spatial),
            dropout_rate=dropout_rate,
            head_act=head_act,
            bn_lin5=bn_lin5,
            **bn,
        )
        init_cnn_weights(self, fc_init_std, zero_init_final_bn)

    @classmethod
    def from_config(cls, cfg):
        """Build from ``cfg.X3D``, ``cfg.MODEL``, ``cfg.DATA``, ``cfg.RESNET`` and ``cfg.BN`` keys."""
        return cls(
            num_classes=cfg.MODEL.NUM_CLASSES,
            num_frames=cfg.DATA.NUM_FRAMES,
            crop_size=cfg.DATA.TRAIN_CROP_SIZE,
            in_channels=cfg.DATA.INPUT_CHANNEL_NUM[0],
            width_factor=cfg.X3D.WIDTH_FACTOR,
            depth_factor=cfg.X3D.DEPTH_FACTOR,
            bottleneck_factor=cfg.X3D.BOTTLENECK_FACTOR,
            dim_c1=cfg.X3D.DIM_C1,
            dim_c5=cfg.X3D.DIM_C5,
            scale_res2=cfg.X3D.SCALE_RES2,
            bn_lin5=cfg.X3D.BN_LIN5,
            channelwise_3x3x3=cfg.X3D.CHANNELWISE_3x3x3,
            dropout_rate=cfg.MODEL.DROPOUT_RATE,
            head_act=cfg.MODEL.HEAD_ACT,
            bn_eps=cfg.X3D.BN_EPSILON,
            bn_momentum=cfg.X3D.BN_MOMENTUM,
            fc_init_std=cfg.MODEL.FC_INIT_STD,
            zero_init_final_bn=cfg.RESNET.ZERO_INIT_FINAL_BN,
            channels_last=cfg.MODEL.CHANNELS_LAST,
            fast_channelwise_backward=cfg.X3D.FAST_CHANNELWISE_BACKWARD,
            fast_channelwise_weight_grad=cfg.X3D.FAST_CHANNELWISE_WEIGHT_GRAD,
        )

    def forward(self, inputs, return_logits=False):
        x = inputs[0]
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last_3d)
        for stage in (self.s1, self.s2, self.s3, self.s4, self.s5):
            x = stage(x)
        return self.head(x, return_logits=return_logits)

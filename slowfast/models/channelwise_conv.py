"""Channel-wise (depthwise) 3D convolution with a cheaper input gradient.

PyTorch's CPU backward of a depthwise 3D convolution computes the input gradient about 2x slower than a forward
pass of the same size, although for stride 1 it *is* a depthwise convolution of the output gradient with the
spatially flipped kernel. ``ChannelwiseConv3d`` computes it that way; the weight gradient still comes from
PyTorch's own kernel. The numbers are those of ``nn.Conv3d`` up to float rounding; the parameters and
state_dict keys are identical, so it is a drop-in replacement.
"""

import torch
import torch.nn.functional as F
from torch import nn


class _ChannelwiseConvFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, stride, padding, dilation):
        ctx.save_for_backward(x, weight)
        ctx.conv_args = (stride, padding, dilation)
        return F.conv3d(x, weight, None, stride, padding, dilation, groups=weight.shape[0])

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        # Under autocast the forward convolved in grad_out's dtype (bf16/fp16): the backward does the same and
        # hands each gradient back in its input's dtype.
        x_dtype, weight_dtype = x.dtype, weight.dtype
        x, weight = x.to(grad_out.dtype), weight.to(grad_out.dtype)
        stride, padding, dilation = ctx.conv_args
        groups = weight.shape[0]
        grad_x = grad_w = None
        flip_applies = all(s == 1 for s in stride) and all(d == 1 for d in dilation)
        if ctx.needs_input_grad[0] and flip_applies:
            # Full correlation with the flipped kernel; padding k-1-p keeps the input's size.
            flipped_padding = [k - 1 - p for k, p in zip(weight.shape[2:], padding)]
            grad_x = F.conv3d(grad_out, weight.flip([2, 3, 4]), None, 1, flipped_padding, 1, groups)
        masks = [ctx.needs_input_grad[0] and not flip_applies, ctx.needs_input_grad[1], False]
        if any(masks):
            grads = torch.ops.aten.convolution_backward(
                grad_out,
                x,
                weight,
                None,
                list(stride),
                list(padding),
                list(dilation),
                False,
                [0, 0, 0],
                groups,
                masks,
            )
            grad_x = grads[0] if masks[0] else grad_x
            grad_w = grads[1]
        grad_x = None if grad_x is None else grad_x.to(x_dtype)
        grad_w = None if grad_w is None else grad_w.to(weight_dtype)
        return grad_x, grad_w, None, None, None


class ChannelwiseConv3d(nn.Conv3d):
    """``nn.Conv3d`` with ``groups == in_channels == out_channels`` and no bias, faster to differentiate.

    Falls back to the plain convolution when no gradient is needed (inference, FLOP counting, tracing).
    """

    def forward(self, x):
        if not torch.is_grad_enabled() or torch.jit.is_tracing() or self.padding_mode != "zeros":
            return super().forward(x)
        return _ChannelwiseConvFunction.apply(x, self.weight, self.stride, self.padding, self.dilation)

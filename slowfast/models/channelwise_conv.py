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


def _compute_dtype(x, weight):
    """The dtype the convolution runs in: autocast's for this device when it is on, else the inputs' own."""
    device_type = x.device.type
    if torch.is_autocast_enabled(device_type):
        return torch.get_autocast_dtype(device_type)
    return torch.promote_types(x.dtype, weight.dtype)


class _ChannelwiseConvFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, stride, padding, dilation):
        # Autocast does not reach inside a custom Function's backward, so cast here, as autocast would cast
        # nn.Conv3d's inputs, and keep the cast tensors: backward then runs in the same dtype as forward.
        dtype = _compute_dtype(x, weight)
        ctx.input_dtypes = (x.dtype, weight.dtype)
        x_c, weight_c = x.to(dtype), weight.to(dtype)
        ctx.save_for_backward(x_c, weight_c)
        ctx.conv_args = (stride, padding, dilation)
        with torch.autocast(x.device.type, enabled=False):
            return F.conv3d(x_c, weight_c, None, stride, padding, dilation, groups=weight.shape[0])

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        grad_out = grad_out.to(x.dtype)
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
                grad_out, x, weight, None, list(stride), list(padding), list(dilation), False,
                [0, 0, 0], groups, masks,
            )
            grad_x = grads[0] if masks[0] else grad_x
            grad_w = grads[1]
        x_dtype, weight_dtype = ctx.input_dtypes
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

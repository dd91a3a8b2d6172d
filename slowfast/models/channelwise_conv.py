"""Channel-wise (depthwise) 3D convolution with cheaper gradients.

PyTorch's CPU backward of a depthwise 3D convolution is several times slower than its forward pass, although
for stride 1 both of its gradients are depthwise convolutions themselves. ``ChannelwiseConv3d`` can compute
them that way (each is a separate implementation setting):

- input gradient (``flip_input_grad``): the output gradient convolved with the spatially flipped kernel. A
  strided convolution's output is the stride-1 output subsampled, so its output gradient is first spread back
  to the stride-1 grid with zeros in between (``zero_upsample``): on the CPU that ran 3-14x faster than
  PyTorch's strided kernel at MViT's pooling shapes, where the profile of a train step found it.
- weight gradient (``conv_weight_grad``): for every sample, the padded input correlated with that sample's
  output gradient taken as a (huge) depthwise kernel, whose 3x3x3 output is the kernel's gradient; summed over
  the batch. On the 2-core CPU this ran 2-8x faster than PyTorch's kernel at X3D-M's stage shapes. With a
  stride it would need a dilated convolution, which ran 10-30x slower than PyTorch's kernel, so strided
  convolutions keep the stock weight gradient.

The numbers are those of ``nn.Conv3d`` up to float rounding; the parameters and state_dict keys are identical,
so it is a drop-in replacement.
"""

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def channelwise_weight_grad(grad_out: Tensor, x: Tensor, kernel_size: Sequence[int], padding: Sequence[int]) -> Tensor:
    """Weight gradient of a stride-1, dilation-1 depthwise 3D convolution, as per-sample depthwise convolutions.

    dW[c, 0, k] = sum over n and positions p of x_padded[n, c, p + k] * grad_out[n, c, p]: the correlation of the
    padded input with the output gradient, which ``F.conv3d`` computes with the gradient as the kernel.

    Args:
        grad_out (Tensor): (N, C, T', H', W') gradient of the convolution's output.
        x (Tensor): (N, C, T, H, W) the convolution's input.
        kernel_size (sequence[int]): the convolution's kernel (kT, kH, kW).
        padding (sequence[int]): the convolution's zero padding.
    Returns:
        Tensor: (C, 1, kT, kH, kW).
    """
    channels = x.shape[1]
    grad_w = None
    for n in range(x.shape[0]):
        part = F.conv3d(x[n : n + 1], grad_out[n].unsqueeze(1), None, 1, list(padding), 1, channels)
        grad_w = part if grad_w is None else grad_w.add_(part)
    assert grad_w is not None and tuple(grad_w.shape[2:]) == tuple(kernel_size)
    return grad_w.reshape(channels, 1, *kernel_size)


def zero_upsample(
    grad_out: Tensor,
    input_shape: Sequence[int],
    *,
    kernel_size: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
) -> Tensor:
    """The gradient of a strided convolution's output placed on its stride-1 output grid, zeros in between.

    Args:
        grad_out (Tensor): (N, C, T', H', W') gradient of the strided convolution's output.
        input_shape (sequence[int]): (T, H, W) of the convolution's input.
        kernel_size, stride, padding (sequence[int]): the convolution's.
    Returns:
        Tensor: (N, C, *stride-1 output size), in grad_out's memory format.
    """
    if all(s == 1 for s in stride):
        return grad_out
    full = [size + 2 * p - k + 1 for size, p, k in zip(input_shape, padding, kernel_size)]
    channels_last = grad_out.is_contiguous(memory_format=torch.channels_last_3d) and not grad_out.is_contiguous()
    layout = torch.channels_last_3d if channels_last else torch.contiguous_format
    spread = torch.empty(
        (*grad_out.shape[:2], *full), dtype=grad_out.dtype, device=grad_out.device, memory_format=layout
    ).zero_()
    spread[:, :, :: stride[0], :: stride[1], :: stride[2]] = grad_out
    return spread


class _ChannelwiseConvFunction(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        x: Tensor,
        weight: Tensor,
        stride: Sequence[int],
        padding: Sequence[int],
        dilation: Sequence[int],
        flip_input_grad: bool,
        conv_weight_grad: bool,
    ) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.conv_args = (stride, padding, dilation)
        ctx.flip_input_grad, ctx.conv_weight_grad = flip_input_grad, conv_weight_grad
        return F.conv3d(x, weight, None, stride, padding, dilation, groups=weight.shape[0])

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        # Under autocast the forward convolved in grad_out's dtype (bf16/fp16): the backward does the same and
        # hands each gradient back in its input's dtype.
        x_dtype, weight_dtype = x.dtype, weight.dtype
        x, weight = x.to(grad_out.dtype), weight.to(grad_out.dtype)
        stride, padding, dilation = ctx.conv_args
        groups = weight.shape[0]
        grad_x = grad_w = None
        undilated = all(d == 1 for d in dilation)
        flip_x = ctx.needs_input_grad[0] and ctx.flip_input_grad and undilated
        conv_w = ctx.needs_input_grad[1] and ctx.conv_weight_grad and undilated and all(s == 1 for s in stride)
        if flip_x:
            # Full correlation with the flipped kernel; padding k-1-p keeps the input's size.
            flipped_padding = [k - 1 - p for k, p in zip(weight.shape[2:], padding)]
            spread = zero_upsample(grad_out, x.shape[2:], kernel_size=weight.shape[2:], stride=stride, padding=padding)
            grad_x = F.conv3d(spread, weight.flip([2, 3, 4]), None, 1, flipped_padding, 1, groups)
        if conv_w:
            grad_w = channelwise_weight_grad(grad_out, x, weight.shape[2:], padding)
        masks = [ctx.needs_input_grad[0] and not flip_x, ctx.needs_input_grad[1] and not conv_w, False]
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
            grad_w = grads[1] if masks[1] else grad_w
        grad_x = None if grad_x is None else grad_x.to(x_dtype)
        grad_w = None if grad_w is None else grad_w.to(weight_dtype)
        return grad_x, grad_w, None, None, None, None, None


class ChannelwiseConv3d(nn.Conv3d):
    """``nn.Conv3d`` with ``groups == in_channels == out_channels`` and no bias, faster to differentiate.

    Falls back to the plain convolution when no gradient is needed (inference, FLOP counting, tracing).
    """

    def __init__(self, *args: Any, flip_input_grad: bool = True, conv_weight_grad: bool = False, **kwargs: Any) -> None:
        """
        Args:
            *args, **kwargs: ``nn.Conv3d``'s (``groups`` equal to the channels, no bias).
            flip_input_grad (bool): input gradient as a flipped-kernel convolution.
            conv_weight_grad (bool): weight gradient as per-sample depthwise convolutions (stride 1).
        """
        super().__init__(*args, **kwargs)
        self.flip_input_grad, self.conv_weight_grad = flip_input_grad, conv_weight_grad

    def forward(self, x: Tensor) -> Tensor:
        if not torch.is_grad_enabled() or torch.jit.is_tracing() or self.padding_mode != "zeros":
            return super().forward(x)
        return _ChannelwiseConvFunction.apply(
            x, self.weight, self.stride, self.padding, self.dilation, self.flip_input_grad, self.conv_weight_grad
        )


def depthwise_conv3d(
    channels: int,
    kernel_size: Sequence[int] | int,
    *,
    stride: Sequence[int],
    padding: Sequence[int] | int,
    flip_input_grad: bool,
    conv_weight_grad: bool,
) -> nn.Conv3d:
    """A depthwise 3D convolution without bias: ``ChannelwiseConv3d`` when a faster gradient is asked for,
    else ``nn.Conv3d`` (same parameters either way).

    Args:
        channels (int): input and output channels (one group each).
        kernel_size, stride, padding: the convolution's.
        flip_input_grad (bool), conv_weight_grad (bool): see ``ChannelwiseConv3d``.
    Returns:
        nn.Conv3d: the convolution.
    """
    conv_class: Callable[..., nn.Conv3d] = nn.Conv3d
    if flip_input_grad or conv_weight_grad:
        conv_class = partial(ChannelwiseConv3d, flip_input_grad=flip_input_grad, conv_weight_grad=conv_weight_grad)
    return conv_class(channels, channels, kernel_size, stride=stride, padding=padding, groups=channels, bias=False)

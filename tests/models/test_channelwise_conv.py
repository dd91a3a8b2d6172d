"""ChannelwiseConv3d's own gradients against nn.Conv3d's: each option alone and both, strided and not."""

import itertools

import pytest
import torch
from torch import nn

from slowfast.models.channelwise_conv import ChannelwiseConv3d, channelwise_weight_grad

# (kernel, stride, padding): X3D's 3x3x3 blocks (stride 1 and 2), MViT's pooling, a no-padding case.
CASES = [
    ((3, 3, 3), (1, 1, 1), (1, 1, 1)),
    ((3, 3, 3), (1, 2, 2), (1, 1, 1)),
    ((3, 3, 3), (1, 4, 4), (1, 1, 1)),
    ((3, 3, 3), (2, 2, 3), (1, 1, 1)),
    ((3, 3, 3), (1, 1, 1), (0, 1, 0)),
    ((5, 1, 1), (1, 1, 1), (2, 0, 0)),
]


def _grads(conv, x):
    x = x.detach().clone().requires_grad_(True)
    out = conv(x)
    torch.manual_seed(5)
    out.backward(torch.randn_like(out))
    return out.detach(), x.grad, conv.weight.grad


@pytest.mark.parametrize("kernel,stride,padding", CASES)
@pytest.mark.parametrize("channels_last", [False, True])
def test_gradients_equal_the_plain_convolution(kernel, stride, padding, channels_last):
    channels = 6
    torch.manual_seed(0)
    plain = nn.Conv3d(channels, channels, kernel, stride, padding, groups=channels, bias=False)
    x = torch.randn(3, channels, 5, 9, 8)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last_3d)
    ref = _grads(plain, x)
    for flip, conv_w in itertools.product((False, True), repeat=2):
        conv = ChannelwiseConv3d(
            channels,
            channels,
            kernel,
            stride,
            padding,
            groups=channels,
            bias=False,
            flip_input_grad=flip,
            conv_weight_grad=conv_w,
        )
        conv.load_state_dict(plain.state_dict())
        for got, want, what in zip(_grads(conv, x), ref, ("output", "input grad", "weight grad")):
            # The weight gradient sums a few hundred products per entry, in another order: fp32 rounding.
            atol = 1e-6 * want.abs().max().item()
            torch.testing.assert_close(got, want, rtol=1e-5, atol=atol, msg=f"flip={flip} conv_w={conv_w}: {what}")


def test_weight_grad_as_per_sample_convolutions_matches_autograd_in_float64():
    torch.manual_seed(0)
    x = torch.randn(2, 4, 6, 7, 5, dtype=torch.float64)
    weight = torch.randn(4, 1, 3, 3, 3, dtype=torch.float64)
    grad_out = torch.randn(2, 4, 6, 7, 5, dtype=torch.float64)
    want = torch.ops.aten.convolution_backward(
        grad_out, x, weight, None, [1, 1, 1], [1, 1, 1], [1, 1, 1], False, [0, 0, 0], 4, [False, True, False]
    )[1]
    torch.testing.assert_close(channelwise_weight_grad(grad_out, x, (3, 3, 3), (1, 1, 1)), want, rtol=1e-12, atol=1e-12)

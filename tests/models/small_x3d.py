"""A small X3D's train step, for tests that compare implementation options (layout, backward, compile)."""

import torch

from slowfast.models.x3d import X3D, X3DArch


def small_x3d_step(x, compiled=False, depth_factor=1.0, **options):
    """Loss and gradients of one train-mode forward and backward of a small X3D built after seeding 0.

    Args:
        x (Tensor): (N, 3, 4, 64, 64) clips.
        compiled (bool): run the step through ``torch.compile``.
        depth_factor (float): X3D depth factor: 1.0 gives stages of 1, 2, 5 and 3 blocks.
        **options: further X3D arguments (channels_last, fast_channelwise_backward, fast_channelwise_weight_grad,
            dropout_rate).
    Returns:
        tuple: (loss, {parameter name: gradient}).
    """
    torch.manual_seed(0)
    arch = X3DArch(width_factor=1.0, depth_factor=depth_factor, dim_c5=64)
    model = X3D(arch=arch, num_classes=5, num_frames=4, crop_size=64, **options)
    model.train()
    runner = torch.compile(model) if compiled else model
    loss = runner([x]).square().sum()
    loss.backward()
    return loss.detach(), {k: p.grad for k, p in model.named_parameters()}


def assert_same_step(step, reference):
    """The loss and every gradient of ``step`` equal ``reference``'s within fp32 tolerances."""
    (loss, grads), (ref_loss, ref_grads) = step, reference
    torch.testing.assert_close(loss, ref_loss, rtol=1e-5, atol=1e-6)
    for key, grad in grads.items():
        torch.testing.assert_close(grad, ref_grads[key], rtol=1e-4, atol=1e-5, msg=key)

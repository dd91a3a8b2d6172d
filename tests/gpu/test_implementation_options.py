"""Each implementation option against the plain implementation on the device: same outputs and gradients.

The options are applied the way the engine applies them (``Implementation.apply`` to the config, then
``prepare_training_model``). On CUDA, TF32 convolutions are switched off for the comparison: TF32 is a
precision choice of its own (PyTorch's default for cuDNN), not part of any option under test.
"""

import pytest
import torch
from gpu_cases import clip_batch, scored_config

from slowfast.engine.implementation import Implementation, applicable_options, prepare_training_model
from slowfast.models import build_model

pytestmark = pytest.mark.gpu


@pytest.fixture
def strict_fp32():
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark
    torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark = saved


def _loss_and_grads(cfg, settings, device, x):
    impl = Implementation("config", settings, {})
    torch.manual_seed(0)
    module = build_model(impl.apply(cfg)).to(device)
    model = prepare_training_model(module, impl)
    model.train()
    loss = model([x]).float().square().sum()
    loss.backward()
    return loss.detach(), {k: p.grad for k, p in module.named_parameters()}


def _options(name, device):
    cfg = scored_config(name, device, "MODEL.DROPOUT_RATE", "0.0", "MVIT.DROPPATH_RATE", "0.0")
    options = applicable_options(cfg, device)
    if device.type == "cpu":
        options.remove("compile")  # the CPU compile check is tests/models/test_compile.py (golden inputs)
    return cfg, options


@pytest.mark.parametrize("name", ["X3D_M", "MVIT_B_16x4"])
def test_every_option_keeps_outputs_and_gradients(device, name, strict_fp32):
    cfg, options = _options(name, device)
    x, _ = clip_batch(cfg, 2, device)
    plain = {option: False for option in options}
    ref_loss, ref_grads = _loss_and_grads(cfg, plain, device, x)
    for option in options:
        loss, grads = _loss_and_grads(cfg, {**plain, option: True}, device, x)
        torch.testing.assert_close(loss, ref_loss, rtol=1e-4, atol=1e-5, msg=option)
        for key, grad in grads.items():
            # The floor covers gradients that are zero in exact arithmetic (e.g. the key norm's bias: softmax
            # ignores a shift shared by all keys) and hold only rounding noise.
            scale = ref_grads[key].abs().max().item()
            torch.testing.assert_close(
                grad,
                ref_grads[key],
                rtol=1e-3,
                atol=1e-4 * scale + 1e-6,
                msg=lambda m, key=key, option=option: f"{option}: {key}: {m}",
            )

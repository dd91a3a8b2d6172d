"""Each implementation option against the plain implementation on the device: same outputs and gradients.

The options are applied the way the engine applies them (``Implementation.apply`` to the config, then
``prepare_training_model``). Each result is measured against the plain implementation in float64: an option
must be about as accurate as plain fp32 is (on CUDA, cuDNN picks other algorithms for another memory layout, so
the two fp32 results differ by more than rounding in places, e.g. the stem's weight gradient, a sum over every
pixel of the clip). TF32 is switched off for the comparison: it is a precision choice of its own (PyTorch's
default for cuDNN), not part of any option under test.
"""

import pytest
import torch
from gpu_cases import clip_batch, scored_config

from slowfast.engine.implementation import Implementation, applicable_options, prepare_training_model
from slowfast.models import build_model

pytestmark = pytest.mark.gpu


@pytest.fixture
def strict_fp32():
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.benchmark
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.benchmark = saved


def _loss_and_grads(cfg, settings, x, dtype=torch.float32):
    impl = Implementation("config", settings, {})
    torch.manual_seed(0)
    module = build_model(impl.apply(cfg)).to(device=x.device, dtype=dtype)
    model = prepare_training_model(module, impl)
    model.train()
    loss = model([x.to(dtype)]).double().square().sum()
    loss.backward()
    return loss.detach(), {k: p.grad.double() for k, p in module.named_parameters()}


def _errors(result, exact):
    """Relative error of the loss and norm-wise of each parameter's gradient against the float64 result. A
    gradient that is zero in exact arithmetic (e.g. the key norm's bias: softmax ignores a shift shared by all
    keys) holds only rounding noise: it is measured against a thousandth of the largest gradient."""
    (loss, grads), (exact_loss, exact_grads) = result, exact
    floor = 1e-3 * max(g.norm() for g in exact_grads.values())
    errors = {k: float((grads[k] - g).norm() / torch.maximum(g.norm(), floor)) for k, g in exact_grads.items()}
    errors["loss"] = float(abs(loss - exact_loss) / abs(exact_loss))
    return errors


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
    exact = _loss_and_grads(cfg, plain, x, torch.float64)
    plain_errors = _errors(_loss_and_grads(cfg, plain, x), exact)
    assert plain_errors["loss"] < 1e-4  # the float64 model computes the same function
    for option in options:
        errors = _errors(_loss_and_grads(cfg, {**plain, option: True}, x), exact)
        # As accurate as plain fp32 within 10x (1e-5: below that both are rounding noise); a wrong option is off
        # by O(1), TF32 by ~1e-3.
        worse = {k: (e, plain_errors[k]) for k, e in errors.items() if e > max(10 * plain_errors[k], 1e-5)}
        assert not worse, f"{option}: (error, plain fp32's error) against float64: {worse}"

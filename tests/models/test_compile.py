"""torch.compile (inductor, the ``compile`` implementation setting) keeps fp32 numerics: on the golden inputs
its logits and probabilities stay within the tolerances the eager model meets (tests/models/test_golden.py), and
on a small X3D its train-mode loss and gradients match eager.

The golden check runs on CUDA, where compile is a candidate: on the CPU ``auto`` leaves compile out (compiling
the full models takes many minutes on 2 cores), so there the small train-step test covers the compile path."""

import pytest
import torch
from golden_data import golden_case
from small_x3d import assert_same_step, small_x3d_step

pytestmark = pytest.mark.slow


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="compile is a candidate on CUDA only; no CUDA here")
@pytest.mark.parametrize("name", ["x3d_m", "mvit_b_16x4"])
def test_compiled_model_meets_the_golden_outputs(name):
    model, x, ref_logits, ref_output = golden_case(name)
    model.cuda()
    x, ref_logits = x.cuda(), ref_logits.reshape(len(x), -1, 20)
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False  # fp32 numerics
    try:
        compiled = torch.compile(model)
        with torch.no_grad():
            logits = compiled([x], return_logits=True).cpu()
            output = compiled([x]).cpu()
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved
    # return_logits averages the head's (t, h, w) positions; at the golden sizes there is one (X3D 160, MViT).
    torch.testing.assert_close(logits.double(), ref_logits.mean(1), rtol=1e-4, atol=2e-5 if name == "x3d_m" else 5e-5)
    torch.testing.assert_close(output.double(), ref_output, rtol=0, atol=1e-5)


def test_compiled_train_step_matches_eager_gradients(monkeypatch):
    # Compile the kernels in this process: a pool of compile workers (each importing torch) costs more CPU time
    # than it saves on 2 cores (measured cold: 128 -> 105 s of user time).
    from torch._inductor import config as inductor_config  # imported here: collecting the tests stays light

    monkeypatch.setattr(inductor_config, "compile_threads", 1)
    torch.manual_seed(1)
    x = torch.randn(2, 3, 4, 64, 64)
    # Stages of 1, 1, 2 and 2 blocks: every kind of block (strided with a projection, identity shortcut) at less
    # than half the compile time of the full small X3D on the CPU.
    options = dict(dropout_rate=0.0, channels_last=True, fast_channelwise_backward=True, depth_factor=0.4)
    eager = small_x3d_step(x, **options)
    assert_same_step(small_x3d_step(x, compiled=True, **options), eager)

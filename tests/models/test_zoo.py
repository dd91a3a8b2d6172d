"""Every registered model at a tiny size, other X3D/MViT sizes from config values alone, MViT pooling rules,
X3D initialisation, speed options."""

from pathlib import Path

import pytest
import torch
from small_x3d import assert_same_step, small_x3d_step

from slowfast.config import get_cfg
from slowfast.config.checks import CHOICES
from slowfast.datasets.build import DATASET_REGISTRY  # build registers the built-in data sets
from slowfast.models import MODEL_REGISTRY, build_model
from slowfast.models.attention import BlockPooling
from slowfast.models.flops import count_flops
from slowfast.models.mvit import MViT, MViTArch
from slowfast.models.x3d import X3D, X3DArch

TINY = {
    "X3D": [
        "X3D.WIDTH_FACTOR",
        "1.0",
        "X3D.DEPTH_FACTOR",
        "1.0",
        "X3D.DIM_C5",
        "64",
        "DATA.NUM_FRAMES",
        "4",
        "DATA.TRAIN_CROP_SIZE",
        "64",
    ],
    "MViT": [
        "MVIT.DEPTH",
        "3",
        "MVIT.EMBED_DIM",
        "16",
        "MVIT.NUM_HEADS",
        "1",
        "MVIT.DIM_MUL",
        "[[1, 2.0]]",
        "MVIT.HEAD_MUL",
        "[[1, 2.0]]",
        "MVIT.POOL_Q_STRIDE",
        "[[1, 1, 2, 2]]",
        "MVIT.POOL_KV_STRIDE_ADAPTIVE",
        "[1, 4, 4]",
        "MVIT.POOL_KVQ_KERNEL",
        "[3, 3, 3]",
        "MVIT.SEP_POS_EMBED",
        "True",
        "MVIT.DROPPATH_RATE",
        "0.2",
        "MVIT.PATCH_PADDING",
        "[1, 3, 3]",
        "DATA.NUM_FRAMES",
        "4",
        "DATA.TRAIN_CROP_SIZE",
        "32",
        "DATA.TEST_CROP_SIZE",
        "32",
    ],
}


def _cfg(name, *overrides):
    cfg = get_cfg()
    cfg.merge_from_list(["MODEL.MODEL_NAME", name, "MODEL.NUM_CLASSES", "5", *TINY[name], *overrides])
    return cfg


def test_every_registered_model_has_a_tiny_config():
    assert sorted(name for name, _ in MODEL_REGISTRY) == sorted(TINY)


@pytest.mark.parametrize("name", sorted(TINY))
def test_tiny_forward_backward_every_parameter_gets_a_finite_gradient(name):
    cfg = _cfg(name)
    torch.manual_seed(0)
    model = build_model(cfg)
    crop = cfg.DATA.TRAIN_CROP_SIZE
    x = torch.randn(2, 3, cfg.DATA.NUM_FRAMES, crop, crop)
    logits = model([x])
    assert logits.shape == (2, 5)
    torch.nn.functional.cross_entropy(logits, torch.tensor([1, 3])).backward()
    for key, param in model.named_parameters():
        assert param.grad is not None, key
        assert torch.isfinite(param.grad).all(), key
    assert any(param.grad.abs().sum() > 0 for param in model.parameters())
    model.eval()
    with torch.no_grad():
        probs, eval_logits = model([x]), model([x], return_logits=True)
    torch.testing.assert_close(probs.sum(1), torch.ones(2))
    torch.testing.assert_close(probs, eval_logits.softmax(1))


def test_config_choices_of_model_and_dataset_are_the_registered_ones():
    assert sorted(CHOICES["MODEL.MODEL_NAME"]) == sorted(name for name, _ in MODEL_REGISTRY)
    assert sorted(CHOICES["TRAIN.DATASET"]) == sorted(name.lower() for name, _ in DATASET_REGISTRY)


def test_unknown_model_name_is_a_clear_error():
    cfg = get_cfg()
    cfg.MODEL.MODEL_NAME = "ResNet"
    with pytest.raises(KeyError, match="MODEL.MODEL_NAME"):
        build_model(cfg)


def _params(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_x3d_sizes_from_pyslowfast_config_values():
    # X3D-S (13x160) and X3D-XS (4x160) are X3D-M's network with smaller inputs: same parameters as the
    # golden X3D-M. X3D-L (depth 5.0) with 400 classes has 6.1M parameters (X3D paper, table 4, truncated).
    for frames, crop in ((13, 160), (4, 160)):
        model = X3D(arch=X3DArch(), num_classes=20, num_frames=frames, crop_size=crop)
        assert _params(model) == 3015702
        model.eval()
        with torch.no_grad():
            assert model([torch.randn(1, 3, frames, crop, crop)]).shape == (1, 20)
    large = X3D(arch=X3DArch(depth_factor=5.0), num_classes=400, num_frames=16, crop_size=312)
    assert 6.1e6 <= _params(large) < 6.2e6
    assert [len(getattr(large, f"s{i}")) for i in range(2, 6)] == [5, 10, 25, 15]


def test_mvit_b_32x3_from_config_values():
    cfg = get_cfg()
    cfg.merge_from_file(str(Path(__file__).resolve().parents[2] / "configs" / "MVIT_B_16x4.yaml"))
    cfg.merge_from_list(["DATA.NUM_FRAMES", "32", "DATA.TRAIN_CROP_SIZE", "112", "DATA.TEST_CROP_SIZE", "112"])
    model = build_model(cfg)
    assert model.pos_embed_temporal.shape == (1, 16, 96)
    assert model.pos_embed_spatial.shape == (1, 784, 96)
    # Adaptive key/value strides: 8 -> 4 -> 2 -> 1 spatially as queries are pooled at blocks 1, 3, 14.
    strides = [block.attn.pool_k.stride for block in model.blocks]
    assert strides[0] == (1, 8, 8) and strides[1] == (1, 4, 4) and strides[3] == (1, 2, 2)
    assert strides[14] == (1, 1, 1)


def test_mvit_explicit_kv_strides_default_kernels_and_no_identity_pooling():
    arch = MViTArch(embed_dim=16, depth=3, pool_q_stride=[[1, 1, 2, 2]], pool_kv_stride=[[0, 1, 4, 4], [2, 1, 1, 1]])
    assert arch.pooling() == [
        BlockPooling(kernel_kv=(1, 5, 5), stride_kv=(1, 4, 4)),
        BlockPooling(kernel_q=(1, 3, 3), stride_q=(1, 2, 2)),
        BlockPooling(kernel_kv=(1, 1, 1), stride_kv=(1, 1, 1)),
    ]
    model = MViT(arch=arch, num_classes=5, num_frames=4, crop_size=32)
    first, second, third = (block.attn for block in model.blocks)
    assert first.pool_q is None and first.pool_k.stride == (1, 4, 4) and first.pool_k.kernel_size == (1, 5, 5)
    assert second.pool_q.stride == (1, 2, 2) and second.pool_k is None
    assert third.pool_k is None and third.pool_v is None  # a 1x1x1 kernel with stride 1 pools nothing


@pytest.mark.parametrize("zero_init_final_bn", [True, False])
def test_x3d_zero_init_final_bn_zeroes_the_last_bn_of_every_residual_branch(zero_init_final_bn):
    arch = X3DArch(width_factor=1.0, dim_c5=32)
    model = X3D(arch=arch, num_classes=5, num_frames=4, crop_size=64, zero_init_final_bn=zero_init_final_bn)
    bn_weights = {key: p for key, p in model.named_parameters() if key.endswith("bn.weight")}
    final = {key for key in bn_weights if key.endswith("branch2.c_bn.weight")}
    assert len(final) == 3 + 5 + 11 + 7  # ceil(2.2 * (1, 2, 5, 3)) blocks
    for key, weight in bn_weights.items():
        expected = 0.0 if zero_init_final_bn and key in final else 1.0
        assert torch.all(weight == expected), key


X3D_SPEED_OPTIONS = ("channels_last", "fast_channelwise_backward", "fast_channelwise_weight_grad")


def test_x3d_speed_options_keep_fp32_numerics():
    """Each option alone and all of them change no loss or gradient (tests/models/test_channelwise_conv.py checks
    the channel-wise convolution's gradients themselves: here the zero-initialised final BN leaves them zero)."""
    torch.manual_seed(1)
    x = torch.randn(2, 3, 4, 64, 64)
    reference = small_x3d_step(x)
    for switched_on in [(name,) for name in X3D_SPEED_OPTIONS] + [X3D_SPEED_OPTIONS]:
        assert_same_step(small_x3d_step(x, **{name: True for name in switched_on}), reference)


def test_mvit_fused_attention_matches_explicit_matmuls():
    cfg = _cfg("MViT")
    torch.manual_seed(0)
    cfg.MVIT.FUSED_ATTENTION = True
    fused = build_model(cfg)
    cfg.MVIT.FUSED_ATTENTION = False
    explicit = build_model(cfg)
    explicit.load_state_dict(fused.state_dict())
    fused.eval()
    explicit.eval()
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(fused([x], return_logits=True), explicit([x], return_logits=True))
    # The SDPA flop handle counts exactly the two matmuls it replaces.
    assert count_flops(fused, [x])[0] == count_flops(explicit, [x])[0]


def _mvit_grads(overrides, x):
    cfg = _cfg("MViT", "MVIT.DROPPATH_RATE", "0.0", "MODEL.DROPOUT_RATE", "0.0", *overrides)
    torch.manual_seed(0)
    model = build_model(cfg)
    model.train()
    loss = model([x]).square().sum()
    loss.backward()
    return loss.detach(), {k: p.grad for k, p in model.named_parameters()}


MVIT_SPEED_OPTIONS = ("MVIT.FUSED_ATTENTION", "MODEL.CHANNELS_LAST", "MVIT.FAST_CHANNELWISE_BACKWARD")


def test_mvit_speed_options_keep_fp32_numerics():
    """Fused attention, channels_last pooling and the channel-wise conv backward change no loss or gradient."""
    torch.manual_seed(1)
    x = torch.randn(2, 3, 4, 32, 32)

    def overrides(switched_on):
        return [item for key in MVIT_SPEED_OPTIONS for item in (key, str(key in switched_on))]

    ref_loss, ref = _mvit_grads(overrides(()), x)
    for switched_on in [(key,) for key in MVIT_SPEED_OPTIONS] + [MVIT_SPEED_OPTIONS]:
        loss, grads = _mvit_grads(overrides(switched_on), x)
        torch.testing.assert_close(loss, ref_loss, rtol=1e-5, atol=1e-6)
        for key, grad in grads.items():
            torch.testing.assert_close(grad, ref[key], rtol=1e-4, atol=1e-5, msg=f"{switched_on}: {key}")

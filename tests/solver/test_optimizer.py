"""Weight-decay groups, optimizer settings, learning-rate setting and gradient clipping."""

import math

import pytest
import torch
from torch import nn

from slowfast.config import load_config
from slowfast.solver.optimizer import build_optimizer, build_param_groups, clip_gradients, set_lr


class Parts(nn.Module):
    """A little of everything the rule distinguishes: BN, conv, LayerNorm, linear, pos/cls, frozen."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv3d(3, 4, kernel_size=1)
        self.bn = nn.BatchNorm3d(4)
        self.norm = nn.LayerNorm(4)
        self.head = nn.Linear(4, 2)
        self.pos_embed = nn.Parameter(torch.zeros(1, 5, 4))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, 4))
        self.frozen = nn.Linear(2, 2)
        self.frozen.requires_grad_(False)


class StandIn(Parts):
    """Names its position embedding and class token the way our models do."""

    def no_weight_decay_names(self):
        return {"pos_embed", "cls_token"}


class TimmStyle(Parts):
    """Names them through timm/PySlowFast's ``no_weight_decay()`` instead."""

    def no_weight_decay(self):
        return ["pos_embed", "cls_token"]


class Wrapper(nn.Module):
    """Stands in for DistributedDataParallel: the model sits under ``.module``."""

    def __init__(self, model):
        super().__init__()
        self.module = model


def decay_by_name(model, cfg):
    """Map each trainable parameter name to the weight decay of the group holding it."""
    groups = build_param_groups(model, cfg)
    decay_of_param = {}
    for group in groups:
        for param in group["params"]:
            assert id(param) not in decay_of_param, "a parameter is in two groups"
            decay_of_param[id(param)] = group["weight_decay"]
    return {name: decay_of_param.get(id(p)) for name, p in model.named_parameters()}


def cfg_with(*opts):
    return load_config(None, ["SOLVER.WEIGHT_DECAY", "0.05", "BN.WEIGHT_DECAY", "0.001", *opts])


def test_default_rule_bn_gets_bn_decay_pos_cls_get_none_rest_decays():
    decay = decay_by_name(StandIn(), cfg_with("SOLVER.ZERO_WD_1D_PARAM", "False"))
    assert decay == {
        "conv.weight": 0.05,
        "conv.bias": 0.05,
        "bn.weight": 0.001,
        "bn.bias": 0.001,
        "norm.weight": 0.05,
        "norm.bias": 0.05,
        "head.weight": 0.05,
        "head.bias": 0.05,
        "pos_embed": 0.0,
        "cls_token": 0.0,
        "frozen.weight": None,
        "frozen.bias": None,  # not trainable: in no group
    }


def test_zero_wd_1d_param_removes_decay_from_biases_and_norm_weights():
    decay = decay_by_name(StandIn(), cfg_with("SOLVER.ZERO_WD_1D_PARAM", "True"))
    assert decay["conv.weight"] == 0.05 and decay["head.weight"] == 0.05
    for name in ("conv.bias", "norm.weight", "norm.bias", "head.bias", "pos_embed", "cls_token"):
        assert decay[name] == 0.0, name
    # BatchNorm keeps BN.WEIGHT_DECAY: the BN rule comes first.
    assert decay["bn.weight"] == 0.001 and decay["bn.bias"] == 0.001


def test_zero_decay_pos_cls_off_gives_pos_embed_and_cls_token_decay():
    cfg = cfg_with("SOLVER.ZERO_WD_1D_PARAM", "True", "MVIT.ZERO_DECAY_POS_CLS", "False")
    decay = decay_by_name(StandIn(), cfg)
    assert decay["pos_embed"] == 0.05 and decay["cls_token"] == 0.05
    assert decay["norm.weight"] == 0.0


def test_no_names_means_pos_embed_decays():
    decay = decay_by_name(Parts(), cfg_with())
    assert decay["pos_embed"] == 0.05 and decay["cls_token"] == 0.05


def test_timm_style_no_weight_decay_is_honoured_too():
    decay = decay_by_name(TimmStyle(), cfg_with())
    assert decay["pos_embed"] == 0.0 and decay["cls_token"] == 0.0 and decay["head.weight"] == 0.05


def test_groups_keep_pyslowfast_order_and_drop_empty_ones():
    groups = build_param_groups(StandIn(), cfg_with("SOLVER.ZERO_WD_1D_PARAM", "True"))
    assert [g["group"] for g in groups] == ["bn", "decay", "no_decay"]
    no_bn = nn.Sequential(nn.Linear(2, 2))
    groups = build_param_groups(no_bn, cfg_with("SOLVER.ZERO_WD_1D_PARAM", "False"))
    assert [g["group"] for g in groups] == ["decay"]


def test_sgd_settings_and_decay_applied_per_group():
    cfg = cfg_with(
        "SOLVER.OPTIMIZING_METHOD",
        "sgd",
        "SOLVER.MOMENTUM",
        "0.0",
        "SOLVER.NESTEROV",
        "False",
        "SOLVER.LR_POLICY",
        "constant",
        "SOLVER.BASE_LR",
        "0.5",
        "SOLVER.WARMUP_EPOCHS",
        "0.0",
        "SOLVER.ZERO_WD_1D_PARAM",
        "True",
    )
    model = StandIn()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(2.0)
    optimizer = build_optimizer(model, cfg)
    assert isinstance(optimizer, torch.optim.SGD)
    assert all(g["lr"] == 0.5 for g in optimizer.param_groups)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    # With a zero gradient, SGD moves p by -lr * wd * p: 2 * (1 - 0.5 * wd).
    assert torch.allclose(model.conv.weight, torch.full_like(model.conv.weight, 2 * (1 - 0.5 * 0.05)))
    assert torch.allclose(model.bn.weight, torch.full_like(model.bn.weight, 2 * (1 - 0.5 * 0.001)))
    assert torch.equal(model.norm.weight, torch.full_like(model.norm.weight, 2.0))
    assert torch.equal(model.pos_embed, torch.full_like(model.pos_embed, 2.0))


def test_sgd_momentum_nesterov_dampening_reach_the_optimizer():
    cfg = cfg_with(
        "SOLVER.OPTIMIZING_METHOD",
        "sgd",
        "SOLVER.MOMENTUM",
        "0.8",
        "SOLVER.NESTEROV",
        "False",
        "SOLVER.DAMPENING",
        "0.1",
    )
    group = build_optimizer(StandIn(), cfg).param_groups[0]
    assert (group["momentum"], group["nesterov"], group["dampening"]) == (0.8, False, 0.1)


def test_adamw_betas_and_decay_groups():
    cfg = cfg_with("SOLVER.OPTIMIZING_METHOD", "adamw", "SOLVER.BETAS", "(0.8, 0.95)")
    optimizer = build_optimizer(StandIn(), cfg)
    assert isinstance(optimizer, torch.optim.AdamW)
    assert all(tuple(g["betas"]) == (0.8, 0.95) for g in optimizer.param_groups)
    assert [g["weight_decay"] for g in optimizer.param_groups] == [0.001, 0.05, 0.0]


def test_set_lr_sets_every_group():
    optimizer = build_optimizer(StandIn(), cfg_with("SOLVER.ZERO_WD_1D_PARAM", "True"))
    set_lr(optimizer, 0.0123)
    assert [g["lr"] for g in optimizer.param_groups] == [0.0123] * 3


def two_params_with_grads():
    a, b = nn.Parameter(torch.zeros(2)), nn.Parameter(torch.zeros(2))
    a.grad, b.grad = torch.tensor([3.0, -4.0]), torch.tensor([0.5, 12.0])
    return [a, b]


def test_clip_by_l2_norm_returns_the_norm_before_clipping():
    params = two_params_with_grads()
    norm = clip_gradients(params, cfg_with("SOLVER.CLIP_GRAD_L2NORM", "1.0"))
    expected = math.sqrt(3.0**2 + 4.0**2 + 0.5**2 + 12.0**2)
    assert float(norm) == pytest.approx(expected)
    clipped = math.sqrt(sum(float((p.grad**2).sum()) for p in params))
    assert clipped == pytest.approx(1.0, rel=1e-5)
    assert params[0].grad[0].item() == pytest.approx(3.0 / expected, rel=1e-5)


def test_clip_by_value_clamps_each_element():
    params = two_params_with_grads()
    assert clip_gradients(params, cfg_with("SOLVER.CLIP_GRAD_VAL", "1.0")) is None
    assert params[0].grad.tolist() == [1.0, -1.0] and params[1].grad.tolist() == [0.5, 1.0]


def test_no_clipping_leaves_gradients_alone():
    params = two_params_with_grads()
    assert clip_gradients(params, cfg_with()) is None
    assert params[1].grad.tolist() == [0.5, 12.0]

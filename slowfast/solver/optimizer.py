"""Optimizer construction with PySlowFast's weight-decay groups, learning-rate setting, gradient clipping.

Weight-decay rule, applied to each trainable parameter in this order (PySlowFast's construct_optimizer):
1. parameters of a BatchNorm-like module (``_NormBase``: BatchNorm, SyncBatchNorm, InstanceNorm)
   get BN.WEIGHT_DECAY;
2. parameters whose full name contains one of the model's ``no_weight_decay_names()`` (or
   ``no_weight_decay()``) names, MViT's position embeddings and class token, get none when
   MVIT.ZERO_DECAY_POS_CLS is True;
3. with SOLVER.ZERO_WD_1D_PARAM, 1-D parameters (LayerNorm weights, biases) and any ``*.bias`` get none;
4. everything else gets SOLVER.WEIGHT_DECAY.
Groups keep PySlowFast's order (bn, decay, no decay; empty ones dropped) so its optimizer states load.
"""

from collections.abc import Iterable
from typing import Any

import torch
from fvcore.common.config import CfgNode
from torch import nn
from torch.nn.modules.batchnorm import _NormBase

from slowfast.solver.lr_policy import get_lr_at_epoch

# Group labels, in the order the groups are handed to the optimizer.
GROUP_BN = "bn"
GROUP_DECAY = "decay"
GROUP_NO_DECAY = "no_decay"
_GROUP_ORDER = (GROUP_BN, GROUP_DECAY, GROUP_NO_DECAY)


def _no_decay_names(model: nn.Module, cfg: CfgNode) -> set[str]:
    """Names the model excludes from decay: our ``no_weight_decay_names()`` or timm/PySlowFast's
    ``no_weight_decay()``; the config switch MVIT.ZERO_DECAY_POS_CLS decides whether they apply."""
    if not cfg.MVIT.ZERO_DECAY_POS_CLS:
        return set()
    for method in ("no_weight_decay_names", "no_weight_decay"):
        if hasattr(model, method):
            return set(getattr(model, method)())
    return set()


def weight_decay_group_of(
    name: str, param: torch.Tensor, is_bn_param: bool, no_decay_names: set[str], zero_wd_1d_param: bool
) -> str:
    """Which weight-decay group one trainable parameter belongs to (see the module docstring).

    Args:
        name (str): full parameter name, e.g. ``"blocks.0.norm1.weight"``.
        param (Tensor): the parameter.
        is_bn_param (bool): it belongs to a BatchNorm-like module.
        no_decay_names (set of str): substrings that exclude a name from weight decay.
        zero_wd_1d_param (bool): SOLVER.ZERO_WD_1D_PARAM.
    Returns:
        str: GROUP_BN, GROUP_NO_DECAY or GROUP_DECAY.
    """
    if is_bn_param:
        return GROUP_BN
    if any(skip in name for skip in no_decay_names):
        return GROUP_NO_DECAY
    if zero_wd_1d_param and (param.ndim == 1 or name.endswith(".bias")):
        return GROUP_NO_DECAY
    return GROUP_DECAY


def build_param_groups(model: nn.Module, cfg: CfgNode) -> list[dict[str, Any]]:
    """Split the model's trainable parameters into weight-decay groups.

    Args:
        model (nn.Module): the bare model (not a DistributedDataParallel wrapper).
        cfg (CfgNode): run configuration (SOLVER, BN, MVIT.ZERO_DECAY_POS_CLS).
    Returns:
        list of dict: torch param groups with keys ``params``, ``weight_decay`` and ``group``
        (GROUP_BN / GROUP_DECAY / GROUP_NO_DECAY), empty groups left out.
    """
    no_decay_names = _no_decay_names(model, cfg)
    members: dict[str, list[nn.Parameter]] = {group: [] for group in _GROUP_ORDER}
    for module_name, module in model.named_modules():
        is_bn = isinstance(module, _NormBase)
        for param_name, param in module.named_parameters(recurse=False):
            if not param.requires_grad:
                continue
            name = f"{module_name}.{param_name}" if module_name else param_name
            group = weight_decay_group_of(name, param, is_bn, no_decay_names, cfg.SOLVER.ZERO_WD_1D_PARAM)
            members[group].append(param)
    decay = {GROUP_BN: cfg.BN.WEIGHT_DECAY, GROUP_DECAY: cfg.SOLVER.WEIGHT_DECAY, GROUP_NO_DECAY: 0.0}
    return [
        {"params": members[group], "weight_decay": decay[group], "group": group}
        for group in _GROUP_ORDER
        if members[group]
    ]


def build_optimizer(model: nn.Module, cfg: CfgNode) -> torch.optim.Optimizer:
    """Build SGD (momentum, dampening, nesterov) or AdamW (BETAS) over ``build_param_groups``.

    The initial rate is the schedule's rate at epoch 0; the loop sets it every iteration with ``set_lr``.

    Args:
        model (nn.Module): the bare model (not a DistributedDataParallel wrapper).
        cfg (CfgNode): run configuration.
    Returns:
        torch.optim.Optimizer: the optimizer.
    Raises:
        ValueError: unknown SOLVER.OPTIMIZING_METHOD.
    """
    solver = cfg.SOLVER
    groups = build_param_groups(model, cfg)
    lr = get_lr_at_epoch(cfg, 0.0)
    if solver.OPTIMIZING_METHOD == "sgd":
        return torch.optim.SGD(
            groups,
            lr=lr,
            momentum=solver.MOMENTUM,
            dampening=solver.DAMPENING,
            nesterov=solver.NESTEROV,
            weight_decay=solver.WEIGHT_DECAY,
        )
    # "adamw", the only other value the config checks allow.
    return torch.optim.AdamW(groups, lr=lr, betas=tuple(solver.BETAS), eps=1e-8, weight_decay=solver.WEIGHT_DECAY)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set the learning rate of every parameter group.

    Args:
        optimizer (torch.optim.Optimizer): the optimizer.
        lr (float): the new learning rate.
    """
    for group in optimizer.param_groups:
        group["lr"] = lr


def clip_gradients(parameters: Iterable[torch.Tensor], cfg: CfgNode) -> torch.Tensor | None:
    """Clip gradients in place as PySlowFast does: by value (CLIP_GRAD_VAL) or else by L2 norm.

    With mixed precision, call ``scaler.unscale_(optimizer)`` first so the limits apply to true gradients.

    Args:
        parameters (iterable of Tensor): the model's parameters.
        cfg (CfgNode): run configuration (SOLVER.CLIP_GRAD_VAL, SOLVER.CLIP_GRAD_L2NORM).
    Returns:
        Tensor or None: the total gradient L2 norm before clipping (0-dim tensor, on the gradients'
        device, so no host sync is forced) when CLIP_GRAD_L2NORM is used; None otherwise.
    """
    solver = cfg.SOLVER
    if solver.CLIP_GRAD_VAL is not None:
        torch.nn.utils.clip_grad_value_(parameters, solver.CLIP_GRAD_VAL)
        return None
    if solver.CLIP_GRAD_L2NORM is not None:
        return torch.nn.utils.clip_grad_norm_(parameters, solver.CLIP_GRAD_L2NORM)
    return None

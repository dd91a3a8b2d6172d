"""FLOP, activation and parameter counts with fvcore, counted the way PySlowFast's golden numbers were.

fvcore counts one multiply-add as one flop. It has no handle for ``aten::scaled_dot_product_attention``;
ours counts it as the two matrix products it replaces (q k^T and attn v), so fused attention gives the same
total as PySlowFast's explicit matmuls.
"""

import math
from typing import Any

import torch
from fvcore.common.config import CfgNode
from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis
from fvcore.nn.jit_handles import get_shape
from torch import nn


def sdpa_flop_handle(inputs: list[Any], outputs: list[Any]) -> int:
    """fvcore handle: flops of softmax(q k^T) v as two matmuls, (B*heads*Nq*Nk) * (Dqk + Dv).

    Args:
        inputs (list): traced inputs of the op; the first three are q, k, v.
        outputs (list): traced outputs (unused).
    Returns:
        int: the flop count.
    """
    q_shape, k_shape, v_shape = (get_shape(value) for value in inputs[:3])
    scores = math.prod(q_shape[:-1]) * k_shape[-2]
    return scores * q_shape[-1] + scores * v_shape[-1]


def _eval_analysis(
    analysis_class: type[FlopCountAnalysis] | type[ActivationCountAnalysis],
    model: nn.Module,
    inputs: list[torch.Tensor],
) -> tuple[int, dict[str, int]]:
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            analysis = analysis_class(model, (inputs,))
            analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            if isinstance(analysis, FlopCountAnalysis):
                analysis.set_op_handle("aten::scaled_dot_product_attention", sdpa_flop_handle)
            total = analysis.total()
            by_operator = analysis.by_operator()
    finally:
        model.train(was_training)
    return int(total), dict(by_operator)


def count_flops(model: nn.Module, inputs: list[torch.Tensor]) -> tuple[int, dict[str, int]]:
    """Count the model's flops in eval mode for ``model(inputs)``.

    Args:
        model (nn.Module): the model (its train/eval mode is restored afterwards).
        inputs (list[Tensor]): the model input, a list with one (N, C, T, H, W) tensor.
    Returns:
        tuple(int, dict): total flops and flops per operator name (e.g. "conv", "linear", "matmul").
    """
    return _eval_analysis(FlopCountAnalysis, model, inputs)


def model_stats(model: nn.Module, cfg: CfgNode) -> dict[str, float]:
    """Parameters, GFLOPs and activations (millions) for one clip of the configured training size.

    Args:
        model (nn.Module): the model, on any device.
        cfg (CfgNode): reads DATA.INPUT_CHANNEL_NUM, DATA.NUM_FRAMES and DATA.TRAIN_CROP_SIZE.
    Returns:
        dict: ``params`` (trainable, int), ``gflops`` (float), ``activations_m`` (float).
    """
    device = next(model.parameters()).device
    crop = cfg.DATA.TRAIN_CROP_SIZE
    clip = torch.zeros(1, cfg.DATA.INPUT_CHANNEL_NUM[0], cfg.DATA.NUM_FRAMES, crop, crop, device=device)
    flops, _ = count_flops(model, [clip])
    activations, _ = _eval_analysis(ActivationCountAnalysis, model, [clip])
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"params": params, "gflops": flops / 1e9, "activations_m": activations / 1e6}

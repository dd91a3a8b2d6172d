"""Load our checkpoints and PySlowFast ``.pyth`` files into our models through one key-mapping function."""

from typing import Any

import torch
from torch import nn

_WRAPPER_PREFIX = "module."


def convert_state_dict(state: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Map any supported checkpoint layout to our state_dict keys.

    Accepts our own state_dict, a PySlowFast checkpoint dict (weights under ``"model_state"``) and keys
    carrying DDP's ``module.`` prefix. Parameter names are PySlowFast's, so no renaming is needed beyond that.

    Args:
        state (dict): a state_dict or a checkpoint dict holding one under ``"model_state"``.
    Returns:
        dict: key -> tensor with our model's key names.
    """
    if "model_state" in state and isinstance(state["model_state"], dict):
        state = state["model_state"]
    return {
        (key[len(_WRAPPER_PREFIX) :] if key.startswith(_WRAPPER_PREFIX) else key): value for key, value in state.items()
    }


def load_model_state(model: nn.Module, state: dict[str, Any], strict: bool = True) -> tuple[list[str], list[str]]:
    """Copy the weights of ``state`` into ``model`` (unwrap DDP yourself or pass the wrapped model).

    Args:
        model (nn.Module): the target model (a DDP wrapper is unwrapped).
        state (dict): see ``convert_state_dict``.
        strict (bool): raise when keys are missing or unexpected; shape mismatches always raise.
    Returns:
        tuple(list, list): missing and unexpected keys (both empty when ``strict``).
    Raises:
        ValueError: listing missing keys, unexpected keys and shape mismatches (key, expected, got).
    """
    model = getattr(model, "module", model)
    converted = convert_state_dict(state)
    expected = model.state_dict()
    missing = [key for key in expected if key not in converted]
    unexpected = [key for key in converted if key not in expected]
    mismatched = [
        (key, tuple(expected[key].shape), tuple(converted[key].shape))
        for key in expected
        if key in converted and tuple(expected[key].shape) != tuple(converted[key].shape)
    ]
    if mismatched or (strict and (missing or unexpected)):
        lines = [f"checkpoint does not fit {type(model).__name__}:"]
        lines += [f"  missing key: {key}" for key in missing]
        lines += [f"  unexpected key: {key}" for key in unexpected]
        lines += [f"  shape mismatch: {key}: expected {exp}, got {got}" for key, exp, got in mismatched]
        raise ValueError("\n".join(lines))
    model.load_state_dict({k: v for k, v in converted.items() if k in expected}, strict=False)
    return missing, unexpected

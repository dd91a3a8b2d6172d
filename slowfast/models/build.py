"""Model registry and the one function that builds a model from the configuration."""

from typing import TypedDict

from fvcore.common.config import CfgNode
from fvcore.common.registry import Registry
from torch import nn

MODEL_REGISTRY = Registry("MODEL")
MODEL_REGISTRY.__doc__ = """
Registry of video classification models, keyed by ``cfg.MODEL.MODEL_NAME`` (PySlowFast's names).

Contract of a registered object: an ``nn.Module`` class whose constructor takes typed keyword-only arguments
(never a config; the ``ClipArgs`` among them) and whose classmethod ``from_config(cfg)`` reads the config and
only constructs the model on the CPU, with PySlowFast's parameter names and initialisation (no device move, no
DDP, no SyncBN). The model is called as ``model([x])`` with ``x`` of shape (N, C, T, H, W); in train mode it
returns logits (N, num_classes), in eval mode the head activation as PySlowFast; ``model([x], return_logits=True)``
returns pre-activation logits (N, num_classes) in either mode.
"""


class ClipArgs(TypedDict):
    """The constructor arguments every model takes from ``cfg.MODEL`` and ``cfg.DATA``."""

    num_classes: int
    num_frames: int
    crop_size: int
    in_channels: int


def clip_args(cfg: CfgNode) -> ClipArgs:
    """Classes and training clip size: MODEL.NUM_CLASSES, DATA.NUM_FRAMES, DATA.TRAIN_CROP_SIZE and
    DATA.INPUT_CHANNEL_NUM[0], as keyword arguments for a model's constructor.

    Args:
        cfg (CfgNode): the run configuration.
    Returns:
        ClipArgs: num_classes, num_frames, crop_size, in_channels.
    """
    return ClipArgs(
        num_classes=cfg.MODEL.NUM_CLASSES,
        num_frames=cfg.DATA.NUM_FRAMES,
        crop_size=cfg.DATA.TRAIN_CROP_SIZE,
        in_channels=cfg.DATA.INPUT_CHANNEL_NUM[0],
    )


def build_model(cfg: CfgNode) -> nn.Module:
    """Construct the model named by ``cfg.MODEL.MODEL_NAME`` on the CPU.

    Args:
        cfg (CfgNode): the run configuration.
    Returns:
        torch.nn.Module: the freshly initialised model.
    Raises:
        KeyError: the name is not registered (the message lists the registered names).
    """
    name = cfg.MODEL.MODEL_NAME
    if name not in MODEL_REGISTRY:
        known = ", ".join(sorted(name for name, _ in MODEL_REGISTRY))
        raise KeyError(f"config key MODEL.MODEL_NAME = {name!r} is not a registered model; known: {known}")
    return MODEL_REGISTRY.get(name).from_config(cfg)

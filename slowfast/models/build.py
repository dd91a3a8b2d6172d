"""Model registry and the one function that builds a model from the configuration."""

from fvcore.common.registry import Registry

MODEL_REGISTRY = Registry("MODEL")
MODEL_REGISTRY.__doc__ = """
Registry of video classification models, keyed by ``cfg.MODEL.MODEL_NAME`` (PySlowFast's names).

Contract of a registered object: an ``nn.Module`` class whose constructor takes plain arguments and whose
classmethod ``from_config(cfg)`` reads the config and only constructs the model on the CPU, with PySlowFast's
parameter names and initialisation (no device move, no DDP, no SyncBN). The model is called
as ``model([x])`` with ``x`` of shape (N, C, T, H, W); in train mode it returns logits (N, num_classes), in
eval mode the head activation as PySlowFast; ``model([x], return_logits=True)`` returns pre-activation
logits (N, num_classes) in either mode.
"""


def build_model(cfg):
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

"""Build a registered data set by name."""

from slowfast.datasets import kinetics  # noqa: F401  (registers Kinetics)
from slowfast.datasets.registry import DATASET_REGISTRY


def build_dataset(name, cfg, split):
    """Construct a registered dataset.

    Args:
        name (str): registry name, case-insensitive (e.g. "kinetics" or cfg.TRAIN.DATASET).
        cfg (CfgNode): configuration.
        split (str): "train", "val" or "test".
    Returns:
        torch.utils.data.Dataset
    """
    for key in (name, name.capitalize(), name.lower()):
        if key in DATASET_REGISTRY:
            return DATASET_REGISTRY.get(key)(cfg, split)
    raise KeyError(f"dataset {name!r} is not registered; known: {sorted(k for k, _ in DATASET_REGISTRY)}")

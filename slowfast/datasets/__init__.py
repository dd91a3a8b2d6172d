"""Video datasets and loaders: ``build_dataset(name, cfg, split)``, ``build_loader(cfg, split)``."""

from slowfast.datasets import kinetics  # noqa: F401  (registers Kinetics)
from slowfast.datasets.build import DATASET_REGISTRY, build_dataset
from slowfast.datasets.loader import build_loader, set_loader_epoch

__all__ = ["DATASET_REGISTRY", "build_dataset", "build_loader", "set_loader_epoch"]

"""Model zoo: X3D and MViT v1 with PySlowFast's parameter names, built through ``build_model(cfg)``."""

from slowfast.models import mvit, x3d  # noqa: F401  (registers the models)
from slowfast.models.build import MODEL_REGISTRY, build_model

__all__ = ["MODEL_REGISTRY", "build_model"]

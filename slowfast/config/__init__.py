"""Configuration: defaults with PySlowFast's key names, loading, checks."""

from slowfast.config.checks import ConfigError
from slowfast.config.defaults import get_cfg
from slowfast.config.loading import load_config, merge_config, save_config

__all__ = ["ConfigError", "get_cfg", "load_config", "merge_config", "save_config"]

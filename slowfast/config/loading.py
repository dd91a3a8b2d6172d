"""Build the run configuration: defaults -> YAML (with ``_BASE_``) -> overrides -> checks -> freeze.

Nothing here touches the file system except reading the YAML; ``save_config`` is called by the
engine once the output folder is known.
"""

import os
import re
from collections.abc import Sequence
from typing import Any

import yaml
from fvcore.common.config import CfgNode

from slowfast.config.checks import ConfigError, check_config, config_value
from slowfast.config.defaults import get_cfg
from slowfast.utils.files import atomic_write_text


def merge_config(cfg_file: str | None = None, opts: Sequence[str] = ()) -> CfgNode:
    """Defaults merged with a YAML file (and its ``_BASE_`` chain) and ``KEY VALUE`` overrides, unchecked.

    The one way a YAML becomes a config: an integer given for a float key becomes a float, in the file and in
    overrides. ``load_config`` adds the checks; the compliance check uses this for the official config.

    Args:
        cfg_file (str or None): YAML file; may name a parent through ``_BASE_``.
        opts (sequence of str): alternating keys and values, e.g. ``["NUM_GPUS", "4"]``.
    Returns:
        CfgNode: mutable, not validated.
    Raises:
        ConfigError: a missing file, a YAML syntax error, an unknown key or a value of the wrong type, naming
            the file or override.
    """
    cfg = get_cfg()
    if cfg_file:
        if not os.path.isfile(cfg_file):
            raise ConfigError(f"config file not found: {cfg_file}: check the --cfg path")
        try:
            loaded = cfg.load_yaml_with_base(cfg_file)
            cfg.merge_from_other_cfg(type(cfg)(_ints_to_floats(loaded, cfg)))
        except yaml.YAMLError as err:
            raise ConfigError(_yaml_syntax_message(cfg_file, err)) from err
        except (KeyError, AssertionError, ValueError) as err:
            raise ConfigError(f"{cfg_file}: {_message(err)}") from err
    opts = list(opts or [])
    if len(opts) % 2:
        raise ConfigError(f"overrides must be KEY VALUE pairs; got an odd number of items: {opts}")
    _check_override_keys(opts, cfg)
    try:
        cfg.merge_from_list(_int_overrides_to_floats(opts, cfg))
    except (KeyError, AssertionError, ValueError) as err:
        raise ConfigError(f"command-line override: {_message(err)}") from err
    return cfg


def load_config(
    cfg_file: str | None = None,
    opts: Sequence[str] = (),
    num_shards: int | None = None,
    shard_id: int | None = None,
    world_size: int | None = None,
) -> CfgNode:
    """Merge a YAML file and ``KEY VALUE`` overrides into the defaults, validate and freeze.

    Args:
        cfg_file (str or None): YAML file; may name a parent through ``_BASE_``.
        opts (sequence of str): alternating keys and values, e.g. ``["NUM_GPUS", "4"]``.
        num_shards (int or None): overrides NUM_SHARDS (``--num_shards`` on the command line).
        shard_id (int or None): overrides SHARD_ID (``--shard_id``).
        world_size (int or None): number of processes the job really has (torchrun); by default it
            is derived from NUM_GPUS, NUM_CPU_PROCESSES and NUM_SHARDS.
    Returns:
        CfgNode: the frozen configuration.
    Raises:
        ConfigError: an unknown key or a bad value or combination, naming the file or override, the key,
            the value and what is allowed.
    """
    cfg = merge_config(cfg_file, opts)
    if num_shards is not None:
        cfg.NUM_SHARDS = num_shards
    if shard_id is not None:
        cfg.SHARD_ID = shard_id
    check_config(cfg, world_size=world_size)
    cfg.freeze()
    return cfg


def save_config(cfg: CfgNode, output_dir: str) -> str:
    """Write the merged configuration to ``output_dir/config.yaml`` atomically and return the path."""
    return atomic_write_text(os.path.join(output_dir, "config.yaml"), cfg.dump())


def _ints_to_floats(loaded: dict[str, Any], defaults: object) -> dict[str, Any]:
    """Copy of a YAML mapping where an integer given for a float key becomes a float (``TARGET_TOP1: 20``)."""
    result = {}
    for key, value in loaded.items():
        default = defaults.get(key) if isinstance(defaults, dict) else None
        if isinstance(value, dict):
            value = _ints_to_floats(value, default)
        elif isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        result[key] = value
    return result


def _int_overrides_to_floats(opts: Sequence[str], defaults: CfgNode) -> list[str]:
    """``KEY VALUE`` pairs where an integer literal given for a float key is written as a float literal."""
    result = list(opts)
    for i in range(0, len(result), 2):
        try:
            default = config_value(defaults, str(result[i]))
        except (KeyError, TypeError):  # unknown key (or a part below a leaf): yacs's merge names it
            continue
        if isinstance(default, float) and re.fullmatch(r"[+-]?\d+", str(result[i + 1]).strip()):
            result[i + 1] = str(result[i + 1]).strip() + ".0"
    return result


def _yaml_syntax_message(cfg_file: str, err: yaml.YAMLError) -> str:
    """One line naming the file, line and column of a YAML syntax error."""
    mark = getattr(err, "problem_mark", None)
    where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    return f"{cfg_file}{where}: YAML syntax error ({problem}): fix the YAML there"


def _check_override_keys(opts: Sequence[str], defaults: CfgNode) -> None:
    """Name an override whose dotted key goes below a value (``NUM_GPUS.X``), which yacs cannot report."""
    for key in opts[::2]:
        parts = str(key).split(".")
        node = defaults
        for depth, part in enumerate(parts[:-1]):
            node = node.get(part) if isinstance(node, dict) else None
            if node is not None and not isinstance(node, dict):
                leaf = ".".join(parts[: depth + 1])
                raise ConfigError(
                    f"command-line override {key}: {leaf} is a value, not a group of keys; "
                    f"write {leaf} VALUE (keys are listed in slowfast/config/defaults.py)"
                )


def _message(err: Exception) -> str:
    # yacs wraps messages of KeyError in quotes; show them plainly.
    return err.args[0] if err.args else str(err)


def model_name_of(cfg_file: str) -> str:
    """The model name a config file gives a run, its file name without the extension (e.g. "X3D_M").

    It is the run's ``submission_benchmark`` in mllog.txt and the reference table's key.
    """
    return os.path.splitext(os.path.basename(cfg_file))[0]

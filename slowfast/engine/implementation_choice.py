"""auto's choice kept in OUTPUT_DIR, so the run trains exactly what its self-check timed.

The self-check and the run both choose with ``implementation.choose_run_implementation``. Timing auto's
candidates takes a minute or more, and two timings of close candidates can pick differently; so the first
timing (normally the self-check's) writes its choice to ``OUTPUT_DIR/auto_implementation.json`` with what the
choice depends on: the whole configuration, the machine (host, devices, processes, CPU threads) and the library
versions. A later choice with all three equal reuses it, and logs that it did; any difference times again and
replaces the file. Rank 0 reads the file and every rank takes its answer, so all ranks train one implementation
and time (collectively) or reuse together.
"""

import hashlib
import json
import logging
import os
import platform
from typing import Any

import torch
from fvcore.common.config import CfgNode

from slowfast.utils import distributed as du
from slowfast.utils.env import library_versions
from slowfast.utils.files import atomic_write_json

logger = logging.getLogger(__name__)

CHOICE_FILENAME = "auto_implementation.json"


def choice_key(cfg: CfgNode, device: torch.device) -> dict[str, Any]:
    """What auto's choice depends on: the configuration (a hash of its YAML), the machine, the versions.

    Args:
        cfg (CfgNode): the run configuration.
        device (torch.device): where the run trains.
    Returns:
        dict: JSON-ready; two choices are interchangeable when their keys are equal.
    """
    if device.type == "cuda":
        devices = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    else:
        devices = ["cpu"]
    return {
        "config_sha256": hashlib.sha256(cfg.dump().encode()).hexdigest(),
        "machine": {
            "host": platform.node(),
            "devices": devices,
            "processes": du.get_world_size(),
            "cpu_threads": torch.get_num_threads(),
        },
        "versions": library_versions(),
    }


def _path(cfg: CfgNode) -> str:
    return os.path.join(cfg.OUTPUT_DIR, CHOICE_FILENAME)


def load_choice(cfg: CfgNode, key: dict[str, Any]) -> dict[str, Any] | None:
    """Rank 0's saved choice for ``key``, on every rank; None when there is none, or it was made for another key.

    Returns:
        dict or None: {"key", "timed_by", "settings", "chosen_by", "candidates"} as ``save_choice`` wrote it.
    """
    choice = None
    if du.is_main_process() and os.path.isfile(_path(cfg)):
        try:
            with open(_path(cfg), encoding="utf-8") as f:
                saved = json.load(f)
        except ValueError as error:  # a damaged file times again
            logger.warning("ignoring %s: %s", _path(cfg), error)
        else:
            choice = saved if saved.get("key") == key else None
            if choice is None:
                logger.info("%s was chosen for another config, machine or versions: timing again", _path(cfg))
    return du.all_gather_objects(choice)[0]


def save_choice(cfg: CfgNode, key: dict[str, Any], timed_by: str, event: dict[str, Any]) -> None:
    """On rank 0, write auto's choice (``Implementation.event_value()``'s settings and timings) for ``key``.

    Args:
        cfg (CfgNode): the run configuration (OUTPUT_DIR).
        key (dict): ``choice_key``'s.
        timed_by (str): "selfcheck" or "run".
        event (dict): the ``implementation`` event of the choice.
    """
    if not du.is_main_process():
        return
    options = [s for s in event["settings"] if s["name"] != "cpu_threads"]  # threads are the machine key's
    record = {
        "key": key,
        "timed_by": timed_by,
        "settings": {s["name"]: s["value"] for s in options},
        "chosen_by": {s["name"]: s["chosen_by"] for s in options},
        "candidates": event["candidates"],
    }
    os.makedirs(cfg.OUTPUT_DIR, exist_ok=True)
    atomic_write_json(_path(cfg), record)

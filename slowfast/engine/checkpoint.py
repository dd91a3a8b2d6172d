"""Checkpoints: atomic writes, a "last checkpoint" pointer, auto-resume, and initialisation from a file.

Layout in ``OUTPUT_DIR/checkpoints``: ``checkpoint_epoch_00005.pyth`` files (PySlowFast's naming) and a
``last_checkpoint`` text file naming the newest complete one. Every file is written with
``slowfast.utils.files.atomic_write``, so a process killed mid-write leaves either the previous complete file or
none: a partial file is never resumed from.
"""

import hashlib
import logging
import os
from typing import Any

import torch
from torch import nn

from slowfast.models.checkpoint_keys import load_model_state
from slowfast.utils import distributed as du
from slowfast.utils.files import atomic_write

logger = logging.getLogger(__name__)

POINTER = "last_checkpoint"


def checkpoint_dir(output_dir: str) -> str:
    """Folder holding a run's checkpoints."""
    return os.path.join(output_dir, "checkpoints")


def checkpoint_path(output_dir: str, epoch: int) -> str:
    """Path of the checkpoint written after ``epoch`` completed epochs (1-based, as in PySlowFast)."""
    return os.path.join(checkpoint_dir(output_dir), f"checkpoint_epoch_{epoch:05d}.pyth")


def save_checkpoint(output_dir: str, epoch: int, state: dict[str, Any]) -> str:
    """Write ``state`` for ``epoch`` completed epochs atomically, then point ``last_checkpoint`` at it.

    Args:
        output_dir (str): the run's OUTPUT_DIR.
        epoch (int): number of completed epochs.
        state (dict): tensors, numbers, strings, lists and dicts only (loadable with ``weights_only=True``).
    Returns:
        str: path of the checkpoint.
    """
    path = checkpoint_path(output_dir, epoch)
    atomic_write(path, lambda f: torch.save(state, f))
    name = os.path.basename(path).encode()
    atomic_write(os.path.join(checkpoint_dir(output_dir), POINTER), lambda f: f.write(name))
    return path


def saved_epoch(output_dir: str) -> int:
    """Completed epochs in the checkpoint ``last_checkpoint`` names (where a rerun resumes); 0 without one.

    Args:
        output_dir (str): the run's OUTPUT_DIR.
    Returns:
        int
    """
    try:
        with open(os.path.join(checkpoint_dir(output_dir), POINTER)) as f:
            name = f.read().strip()
        return int(name.removeprefix("checkpoint_epoch_").removesuffix(".pyth"))
    except (OSError, ValueError):
        return 0


def load_checkpoint_file(path: str, allow_pickle: bool = False) -> dict[str, Any]:
    """Load a checkpoint with ``torch.load(weights_only=True)``.

    Args:
        path (str): checkpoint file.
        allow_pickle (bool): if the safe load fails, unpickle fully (with a warning). Only for a file the user
            named (TRAIN.CHECKPOINT_FILE_PATH): some older PySlowFast ``.pyth`` files hold pickled objects.
    Returns:
        dict: the checkpoint.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises UnpicklingError subclasses and RuntimeError
        if not allow_pickle:
            raise
        logger.warning("%s needs full unpickling (%s); load only files you trust", path, err)
        return torch.load(path, map_location="cpu", weights_only=False)


def find_resume_checkpoint(output_dir: str) -> str | None:
    """Return the newest complete checkpoint of a run, or None.

    The pointer names the newest file; if it is missing or unreadable, the newest loadable
    ``checkpoint_epoch_*.pyth`` is used instead. Temporary files are never considered.
    """
    folder = checkpoint_dir(output_dir)
    if not os.path.isdir(folder):
        return None
    candidates = sorted(
        (f for f in os.listdir(folder) if f.startswith("checkpoint_epoch_") and f.endswith(".pyth")), reverse=True
    )
    pointer = os.path.join(folder, POINTER)
    if os.path.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip()
        if named in candidates:
            candidates.remove(named)
            candidates.insert(0, named)
    for name in candidates:
        path = os.path.join(folder, name)
        try:
            torch.load(path, map_location="cpu", weights_only=True)
            return path
        except Exception as err:  # noqa: BLE001 - any unreadable file is skipped, never resumed from
            logger.warning("skipping unreadable checkpoint %s: %s", path, err)
    return None


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resume_state(output_dir: str) -> tuple[str, dict[str, Any]] | None:
    """The newest complete checkpoint of the run, chosen by global rank 0, as every process's ``(path, state)``.

    Only rank 0 writes checkpoints, so on machines that do not share OUTPUT_DIR the other processes have no
    file, or an older one. Rank 0 chooses; a process whose file at that path holds other bytes (or none)
    receives rank 0's state over the process group, so every process resumes from the same epoch.

    Args:
        output_dir (str): the run's OUTPUT_DIR, as rank 0 sees it.
    Returns:
        tuple or None: ``(path, state dict)`` on every process, or None on every process for a fresh run.
    """
    path = find_resume_checkpoint(output_dir) if du.is_main_process() else None
    path, digest = du.broadcast_object((path, _file_sha256(path) if path else None))
    if path is None:
        return None
    same_file = os.path.isfile(path) and _file_sha256(path) == digest
    if all(du.all_gather_objects(same_file)):
        return path, load_checkpoint_file(path)
    state = load_checkpoint_file(path) if du.is_main_process() else None
    return path, du.broadcast_object(state)


def initialise_model_from_file(model: nn.Module, path: str) -> None:
    """Load model weights from our checkpoint or a PySlowFast ``.pyth`` file (``module.`` prefixes allowed)."""
    load_model_state(model, load_checkpoint_file(path, allow_pickle=True))
    logger.info("initialised model weights from %s", path)


def saved_evaluations(output_dir: str) -> list[dict[str, Any]] | None:
    """The evaluations in the clock of ``output_dir``'s last checkpoint, or None without a readable one.

    ``slowfast.benchmark.run_reader.read_run`` compares them with the log's (an edited log disagrees).
    """
    epoch = saved_epoch(output_dir)
    if epoch == 0:
        return None
    try:
        state = load_checkpoint_file(checkpoint_path(output_dir, epoch))
    except (OSError, RuntimeError, ValueError):
        return None
    return state.get("clock", {}).get("evals", [])

"""The effective training recipe of a config on a given layout: batch per process and step, LR factor, schedule.

One rule under every launcher (our spawner, torchrun, several machines): TRAIN.BATCH_SIZE is the global batch in
videos, each process takes TRAIN.BATCH_SIZE / processes videos per step and each video gives AUG.NUM_SAMPLE
clips; the learning rates scale by TRAIN.BATCH_SIZE / SOLVER.BASE_LR_BATCH_SIZE. A compliant scored run keeps
the reference's videos per process, so its global batch and learning rates grow with the number of processes.
"""

import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from fvcore.common.config import CfgNode

from slowfast.benchmark.compliance import check_compliance, load_official_config
from slowfast.config import merge_config
from slowfast.config.checks import configured_processes
from slowfast.datasets.video_list import count_videos
from slowfast.solver.lr_policy import get_lr_at_epoch, lr_scale_factor, scaled_lrs

# Fractions of SOLVER.MAX_EPOCH at which the recipe shows the learning rate.
_LR_LANDMARKS = (0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class Recipe:
    """What one optimisation step and one epoch of a run are.

    Attributes:
        processes: training processes (accelerators) of the layout.
        videos_per_process: videos each process decodes per step.
        clips_per_process: clips each process trains on per step (videos x AUG.NUM_SAMPLE).
        global_videos: videos per step over all processes (TRAIN.BATCH_SIZE).
        global_clips: clips per step over all processes.
        steps_per_epoch: optimisation steps per epoch (None when the number of training videos is unknown).
        lr_factor: the learning rates' linear-scaling factor.
        base_lr: SOLVER.BASE_LR after scaling.
        lr_at: [[epoch, learning rate], ...] at epoch 0, the end of warm-up and 25/50/75/100 % of MAX_EPOCH.
        division: "closed" when the layout keeps the official recipe, "open" otherwise.
        changes: "KEY: official -> run (reason)" for every change that makes it open.
    """

    processes: int
    videos_per_process: int
    clips_per_process: int
    global_videos: int
    global_clips: int
    steps_per_epoch: int | None
    lr_factor: float
    base_lr: float
    lr_at: list[list[float]]
    division: str
    changes: list[str]

    def as_dict(self) -> dict[str, Any]:
        """The recipe as a JSON-friendly dict (tools/recipe.py --json)."""
        return asdict(self)


def compliant_batch_overrides(cfg_file: str, opts: Sequence[str] = (), world_size: int | None = None) -> list[str]:
    """``TRAIN.BATCH_SIZE`` / ``TEST.BATCH_SIZE`` overrides that keep the official videos per process on a layout.

    Args:
        cfg_file (str): the official config.
        opts (sequence of str): the run's KEY VALUE overrides (NUM_GPUS, NUM_SHARDS, ...); a batch size they set
            is kept as given.
        world_size (int or None): processes of the layout (default: the one the overrides describe).
    Returns:
        list of str: KEY VALUE pairs to append to ``opts``.
    """
    official, given = load_official_config(cfg_file), set(list(opts)[0::2])
    processes = world_size or configured_processes(merge_config(cfg_file, opts))
    extra: list[str] = []
    for key, node in (("TRAIN.BATCH_SIZE", official.TRAIN), ("TEST.BATCH_SIZE", official.TEST)):
        if key not in given:
            extra += [key, str(node.BATCH_SIZE // configured_processes(official) * processes)]
    return extra


def steps_per_epoch(train_videos: int, global_videos: int, processes: int) -> int:
    """Optimisation steps in one epoch, as the loader makes them.

    Each process gets ceil(train_videos / processes) videos (the distributed sampler pads) and drops its last
    incomplete batch, as PySlowFast's loader does.

    Args:
        train_videos (int): videos in the train split.
        global_videos (int): TRAIN.BATCH_SIZE.
        processes (int): training processes.
    Returns:
        int: full batches per process and epoch.
    """
    return math.ceil(train_videos / processes) // (global_videos // processes)


def count_train_videos(cfg: CfgNode) -> int | None:
    """Rows of DATA.PATH_TO_DATA_DIR/train.csv, or None when there is no such file."""
    path = os.path.join(cfg.DATA.PATH_TO_DATA_DIR, "train.csv")
    if not os.path.isfile(path):
        return None
    return count_videos(path)


def lr_landmarks(cfg: CfgNode) -> list[list[float]]:
    """[[epoch, lr], ...] at epoch 0, the end of warm-up (when there is one) and 25/50/75/100 % of MAX_EPOCH."""
    epochs = [0.0]
    if cfg.SOLVER.WARMUP_EPOCHS > 0:
        epochs.append(float(cfg.SOLVER.WARMUP_EPOCHS))
    epochs += [fraction * cfg.SOLVER.MAX_EPOCH for fraction in _LR_LANDMARKS]
    return [[epoch, get_lr_at_epoch(cfg, epoch)] for epoch in sorted(set(epochs))]


def effective_recipe(cfg: CfgNode, official_cfg: CfgNode, processes: int, train_videos: int | None = None) -> Recipe:
    """The recipe a run of ``cfg`` on ``processes`` processes trains with, and its compliance.

    Args:
        cfg (CfgNode): the run's configuration.
        official_cfg (CfgNode): the official configuration it is judged against.
        processes (int): training processes (world size).
        train_videos (int or None): videos in the train split (default: counted from train.csv when present).
    Returns:
        Recipe
    """
    videos_per_process = cfg.TRAIN.BATCH_SIZE // processes
    if train_videos is None:
        train_videos = count_train_videos(cfg)
    verdict = check_compliance(cfg, official_cfg, processes)
    return Recipe(
        processes=processes,
        videos_per_process=videos_per_process,
        clips_per_process=videos_per_process * cfg.AUG.NUM_SAMPLE,
        global_videos=cfg.TRAIN.BATCH_SIZE,
        global_clips=cfg.TRAIN.BATCH_SIZE * cfg.AUG.NUM_SAMPLE,
        steps_per_epoch=None
        if train_videos is None
        else steps_per_epoch(train_videos, cfg.TRAIN.BATCH_SIZE, processes),
        lr_factor=lr_scale_factor(cfg),
        base_lr=scaled_lrs(cfg)["BASE_LR"],
        lr_at=lr_landmarks(cfg),
        division=verdict.division,
        changes=verdict.change_lines(),
    )


def format_recipes(recipes: Sequence[Recipe], cfgs: Sequence[CfgNode]) -> str:
    """A table with one column per layout (tools/recipe.py without --json).

    Args:
        recipes (list of Recipe): the layouts' recipes.
        cfgs (list of CfgNode): the configuration of each layout (for the batch and LR keys).
    Returns:
        str: the table, then the changes that make a layout open division.
    """
    rows = [
        ("processes", [r.processes for r in recipes]),
        ("TRAIN.BATCH_SIZE", [c.TRAIN.BATCH_SIZE for c in cfgs]),
        ("videos/process/step", [r.videos_per_process for r in recipes]),
        ("clips/process/step", [r.clips_per_process for r in recipes]),
        ("global clips/step", [r.global_clips for r in recipes]),
        ("steps/epoch", ["-" if r.steps_per_epoch is None else r.steps_per_epoch for r in recipes]),
        ("LR factor", [f"{r.lr_factor:g}" for r in recipes]),
    ]
    for index, (epoch, _) in enumerate(recipes[0].lr_at):
        rows.append((f"LR at epoch {epoch:g}", [f"{r.lr_at[index][1]:.4g}" for r in recipes]))
    rows.append(("division", [r.division for r in recipes]))
    lines = [f"{name:<22}" + "".join(f"{value!s:>12}" for value in values) for name, values in rows]
    for recipe in recipes:
        lines += [f"{recipe.processes} process(es), open division: {line}" for line in recipe.changes]
    return "\n".join(lines)

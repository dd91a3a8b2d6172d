"""Checks run before the model is built and before the clock starts, so that a run fails in seconds.

Each check reports every problem it finds as one line naming the file, folder or key and the fix, and all
problems are listed at once. Data files are only ``stat``'ed (they exist and are not empty), never decoded:
a video that exists but does not decode is skipped and counted during the run (see datasets/bad_videos.py),
and ``tools/check_dataset.py`` decodes every file when asked.
"""

import os
import tempfile

from fvcore.common.config import CfgNode

from slowfast.config.checks import processes_per_machine
from slowfast.datasets.synthetic import refusal_to_write, synthetic_data_ready
from slowfast.datasets.video_list import SPLITS, list_path, read_split_lists
from slowfast.engine.launch import DeviceError, check_devices
from slowfast.utils.errors import UserError

# Paths quoted per kind of problem; the count says how many more there are.
MAX_PATHS_SHOWN = 3


class PreflightError(UserError):
    """One or more problems found before the run started; the message has one line per problem."""


def output_dir_problems(output_dir: str) -> list[str]:
    """Whether OUTPUT_DIR can be created and written to (a temporary file is created and removed).

    Args:
        output_dir (str): the run's OUTPUT_DIR.
    Returns:
        list of str: problems, one line each.
    """
    try:
        os.makedirs(output_dir, exist_ok=True)
        with tempfile.TemporaryFile(dir=output_dir):
            pass
    except OSError as err:
        return [
            f"OUTPUT_DIR {output_dir} is not writable ({err.strerror}): pass OUTPUT_DIR with a folder you can "
            "write to, or fix its permissions"
        ]
    return []


def device_problems(cfg: CfgNode) -> list[str]:
    """Whether the GPUs the config asks for are present on this machine.

    Args:
        cfg (CfgNode): reads NUM_GPUS, NUM_CPU_PROCESSES.
    Returns:
        list of str: problems, one line each.
    """
    try:
        check_devices(cfg, processes_per_machine(cfg))
    except DeviceError as err:
        return [str(err)]
    return []


def _listed_file_problems(csv_path: str, paths: list[str]) -> list[str]:
    """Listed files that do not exist or are empty (0 bytes), one line per kind."""
    missing: list[str] = []
    empty: list[str] = []
    for path in paths:
        try:
            if os.stat(path).st_size == 0:
                empty.append(path)
        except OSError:
            missing.append(path)
    problems = []
    for files, what, fix in (
        (missing, "do not exist", "fix the paths in the list or DATA.PATH_PREFIX"),
        (empty, "are empty (0 bytes)", "replace them or remove their lines"),
    ):
        if files:
            shown = ", ".join(files[:MAX_PATHS_SHOWN]) + (
                f" and {len(files) - MAX_PATHS_SHOWN} more" if len(files) > MAX_PATHS_SHOWN else ""
            )
            problems.append(f"{csv_path} lists {len(files)} of {len(paths)} file(s) that {what}: {shown}: {fix}")
    return problems


def data_problems(cfg: CfgNode) -> list[str]:
    """Whether the data folder and the split lists exist and parse, and every listed file exists and is non-empty.

    With DATA.SYNTHETIC.ENABLE and no matching generated data set yet, only checks that the generator may
    write into the folder (it will generate the data before the clock starts).

    Args:
        cfg (CfgNode): reads DATA.*, TRAIN.ENABLE, TEST.ENABLE.
    Returns:
        list of str: problems, one line each.
    """
    folder = cfg.DATA.PATH_TO_DATA_DIR
    if cfg.DATA.SYNTHETIC.ENABLE and not synthetic_data_ready(cfg):
        refusal = refusal_to_write(folder)
        return [refusal] if refusal else []
    # Training reads train and val (evaluated every epoch); the multi-view test reads test (a test-only run of a
    # PySlowFast checkpoint needs nothing else).
    splits = [s for s in SPLITS if (cfg.TEST.ENABLE if s == "test" else cfg.TRAIN.ENABLE)]
    lists = read_split_lists(
        folder, splits=splits, path_prefix=cfg.DATA.PATH_PREFIX, separator=cfg.DATA.PATH_LABEL_SEPARATOR
    )
    problems = list(lists.problems)
    labels: list[int] = []
    for split in splits:
        if split in lists.missing:
            problems.append(
                f"{lists.missing[split]} does not exist: the {split} split needs it (see data/README.md for the layout)"
            )
        elif split in lists.videos:
            paths, split_labels = lists.videos[split]
            problems += _listed_file_problems(list_path(folder, split), paths)
            labels += split_labels
    return problems + class_count_problems(cfg.MODEL.NUM_CLASSES, labels, folder)


def class_count_problems(num_classes: int, labels: list[int], folder: str) -> list[str]:
    """Whether the data set's labels fit MODEL.NUM_CLASSES (a PySlowFast Kinetics-400 YAML on Kinetics20 would
    train 400 outputs of which 380 never occur, and score that).

    Args:
        num_classes (int): MODEL.NUM_CLASSES.
        labels (list of int): every label of the split lists.
        folder (str): the data folder, to name it.
    Returns:
        list of str: one problem line, or none.
    """
    if not labels or max(labels) + 1 == num_classes:
        return []
    return [
        f"config key MODEL.NUM_CLASSES = {num_classes} does not fit the data set in {folder}: its labels run "
        f"{min(labels)}..{max(labels)} ({max(labels) + 1} classes): pass MODEL.NUM_CLASSES {max(labels) + 1}"
    ]


def check_before_run(cfg: CfgNode) -> None:
    """Run every preflight check and raise with all problems at once.

    Args:
        cfg (CfgNode): the run configuration.
    Raises:
        PreflightError: one line per problem.
    """
    problems = output_dir_problems(cfg.OUTPUT_DIR) + device_problems(cfg) + data_problems(cfg)
    if problems:
        raise PreflightError("\n".join(problems))

"""Logging set-up: rank 0 prints to the terminal and OUTPUT_DIR/log.txt; other ranks log to their own files."""

import logging
import os
import sys

_FORMAT = "[%(asctime)s %(levelname)s %(name)s] %(message)s"


def setup_logging(output_dir, rank):
    """Configure the root logger for one process of a job.

    Args:
        output_dir (str): the run's OUTPUT_DIR.
        rank (int): global rank; rank 0 also logs to stdout.
    Returns:
        str: the path of this process's log file.
    """
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, "log.txt" if rank == 0 else f"log_rank{rank}.txt")
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.INFO)
    formatter = logging.Formatter(_FORMAT, datefmt="%H:%M:%S")
    file_handler = logging.FileHandler(path)
    file_handler.setFormatter(formatter)
    root.addHandler(file_handler)
    if rank == 0:
        console = logging.StreamHandler(sys.stdout)
        console.setFormatter(formatter)
        root.addHandler(console)
    return path

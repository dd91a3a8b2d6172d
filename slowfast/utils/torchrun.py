"""torchrun's environment: whether it started this process, and the ranks it gave (no torch needed)."""

import os

_TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR")


def launched_by_torchrun() -> bool:
    """True when torchrun (torch.distributed.run) or another elastic agent started this process."""
    return all(name in os.environ for name in _TORCHRUN_VARIABLES)


def torchrun_rank() -> int:
    """This process's global rank under torchrun (call only when ``launched_by_torchrun()``)."""
    return int(os.environ["RANK"])


def torchrun_world_size() -> int:
    """The job's number of processes under torchrun (call only when ``launched_by_torchrun()``)."""
    return int(os.environ["WORLD_SIZE"])

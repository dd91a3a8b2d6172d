"""One run per OUTPUT_DIR: an OS-level lock held for the life of the run.

The lock is ``flock`` on ``OUTPUT_DIR/run.lock``. The kernel releases it when the holding process ends in
any way (exit, crash, kill -9), so a stale lock never blocks a rerun. The holder writes its host, pid and
start time into the file, so a second run refuses at once with one line naming it.

Only the process that owns OUTPUT_DIR takes the lock: the launcher (on machine 0), which then spawns the
workers, or global rank 0 under torchrun. Spawned workers never touch it, so they cannot wait on their own
parent's lock.
"""

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

from fvcore.common.config import CfgNode

from slowfast.utils.errors import UserError
from slowfast.utils.torchrun import launched_by_torchrun, torchrun_rank

LOCK_FILENAME = "run.lock"


class OutputDirBusy(UserError):
    """Another live run holds the OUTPUT_DIR lock."""


def owns_output_dir(cfg: CfgNode) -> bool:
    """True for the one process of a job that should hold the lock (see the module docstring).

    Args:
        cfg (CfgNode): reads SHARD_ID.
    Returns:
        bool
    """
    if launched_by_torchrun():  # every worker runs the entry point; global rank 0 owns the folder
        return torchrun_rank() == 0
    return cfg.SHARD_ID == 0


def _holder_text(handle: int) -> str:
    try:
        holder = json.loads(os.pread(handle, 4096, 0).decode() or "{}")
        return f"host {holder['host']}, pid {holder['pid']}, started {holder['started']}"
    except (OSError, ValueError, KeyError):
        return "holder unknown"


@contextmanager
def output_dir_lock(output_dir: str) -> Iterator[None]:
    """Hold the lock on ``output_dir`` for the duration of the ``with`` block.

    Args:
        output_dir (str): the run's OUTPUT_DIR (created if missing).
    Raises:
        OutputDirBusy: another process holds it; the message names its host, pid and start time.
    """
    os.makedirs(output_dir, exist_ok=True)
    handle = os.open(os.path.join(output_dir, LOCK_FILENAME), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputDirBusy(
                f"OUTPUT_DIR {output_dir} is in use by another run ({_holder_text(handle)}): wait for it to end, "
                "stop it, or pass another OUTPUT_DIR"
            ) from None
        started = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime())
        holder = json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "started": started})
        os.ftruncate(handle, 0)
        os.pwrite(handle, holder.encode(), 0)
        yield
    finally:
        os.close(handle)  # closing the only descriptor releases the flock


@contextmanager
def run_lock(cfg: CfgNode) -> Iterator[None]:
    """``output_dir_lock(cfg.OUTPUT_DIR)`` in the process that owns OUTPUT_DIR, nothing elsewhere.

    Args:
        cfg (CfgNode): reads OUTPUT_DIR and SHARD_ID.
    """
    if not owns_output_dir(cfg):
        yield
        return
    with output_dir_lock(cfg.OUTPUT_DIR):
        yield

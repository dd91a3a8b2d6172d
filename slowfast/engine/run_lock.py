"""One run per OUTPUT_DIR: an OS-level lock held for the life of the run.

The lock is a POSIX record lock (``fcntl.lockf``, i.e. ``F_SETLK``) on ``OUTPUT_DIR/run.lock``. It belongs
to the process that took it: a forked child, such as a data-loader worker, does not inherit it, and the
kernel releases it when that process ends in any way (exit, crash, kill -9), even while its children live
on. So the holder of a lock is always a live run, and a rerun right after kill -9 is never refused. The
holder writes its host, pid and start time into the file, so a second run refuses at once with one line
naming it.

Why not ``flock``: its lock belongs to the open file description, which forked loader workers share, so a
killed run's orphaned workers kept its lock until they noticed their parent was gone. Closing the
descriptor in every forked child (``os.register_at_fork``) would fix that only for forks made through
Python; a POSIX lock is dropped by the kernel whatever forked the children. Its one trap: a process loses
its POSIX lock when it closes *any* descriptor of the file. So this module keeps the only descriptor, and
a second ``output_dir_lock`` in the process holding the folder is refused from ``_held`` without opening
the file.

Only the process that owns OUTPUT_DIR takes the lock, in ``benchmark_job``: global rank 0, which runs as long
as the run writes to OUTPUT_DIR, however it was started (in place, by the machine agent for ``NUM_GPUS N``, by
torchrun or srun). A launcher that is killed -9 leaves no stale lock, and no rerun can start while rank 0, now
an orphan, still writes (it ends on its own: torch's spawn gives it SIGINT when its parent dies). Other
processes never touch the lock, so they cannot wait on it.
"""

import errno
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

# Real path of each OUTPUT_DIR this process holds -> its holder text.
_held: dict[str, str] = {}


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


def _describe(holder: dict[str, object]) -> str:
    return f"host {holder['host']}, pid {holder['pid']}, started {holder['started']}"


def _holder_text(handle: int) -> str:
    try:
        return _describe(json.loads(os.pread(handle, 4096, 0).decode() or "{}"))
    except (OSError, ValueError, KeyError):
        return "holder unknown"


def _busy(output_dir: str, holder_text: str) -> OutputDirBusy:
    return OutputDirBusy(
        f"OUTPUT_DIR {output_dir} is in use by another run ({holder_text}): wait for it to end, stop it, "
        "or pass another OUTPUT_DIR"
    )


def _take(handle: int, output_dir: str) -> str:
    """Lock the open file ``handle`` without waiting, write this process into it, and return its holder text."""
    try:
        fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        if err.errno not in (errno.EACCES, errno.EAGAIN):  # the two ways F_SETLK reports a conflicting lock
            raise
        raise _busy(output_dir, _holder_text(handle)) from None
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime())
    holder = {"host": socket.gethostname(), "pid": os.getpid(), "started": started}
    os.ftruncate(handle, 0)
    os.pwrite(handle, json.dumps(holder).encode(), 0)
    return _describe(holder)


@contextmanager
def output_dir_lock(output_dir: str) -> Iterator[None]:
    """Hold the lock on ``output_dir`` for the duration of the ``with`` block.

    Args:
        output_dir (str): the run's OUTPUT_DIR (created if missing).
    Raises:
        OutputDirBusy: another run holds it; the message names its host, pid and start time.
    """
    os.makedirs(output_dir, exist_ok=True)
    key = os.path.realpath(output_dir)
    if key in _held:  # held by this process: opening the file again would drop the lock when closed
        raise _busy(output_dir, _held[key])
    handle = os.open(os.path.join(output_dir, LOCK_FILENAME), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _held[key] = _take(handle, output_dir)
        try:
            yield
        finally:
            del _held[key]
    finally:
        os.close(handle)  # releases the lock


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


def check_output_dir_free(cfg: CfgNode) -> None:
    """Refuse at once, before anything is printed or started, when another run holds OUTPUT_DIR (in the process
    that owns it); the run itself takes the lock later, in global rank 0 (``benchmark_job``).

    Args:
        cfg (CfgNode): reads OUTPUT_DIR and SHARD_ID.
    Raises:
        OutputDirBusy: naming the holder.
    """
    with run_lock(cfg):
        pass

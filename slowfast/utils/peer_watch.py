"""Notice a dead or failed peer within a minute, without waiting for a collective's timeout.

The process-group timeout (DIST_TIMEOUT_S) must stay long for slow collectives, and NCCL gives no connection
reset when a machine dies, so each process of a distributed job also talks to the job's c10d TCPStore (the one
the group rendezvoused through: rank 0's, or torchrun's agent's) from a daemon thread:

- every ``period_s`` (2 s, less for a short ``silence_s``) it bumps its own heartbeat counter and reads its ring
  neighbour's (rank r watches rank r + 1 mod N, so the store sees a constant load per process);
- a neighbour whose counter has not moved for ``silence_s`` (DIST_HEARTBEAT_S; local monotonic time: no clock
  sync needed) is dead: the watcher publishes one failure message under ``failed``;
- a process whose job raised publishes its own failure (``publish_failure``);
- every watcher polls ``failed``; the first message wins. A process that sees a peer's failure prints it as its
  one ``error:`` line and exits with status 1 at once (its main thread may be stuck in a collective);
- a second thread ends the process the same way when no store call has succeeded for ``STORE_LOSS_S``: the
  process or machine holding the store died. A call to a store whose machine froze or lost power blocks far
  beyond the store's timeout (TCP retransmits for many minutes), so the watcher cannot notice that itself.

A process that is itself interrupted (Ctrl-C, SIGTERM) does not exit on a peer's failure: it is finishing its
own clean-up. Before that exit the watcher runs the callbacks registered with ``on_peer_exit`` (the run logs
an aborted run_stop there).
"""

import contextlib
import datetime
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator

import torch.distributed as dist

from slowfast.utils.errors import USER_ERROR_EXIT

logger = logging.getLogger(__name__)
_INTERRUPTED = "was interrupted (Ctrl-C or SIGTERM)"
# Seconds a process waits for its own Ctrl-C after a peer reported one (see PeerWatch._end).
_OWN_SIGNAL_GRACE_S = 2.0

MAX_PERIOD_S = 2.0
STORE_LOSS_S = 10.0  # the store unreachable this long: its process or machine died
_FAILED_KEY = "failed"
RESUME_HINT = "rerun the same command to resume from the last checkpoint"
_before_exit: list[Callable[[], None]] = []


@contextlib.contextmanager
def on_peer_exit(callback: Callable[[], None]) -> Iterator[None]:
    """While inside, ``callback()`` runs (in the watcher's thread) before the watcher ends this process.

    Args:
        callback (callable): e.g. logs an aborted run_stop; its errors are logged, not raised.
    """
    _before_exit.append(callback)
    try:
        yield
    finally:
        _before_exit.remove(callback)


def store_address(init_method: str) -> tuple[str, int]:
    """Host and port of the job's TCPStore for an ``init_method`` ("env://" reads MASTER_ADDR/MASTER_PORT).

    Args:
        init_method (str): "tcp://HOST:PORT" or "env://".
    Returns:
        tuple(str, int)
    """
    if init_method == "env://":
        return os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
    host, port = init_method.split("://", 1)[1].rsplit(":", 1)
    return host.strip("[]"), int(port)


def is_communication_error(err: BaseException) -> bool:
    """True for an error of the collective backends, as a peer's death causes (gloo raises plain RuntimeError)."""
    text = str(err).lower()
    return isinstance(err, dist.DistError) or (isinstance(err, RuntimeError) and ("gloo" in text or "nccl" in text))


class PeerWatch:
    """The heartbeat and failure watcher of one process (see the module docstring).

    Args:
        store (dist.Store): a client of the job's store, used by this watcher only.
        rank (int): this process's global rank.
        world_size (int): processes in the job.
        silence_s (float): seconds without a heartbeat after which a peer is dead.
        store_holder (str): who holds the store, for the message when it is lost.
    """

    def __init__(self, store: dist.Store, *, rank: int, world_size: int, silence_s: float, store_holder: str):
        self.store, self.rank, self.world_size, self.store_holder = store, rank, world_size, store_holder
        self.silence_s, self.period_s = silence_s, min(MAX_PERIOD_S, silence_s / 5)
        self.interrupted = threading.Event()  # set by the signal handler: our own clean-up is running
        self._stop = threading.Event()
        self._ending = threading.Lock()  # one error line, whichever thread ends the process
        self.store.set(f"host/{rank}", socket.gethostname())
        self._store_ok_at = time.monotonic()  # the last store call that returned
        self._thread = threading.Thread(target=self._watch, name="slowfast-peer-watch", daemon=True)
        self._store_thread = threading.Thread(target=self._watch_store, name="slowfast-store-watch", daemon=True)

    @classmethod
    def start(cls, init_method: str, *, rank: int, world_size: int, silence_s: float) -> "PeerWatch":
        """Connect to the job's store (after the process group exists) and start watching.

        Args:
            init_method (str): the group's rendezvous ("tcp://HOST:PORT" or "env://").
            rank (int): this process's global rank.
            world_size (int): processes in the job.
            silence_s (float): seconds without a heartbeat after which a peer is dead (DIST_HEARTBEAT_S).
        Returns:
            PeerWatch
        """
        host, port = store_address(init_method)
        timeout = datetime.timedelta(seconds=STORE_LOSS_S)
        client = dist.TCPStore(host, port, is_master=False, timeout=timeout)
        # torchrun's agent keeps its store across restarts: each attempt gets its own keys.
        store = dist.PrefixStore(f"slowfast_watch/{os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')}", client)
        holder = f"the job's rendezvous store at {host}:{port}"
        watch = cls(store, rank=rank, world_size=world_size, silence_s=silence_s, store_holder=holder)
        watch.begin()
        return watch

    def begin(self) -> None:
        """Start the watcher and the store watchdog threads."""
        self._thread.start()
        self._store_thread.start()

    def stop(self) -> None:
        """Stop watching (the job ended on this process)."""
        self._stop.set()

    def publish_failure(self, reason: str) -> None:
        """Tell every peer that this process failed (best effort: the store may be gone); stop watching."""
        self._stop.set()
        self._publish(f"rank {self.rank} on host {socket.gethostname()} {reason}")

    def report_failure(self, err: BaseException) -> None:
        """Called when this process's job raised: blame a dead peer if there is one, else publish this failure.

        A communication error usually means a peer died: wait (up to ``silence_s`` and a little) for the watcher
        to find it, in which case the process ends with the peer's error line instead of this traceback.

        Args:
            err (BaseException): what the job raised.
        """
        if isinstance(err, KeyboardInterrupt):
            self.publish_failure(_INTERRUPTED)
            return
        if is_communication_error(err):
            self._thread.join(self.silence_s + 3 * self.period_s)
        first_line = (str(err).strip().splitlines() or [""])[0]
        self.publish_failure(f"failed: {type(err).__name__}: {first_line}")

    def _publish(self, message: str) -> None:
        """Put ``message`` under ``failed`` unless one is there; wait at most STORE_LOSS_S for a frozen store."""
        published = threading.Event()

        def attempt() -> None:
            with contextlib.suppress(Exception):  # the store is gone; the peers notice that themselves
                self.store.compare_set(_FAILED_KEY, "", message)
                published.set()

        threading.Thread(target=attempt, name="slowfast-publish", daemon=True).start()
        if not published.wait(STORE_LOSS_S):
            logger.warning("could not tell the peers: %s", message)

    def _peer_host(self, rank: int) -> str:
        key = f"host/{rank}"
        return self.store.get(key).decode() if self.store.check([key]) else "unknown"

    def _poll(self, neighbour: int) -> tuple[int, str]:
        """Beat once; return the neighbour's beat count and the published failure ("" when none)."""
        self.store.add(f"beat/{self.rank}", 1)
        seen = self.store.add(f"beat/{neighbour}", 0)
        failed = self.store.get(_FAILED_KEY).decode() if self.store.check([_FAILED_KEY]) else ""
        return seen, failed

    def _watch(self) -> None:
        neighbour = (self.rank + 1) % self.world_size
        beats, changed_at = -1, time.monotonic()
        while not self._stop.wait(self.period_s):
            now = time.monotonic()
            try:
                seen, failed = self._poll(neighbour)
                self._store_ok_at = time.monotonic()
            except Exception:  # noqa: BLE001 - any store error counts as silence from its holder (_watch_store)
                continue
            if failed:
                self._end(failed)
            elif seen != beats:
                beats, changed_at = seen, now
            elif now - changed_at > self.silence_s:
                silence = f"stopped answering (no heartbeat for {self.silence_s:g} s)"
                self._publish(f"rank {neighbour} on host {self._peer_host(neighbour)} {silence}")

    def _watch_store(self) -> None:
        """End the process once no store call has returned for STORE_LOSS_S (see the module docstring)."""
        while not self._stop.wait(self.period_s):
            if time.monotonic() - self._store_ok_at > STORE_LOSS_S:
                self._end(f"lost {self.store_holder} for {STORE_LOSS_S:.0f} s: its process or machine died")
                return

    def _end(self, message: str) -> None:
        """Print the job's one error line and exit, unless this process is already ending on its own."""
        if not self._ending.acquire(blocking=False):
            return  # the other thread is ending the process
        # Ctrl-C in a terminal reaches every process of the machine at once: a peer may report its interruption
        # just before this process's own signal handler runs, and then this process ends as interrupted too.
        own_signal = message.endswith(_INTERRUPTED) and self.interrupted.wait(_OWN_SIGNAL_GRACE_S)
        if self._stop.is_set() or self.interrupted.is_set() or own_signal:
            self._stop.set()
            self._ending.release()
            return
        print(f"error: {message}; {RESUME_HINT}", file=sys.stderr, flush=True)
        for callback in list(_before_exit):
            try:
                callback()
            except Exception:  # noqa: BLE001 - the process ends anyway; the line above is what matters
                logger.exception("while ending after a peer's failure")
        for handler in logging.getLogger().handlers:
            handler.flush()
        os._exit(USER_ERROR_EXIT)  # the main thread may be stuck in a collective that no peer will join

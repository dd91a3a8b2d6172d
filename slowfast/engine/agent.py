"""This process as one machine's torchrun agent (torch's elastic launch API), ending with one line at most.

Every multi-process job starts its workers here: ``NUM_GPUS N`` (or ``NUM_CPU_PROCESSES N``) on one machine and
PySlowFast's ``--init_method``/``--shard_id`` machines run a function in each worker (``launch_job``), and
``run_net.py --nnodes`` runs the script in each worker; so ranks, LOCAL_RANK, the environment (torchrun's
variables) and how a failure, Ctrl-C or SIGTERM ends the job are the same everywhere.

``python tools/run_net.py --nnodes 2 --nproc-per-node 8 --rdzv-endpoint HOST:PORT --cfg ...`` on every machine
is ``torchrun --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d --rdzv-endpoint HOST:PORT tools/run_net.py
--cfg ...``, except for how it ends: torchrun adds a ChildFailedError traceback to a worker's error line (and a
SignalException traceback to Ctrl-C or SIGTERM), while this agent leaves the workers' lines alone and adds a
line only for a worker that died without one (killed by a signal), or when the machine holding the rendezvous
store (the endpoint's) died.

torch's agent waits up to 300 s after its workers succeeded for every other agent to finish (its exit barrier); our
workers end together (a final barrier in the launcher), so the agents arrive within seconds, and a peer that does not
is dead: this agent waits ``EXIT_BARRIER_S`` only.
"""

import contextlib
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch.distributed.launcher.api as launcher_api
from torch.distributed.elastic.agent.server.local_elastic_agent import LocalElasticAgent
from torch.distributed.elastic.multiprocessing.api import SignalException
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from torch.distributed.elastic.rendezvous.api import RendezvousConnectionError
from torch.distributed.launcher.api import LaunchConfig, elastic_launch

from slowfast.utils.errors import INTERRUPTED_EXIT, USER_ERROR_EXIT
from slowfast.utils.peer_watch import RESUME_HINT

# Exit statuses of a worker that printed its own line (error, or interrupted).
_REPORTED_EXITS = (USER_ERROR_EXIT, INTERRUPTED_EXIT)
# Seconds an agent whose workers succeeded waits for the other agents (torch's default: 300).
EXIT_BARRIER_S = 30.0
# torch's loggers that speak while the agent runs (the "torch" logger above them prints to stderr).
_AGENT_LOGGERS = ("torch.distributed.elastic", "torch.multiprocessing")
# Seconds between the agent's looks at its workers: how late it notices that they ended or one failed.
MONITOR_INTERVAL_S = 0.2


class _ShortExitBarrierAgent(LocalElasticAgent):
    """torch's local agent with an exit barrier of ``EXIT_BARRIER_S`` (LaunchConfig cannot set it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._exit_barrier_timeout = EXIT_BARRIER_S


@contextlib.contextmanager
def _short_exit_barrier() -> Iterator[None]:
    """While inside, ``elastic_launch`` builds ``_ShortExitBarrierAgent`` (it names its agent class directly)."""
    launcher_api.LocalElasticAgent = _ShortExitBarrierAgent  # type: ignore[misc]
    try:
        yield
    finally:
        launcher_api.LocalElasticAgent = LocalElasticAgent  # type: ignore[misc]


@contextlib.contextmanager
def _quiet_agent_logs() -> Iterator[None]:
    """While inside, torch's agent and process context log nothing: their warnings ("Terminating process ...") and a
    failed worker's traceback (``logger.exception``) would repeat what the workers print; ``run_agent`` ends with
    its own line instead."""
    loggers = [logging.getLogger(name) for name in _AGENT_LOGGERS]
    propagates, handler = [logger.propagate for logger in loggers], logging.NullHandler()
    for logger in loggers:
        logger.addHandler(handler)  # without a handler, warnings would go to logging's last-resort stderr handler
        logger.propagate = False
    try:
        yield
    finally:
        for logger, propagate in zip(loggers, propagates, strict=True):
            logger.removeHandler(handler)
            logger.propagate = propagate


@contextlib.contextmanager
def _kept_signal_handlers() -> Iterator[None]:
    """torch's process context makes SIGINT and SIGTERM raise its SignalException and leaves them so: give the
    caller's handlers back (``interrupt_on_signals``), so that a Ctrl-C after the job still ends with one line."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread has handlers to set
        yield
        return
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            if handler is not None:  # None: a handler not set from Python, which cannot be put back
                signal.signal(sig, handler)


def run_agent(
    entrypoint: str | Callable[..., object],
    args: Sequence[object],
    *,
    nnodes: int,
    nproc_per_node: int,
    rdzv_endpoint: str,
    rdzv_id: str,
    node_rank: int | None = None,
) -> int:
    """Start this machine's workers (``entrypoint(*args)``) and wait for the job to end.

    Args:
        entrypoint (str or callable): a program (e.g. ``sys.executable``) each worker runs with ``args`` as its
            command line, or a module-level function each spawned worker calls as ``entrypoint(*args)``.
        args (sequence): the program's arguments (str), or the function's (they must pickle).
        nnodes (int): machines in the job.
        nproc_per_node (int): workers on this machine.
        rdzv_endpoint (str): HOST:PORT of the c10d rendezvous, the same on every machine.
        rdzv_id (str): the job's id, the same on every machine.
        node_rank (int or None): this machine's fixed rank (torch's static rendezvous; 0 holds the store at
            ``rdzv_endpoint``), so that rank 0 and its OUTPUT_DIR stay on one machine across reruns; None: the
            c10d rendezvous numbers the machines (by host name, so on one host the order may change).
    Returns:
        int: 0, ``USER_ERROR_EXIT`` or ``INTERRUPTED_EXIT``.
    """
    config = LaunchConfig(
        min_nodes=nnodes,
        max_nodes=nnodes,
        nproc_per_node=nproc_per_node,
        run_id=rdzv_id,
        rdzv_endpoint=rdzv_endpoint,
        rdzv_backend="c10d" if node_rank is None else "static",
        rdzv_configs={} if node_rank is None else {"rank": node_rank},
        max_restarts=0,  # a rerun of the same command resumes from the checkpoint instead
        monitor_interval=MONITOR_INTERVAL_S,
    )
    try:
        with _short_exit_barrier(), _quiet_agent_logs(), _kept_signal_handlers():
            elastic_launch(config, entrypoint)(*args)
    except RendezvousConnectionError:
        return _report_lost_store(rdzv_endpoint)
    except ChildFailedError as err:
        return _report_failed_worker(err)
    except (SignalException, KeyboardInterrupt):  # KeyboardInterrupt: the signal came before the workers started
        return INTERRUPTED_EXIT  # the agent stopped the workers on the signal; each printed its line
    return 0


def _report_lost_store(rdzv_endpoint: str) -> int:
    """One line for a rendezvous store that could not be reached or was lost; returns ``USER_ERROR_EXIT``."""
    # The agent stopped its workers; the store lives in the agent of the machine at the endpoint.
    where = f"the rendezvous store at {rdzv_endpoint} (held by the node started there)"
    print(f"error: lost or could not reach {where}: that node died or is unreachable; {RESUME_HINT}", file=sys.stderr)
    return USER_ERROR_EXIT


def _report_failed_worker(err: ChildFailedError) -> int:
    """The exit status of the first failed worker: its own when it printed its line, else one line naming the
    rank, host and cause (a signal or an exit status) and ``USER_ERROR_EXIT``."""
    rank, failure = err.get_first_failure()
    if failure.exitcode in _REPORTED_EXITS:
        return failure.exitcode
    how = failure.signal_name() if failure.exitcode < 0 else f"exit status {failure.exitcode}"
    print(f"error: rank {rank} on host {socket.gethostname()} died ({how}); {RESUME_HINT}", file=sys.stderr)
    return USER_ERROR_EXIT

"""One launcher for every topology: a single process, N local processes, M machines, or torchrun.

- Under torchrun, srun (slowfast.utils.slurm_env) or our machine agent (RANK, WORLD_SIZE, LOCAL_RANK and
  MASTER_ADDR in the environment) this process is one worker: it joins the group through ``env://`` and runs
  the job itself.
- Otherwise ``NUM_GPUS`` processes (``NUM_CPU_PROCESSES`` when NUM_GPUS is 0) are started on this machine by
  torch's elastic agent (``slowfast.engine.agent.run_agent``, the agent of ``run_net.py --nnodes``), which
  gives each worker torchrun's environment: so every worker runs the torchrun case above. NUM_SHARDS
  machines (PySlowFast's ``--init_method tcp://HOST:PORT --shard_id``) are agents with fixed ranks (torch's
  static rendezvous, its store held by machine 0's agent at HOST:PORT): global rank
  ``SHARD_ID * processes_per_machine + local_rank``, PySlowFast's formula.
- A job of one process runs in this process without torch.distributed.

Why the agent rather than torch.multiprocessing spawn, as before: one set of rules for ranks, LOCAL_RANK,
environment and failure wherever the job runs. Its cost, measured with tests/engine/dist_job.py collectives
(2 CPU processes, 2 busy cores, 3 runs each): 12.4 s against 11.1 s with the hand-written spawn, about 1 s of
rendezvous and polling on a start-up that importing torch twice dominates.

CPU threads: every process gets free cores / processes-on-this-machine intra-op threads unless the user set
OMP_NUM_THREADS (torch's default, all cores in every process, oversubscribes the machine: 2 processes on
2 cores ran 4 compute threads and trained 10x slower). Cores other jobs keep busy are left to them, measured
once before the workers start (slowfast.utils.machine_load).

Backend: DIST_BACKEND "auto" is nccl with GPUs and gloo on the CPU. Failure handling: when a worker fails,
the agent stops the others (SIGTERM, SIGKILL after 30 s) and the job exits with status 1; a user error
(``UserError``) is printed by its worker as one ``error:`` line, another error as its traceback, and a worker
killed by a signal gets one ``error:`` line from the agent naming its rank and host; a dead or frozen peer
elsewhere is found by the heartbeat watcher (slowfast.utils.peer_watch). Ctrl-C or SIGTERM (in the launcher,
the workers or both) stops every worker, each logging its end, and the launcher raises ``RunInterrupted``
naming the last saved epoch. When the launcher is killed -9, torch's spawn sends its workers SIGINT.
"""

import os
import socket
import sys
import traceback
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

import torch
from fvcore.common.config import CfgNode

from slowfast.config.checks import ConfigError, processes_per_machine
from slowfast.config.cli import DEFAULT_INIT_METHOD, DEFAULT_RDZV_ENDPOINT
from slowfast.engine.agent import run_agent
from slowfast.engine.checkpoint import saved_epoch
from slowfast.utils.distributed import cuda_device_index, init_distributed, shutdown_distributed, synchronize
from slowfast.utils.errors import INTERRUPTED_EXIT, RunInterrupted, UserError, interrupt_on_signals, report_user_error
from slowfast.utils.machine_load import available_cores, busy_cores, share_busy_cores
from slowfast.utils.peer_watch import PeerWatch
from slowfast.utils.torchrun import launched_by_torchrun, torchrun_rank, torchrun_world_size


class DeviceError(UserError, RuntimeError):
    """The config asks for devices this machine does not have."""


def find_free_port() -> int:
    """Return a TCP port that is free on this machine right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        return sock.getsockname()[1]


def resolve_init_method(init_method: str, num_shards: int) -> str:
    """Replace the default rendezvous port by a free one when the job stays on one machine.

    Args:
        init_method (str): ``--init_method`` as given.
        num_shards (int): number of machines.
    Returns:
        str: the rendezvous to use.
    Raises:
        ConfigError: a loopback address for a job over several machines.
    """
    if num_shards == 1 and init_method == DEFAULT_INIT_METHOD:
        return f"tcp://localhost:{find_free_port()}"
    if num_shards > 1 and _is_loopback(urllib.parse.urlparse(init_method).hostname or ""):
        raise ConfigError(
            f"--init_method {init_method} cannot join NUM_SHARDS = {num_shards} machines: every machine would "
            "wait for itself. Pass --init_method tcp://HOST:PORT with the address of the machine with "
            "--shard_id 0, the same on every machine."
        )
    return init_method


def resolve_rdzv_endpoint(endpoint: str, nnodes: int) -> str:
    """``resolve_init_method`` for the agent's ``--rdzv-endpoint`` (HOST:PORT) and ``--nnodes``.

    Raises:
        ConfigError: a loopback address for a job over several machines.
    """
    if nnodes == 1 and endpoint == DEFAULT_RDZV_ENDPOINT:
        return f"localhost:{find_free_port()}"  # two runs on one machine must not join one rendezvous
    if nnodes > 1 and _is_loopback(urllib.parse.urlparse(f"//{endpoint}").hostname or ""):
        raise ConfigError(
            f"--rdzv-endpoint {endpoint} cannot join --nnodes {nnodes} machines: every machine would wait for "
            "itself. Pass --rdzv-endpoint HOST:PORT of one of the machines, the same on every machine."
        )
    return endpoint


def _is_loopback(host: str) -> bool:
    return host == "localhost" or host.startswith("127.") or host == "::1"


def resolve_backend(cfg: CfgNode) -> str:
    """torch.distributed backend for this config: nccl with GPUs, gloo on the CPU (DIST_BACKEND "auto"), or the
    one DIST_BACKEND names (the config checks refuse nccl without GPUs)."""
    if cfg.DIST_BACKEND == "auto":
        return "nccl" if cfg.NUM_GPUS > 0 else "gloo"
    return cfg.DIST_BACKEND


@dataclass(frozen=True)
class GroupSettings:
    """How the job's processes form and watch their group, read once by the launching process.

    Attributes:
        backend: ``resolve_backend``'s choice.
        timeout_s: DIST_TIMEOUT_S: a collective waiting longer for a peer fails the job (long: slow collectives).
        heartbeat_s: DIST_HEARTBEAT_S: a peer silent this long is dead (slowfast/utils/peer_watch.py).
    """

    backend: str
    timeout_s: float
    heartbeat_s: float

    @classmethod
    def from_config(cls, cfg: CfgNode) -> "GroupSettings":
        """The settings of ``cfg`` (DIST_BACKEND, NUM_GPUS, DIST_TIMEOUT_S, DIST_HEARTBEAT_S)."""
        return cls(resolve_backend(cfg), float(cfg.DIST_TIMEOUT_S), float(cfg.DIST_HEARTBEAT_S))


def check_devices(cfg: CfgNode, local_processes: int) -> None:
    """Fail early and clearly when the config asks for GPUs this machine does not have.

    Args:
        cfg (CfgNode): run configuration (NUM_GPUS).
        local_processes (int): processes that will run on this machine, one GPU each.
    Raises:
        DeviceError: naming NUM_GPUS and how to train on the CPU instead.
    """
    if cfg.NUM_GPUS == 0:
        return
    if not torch.cuda.is_available():
        raise DeviceError(
            f"config key NUM_GPUS = {cfg.NUM_GPUS} asks for GPUs, but CUDA is not available here. "
            "To train on the CPU pass NUM_GPUS 0 (and NUM_CPU_PROCESSES N for N processes)."
        )
    if torch.cuda.device_count() < local_processes:
        raise DeviceError(
            f"config key NUM_GPUS = {cfg.NUM_GPUS} needs {local_processes} GPUs on this machine, "
            f"but only {torch.cuda.device_count()} are visible."
        )


def cpu_thread_setting(local_processes: int) -> tuple[int, str]:
    """Intra-op threads for each of ``local_processes`` processes on this machine, and why.

    Cores other processes keep busy are left to them: a step's threads wait for the slowest, so one thread
    more than the free cores makes every step wait for a descheduled one (slowfast.utils.machine_load).

    Args:
        local_processes (int): training processes sharing this machine's cores.
    Returns:
        tuple(int, str): the thread count and how it was chosen ("OMP_NUM_THREADS" when the user set it,
        else "free cores / local processes").
    """
    user_value = os.environ.get("OMP_NUM_THREADS", "").strip()
    if user_value.isdigit() and int(user_value) > 0:
        return int(user_value), "OMP_NUM_THREADS"
    free = available_cores() - round(busy_cores())
    return max(1, min(available_cores(), free) // max(1, local_processes)), "free cores / local processes"


def local_process_count(cfg: CfgNode) -> int:
    """Training processes on this machine: torchrun's LOCAL_WORLD_SIZE, else from the config."""
    if launched_by_torchrun() and "LOCAL_WORLD_SIZE" in os.environ:
        return int(os.environ["LOCAL_WORLD_SIZE"])
    return processes_per_machine(cfg)


def select_device(cfg: CfgNode, local_rank: int) -> torch.device | None:
    """Make this process's GPU the current device (``cuda_device_index``); None on the CPU."""
    if cfg.NUM_GPUS == 0:
        return None
    device = torch.device("cuda", cuda_device_index(local_rank, torch.cuda.device_count()))
    torch.cuda.set_device(device)
    return device


def _run_worker(
    cfg: CfgNode,
    func: Callable[..., object],
    args: tuple[object, ...],
    init_method: str | None,
    world_size: int,
    rank: int,
    local_rank: int,
    group: GroupSettings,
) -> None:
    """Set the threads and device, join the group when there is more than one process, run the job, leave."""
    torch.set_num_threads(cpu_thread_setting(local_process_count(cfg))[0])
    device = select_device(cfg, local_rank)
    if world_size == 1:
        interrupt_on_signals()
        func(cfg, *args)
        return
    assert init_method is not None
    device_id = device if group.backend == "nccl" else None
    init_distributed(group.backend, init_method, world_size, rank, group.timeout_s, device_id=device_id)
    watch = PeerWatch.start(init_method, rank=rank, world_size=world_size, silence_s=group.heartbeat_s)
    interrupt_on_signals(watch.interrupted.set)
    try:
        func(cfg, *args)
    except BaseException as err:
        watch.report_failure(err)  # ends the process with a dead peer's error line when one caused this
        raise
    synchronize()  # every rank is done before any stops answering its watcher
    watch.stop()
    # Only on success: after a failure the process exits, and tearing down a group whose peers
    # may be gone could block.
    shutdown_distributed()


def _agent_worker(cfg: CfgNode, func: Callable[..., object], args: tuple[object, ...]) -> None:
    """What each worker of ``run_agent`` runs (module level so that it pickles): the job as under torchrun.

    As a worker script ends under torchrun: a user error is printed as the job's one ``error:`` line, any other
    error as its traceback (torch's spawn would only hand it to the agent), and a Ctrl-C or SIGTERM ends quietly
    (the launcher prints the line saying where a rerun resumes); each exit status tells the agent that nothing is
    left to say.
    """
    try:
        _run_torchrun_worker(cfg, func, args)
    except UserError as err:
        sys.exit(report_user_error(err))
    except KeyboardInterrupt:
        sys.exit(INTERRUPTED_EXIT)
    except Exception:
        traceback.print_exc()
        sys.stderr.flush()
        sys.exit(1)  # what Python exits with after printing an uncaught error


def _run_torchrun_worker(cfg: CfgNode, func: Callable[..., object], args: tuple[object, ...]) -> None:
    """``_run_worker`` with the ranks and rendezvous of torchrun's environment (an agent started this process)."""
    # One visible GPU is enough: a scheduler may give each task its own (see ``cuda_device_index``).
    check_devices(cfg, 1)
    local_rank = int(os.environ["LOCAL_RANK"])
    group = GroupSettings.from_config(cfg)
    _run_worker(cfg, func, args, "env://", torchrun_world_size(), torchrun_rank(), local_rank, group)


def _agent_endpoint(init_method: str) -> str:
    """HOST:PORT of a ``tcp://HOST:PORT`` init method: where machine 0's agent holds the job's store."""
    address = urllib.parse.urlparse(init_method)
    return f"{address.hostname}:{address.port}"


def launch_job(cfg: CfgNode, init_method: str, func: Callable[..., object], *args: object) -> None:
    """Run ``func(cfg, *args)`` on every process of the job described by ``cfg`` and the environment.

    ``func`` and ``args`` must pickle (a module-level function) because the agent spawns the processes; the
    calling script needs an ``if __name__ == "__main__":`` guard for the same reason.

    Args:
        cfg (CfgNode): run configuration (NUM_GPUS, NUM_CPU_PROCESSES, NUM_SHARDS, SHARD_ID, DIST_BACKEND, and
            DIST_TIMEOUT_S and DIST_HEARTBEAT_S: see ``GroupSettings``).
        init_method (str): "tcp://HOST:PORT" of machine 0, where its agent holds the job's store (on one machine the
            default's port becomes a free one); ignored under torchrun.
        func (callable): the job, called as ``func(cfg, *args)`` in each process after it joined the group.
        *args: further arguments for ``func``.
    Raises:
        DeviceError: GPUs asked for but missing.
        RunInterrupted: Ctrl-C or SIGTERM; every process was stopped.
        SystemExit: a process failed and the job's error line is printed (status ``USER_ERROR_EXIT``); the
            others were stopped.
    """
    try:
        _launch(cfg, init_method, func, args)
    except KeyboardInterrupt:
        raise RunInterrupted(saved_epoch(cfg.OUTPUT_DIR)) from None


def _launch(cfg: CfgNode, init_method: str, func: Callable[..., object], args: tuple[object, ...]) -> None:
    """``launch_job`` but for turning Ctrl-C into ``RunInterrupted``."""
    if launched_by_torchrun():
        _run_torchrun_worker(cfg, func, args)
        return
    per_machine = processes_per_machine(cfg)
    check_devices(cfg, per_machine)
    if per_machine * cfg.NUM_SHARDS == 1:
        _run_worker(cfg, func, args, None, 1, 0, 0, GroupSettings.from_config(cfg))
        return
    endpoint = _agent_endpoint(resolve_init_method(init_method, cfg.NUM_SHARDS))
    share_busy_cores()  # measured before the workers start, so that they do not count one another
    # Fixed machine ranks (torch's static rendezvous): global rank SHARD_ID * per_machine + local rank.
    status = run_agent(
        _agent_worker,
        (cfg, func, args),
        nnodes=cfg.NUM_SHARDS,
        nproc_per_node=per_machine,
        rdzv_endpoint=endpoint,
        rdzv_id="slowfast",
        node_rank=cfg.SHARD_ID,
    )
    if status == INTERRUPTED_EXIT:
        raise KeyboardInterrupt
    if status != 0:
        raise SystemExit(status)  # the workers or the agent printed the job's error line

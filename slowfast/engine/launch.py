"""One launcher for every topology: a single process, N local processes, M machines, or torchrun.

- Under torchrun (RANK, WORLD_SIZE, LOCAL_RANK and MASTER_ADDR in the environment) this process is
  one worker: it joins the group through ``env://`` and runs the job itself.
- Otherwise ``NUM_GPUS`` processes (``NUM_CPU_PROCESSES`` when NUM_GPUS is 0) are spawned on this
  machine, with global rank ``SHARD_ID * processes_per_machine + local_rank`` (PySlowFast's formula),
  joining NUM_SHARDS machines through ``init_method`` (``tcp://HOST:PORT``).
- A job of one process runs in this process without torch.distributed.

Backend: DIST_BACKEND "auto" is nccl with GPUs and gloo on the CPU. Failure handling: when a spawned
process fails, torch's ProcessContext terminates its siblings (SIGTERM, then SIGKILL) and raises in the
parent, so the job exits non-zero; peers on other machines give up when a collective exceeds the
process-group timeout instead of hanging.
"""

import os
import socket
import urllib.parse

import torch

from slowfast.config.checks import ConfigError, configured_processes, processes_per_machine
from slowfast.config.cli import DEFAULT_INIT_METHOD
from slowfast.utils.distributed import init_distributed, shutdown_distributed

_TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR")


def launched_by_torchrun():
    """True when torchrun (torch.distributed.run) started this process."""
    return all(name in os.environ for name in _TORCHRUN_VARIABLES)


def find_free_port():
    """Return a TCP port that is free on this machine right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        return sock.getsockname()[1]


def resolve_init_method(init_method, num_shards):
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
    host = urllib.parse.urlparse(init_method).hostname or ""
    if num_shards > 1 and (host == "localhost" or host.startswith("127.") or host == "::1"):
        raise ConfigError(
            f"--init_method {init_method} cannot join NUM_SHARDS = {num_shards} machines: every machine would "
            "wait for itself. Pass --init_method tcp://HOST:PORT with the address of the machine with "
            "--shard_id 0, the same on every machine.")
    return init_method


def resolve_backend(cfg):
    """torch.distributed backend for this config: nccl with GPUs, gloo on the CPU (DIST_BACKEND "auto"), or the
    one DIST_BACKEND names (the config checks refuse nccl without GPUs)."""
    if cfg.DIST_BACKEND == "auto":
        return "nccl" if cfg.NUM_GPUS > 0 else "gloo"
    return cfg.DIST_BACKEND


def check_devices(cfg, local_processes):
    """Fail early and clearly when the config asks for GPUs this machine does not have.

    Args:
        cfg (CfgNode): run configuration (NUM_GPUS).
        local_processes (int): processes that will run on this machine, one GPU each.
    Raises:
        RuntimeError: naming NUM_GPUS and how to train on the CPU instead.
    """
    if cfg.NUM_GPUS == 0:
        return
    if not torch.cuda.is_available():
        raise RuntimeError(
            f"config key NUM_GPUS = {cfg.NUM_GPUS} asks for GPUs, but CUDA is not available here. "
            "To train on the CPU pass NUM_GPUS 0 (and NUM_CPU_PROCESSES N for N processes)."
        )
    if torch.cuda.device_count() < local_processes:
        raise RuntimeError(
            f"config key NUM_GPUS = {cfg.NUM_GPUS} needs {local_processes} GPUs on this machine, "
            f"but only {torch.cuda.device_count()} are visible."
        )


def _run_worker(cfg, func, args, backend, init_method, world_size, rank, local_rank, timeout_s):
    """Set the device, join the group when there is more than one process, run the job, leave."""
    if cfg.NUM_GPUS > 0:
        torch.cuda.set_device(local_rank)
    if world_size > 1:
        init_distributed(backend, init_method, world_size, rank, timeout_s)
    func(cfg, *args)
    # Only on success: after a failure the process exits, and tearing down a group whose peers
    # may be gone could block.
    shutdown_distributed()


def global_rank(cfg, local_rank):
    """Rank over all machines of this machine's ``local_rank``-th process (PySlowFast's formula)."""
    return cfg.SHARD_ID * processes_per_machine(cfg) + local_rank


def _spawned_worker(local_rank, cfg, func, args, backend, init_method, timeout_s):
    """Entry point of each spawned process (module level so that it pickles)."""
    os.environ["LOCAL_RANK"] = str(local_rank)
    world_size = configured_processes(cfg)
    _run_worker(cfg, func, args, backend, init_method, world_size, global_rank(cfg, local_rank), local_rank,
                timeout_s)


def launch_job(cfg, init_method, func, *args):
    """Run ``func(cfg, *args)`` on every process of the job described by ``cfg`` and the environment.

    ``func`` and ``args`` must pickle (a module-level function) because processes are spawned; the
    calling script needs an ``if __name__ == "__main__":`` guard for the same reason.

    Args:
        cfg (CfgNode): run configuration (NUM_GPUS, NUM_CPU_PROCESSES, NUM_SHARDS, SHARD_ID, DIST_BACKEND, and
            DIST_TIMEOUT_S: a collective waiting longer for a peer fails the job).
        init_method (str): rendezvous for spawned processes, e.g. "tcp://host:9999"; ignored under torchrun.
        func (callable): the job, called as ``func(cfg, *args)`` in each process after it joined the group.
        *args: further arguments for ``func``.
    Raises:
        RuntimeError: GPUs asked for but missing.
        torch.multiprocessing.ProcessException: a spawned process failed; the others were stopped.
    """
    backend, timeout_s = resolve_backend(cfg), float(cfg.DIST_TIMEOUT_S)
    if launched_by_torchrun():
        local_rank = int(os.environ["LOCAL_RANK"])
        check_devices(cfg, local_rank + 1)
        world_size, rank = int(os.environ["WORLD_SIZE"]), int(os.environ["RANK"])
        _run_worker(cfg, func, args, backend, "env://", world_size, rank, local_rank, timeout_s)
        return
    per_machine = processes_per_machine(cfg)
    check_devices(cfg, per_machine)
    if per_machine * cfg.NUM_SHARDS == 1:
        _run_worker(cfg, func, args, backend, None, 1, 0, 0, timeout_s)
        return
    init_method = resolve_init_method(init_method, cfg.NUM_SHARDS)
    # spawn (not fork) keeps CUDA usable in the children; non-daemonic so they may start data-loader
    # workers. join=True raises here after stopping the siblings when one process fails.
    torch.multiprocessing.start_processes(
        _spawned_worker,
        args=(cfg, func, args, backend, init_method, timeout_s),
        nprocs=per_machine,
        join=True,
        daemon=False,
        start_method="spawn",
    )

"""Distributed helpers that also work, as identities or no-ops, in a single process without torch.distributed.

Ranks: ``get_rank()`` is the global rank over all machines, ``get_local_rank()`` the index of the
process on its machine (its GPU). Collectives accept tensors on any device and move them to the
backend's (the current GPU for nccl, the CPU for gloo) only for the communication.
"""

import datetime
import os

import torch
import torch.distributed as dist


def is_distributed():
    """True when a torch.distributed process group is initialised in this process."""
    return dist.is_available() and dist.is_initialized()


def get_world_size():
    """Number of processes in the job (1 without torch.distributed)."""
    return dist.get_world_size() if is_distributed() else 1


def get_rank():
    """Global rank of this process (0 without torch.distributed)."""
    return dist.get_rank() if is_distributed() else 0


def get_local_rank():
    """Index of this process on its machine, from LOCAL_RANK (set by torchrun and by our launcher)."""
    return int(os.environ.get("LOCAL_RANK", 0))


def cuda_device_index(local_rank, device_count):
    """CUDA device of the process with ``local_rank`` on its machine: the local rank modulo the visible devices.

    With every GPU of the machine visible, local rank i trains on GPU i. A scheduler that gives each task its
    own GPU (SLURM ``--gpus-per-task=1``, or ``CUDA_VISIBLE_DEVICES`` set per task) leaves one visible device,
    index 0, whatever the local rank.

    Args:
        local_rank (int): index of the process on its machine (LOCAL_RANK).
        device_count (int): CUDA devices this process sees (``torch.cuda.device_count()``), at least 1.
    Returns:
        int: the device index for ``torch.cuda.set_device``.
    """
    return local_rank % device_count


def is_main_process():
    """True on global rank 0, the process that writes shared files and prints the log."""
    return get_rank() == 0


def _barrier():
    if dist.get_backend() == "nccl":
        # Without device_ids NCCL guesses the device from the rank, which is wrong across machines.
        dist.barrier(device_ids=[torch.cuda.current_device()])
    else:
        dist.barrier()


def synchronize():
    """Wait until every process reaches this point (no-op with one process)."""
    if get_world_size() > 1:
        _barrier()


def _collective_device():
    """Device the backend communicates on: the current GPU for nccl, the CPU otherwise."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _reduce_in_place(values):
    """Sum a list of tensors (in place) and Python numbers (replaced by float sums) over all processes."""
    device = _collective_device()
    number_slots = [i for i, value in enumerate(values) if not torch.is_tensor(value)]
    if number_slots:
        # One message for all scalars; float64 keeps integer counts exact up to 2**53.
        packed = torch.tensor([float(values[i]) for i in number_slots], dtype=torch.float64, device=device)
        dist.all_reduce(packed, op=dist.ReduceOp.SUM)
        for i, total in zip(number_slots, packed.tolist()):
            values[i] = total
    for value in values:
        if torch.is_tensor(value):
            on_device = value.to(device)
            dist.all_reduce(on_device, op=dist.ReduceOp.SUM)
            if on_device is not value:
                value.copy_(on_device)


def all_reduce_sum(values):
    """Sum over all processes: tensors in place, Python numbers returned as float sums.

    Args:
        values (Tensor, or list/tuple of Tensors and numbers): what to sum; tensors may be on any
            device (they travel through the backend's device).
    Returns:
        Tensor or list: for a tensor, the same tensor holding the sum; for a list, a list of the same
        length with the tensors (reduced in place) and the numbers' sums as floats.
    """
    single = torch.is_tensor(values)
    items = [values] if single else list(values)
    if get_world_size() > 1:
        _reduce_in_place(items)
    return items[0] if single else items


def all_reduce_mean(values):
    """Average over all processes: floating-point tensors in place, Python numbers returned as floats.

    Args:
        values (Tensor, or list/tuple of Tensors and numbers): floating-point tensors and numbers.
    Returns:
        Tensor or list: as ``all_reduce_sum``, holding means instead of sums.
    Raises:
        TypeError: an integer tensor (its mean cannot be stored in place).
    """
    single = torch.is_tensor(values)
    items = [values] if single else list(values)
    for item in items:
        if torch.is_tensor(item) and not item.is_floating_point():
            raise TypeError(f"all_reduce_mean needs floating-point tensors, got {item.dtype}")
    world_size = get_world_size()
    if world_size > 1:
        _reduce_in_place(items)
        for i, item in enumerate(items):
            if torch.is_tensor(item):
                item.div_(world_size)
            else:
                items[i] = item / world_size
    return items[0] if single else items


def all_gather_tensors(tensor):
    """Concatenate every process's tensor along the first dimension, whose size may differ by process.

    Args:
        tensor (Tensor): this process's rows (e.g. its predictions), on any device; the dimensions after
            the first must agree across processes.
    Returns:
        Tensor: all processes' rows in rank order, on ``tensor``'s device (``tensor`` itself with one
        process).
    """
    world_size = get_world_size()
    if world_size == 1:
        return tensor
    device = _collective_device()
    # Collectives need equal shapes: share the row counts, pad to the longest, then trim.
    count = torch.tensor([tensor.shape[0]], dtype=torch.long, device=device)
    counts = [torch.zeros_like(count) for _ in range(world_size)]
    dist.all_gather(counts, count)
    counts = [int(c.item()) for c in counts]
    padded = torch.zeros((max(counts), *tensor.shape[1:]), dtype=tensor.dtype, device=device)
    padded[: tensor.shape[0]] = tensor.to(device)
    gathered = [torch.empty_like(padded) for _ in range(world_size)]
    dist.all_gather(gathered, padded)
    return torch.cat([part[:c] for part, c in zip(gathered, counts)]).to(tensor.device)


def all_gather_objects(obj):
    """Gather a picklable object from every process.

    Args:
        obj: any picklable object.
    Returns:
        list: one object per rank, in rank order.
    """
    world_size = get_world_size()
    if world_size == 1:
        return [obj]
    gathered = [None] * world_size
    dist.all_gather_object(gathered, obj)
    return gathered


def broadcast_object(obj, src=0):
    """Send a picklable object from rank ``src`` to every process.

    Args:
        obj: the object on rank ``src`` (ignored elsewhere).
        src (int): global rank that sends.
    Returns:
        the object of rank ``src``, on every process.
    """
    if get_world_size() == 1:
        return obj
    holder = [obj if get_rank() == src else None]
    dist.broadcast_object_list(holder, src=src)
    return holder[0]


def init_distributed(backend, init_method, world_size, rank, timeout_s, device_id=None):
    """Join the process group.

    Args:
        backend (str): "nccl" or "gloo".
        init_method (str): rendezvous, e.g. "tcp://host:port" or "env://" (torchrun).
        world_size (int): number of processes in the job.
        rank (int): global rank of this process.
        timeout_s (float): how long a collective may wait for its peers before failing, so a dead
            peer ends the job instead of hanging it.
        device_id (torch.device or None): this process's GPU with nccl: binds the communicator to it at once
            (no guess from the rank, eager NCCL initialisation); None on the CPU.
    """
    dist.init_process_group(
        backend=backend,
        init_method=init_method,
        world_size=world_size,
        rank=rank,
        timeout=datetime.timedelta(seconds=timeout_s),
        device_id=device_id,
    )


def shutdown_distributed():
    """Leave the process group if one is initialised."""
    if is_distributed():
        dist.destroy_process_group()

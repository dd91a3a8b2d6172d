"""Device selection on CUDA, shown on the CPU with torch.cuda's device functions replaced by recorders."""

import pytest
import torch
import torch.distributed as dist

from slowfast.config import load_config
from slowfast.engine import launch
from slowfast.utils import distributed as du
from slowfast.utils.env import platform_name


@pytest.mark.parametrize(
    ("local_rank", "visible", "expected"),
    [(3, 1, 0), (3, 8, 3), (5, 4, 1), (0, 1, 0)],  # one GPU per task (SLURM --gpus-per-task=1) gives index 0
)
def test_device_index_is_the_local_rank_modulo_the_visible_devices(local_rank, visible, expected):
    assert du.cuda_device_index(local_rank, visible) == expected


def test_worker_with_one_visible_gpu_per_task_selects_device_zero(monkeypatch):
    chosen = []
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "set_device", chosen.append)
    device = launch.select_device(load_config(None, ["NUM_GPUS", "1"]), local_rank=3)
    assert device == torch.device("cuda", 0) and chosen == [device]


def test_cpu_worker_selects_no_device(monkeypatch):
    monkeypatch.setattr(torch.cuda, "set_device", lambda _: pytest.fail("set_device on the CPU"))
    assert launch.select_device(load_config(None, ["NUM_GPUS", "0"]), local_rank=1) is None


def test_process_group_gets_the_device_id(monkeypatch):
    calls = []
    monkeypatch.setattr(dist, "init_process_group", lambda **kwargs: calls.append(kwargs))
    device = torch.device("cuda", 2)
    du.init_distributed("nccl", "env://", 8, 2, 60.0, device_id=device)
    assert calls[0]["device_id"] == device and calls[0]["world_size"] == 8


def test_torchrun_task_with_its_own_gpu_passes_the_device_check(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    for name, value in {"RANK": "7", "WORLD_SIZE": "8", "LOCAL_RANK": "3", "MASTER_ADDR": "h"}.items():
        monkeypatch.setenv(name, value)
    ran = []
    monkeypatch.setattr(
        launch,
        "_run_worker",
        lambda cfg, func, args, init, world, rank, local_rank, group: ran.append((rank, local_rank)),
    )
    launch.launch_job(load_config(None, ["NUM_GPUS", "1"]), launch.DEFAULT_INIT_METHOD, print)
    assert ran == [(7, 3)]  # local rank 3, then cuda_device_index maps it to the one visible GPU


def test_platform_name_counts_the_processes_of_the_job():
    info = {"gpus": ["NVIDIA H100"], "cpu_count": 32, "cpu_model": "x"}
    assert platform_name(info, 8, True) == "8xNVIDIA H100"  # torchrun with NUM_GPUS 1 in the config
    assert platform_name(info, 2, False).startswith("cpu (32 cores")

"""The benchmark clock waits for queued device work before it reads the time (as run.py builds it on CUDA)."""

import time

import pytest
import torch

from slowfast.benchmark.clock import BenchmarkClock

pytestmark = pytest.mark.gpu

QUEUED_S = 0.5


def test_clock_reading_includes_queued_cuda_kernels(device):
    if device.type != "cuda":
        pytest.skip("CUDA only: CPU work is never queued, so there is nothing to synchronise")
    # Calibrate the spin kernel: cycles per second on this GPU.
    torch.cuda.synchronize()
    began = time.perf_counter()
    torch.cuda._sleep(10_000_000)
    torch.cuda.synchronize()
    cycles_per_s = 10_000_000 / (time.perf_counter() - began)

    synced, unsynced = BenchmarkClock(sync_fn=torch.cuda.synchronize), BenchmarkClock()
    synced.start()
    unsynced.start()
    torch.cuda._sleep(int(QUEUED_S * cycles_per_s))  # returns at once; the GPU is busy for ~QUEUED_S
    without_sync = unsynced.elapsed()
    with_sync = synced.elapsed()
    assert without_sync < 0.5 * QUEUED_S  # the launch itself returns immediately ...
    assert with_sync >= 0.8 * QUEUED_S  # ... and the synchronised reading waits for the kernel

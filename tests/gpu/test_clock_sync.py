"""The benchmark clock waits for queued device work before it reads the time (as run.py builds it on CUDA)."""

import time

import pytest
import torch

from slowfast.benchmark.clock import BenchmarkClock

pytestmark = pytest.mark.gpu

QUEUED_S = 0.5


def _spin_cycles_per_s():
    """Cycles per second of torch's spin kernel on this GPU: the fastest of three timings after a first launch
    has loaded the kernel (an idle GPU raises its clock once busy, so the first timing can be several times low)."""
    torch.cuda._sleep(1000)
    torch.cuda.synchronize()
    rates = []
    for _ in range(3):
        began = time.perf_counter()
        torch.cuda._sleep(50_000_000)  # ~25 ms at 2 GHz
        torch.cuda.synchronize()
        rates.append(50_000_000 / (time.perf_counter() - began))
    return max(rates)


def test_clock_reading_includes_queued_cuda_kernels(device):
    if device.type != "cuda":
        pytest.skip("CUDA only: CPU work is never queued, so there is nothing to synchronise")
    cycles = int(QUEUED_S * _spin_cycles_per_s())
    kernel_began, kernel_ended = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    synced, unsynced = BenchmarkClock(sync_fn=torch.cuda.synchronize), BenchmarkClock()
    synced.start()
    unsynced.start()
    kernel_began.record()
    torch.cuda._sleep(cycles)  # returns at once; the GPU stays busy for about QUEUED_S
    kernel_ended.record()
    without_sync = unsynced.elapsed()
    with_sync = synced.elapsed()
    kernel_s = kernel_began.elapsed_time(kernel_ended) / 1000  # the GPU's own timing (the clocks may boost)
    assert kernel_s > 0.1 * QUEUED_S  # long beside a launch (microseconds), whatever the clocks did
    assert without_sync < 0.5 * kernel_s  # the launch itself returns immediately ...
    assert with_sync >= 0.95 * kernel_s  # ... and the synchronised reading waits for the kernel

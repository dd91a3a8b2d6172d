"""A busy machine: the OpenMP wait policy set before torch loads, threads left to other jobs, the warning."""

import os
import subprocess
import sys

from slowfast.engine import launch
from slowfast.utils import machine_load

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _fresh_process(code, **env):
    clean = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=dict(clean, **env), capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_importing_slowfast_makes_openmp_threads_sleep_before_torch_loads():
    # torch imported by the package itself: the policy must already be in the environment libgomp reads.
    code = "import sys, slowfast.engine.launch, os; print(os.environ.get('OMP_WAIT_POLICY'), 'torch' in sys.modules)"
    assert _fresh_process(code) == "PASSIVE True"
    assert _fresh_process(code, OMP_WAIT_POLICY="ACTIVE") == "ACTIVE True"
    assert _fresh_process(code, GOMP_SPINCOUNT="1000") == "None True"


def test_threads_leave_the_cores_other_jobs_keep_busy(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(launch, "available_cores", lambda: 8)
    for busy, processes, threads in [(0.2, 1, 8), (0.2, 2, 4), (2.6, 1, 5), (2.6, 2, 2), (7.9, 1, 1), (12.0, 4, 1)]:
        monkeypatch.setattr(launch, "busy_cores", lambda busy=busy: busy)
        assert launch.cpu_thread_setting(processes) == (threads, "free cores / local processes")


def test_busy_cores_is_measured_from_cpu_time_and_handed_to_spawned_processes(monkeypatch):
    monkeypatch.delenv(machine_load.BUSY_CORES_ENV, raising=False)
    machine_load.busy_cores.cache_clear()
    samples = iter([(100.0, 400.0), (150.0, 600.0)])  # 50 of 200 jiffies busy: a quarter of every core
    monkeypatch.setattr(machine_load, "_cpu_times", lambda: next(samples))
    monkeypatch.setattr(machine_load, "SAMPLE_S", 0.0)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert machine_load.busy_cores() == 2.0
    machine_load.share_busy_cores()
    assert os.environ[machine_load.BUSY_CORES_ENV] == "2.00"
    machine_load.busy_cores.cache_clear()
    assert machine_load.busy_cores() == 2.0  # a spawned process reads its parent's figure
    machine_load.busy_cores.cache_clear()


def test_busy_machine_warning_names_the_load(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (1.5, 1.0, 1.0))
    assert machine_load.busy_machine_warning() is None
    monkeypatch.setattr(os, "getloadavg", lambda: (6.25, 1.0, 1.0))
    warning = machine_load.busy_machine_warning()
    assert warning is not None and warning.startswith("warning: load average 6.2 on 2 cores: other processes")

"""How busy this machine's CPUs are, and the OpenMP wait policy that keeps a run from collapsing when they are.

Why a run collapsed on a busy machine: torch's OpenMP threads (libgomp) spin at the end of every parallel region
until the slowest thread arrives (GOMP_SPINCOUNT, 300000 iterations by default). When another job holds a core,
one of a step's threads is descheduled while the others burn their time slices spinning for it: the X3D
quick-start fell from ~25 to under 1 clip/s beside another job. Threads that sleep at once (OMP_WAIT_POLICY
PASSIVE) give the core back, and a thread count taken from the cores actually free (not all of them) keeps a
step's threads from waiting on a descheduled one. libgomp reads the policy when torch loads it, so
``quiet_openmp_waits`` runs when the slowfast package is imported (before it imports torch), and spawned
processes inherit it through the environment.

No torch here: the package's ``__init__`` calls this module.
"""

import functools
import os
import time

# The user's own setting wins; "PASSIVE" threads sleep at a barrier instead of spinning.
WAIT_POLICY = "PASSIVE"
# Seconds /proc/stat is sampled over to see how many cores other processes keep busy right now.
SAMPLE_S = 0.25
# Environment variable carrying the parent's measurement to the processes it spawns.
BUSY_CORES_ENV = "SLOWFAST_BUSY_CORES"


def quiet_openmp_waits() -> None:
    """Make OpenMP threads sleep rather than spin while they wait, unless the user chose a wait policy or spin count.

    Must run before torch is imported (libgomp reads the environment once, when it is loaded).
    """
    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        os.environ["OMP_WAIT_POLICY"] = WAIT_POLICY


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _cpu_times() -> tuple[float, float] | None:
    """(busy, total) jiffies over all CPUs from /proc/stat, or None where there is none."""
    try:
        with open("/proc/stat") as f:
            fields = [float(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


@functools.lru_cache(maxsize=1)
def busy_cores() -> float:
    """Cores other processes keep busy right now (measured once per process).

    Returns:
        float: busy share of all CPUs over ``SAMPLE_S`` seconds times the core count (this process sleeps
        meanwhile); the 1-minute load average where /proc/stat is missing; the parent's measurement in a
        process it spawned after ``share_busy_cores``.
    """
    if BUSY_CORES_ENV in os.environ:
        return float(os.environ[BUSY_CORES_ENV])
    first = _cpu_times()
    if first is None:
        return os.getloadavg()[0]
    time.sleep(SAMPLE_S)
    second = _cpu_times()
    assert second is not None
    total = second[1] - first[1]
    return (second[0] - first[0]) / total * (os.cpu_count() or 1) if total > 0 else 0.0


def share_busy_cores() -> None:
    """Hand this process's ``busy_cores`` to the processes it spawns next (they would count one another)."""
    os.environ[BUSY_CORES_ENV] = f"{busy_cores():.2f}"


def busy_machine_advice(load_1min: float, cores: int) -> str | None:
    """What to do about a machine whose load exceeds its cores; None when it does not.

    Args:
        load_1min (float): the 1-minute load average.
        cores (int): the machine's CPU cores.
    Returns:
        str or None: one sentence (the self-check's fix line, run_net's warning).
    """
    if load_1min <= cores:
        return None
    return (
        "other processes compete for the cores, so every time measured now is slowed down too: stop them "
        "before timing or running the benchmark"
    )


def busy_machine_warning() -> str | None:
    """A ``warning:`` line naming this machine's load when it exceeds its cores, else None."""
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    advice = busy_machine_advice(load, cores)
    return None if advice is None else f"warning: load average {load:.1f} on {cores} cores: {advice}"

"""Scores as pure functions.

``score = t_ref / t_bench * (n_gpu_ref / n_gpu_bench)``: above 1 means faster per accelerator than the
reference. ``benchmark_score`` combines the CNN and the transformer score (arithmetic mean, the headline,
and the geometric mean). Several runs of one model are summarised MLPerf-style by the olympic mean.
"""

import math
import statistics
from collections.abc import Iterable, Sequence


def score(t_ref: float, t_bench: float, n_gpu_ref: int, n_gpu_bench: int) -> float:
    """Return ``t_ref / t_bench * (n_gpu_ref / n_gpu_bench)``.

    Args:
        t_ref (float): reference seconds to the target.
        t_bench (float): this run's seconds to the target.
        n_gpu_ref (int): accelerators of the reference run.
        n_gpu_bench (int): accelerators of this run.
    Returns:
        float
    Raises:
        ValueError: when a time or a count is not positive.
    """
    if min(t_ref, t_bench, n_gpu_ref, n_gpu_bench) <= 0:
        raise ValueError(
            f"score needs positive times and counts; got t_ref={t_ref}, t_bench={t_bench}, "
            f"n_gpu_ref={n_gpu_ref}, n_gpu_bench={n_gpu_bench}"
        )
    return t_ref / t_bench * (n_gpu_ref / n_gpu_bench)


def benchmark_score(cnn: float, transformer: float) -> dict[str, float]:
    """Combine the CNN and the transformer score.

    Args:
        cnn (float): X3D-M score.
        transformer (float): MViT-B score.
    Returns:
        dict: {"arithmetic": mean (the benchmark_score), "geometric": geometric mean}.
    """
    return {"arithmetic": (cnn + transformer) / 2, "geometric": math.sqrt(cnn * transformer)}


def olympic_mean(values: Sequence[float]) -> float:
    """Mean after dropping one lowest and one highest value (MLPerf's way of averaging repeated runs).

    Args:
        values (sequence of float): at least 3 values.
    Returns:
        float
    Raises:
        ValueError: with fewer than 3 values, where nothing would be left to average fairly.
    """
    if len(values) < 3:
        raise ValueError(f"the olympic mean needs at least 3 values, got {len(values)}")
    kept = sorted(values)[1:-1]
    return sum(kept) / len(kept)


def spread(values: Iterable[float]) -> dict[str, float]:
    """Describe how much repeated results vary.

    Args:
        values (sequence of float): one or more values.
    Returns:
        dict: min, max, mean, std (sample standard deviation, 0 for one value) and relative
        (``(max - min) / mean``).
    """
    values = list(values)
    mean = sum(values) / len(values)
    return {
        "min": min(values),
        "max": max(values),
        "mean": mean,
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "relative": (max(values) - min(values)) / mean if mean else 0.0,
    }

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


# A result needs this many runs per model to be called comparable (the olympic mean needs 3 to drop two).
COMPARABLE_RUNS = 3


def runs_score(scores: Sequence[float | None]) -> dict[str, object]:
    """Score a model's repeated runs as MLPerf does: a run that did not reach the target counts as the slowest.

    At most one such run is allowed (with 3 runs or more it is the one the olympic mean drops); more make the
    result invalid. Below ``COMPARABLE_RUNS`` runs the plain mean of the converged runs is given, not comparable.

    Args:
        scores (sequence of float or None): one per run; None for a run that did not reach the target.
    Returns:
        dict: runs, not_converged, valid (bool), reason ("" when valid), comparable (bool), score (olympic
        mean, or mean below COMPARABLE_RUNS; None when invalid) and spread (of the converged runs, or None).
    """
    reached = [s for s in scores if s is not None]
    failed = len(scores) - len(reached)
    result: dict[str, object] = {"runs": len(scores), "not_converged": failed, "valid": True, "reason": ""}
    result["spread"] = spread(reached) if reached else None
    result["comparable"] = len(scores) >= COMPARABLE_RUNS
    if failed > 1 or not reached or (failed and len(scores) < COMPARABLE_RUNS):
        result.update(valid=False, comparable=False, score=None)
        allowed = "at most 1 allowed" + (f", with {COMPARABLE_RUNS} runs or more" if failed <= 1 else "")
        result["reason"] = f"{failed} of {len(scores)} run(s) did not reach the target ({allowed})"
        return result
    # The non-converged run is the slowest, i.e. the lowest score: it is the one the olympic mean drops.
    result["score"] = olympic_mean([0.0] * failed + reached) if result["comparable"] else spread(reached)["mean"]
    return result

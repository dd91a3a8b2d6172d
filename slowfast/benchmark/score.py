"""Scores as pure functions, and a run's result recomputed from its logs alone.

``score = t_ref / t_bench * (n_gpu_ref / n_gpu_bench)``: above 1 means faster per accelerator than the
reference. ``benchmark_score`` combines the CNN and the transformer score (arithmetic mean, the headline,
and the geometric mean). Several runs of one model are summarised MLPerf-style by the olympic mean.
"""

import json
import math
import os
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fvcore.common.config import CfgNode

from slowfast.benchmark import mllog as keys
from slowfast.benchmark.clock import BenchmarkClock
from slowfast.benchmark.log_check import integrity_problems
from slowfast.benchmark.mllog import LogLine, read_mllog
from slowfast.benchmark.reference import reference_for_name
from slowfast.solver.lr_policy import lr_scale_factor, scaled_lrs
from slowfast.utils.metrics import read_metrics

if TYPE_CHECKING:  # compliance imports torch and the models; reading a score needs neither
    from slowfast.benchmark.compliance import ComplianceVerdict


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


@dataclass
class RunResult:
    """Everything the end-of-run block, tools/score.py and tools/report.py show about one run.

    Attributes:
        model: model name (``submission_benchmark``), e.g. "X3D_M".
        kind: "cnn", "transformer" or "" (not scored).
        target_top1: target top-1 in percent.
        n_gpu: accelerators the run used (world size).
        t_ref_s: reference time to target (s); 0 when unknown.
        n_gpu_ref: accelerators of the reference run.
        reached: whether an evaluation reached the target.
        t_bench_s: clock seconds at the end of the first evaluation reaching the target (None if not reached).
        epochs_to_target: epochs trained when the target was reached (None if not reached).
        division: "closed" (compliant) or "open".
        changes: human-readable "KEY: official -> run" lines for every disallowed change.
        quickstart: synthetic quick-start run (never a Kinetics20 score).
        status: run_stop status ("success", "aborted") or "" while running / when missing.
        evals: [{"epoch", "top1", "time_s"}, ...] in order (read from a log: also "line", its line number).
        problems: inconsistencies found while reading the logs.
        run_dir: where the run's logs are ("" for a live run).
        reference_epochs: epochs the reference trained before reaching the target (None if unknown).
        global_videos, global_clips: videos and clips per optimisation step over all processes.
        base_lr: SOLVER.BASE_LR after linear scaling with the global batch; lr_factor: that scaling factor.
        bad_videos: {split: distinct videos that could not be decoded over the whole run}.
        implementation: the value of the run's ``implementation`` event ({} when it has none).
    """

    model: str
    kind: str
    target_top1: float
    n_gpu: int
    t_ref_s: float
    n_gpu_ref: int
    reached: bool
    t_bench_s: float | None = None
    epochs_to_target: int | None = None
    division: str = "closed"
    changes: list[str] = field(default_factory=list)
    quickstart: bool = False
    status: str = ""
    evals: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    run_dir: str = ""
    reference_epochs: int | None = None
    global_videos: int | None = None
    global_clips: int | None = None
    base_lr: float | None = None
    lr_factor: float | None = None
    bad_videos: dict[str, int] = field(default_factory=dict)
    implementation: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_live_run(
        cls,
        cfg: CfgNode,
        clock: BenchmarkClock,
        world_size: int,
        verdict: "ComplianceVerdict",
        model_name: str,
        status: str = "",
        bad_videos: dict[str, int] | None = None,
        implementation: dict[str, Any] | None = None,
    ) -> "RunResult":
        """The result of a run in progress or just ended, from its config, clock and compliance verdict.

        Args:
            cfg (CfgNode): the run's configuration (BENCHMARK.*, the batch and learning-rate keys).
            clock (BenchmarkClock): the run's clock.
            world_size (int): accelerators (processes) of the run.
            verdict (ComplianceVerdict): from ``check_compliance``.
            model_name (str): name shown, e.g. "X3D_M".
            status (str): "success" or "aborted" once the run ended.
            bad_videos (dict or None): run totals of undecodable videos per split.
            implementation (dict or None): the value of the run's ``implementation`` event.
        Returns:
            RunResult
        """
        bench = cfg.BENCHMARK
        return cls(
            model=model_name,
            kind=bench.KIND,
            target_top1=float(bench.TARGET_TOP1),
            n_gpu=int(world_size),
            t_ref_s=float(bench.REFERENCE_TIME_S),
            n_gpu_ref=int(bench.REFERENCE_NUM_GPUS),
            reached=clock.reached,
            t_bench_s=clock.t_bench,
            epochs_to_target=clock.epochs_to_target,
            division=verdict.division,
            changes=verdict.change_lines(),
            quickstart=bool(bench.QUICKSTART),
            status=status,
            evals=[dict(e) for e in clock.evals],
            reference_epochs=int(bench.REFERENCE_EPOCHS),
            global_videos=int(cfg.TRAIN.BATCH_SIZE),
            global_clips=int(cfg.TRAIN.BATCH_SIZE * cfg.AUG.NUM_SAMPLE),
            base_lr=scaled_lrs(cfg)["BASE_LR"],
            lr_factor=lr_scale_factor(cfg),
            bad_videos=dict(bad_videos or {}),
            implementation=dict(implementation or {}),
        )

    @property
    def compliant(self) -> bool:
        """True for a closed-division run."""
        return self.division == "closed"

    @property
    def score(self) -> float | None:
        """``t_ref / t_bench * n_gpu_ref / n_gpu``, or None when not reached or a quantity is unknown."""
        if not self.reached or not (self.t_ref_s and self.t_bench_s and self.n_gpu and self.n_gpu_ref):
            return None
        return score(self.t_ref_s, self.t_bench_s, self.n_gpu_ref, self.n_gpu)

    @property
    def epochs_ratio(self) -> float | None:
        """Reference epochs to target / this run's: above 1 when this run converged in fewer epochs."""
        if not (self.reached and self.reference_epochs and self.epochs_to_target):
            return None
        return self.reference_epochs / self.epochs_to_target

    @property
    def epoch_seconds(self) -> tuple[float, float] | None:
        """(reference, this run) seconds per epoch to the target, or None without a score or epoch counts."""
        if self.score is None or not (self.t_bench_s and self.reference_epochs and self.epochs_to_target):
            return None
        return self.t_ref_s / self.reference_epochs, self.t_bench_s / self.epochs_to_target

    @property
    def epoch_time_ratio(self) -> float | None:
        """Reference seconds per epoch / this run's (to the target): the machine's speed on the same work."""
        seconds = self.epoch_seconds
        return None if seconds is None else seconds[0] / seconds[1]


def read_run(run_dir: str) -> RunResult:
    """Recompute a run's result from ``run_dir/mllog.txt`` alone (nothing printed by the run is trusted).

    The log is also checked against itself, metrics.jsonl and the last checkpoint (``integrity_problems``).

    t_bench is the ``clock_s`` of the first ``eval_accuracy`` >= ``target_accuracy`` (falling back to
    time_ms since run_start for logs without clock_s); evaluations of epochs redone after a
    ``run_resume`` replace the earlier ones, as the resumed clock does.

    Args:
        run_dir (str): a run's OUTPUT_DIR.
    Returns:
        RunResult: with ``problems`` listing whatever in the log is missing or inconsistent.
    Raises:
        FileNotFoundError: when there is no mllog.txt.
    """
    path = os.path.join(run_dir, keys.MLLOG_FILENAME)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no {keys.MLLOG_FILENAME} in {run_dir}")
    lines, errors = read_mllog(path)
    problems = [f"unparsable line: {line[:80]} ({error})" for line, error in errors]
    first: dict[str, LogLine] = {}
    values: dict[str, list[Any]] = {}
    for line in lines:
        first.setdefault(line.key, line)
        values.setdefault(line.key, []).append(line.value["value"])
    for key in (keys.TARGET_ACCURACY, keys.NUM_ACCELERATORS, "submission_division", keys.REFERENCE_TIME):
        if len({json.dumps(v) for v in values.get(key, [])}) > 1:
            problems.append(f"{key} differs between the run's processes/resumes: {values[key]}")

    def value(key: str, default: Any = None) -> Any:
        return first[key].value["value"] if key in first else default

    model = value("submission_benchmark", "")
    reference = reference_for_name(model)
    target = value(keys.TARGET_ACCURACY)
    if target is None:
        problems.append(f"no {keys.TARGET_ACCURACY} in the log")
        target = reference.target_top1 if reference else float("inf")
    # A run resumed on a different number of accelerators is charged for the most it used.
    n_gpu = max(values.get(keys.NUM_ACCELERATORS, [None]), key=lambda n: n or 0)
    if n_gpu is None:
        problems.append(f"no {keys.NUM_ACCELERATORS} in the log: no score")
    evals = _evaluations(lines, problems)
    stops = [line for line in lines if line.key == "run_stop"]
    reaching = next((e for e in evals if e["top1"] >= target), None)
    result = RunResult(
        model=model,
        kind=value(keys.BENCHMARK_KIND, reference.kind if reference else ""),
        target_top1=float(target),
        n_gpu=int(n_gpu or 0),
        t_ref_s=float(value(keys.REFERENCE_TIME, reference.time_to_target_s if reference else 0.0) or 0.0),
        n_gpu_ref=int(value(keys.REFERENCE_ACCELERATORS, reference.num_gpus if reference else 0)),
        reached=reaching is not None,
        t_bench_s=reaching["time_s"] if reaching else None,
        epochs_to_target=reaching["epoch"] + 1 if reaching else None,
        division="open" if "open" in values.get("submission_division", ["open"]) else "closed",
        quickstart=bool(value(keys.QUICKSTART, False)),
        changes=[_change_line(c) for c in value(keys.CONFIG_CHANGES, []) or []],
        # The last run_stop: a run interrupted (aborted) and then resumed ends with the resumed part's status.
        status=stops[-1].value["metadata"].get("status", "") if stops else "",
        evals=evals,
        problems=problems,
        run_dir=run_dir,
        reference_epochs=value(keys.REFERENCE_EPOCHS, reference.epochs if reference else None),
        global_videos=value(keys.GLOBAL_BATCH_VIDEOS),
        global_clips=value("global_batch_size"),
        base_lr=value("opt_base_learning_rate"),
        lr_factor=value(keys.LR_FACTOR),
        bad_videos=_bad_video_totals(lines),
        implementation=value(keys.IMPLEMENTATION, {}) or {},
    )
    _check_consistency(result, first)
    result.problems += integrity_problems(lines, result, read_metrics(run_dir))
    return result


def _evaluations(lines: list[LogLine], problems: list[str]) -> list[dict[str, Any]]:
    run_start = next((line for line in lines if line.key == "run_start"), None)
    resumed = False
    evals: list[dict[str, Any]] = []
    for line in lines:
        metadata = line.value["metadata"]
        if line.key == keys.RUN_RESUME:
            resumed = True
            evals = [e for e in evals if e["epoch"] + 1 < metadata.get("epoch_num", 0)]
        if line.key != "eval_accuracy":
            continue
        if keys.CLOCK_KEY in metadata:
            seconds = float(metadata[keys.CLOCK_KEY])
        elif run_start is not None and not resumed:
            seconds = (line.timestamp - run_start.timestamp) / 1000.0
        else:
            problems.append(f"eval_accuracy on log line {line.lineno} has no {keys.CLOCK_KEY}: not timed")
            continue
        if "epoch_num" not in metadata:
            problems.append(f"eval_accuracy on log line {line.lineno} has no epoch_num")
            continue
        evals.append(
            {
                "epoch": int(metadata["epoch_num"]) - 1,
                "top1": float(line.value["value"]),
                "time_s": seconds,
                "line": line.lineno,
            }
        )
    return evals


def _bad_video_totals(lines: list[LogLine]) -> dict[str, int]:
    """The run's distinct undecodable videos per split, from the last ``bad_videos`` event of each split."""
    totals: dict[str, int] = {}
    for line in lines:
        if line.key == keys.BAD_VIDEOS:
            metadata = line.value["metadata"]
            totals[metadata.get("split", "?")] = metadata.get("run_total", 0)
    return totals


def _change_line(change: object) -> str:
    if not isinstance(change, dict):
        return str(change)
    return f"{change.get('key')}: {change.get('official')!r} -> {change.get('run')!r}"


def _check_consistency(result: RunResult, first: dict[str, LogLine]) -> None:
    if "run_start" not in first:
        result.problems.append("no run_start in the log")
    if "run_stop" not in first:
        result.problems.append("no run_stop: the run is still going or ended without logging it")
    if not result.evals:
        result.problems.append("no timed eval_accuracy in the log")
    if result.status == keys.STATUS_SUCCESS and not result.reached:
        result.problems.append("run_stop says success but no evaluation reached the target")
    if result.status == keys.STATUS_ABORTED and result.reached:
        result.problems.append("run_stop says aborted although an evaluation reached the target")


def summarize_runs(results: Sequence[RunResult]) -> dict[str, Any]:
    """Group run results by model and summarise them as tools/score.py reports them.

    Quick-start runs are summarised apart, against their own CPU references: they never enter the scored
    models or benchmark_score.

    Args:
        results (list of RunResult)
    Returns:
        dict: {"models": {model: {"kind", "scores", "spread", "olympic_mean"}}, "benchmark_score": dict or
        None, "quickstart": the same two keys for the quick-start runs (their combined score compares this
        machine with the quick-start's reference CPU)}. Only compliant runs that reached the target contribute;
        the olympic mean is None below 3 such runs (the plain mean is used for the combined score then).
    """
    summary = _summarize([r for r in results if not r.quickstart])
    summary["quickstart"] = _summarize([r for r in results if r.quickstart])
    return summary


def _summarize(results: Sequence[RunResult]) -> dict[str, Any]:
    models: dict[str, dict[str, Any]] = {}
    for result in results:
        entry = models.setdefault(result.model, {"kind": result.kind, "scores": []})
        if result.score is not None and result.compliant:
            entry["scores"].append(result.score)
    for entry in models.values():
        values = entry["scores"]
        entry["spread"] = spread(values) if values else None
        entry["olympic_mean"] = olympic_mean(values) if len(values) >= 3 else None
    by_kind: dict[str, float] = {}
    for entry in models.values():
        if entry["scores"] and entry["kind"]:
            by_kind[entry["kind"]] = entry["olympic_mean"] or entry["spread"]["mean"]
    combined = None
    if "cnn" in by_kind and "transformer" in by_kind:
        combined = benchmark_score(by_kind["cnn"], by_kind["transformer"])
    return {"models": models, "benchmark_score": combined}

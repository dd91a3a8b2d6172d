"""One run's outcome (``RunResult``), live or read back from its logs, and the summary of several runs."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

from fvcore.common.config import CfgNode

from slowfast.benchmark.clock import BenchmarkClock
from slowfast.benchmark.score import benchmark_score, olympic_mean, score, spread
from slowfast.solver.lr_policy import lr_scale_factor, scaled_lrs

if TYPE_CHECKING:
    from slowfast.benchmark.compliance import ComplianceVerdict


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
        data_wait_shares: per trained epoch, the share of training time rank 0 waited for data (metrics.jsonl).
        resumes: one ``{"epoch", "epochs_redone", "seconds_redone"}`` per run_resume: the 0-based epoch the run
            continued at, the epochs started before the interruption that were trained again, and the clock
            seconds between the checkpoint and the interruption (work lost; the clock continued from the checkpoint).
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
    data_wait_shares: list[float] = field(default_factory=list)
    resumes: list[dict[str, float]] = field(default_factory=list)

    @classmethod
    def from_live_run(
        cls,
        cfg: CfgNode,
        *,
        clock: BenchmarkClock,
        verdict: "ComplianceVerdict",
        world_size: int,
        model_name: str,
        status: str = "",
        bad_videos: dict[str, int] | None = None,
        implementation: dict[str, Any] | None = None,
        data_wait_shares: list[float] | None = None,
    ) -> "RunResult":
        """The result of a run in progress or just ended, from its config, clock and compliance verdict.

        Args:
            cfg (CfgNode): the run's configuration (BENCHMARK.*, the batch and learning-rate keys).
            clock (BenchmarkClock): the run's clock.
            verdict (ComplianceVerdict): from ``check_compliance``.
            world_size (int): accelerators (processes) of the run.
            model_name (str): name shown, e.g. "X3D_M".
            status (str): "success" or "aborted" once the run ended.
            bad_videos (dict or None): run totals of undecodable videos per split.
            implementation (dict or None): the value of the run's ``implementation`` event.
            data_wait_shares (list or None): each epoch's share of training time spent waiting for data.
        Returns:
            RunResult
        """
        return cls(
            model=model_name,
            n_gpu=int(world_size),
            **_recipe_fields(cfg),
            reached=clock.reached,
            t_bench_s=clock.t_bench,
            epochs_to_target=clock.epochs_to_target,
            evals=[dict(e) for e in clock.evals],
            division=verdict.division,
            changes=verdict.change_lines(),
            status=status,
            bad_videos=dict(bad_videos or {}),
            implementation=dict(implementation or {}),
            data_wait_shares=list(data_wait_shares or []),
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


class _RecipeFields(TypedDict):
    """The ``RunResult`` fields a run's configuration fixes before it starts."""

    kind: str
    target_top1: float
    t_ref_s: float
    n_gpu_ref: int
    quickstart: bool
    reference_epochs: int
    global_videos: int
    global_clips: int
    base_lr: float
    lr_factor: float


def _recipe_fields(cfg: CfgNode) -> _RecipeFields:
    """The benchmark's target and reference (BENCHMARK.*), the global batch and the scaled learning rate."""
    bench = cfg.BENCHMARK
    return _RecipeFields(
        kind=bench.KIND,
        target_top1=float(bench.TARGET_TOP1),
        t_ref_s=float(bench.REFERENCE_TIME_S),
        n_gpu_ref=int(bench.REFERENCE_NUM_GPUS),
        quickstart=bool(bench.QUICKSTART),
        reference_epochs=int(bench.REFERENCE_EPOCHS),
        global_videos=int(cfg.TRAIN.BATCH_SIZE),
        global_clips=int(cfg.TRAIN.BATCH_SIZE * cfg.AUG.NUM_SAMPLE),
        base_lr=scaled_lrs(cfg)["BASE_LR"],
        lr_factor=lr_scale_factor(cfg),
    )


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

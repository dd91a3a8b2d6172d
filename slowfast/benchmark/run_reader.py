"""A run's result recomputed from its folder's logs alone: nothing the run printed is trusted."""

import json
import os
from collections.abc import Sequence
from typing import Any

from slowfast.benchmark import mllog as keys
from slowfast.benchmark.clock import reaches_target
from slowfast.benchmark.compliance import KeyChange
from slowfast.benchmark.log_check import integrity_problems
from slowfast.benchmark.mllog import LogLine, read_mllog
from slowfast.benchmark.reference import reference_for_name
from slowfast.benchmark.run_result import RunResult
from slowfast.utils.errors import UserError
from slowfast.utils.metrics import read_metrics, records_of


def check_run_dirs(run_dirs: Sequence[str]) -> None:
    """Refuse a folder that is no run's OUTPUT_DIR, before anything is read.

    Raises:
        UserError: the first folder without mllog.txt, named.
    """
    for run_dir in run_dirs:
        if not os.path.isfile(os.path.join(run_dir, keys.MLLOG_FILENAME)):
            raise UserError(f"no {keys.MLLOG_FILENAME} in {run_dir}: pass a run's OUTPUT_DIR")


def read_run(run_dir: str, checkpoint_evals: list[dict[str, Any]] | None = None) -> RunResult:
    """Recompute a run's result from ``run_dir/mllog.txt`` alone (nothing printed by the run is trusted).

    The log is also checked against itself, metrics.jsonl and, when given, the evaluations the run's last
    checkpoint saved (``integrity_problems``).

    t_bench is the ``clock_s`` of the first ``eval_accuracy`` >= ``target_accuracy`` (falling back to
    time_ms since run_start for logs without clock_s); evaluations of epochs redone after a
    ``run_resume`` replace the earlier ones, as the resumed clock does.

    Args:
        run_dir (str): a run's OUTPUT_DIR.
        checkpoint_evals (list or None): the evaluations in the last checkpoint's clock
            (``slowfast.engine.checkpoint.saved_evaluations``); None skips that comparison.
    Returns:
        RunResult: with ``problems`` listing whatever in the log is missing or inconsistent.
    Raises:
        FileNotFoundError: when there is no mllog.txt.
    """
    path = os.path.join(run_dir, keys.MLLOG_FILENAME)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no {keys.MLLOG_FILENAME} in {run_dir}")
    return read_log(path, read_metrics(run_dir), checkpoint_evals, run_dir)


def read_log(
    path: str, metrics: list[dict[str, Any]], checkpoint_evals: list[dict[str, Any]] | None, run_dir: str
) -> RunResult:
    """``read_run`` for a log file anywhere (e.g. a results bundle's ``result_<i>.txt``).

    Args:
        path (str): the mllog file.
        metrics (list of dict): the run's metrics.jsonl records ([] skips that comparison).
        checkpoint_evals (list or None): as for ``read_run``.
        run_dir (str): what the result names as its run folder.
    Returns:
        RunResult
    """
    lines, errors = read_mllog(path)
    problems = [f"unparsable line: {line[:80]} ({error})" for line, error in errors]
    header = _LogValues(lines, problems)
    result = _result_from_log(header, _evaluations(lines, problems), problems, run_dir)
    result.bad_videos = _bad_video_totals(lines)
    epochs = records_of(metrics, "train_epoch", "data_wait_share")
    result.data_wait_shares = [float(r["data_wait_share"]) for r in epochs if r.get("data_wait_share") is not None]
    result.resumes = resumes_in_log(lines)
    _check_consistency(result, header.first)
    result.problems += integrity_problems(lines, result, metrics, checkpoint_evals)
    return result


class _LogValues:
    """The first value of each key in a log, and every value of it (resumes log the run constants again)."""

    def __init__(self, lines: list[LogLine], problems: list[str]) -> None:
        self.first: dict[str, LogLine] = {}
        self.all: dict[str, list[Any]] = {}
        for line in lines:
            self.first.setdefault(line.key, line)
            self.all.setdefault(line.key, []).append(line.value["value"])
        self.stops = [line for line in lines if line.key == "run_stop"]
        for key in (keys.TARGET_ACCURACY, keys.NUM_ACCELERATORS, "submission_division", keys.REFERENCE_TIME):
            if len({json.dumps(v) for v in self.all.get(key, [])}) > 1:
                problems.append(f"{key} differs between the run's processes/resumes: {self.all[key]}")

    def get(self, key: str, default: Any = None) -> Any:
        """The first logged value of ``key``, or ``default``."""
        return self.first[key].value["value"] if key in self.first else default


def _result_from_log(log: _LogValues, evals: list[dict[str, Any]], problems: list[str], run_dir: str) -> RunResult:
    """The RunResult the log's run constants and effective evaluations describe."""
    model = log.get("submission_benchmark", "")
    reference = reference_for_name(model)
    target = log.get(keys.TARGET_ACCURACY)
    if target is None:
        problems.append(f"no {keys.TARGET_ACCURACY} in the log")
        target = reference.target_top1 if reference else float("inf")
    # A run resumed on a different number of accelerators is charged for the most it used.
    n_gpu = max(log.all.get(keys.NUM_ACCELERATORS, [None]), key=lambda n: n or 0)
    if n_gpu is None:
        problems.append(f"no {keys.NUM_ACCELERATORS} in the log: no score")
    reaching = next((e for e in evals if reaches_target(e["top1"], target)), None)
    return RunResult(
        model=model,
        kind=log.get(keys.BENCHMARK_KIND, reference.kind if reference else ""),
        target_top1=float(target),
        n_gpu=int(n_gpu or 0),
        t_ref_s=float(log.get(keys.REFERENCE_TIME, reference.time_to_target_s if reference else 0.0) or 0.0),
        n_gpu_ref=int(log.get(keys.REFERENCE_ACCELERATORS, reference.num_gpus if reference else 0)),
        reached=reaching is not None,
        t_bench_s=reaching["time_s"] if reaching else None,
        epochs_to_target=reaching["epoch"] + 1 if reaching else None,
        division="open" if "open" in log.all.get("submission_division", ["open"]) else "closed",
        quickstart=bool(log.get(keys.QUICKSTART, False)),
        changes=[_change_line(c) for c in log.get(keys.CONFIG_CHANGES, []) or []],
        # The last run_stop: a run interrupted (aborted) and then resumed ends with the resumed part's status.
        status=log.stops[-1].value["metadata"].get("status", "") if log.stops else "",
        evals=evals,
        problems=problems,
        run_dir=run_dir,
        reference_epochs=log.get(keys.REFERENCE_EPOCHS, reference.epochs if reference else None),
        global_videos=log.get(keys.GLOBAL_BATCH_VIDEOS),
        global_clips=log.get("global_batch_size"),
        base_lr=log.get("opt_base_learning_rate"),
        lr_factor=log.get(keys.LR_FACTOR),
        implementation=log.get(keys.IMPLEMENTATION, {}) or {},
    )


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


def resumes_in_log(lines: list[LogLine]) -> list[dict[str, float]]:
    """What each ``run_resume`` of a log redid (``RunResult.resumes``).

    Before a resume, the highest ``epoch_num`` of an epoch_start and the highest ``clock_s`` of any event say how
    far the interrupted part got; the resume's ``epoch_num`` and ``clock_s`` say where its checkpoint was.

    Args:
        lines (list of LogLine): the log, in order.
    Returns:
        list of dict: ``{"epoch", "epochs_redone", "seconds_redone"}`` per resume.
    """
    resumes: list[dict[str, float]] = []
    started, clock = 0, 0.0  # epochs started (1-based epoch_num) and the clock reached since the last (re)start
    for line in lines:
        metadata = line.value["metadata"]
        if line.key == keys.RUN_RESUME:
            epoch_num, resumed_at = int(metadata.get("epoch_num", 1)), float(metadata.get(keys.CLOCK_KEY, 0.0))
            redone = max(0, started - epoch_num + 1)
            resumes.append(
                {"epoch": epoch_num - 1, "epochs_redone": redone, "seconds_redone": max(0.0, clock - resumed_at)}
            )
            started, clock = epoch_num - 1, resumed_at
            continue
        if line.key == "epoch_start":
            started = max(started, int(metadata.get("epoch_num", 0)))
        clock = max(clock, float(metadata.get(keys.CLOCK_KEY, clock)))
    return resumes


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
    return KeyChange.from_dict(change).line()


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

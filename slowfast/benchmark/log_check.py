"""Checks of a run's mllog.txt: mlperf-logging's parser and compliance checker, and integrity rules.

The compliance checker runs our rules, written in its format, from ``mllog_rules.yaml`` (the official MLPerf
rulesets require MLPerf benchmark names and keys such as cache_clear): every line parses, init/run events come
in order, run constants (target, accelerators, batch, seed, division) appear exactly once, timed events carry
epoch_num, and run_stop has a status.

The integrity rules catch what a per-line checker cannot: two runs writing to one log, and edits. Each
problem is one line ``<rule>: line N: <what>``:

- one run per log: one run_start; every init_start after it is a resume (followed by run_resume).
- monotonic clock: within one process's part of the log (from an init_start to the next), clock_s never
  decreases (run_stop and run_resume excepted: they carry the target time and the checkpoint's time), and
  time_ms never decreases in the whole file.
- run_stop after the last evaluation: no eval_accuracy follows the last run_stop, and a successful
  run_stop is not earlier on the clock than the evaluation that reached the target.
- epochs in order: within one part, epoch_start counts up by one and each eval_accuracy is the epoch just
  trained.
- eval_accuracy consistent with metrics.jsonl (same epoch, top-1 and time) and with the evaluations the last
  checkpoint's clock saved (when those files are present).
"""

import math
import os
from typing import Any

from mlperf_logging.compliance_checker.mlp_compliance import ComplianceChecker

from slowfast.benchmark.mllog import CLOCK_KEY, PARSER_RULESET, RUN_RESUME, STATUS_SUCCESS, LogLine, read_mllog
from slowfast.benchmark.run_result import RunResult
from slowfast.utils.metrics import records_of

RULES_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mllog_rules.yaml")
# Seconds / percent points two records of the same evaluation may differ by (JSON round trips are exact).
TOLERANCE = 1e-6


def check_mllog(path: str, rules_path: str = RULES_PATH) -> list[str]:
    """Run the mlperf-logging parser and compliance checker over one mllog file.

    Args:
        path (str): an mllog.txt.
        rules_path (str): rules in the compliance checker's YAML format (absolute path).
    Returns:
        list of str: problems found; empty when the file passes.
    """
    lines, errors = read_mllog(path)
    problems = [f"line failed to parse ({error}): {line[:100]}" for line, error in errors]
    checker = ComplianceChecker(usage="training", ruleset=PARSER_RULESET, quiet=True, werror=False)
    checker.check_loglines(lines, rules_path)
    problems += list(checker.overwritable.values()) + list(checker.not_overwritable)
    return problems


def integrity_problems(
    lines: list[LogLine],
    result: RunResult,
    metrics: list[dict[str, Any]],
    checkpoint_evals: list[dict[str, Any]] | None = None,
) -> list[str]:
    """Apply the integrity rules of the module docstring to one run's parsed log.

    Args:
        lines (list of LogLine): from ``read_mllog`` (``lineno`` = file line number).
        result (RunResult): the result ``run_reader.read_run`` computed from these lines: its effective
            evaluations (redone epochs replaced, each with its log ``line``) and ``t_bench_s``.
        metrics (list of dict): the records of metrics.jsonl ([] when absent: that rule is then skipped).
        checkpoint_evals (list or None): the evaluations the last checkpoint's clock saved (None: skipped).
    Returns:
        list of str: one line per violation, naming the rule and the log line.
    """
    parts = _split_at_init_start(lines)
    problems = _one_run(lines, parts)
    for part in parts:
        problems += _monotonic_clock(part) + _epochs_in_order(part)
    problems += _monotonic_time_ms(lines) + _run_stop_last(lines, result.t_bench_s)
    if metrics:
        problems += _matches_metrics(lines, metrics)
    if checkpoint_evals is not None:
        problems += _matches_checkpoint(result.evals, checkpoint_evals)
    return problems


def _meta(line: LogLine) -> dict[str, Any]:
    return line.value.get("metadata") or {}


def _split_at_init_start(lines: list[LogLine]) -> list[list[LogLine]]:
    """The log cut into parts, each starting at an init_start (one process's run or resume)."""
    parts: list[list[LogLine]] = [[]]
    for line in lines:
        if line.key == "init_start" and parts[-1]:
            parts.append([])
        parts[-1].append(line)
    return [part for part in parts if part]


def _one_run(lines: list[LogLine], parts: list[list[LogLine]]) -> list[str]:
    rule, problems = "one run per log", []
    starts = [line for line in lines if line.key == "run_start"]
    problems += [
        f"{rule}: line {line.lineno}: a second run_start (the first is on line {starts[0].lineno})"
        for line in starts[1:]
    ]
    for before, part in enumerate(parts[1:], start=1):
        # A part after one that never started the clock (stopped during initialisation) may start the run.
        started = any(line.key == "run_start" for earlier in parts[:before] for line in earlier)
        if started and part[0].key == "init_start" and not any(line.key == RUN_RESUME for line in part):
            problems.append(
                f"{rule}: line {part[0].lineno}: init_start without a run_resume after it: another run "
                "started in this log"
            )
    return problems


def _monotonic_clock(part: list[LogLine]) -> list[str]:
    rule, problems, last = "monotonic clock", [], None
    for line in part:
        if CLOCK_KEY not in _meta(line) or line.key in ("run_stop", RUN_RESUME):
            continue
        clock = float(_meta(line)[CLOCK_KEY])
        if last is not None and clock < float(_meta(last)[CLOCK_KEY]) - TOLERANCE:
            problems.append(
                f"{rule}: line {line.lineno}: {line.key} at clock_s {clock:.2f} is earlier than "
                f"{last.key} at {float(_meta(last)[CLOCK_KEY]):.2f} on line {last.lineno}"
            )
        last = line
    return problems


def _monotonic_time_ms(lines: list[LogLine]) -> list[str]:
    return [
        f"monotonic clock: line {line.lineno}: time_ms {line.timestamp:.0f} is earlier than "
        f"{previous.timestamp:.0f} on line {previous.lineno}"
        for previous, line in zip(lines, lines[1:])
        if line.timestamp < previous.timestamp
    ]


def _run_stop_last(lines: list[LogLine], t_bench: float | None) -> list[str]:
    rule, problems = "run_stop after the last evaluation", []
    stops = [line for line in lines if line.key == "run_stop"]
    accuracies = [line for line in lines if line.key == "eval_accuracy"]
    if stops and accuracies and accuracies[-1].lineno > stops[-1].lineno:
        problems.append(
            f"{rule}: line {stops[-1].lineno}: run_stop comes before the eval_accuracy on line {accuracies[-1].lineno}"
        )
    if stops and _meta(stops[-1]).get("status") == STATUS_SUCCESS and CLOCK_KEY in _meta(stops[-1]):
        stop_clock = float(_meta(stops[-1])[CLOCK_KEY])
        if t_bench is not None and stop_clock < t_bench - TOLERANCE:
            problems.append(
                f"{rule}: line {stops[-1].lineno}: run_stop at clock_s {stop_clock:.2f} is earlier "
                f"than the evaluation that reached the target ({t_bench:.2f})"
            )
    return problems


def _epochs_in_order(part: list[LogLine]) -> list[str]:
    rule, problems, epoch = "epochs in order", [], None
    for line in part:
        number = _meta(line).get("epoch_num")
        if line.key == "epoch_start" and number is not None:
            if epoch is not None and number != epoch + 1:
                problems.append(f"{rule}: line {line.lineno}: epoch_start of epoch {number} after epoch {epoch}")
            epoch = number
        elif line.key == "eval_accuracy" and epoch is not None and number != epoch:
            problems.append(
                f"{rule}: line {line.lineno}: eval_accuracy of epoch {number} while epoch {epoch} was trained"
            )
    return problems


def _same(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and math.isclose(float(a), float(b), rel_tol=0, abs_tol=1e-3)


def _matches_metrics(lines: list[LogLine], metrics: list[dict[str, Any]]) -> list[str]:
    rule, problems = "eval_accuracy matches metrics.jsonl", []
    records = records_of(metrics, "eval", "epoch", "top1", "time")
    for line in lines:
        if line.key != "eval_accuracy" or "epoch_num" not in _meta(line):
            continue
        epoch, clock = int(_meta(line)["epoch_num"]) - 1, _meta(line).get(CLOCK_KEY)
        same_epoch = [r for r in records if r.get("epoch") == epoch]
        if not any(
            _same(r.get("top1"), line.value["value"]) and (clock is None or _same(r.get("time"), clock))
            for r in same_epoch
        ):
            found = ", ".join(f"top-1 {r.get('top1')} at {r.get('time')} s" for r in same_epoch) or "no eval record"
            problems.append(
                f"{rule}: line {line.lineno}: epoch {epoch + 1} top-1 {line.value['value']} at clock_s "
                f"{clock}, metrics.jsonl has {found}"
            )
    return problems


def _matches_checkpoint(evals: list[dict[str, Any]], saved: list[dict[str, Any]]) -> list[str]:
    """Compare the log's evaluations with those the last checkpoint's clock saved."""
    rule, problems = "eval_accuracy matches the checkpoint clock", []
    logged = {e["epoch"]: e for e in evals}
    for entry in saved:
        mine = logged.get(entry["epoch"])
        if mine is None or not (_same(mine["top1"], entry["top1"]) and _same(mine["time_s"], entry["time_s"])):
            shown = "nothing" if mine is None else f"top-1 {mine['top1']} at {mine['time_s']:.2f} s"
            problems.append(
                f"{rule}: line {mine['line'] if mine else '-'}: epoch {entry['epoch'] + 1} "
                f"is top-1 {entry['top1']} at {entry['time_s']:.2f} s in the checkpoint, the log has "
                f"{shown}"
            )
    return problems

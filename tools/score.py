#!/usr/bin/env python3
"""Recompute benchmark results from run logs alone (OUTPUT_DIR/mllog.txt), never from printed lines.

    python tools/score.py output/X3D_M_run1 output/X3D_M_run2 output/X3D_M_run3 output/MVIT_B_16x4
    python tools/score.py output/benchmark/bundle          # verify a results bundle

Prints each run (time to target, epochs, accelerators, score, compliance), then per model the spread and
the olympic mean (drop fastest and slowest, with 3 runs or more), then benchmark_score when both a CNN and
a transformer run are given. Each mllog.txt is also run through mlperf-logging's parser and compliance
checker with this benchmark's rules (slowfast/benchmark/mllog_rules.yaml) and checked for integrity (one run
per log, a clock that never runs backwards, evaluations matching metrics.jsonl and the checkpoints: see
slowfast/benchmark/log_check.py). Exit status 1 when a log has problems, each named with its line number, or
(with one ``error:`` line) when a folder has no mllog.txt.

A results bundle (a folder with systems/, written by tools/run_benchmark.py) is verified as a whole: every
log as above, compliance, the number of runs per model (MLPerf's rule: at most one run that did not reach the
target), the system description against every log (GPU count, world size), the dataset fingerprint and
scores.json against the scores recomputed from the logs (slowfast/benchmark/bundle.py).
"""

import json
import os
import sys

# Lets the tool run from a plain checkout, and a checkout's tool use that checkout's package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.benchmark.bundle import SYSTEMS_DIR, read_bundle
from slowfast.benchmark.log_check import check_mllog
from slowfast.benchmark.mllog import MLLOG_FILENAME
from slowfast.benchmark.run_reader import check_run_dirs
from slowfast.benchmark.run_result import summarize_runs
from slowfast.config.cli import ToolParser, run_tool


def _number(value, fmt):
    return "-" if value is None else format(value, fmt)


def print_run(result, log_problems):
    """Print one run's line and whatever is wrong with its log."""
    label = "QUICK-START" if result.quickstart else result.division
    print(
        f"{result.run_dir}\n  {result.model or '?'} ({result.kind or 'not scored'}), {label}, "
        f"{result.n_gpu} accelerator(s), target {result.target_top1:.2f} %: "
        f"{'reached' if result.reached else 'NOT reached'}, t_bench {_number(result.t_bench_s, '.2f')} s, "
        f"epochs {_number(result.epochs_to_target, 'd')}, score {_number(result.score, '.4f')}, "
        f"status {result.status or '?'}"
    )
    for line in result.changes:
        print(f"  changed (open division): {line}")
    for problem in result.problems + log_problems:
        print("  problem: " + problem.replace("\n", "\n    "))


def print_models(models, heading):
    """Print the per-model spread and olympic mean under ``heading``."""
    print(f"\n{heading}:")
    for model, entry in models.items():
        if not entry["scores"]:
            print(f"  {model}: no run reached the target in compliance")
            continue
        s = entry["spread"]
        olympic = _number(entry["olympic_mean"], ".4f") if entry["olympic_mean"] else "n/a (needs 3 runs)"
        print(
            f"  {model} ({entry['kind']}): {len(entry['scores'])} run(s), scores "
            f"{', '.join(f'{v:.4f}' for v in entry['scores'])}; mean {s['mean']:.4f}, std {s['std']:.4f}, "
            f"range {s['min']:.4f}..{s['max']:.4f} ({100 * s['relative']:.1f} %), olympic mean {olympic}"
        )


def print_summary(summary):
    """Print the scored runs per model and benchmark_score, then the quick-start runs in their own section."""
    quickstart = summary["quickstart"]
    if summary["models"] or not quickstart["models"]:
        print_models(summary["models"], "Per model (compliant runs that reached the target)")
        combined = summary["benchmark_score"]
        if combined:
            print(
                f"\nbenchmark_score = {combined['arithmetic']:.4f} (arithmetic mean of CNN and transformer; "
                f"geometric mean {combined['geometric']:.4f})"
            )
        else:
            print("\nbenchmark_score: needs a scored CNN (X3D_M) and a transformer (MVIT_B_16x4) run")
    if quickstart["models"]:
        print_models(
            quickstart["models"],
            "Quick-start runs (synthetic data, scored against their CPU references; not benchmark scores)",
        )
        combined = quickstart["benchmark_score"]
        if combined:
            print(
                f"\nquick-start score = {combined['arithmetic']:.4f} (mean of both quick-starts against their CPU "
                f"references; geometric mean {combined['geometric']:.4f}; not a benchmark_score)"
            )


def print_json(results, summary):
    """Print the runs' key figures and the summary as one JSON object."""
    runs = [
        {
            "run_dir": r.run_dir,
            "model": r.model,
            "score": r.score,
            "t_bench_s": r.t_bench_s,
            "n_gpu": r.n_gpu,
            "division": r.division,
            "problems": r.problems,
        }
        for r in results
    ]
    print(json.dumps({"runs": runs, **summary}, indent=2))


def score_bundle(path):
    """Verify a results bundle, print its scores and problems; return the exit status."""
    bundle = read_bundle(path)
    print(f"{path}: system {bundle.system.get('system_name', '?')}, division {bundle.scores.get('division', '?')}")
    for model, entry in bundle.scores.get("models", {}).items():
        value = _number(entry["score"], ".4f")
        note = "" if entry["comparable"] else " (not comparable: fewer than 3 runs)"
        print(f"  {model}: score {value} over {entry['runs']} run(s), {entry['not_converged']} not converged{note}")
    combined = bundle.scores.get("benchmark_score")
    print(f"  benchmark_score {_number(combined and combined['arithmetic'], '.4f')}")
    for problem in bundle.problems:
        print("  problem: " + problem.replace("\n", "\n    "))
    print("  verified" if not bundle.problems else f"  FAILED: {len(bundle.problems)} problem(s)")
    return 1 if bundle.problems else 0


def score(args):
    """Score the run folders, or verify the results bundles; return 1 when a log has problems, else 0."""
    if all(os.path.isdir(os.path.join(d, SYSTEMS_DIR)) for d in args.run_dirs):
        return max(score_bundle(d) for d in args.run_dirs)
    check_run_dirs(args.run_dirs)
    from slowfast.suite.report import read_runs  # torch (the checkpoints' evaluations): after the check

    results = read_runs(args.run_dirs)
    any_problem = False
    for run_dir, result in zip(args.run_dirs, results):
        log_problems = check_mllog(os.path.join(run_dir, MLLOG_FILENAME))
        any_problem = any_problem or bool(log_problems or result.problems)
        if not args.json:
            print_run(result, log_problems)
    summary = summarize_runs(results)
    if args.json:
        print_json(results, summary)
    else:
        print_summary(summary)
        print(
            "\nChecked: every mllog line parses (mlperf-logging parser); init/run event order, a "
            "run_stop with status, target/accelerators/batch/seed/division logged once, epoch_num on "
            "timed events (mlperf-logging compliance checker with slowfast/benchmark/mllog_rules.yaml); "
            "one run per log, monotonic clock, run_stop after the last evaluation, epochs in order, "
            "eval_accuracy equal to metrics.jsonl and the last checkpoint's clock "
            "(slowfast/benchmark/log_check.py)."
        )
    return 1 if any_problem else 0


def main(argv=None):
    """Score the given run folders; return the exit status (1: a log has problems, or a user error printed as
    one line; 130: Ctrl-C)."""
    parser = ToolParser(__doc__)
    parser.add_argument("run_dirs", nargs="+", help=f"run OUTPUT_DIRs holding {MLLOG_FILENAME}, or results bundles")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON instead")
    return run_tool(parser, score, argv)


if __name__ == "__main__":
    sys.exit(main())

"""Integrity rules: edited logs and two runs in one log are caught, each rule named with its line number."""

import json
import os
import shutil

import pytest
from tools_in_process import run_tool

from slowfast.benchmark.log_check import check_mllog
from slowfast.benchmark.run_reader import read_run
from slowfast.engine.checkpoint import save_checkpoint, saved_evaluations

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOGS = os.path.join(REPO, "tests", "benchmark", "logs")
STORED_RUNS = ["x3d_4gpu_a", "x3d_1gpu", "x3d_4gpu_b", "mvit_4gpu", "x3d_open", "x3d_aborted"]
# x3d_4gpu_a reaches the target (16.75 %) at the evaluation after epoch 3, on line 28 at clock_s 1828.98.
TARGET_EVAL_LINE = 28


def _copy_run(name, tmp_path):
    run_dir = tmp_path / name
    shutil.copytree(os.path.join(LOGS, name), run_dir)
    return run_dir


def _edit_line(run_dir, number, old, new):
    path = run_dir / "mllog.txt"
    lines = path.read_text().splitlines(keepends=True)
    assert old in lines[number - 1]
    lines[number - 1] = lines[number - 1].replace(old, new)
    path.write_text("".join(lines))


def _problems_of(rule, result):
    return [p for p in result.problems if p.startswith(rule + ":")]


@pytest.mark.parametrize("name", STORED_RUNS)
def test_untouched_logs_break_no_integrity_rule(name):
    assert read_run(os.path.join(LOGS, name)).problems == []


def test_target_time_edited_earlier_is_caught_by_the_clock_and_metrics_jsonl(tmp_path):
    run_dir = _copy_run("x3d_4gpu_a", tmp_path)
    _edit_line(run_dir, TARGET_EVAL_LINE, '"clock_s": 1828.98', '"clock_s": 900.15')
    result = read_run(str(run_dir))
    assert result.t_bench_s == pytest.approx(900.15)  # the edit doubles the score ...
    assert _problems_of("monotonic clock", result) == [  # ... and the log says it cannot be trusted
        f"monotonic clock: line {TARGET_EVAL_LINE}: eval_accuracy at clock_s 900.15 is earlier than eval_accuracy "
        "at 1220.50 on line 23"
    ]
    assert _problems_of("eval_accuracy matches metrics.jsonl", result) == [
        f"eval_accuracy matches metrics.jsonl: line {TARGET_EVAL_LINE}: epoch 3 top-1 16.8 at clock_s 900.15, "
        "metrics.jsonl has top-1 16.8 at 1828.98 s"
    ]

    done = run_tool("score.py", run_dir)
    assert done.returncode == 1
    assert f"problem: monotonic clock: line {TARGET_EVAL_LINE}:" in done.stdout


def test_run_stop_moved_before_the_last_evaluation_is_caught(tmp_path):
    run_dir = _copy_run("x3d_4gpu_a", tmp_path)
    path = run_dir / "mllog.txt"
    lines = path.read_text().splitlines(keepends=True)
    stop = lines.pop()  # line 35, run_stop
    lines.insert(29, stop)  # now line 30, before the fourth epoch and its evaluation (line 34)
    path.write_text("".join(lines))
    assert _problems_of("run_stop after the last evaluation", read_run(str(run_dir))) == [
        "run_stop after the last evaluation: line 30: run_stop comes before the eval_accuracy on line 34"
    ]


def test_two_runs_writing_one_log_are_caught(tmp_path):
    run_dir = _copy_run("x3d_4gpu_a", tmp_path)
    path = run_dir / "mllog.txt"
    first = path.read_text().splitlines(keepends=True)
    # A second run started 1 ms after the first on the same OUTPUT_DIR: the two processes' lines interleave.
    time_ms = lambda line: json.loads(line.split(":::MLLOG ")[1])["time_ms"]  # noqa: E731
    second = [line.replace(f'"time_ms": {time_ms(line)}', f'"time_ms": {time_ms(line) + 1}') for line in first]
    path.write_text("".join(sorted(first + second, key=time_ms)))
    result = read_run(str(run_dir))
    # Lines 1-14: the first run's header up to run_start; lines 15-28: the second run's.
    assert _problems_of("one run per log", result) == [
        "one run per log: line 28: a second run_start (the first is on line 14)",
        "one run per log: line 15: init_start without a run_resume after it: another run started in this log",
    ]
    assert result.problems  # tools/score.py exits 1 for it


def test_epochs_logged_out_of_order_are_caught(tmp_path):
    run_dir = _copy_run("x3d_4gpu_a", tmp_path)
    _edit_line(run_dir, 25, '"epoch_num": 3', '"epoch_num": 5')
    assert _problems_of("epochs in order", read_run(str(run_dir))) == [
        "epochs in order: line 25: epoch_start of epoch 5 after epoch 2",
        "epochs in order: line 28: eval_accuracy of epoch 3 while epoch 5 was trained",
        "epochs in order: line 30: epoch_start of epoch 4 after epoch 5",
    ]


def test_eval_that_differs_from_the_checkpoint_clock_is_caught(tmp_path):
    run_dir = _copy_run("x3d_4gpu_a", tmp_path)
    (run_dir / "metrics.jsonl").unlink()  # an editor who also deletes metrics.jsonl still meets the checkpoint
    evals = [
        {"epoch": 0, "top1": 6.1, "time_s": 610.0},
        {"epoch": 1, "top1": 12.4, "time_s": 1220.5},
        {"epoch": 2, "top1": 16.8, "time_s": 1828.98},
        {"epoch": 3, "top1": 18.9, "time_s": 2440.0},
    ]
    save_checkpoint(str(run_dir), 4, {"epoch": 4, "clock": {"elapsed_s": 2440.05, "evals": evals}})
    saved = saved_evaluations(str(run_dir))
    assert read_run(str(run_dir), saved).problems == []

    _edit_line(run_dir, TARGET_EVAL_LINE, '"value": 16.80', '"value": 17.80')
    assert _problems_of("eval_accuracy matches the checkpoint clock", read_run(str(run_dir), saved)) == [
        f"eval_accuracy matches the checkpoint clock: line {TARGET_EVAL_LINE}: epoch 3 is top-1 16.8 at 1828.98 s "
        "in the checkpoint, the log has top-1 17.8 at 1828.98 s"
    ]


def test_run_interrupted_then_resumed_ends_with_the_resumed_status(tmp_path):
    run_dir = _copy_run("x3d_4gpu_b", tmp_path)
    path = run_dir / "mllog.txt"
    lines = path.read_text().splitlines(keepends=True)
    # Ctrl-C after the second evaluation: the aborted run_stop precedes the resume's init_start (line 25).
    aborted = (
        ':::MLLOG {"namespace": "", "time_ms": 1700001200001, "event_type": "INTERVAL_END", "key": "run_stop", '
        '"value": null, "metadata": {"file": "hand", "lineno": 30, "status": "aborted", "clock_s": 1200.0}}\n'
    )
    path.write_text("".join(lines[:24] + [aborted] + lines[24:]))
    result = read_run(str(run_dir))
    assert result.status == "success" and result.reached and result.problems == []
    assert check_mllog(str(path)) == []


def test_run_restarted_after_a_stop_during_initialisation_is_one_run(tmp_path):
    run_dir = _copy_run("x3d_4gpu_a", tmp_path)
    path = run_dir / "mllog.txt"
    lines = path.read_text().splitlines(keepends=True)
    # Ctrl-C while the data set was generated (before run_start): only the first init_start and one constant.
    path.write_text("".join(lines[:2] + lines))
    result = read_run(str(run_dir))
    assert result.problems == [] and check_mllog(str(path)) == []

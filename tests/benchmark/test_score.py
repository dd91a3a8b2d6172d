"""Score formulas, and results recomputed from hand-written logs in tests/benchmark/logs/."""

import math
import os

import pytest

from slowfast.benchmark.log_check import check_mllog
from slowfast.benchmark.reference import (
    INFORMATIONAL_RUNS,
    SCORED_RUNS,
    reference_for_name,
)
from slowfast.benchmark.result import format_result_block
from slowfast.benchmark.run_reader import read_run
from slowfast.benchmark.run_result import summarize_runs
from slowfast.benchmark.score import benchmark_score, olympic_mean, score, spread

LOGS = os.path.join(os.path.dirname(__file__), "logs")


def run_dir(name):
    return os.path.join(LOGS, name)


def test_score_formula():
    assert score(3657.96, 1828.98, 4, 4) == pytest.approx(2.0)
    assert score(3657.96, 7315.92, 4, 1) == pytest.approx(2.0)
    assert score(6682.53, 6682.53, 4, 8) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="positive"):
        score(3657.96, 0.0, 4, 4)


def test_benchmark_score_means():
    combined = benchmark_score(2.0, 1.0)
    assert combined["arithmetic"] == pytest.approx(1.5)
    assert combined["geometric"] == pytest.approx(math.sqrt(2.0))


def test_olympic_mean_drops_fastest_and_slowest():
    assert olympic_mean([1.0, 2.0, 3.0, 10.0]) == pytest.approx(2.5)
    assert olympic_mean([0.5, 1.0, 9.0]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least 3"):
        olympic_mean([1.0, 2.0])


def test_spread():
    result = spread([1.0, 2.0, 3.0])
    assert result["min"] == 1.0 and result["max"] == 3.0
    assert result["mean"] == pytest.approx(2.0)
    assert result["std"] == pytest.approx(1.0)
    assert result["relative"] == pytest.approx(1.0)


def test_reference_table():
    x3d = reference_for_name("X3D_M")
    assert (x3d.kind, x3d.target_top1, x3d.time_to_target_s, x3d.per_gpu_batch) == ("cnn", 16.75, 3657.96, 16)
    assert reference_for_name("MVIT_B_16x4").time_to_target_s == 6682.53
    assert [run.kind for run in SCORED_RUNS] == ["cnn", "transformer"]
    assert reference_for_name("nope") is None
    assert [r.num_workers for r in INFORMATIONAL_RUNS] == [8, 16, 32]


def test_read_run_four_gpus():
    result = read_run(run_dir("x3d_4gpu_a"))
    assert result.reached and result.t_bench_s == pytest.approx(1828.98)
    assert result.epochs_to_target == 3
    assert (result.n_gpu, result.n_gpu_ref, result.t_ref_s) == (4, 4, 3657.96)
    assert result.score == pytest.approx(2.0)
    assert result.compliant and result.status == "success" and result.problems == []


def test_read_run_one_gpu_from_time_ms():
    # This log has no clock_s: the time comes from time_ms since run_start.
    result = read_run(run_dir("x3d_1gpu"))
    assert result.t_bench_s == pytest.approx(7315.92)
    assert result.n_gpu == 1
    assert result.score == pytest.approx(2.0)


def test_read_run_after_resume_uses_the_redone_evaluations():
    result = read_run(run_dir("x3d_4gpu_b"))
    assert [e["epoch"] for e in result.evals] == [0, 1, 2]
    assert result.t_bench_s == pytest.approx(2438.64)
    assert result.score == pytest.approx(1.5)


def test_open_division_and_not_reached():
    opened = read_run(run_dir("x3d_open"))
    assert not opened.compliant
    assert opened.changes == ["SOLVER.BASE_LR: 0.05 -> 0.1"]
    aborted = read_run(run_dir("x3d_aborted"))
    assert not aborted.reached and aborted.score is None and aborted.status == "aborted"
    # MLPerf's word stays in the log; the person reads what it means.
    block = format_result_block(aborted).splitlines()
    assert 'run status         did not reach the target (mllog.txt run_stop status "aborted")' in block


def test_missing_keys_are_reported(tmp_path):
    (tmp_path / "mllog.txt").write_text(
        ':::MLLOG {"namespace": "", "time_ms": 1, "event_type": "POINT_IN_TIME", "key": "eval_accuracy", '
        '"value": 50.0, "metadata": {"epoch_num": 1, "clock_s": 10.0}}\n'
    )
    result = read_run(str(tmp_path))
    assert result.score is None
    assert any("target_accuracy" in p for p in result.problems)
    assert any("num_accelerators" in p for p in result.problems)
    assert any("run_stop" in p for p in result.problems)


def test_summary_of_repeated_runs_and_benchmark_score():
    names = ["x3d_4gpu_a", "x3d_1gpu", "x3d_4gpu_b", "mvit_4gpu", "x3d_open", "x3d_aborted"]
    summary = summarize_runs([read_run(run_dir(n)) for n in names])
    x3d = summary["models"]["X3D_M"]
    # The open-division and the aborted runs do not count.
    assert x3d["scores"] == pytest.approx([2.0, 2.0, 1.5])
    assert x3d["olympic_mean"] == pytest.approx(2.0)
    assert x3d["spread"]["min"] == pytest.approx(1.5)
    mvit = summary["models"]["MVIT_B_16x4"]
    assert mvit["olympic_mean"] is None and mvit["spread"]["mean"] == pytest.approx(1.0)
    assert summary["benchmark_score"]["arithmetic"] == pytest.approx(1.5)
    assert summary["benchmark_score"]["geometric"] == pytest.approx(math.sqrt(2.0))


STORED_RUNS = ["x3d_4gpu_a", "x3d_1gpu", "x3d_4gpu_b", "mvit_4gpu", "x3d_open", "x3d_aborted"]


@pytest.mark.parametrize("name", STORED_RUNS)
def test_stored_logs_pass_the_mlperf_logging_checker(name):
    assert check_mllog(os.path.join(run_dir(name), "mllog.txt")) == []


def test_resume_on_more_accelerators_is_charged_and_reported(tmp_path):
    text = open(os.path.join(run_dir("x3d_4gpu_b"), "mllog.txt")).read()
    # The restarted process logged 8 accelerators instead of 4.
    head, tail = text.split('"run_resume"')
    head = head[::-1].replace('"value": 4'[::-1], '"value": 8'[::-1], 1)[::-1]
    (tmp_path / "mllog.txt").write_text(head + '"run_resume"' + tail)
    result = read_run(str(tmp_path))
    assert result.n_gpu == 8
    assert result.score == pytest.approx(0.75)
    assert any("num_accelerators differs" in p for p in result.problems)

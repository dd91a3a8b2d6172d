"""The report's figures: the reference mark scaled to each run's process count, throughput axes from zero."""

import pytest

from slowfast.benchmark.run_result import RunResult
from slowfast.suite import report


def _result(n_gpu, run_dir):
    return RunResult(
        model="X3D_M", kind="cnn", target_top1=15.0, n_gpu=n_gpu, t_ref_s=181.1, n_gpu_ref=1, reached=False,
        evals=[{"epoch": 1, "top1": 10.0, "time_s": 100.0}], run_dir=run_dir,
    )  # fmt: skip


def test_reference_mark_is_where_each_process_count_scores_one():
    marks = report.reference_marks([_result(2, "a"), _result(1, "b")])
    assert marks == [
        (181.1, "reference time (1 process)"),
        (pytest.approx(90.55), "score 1 on 2 processes: reference 181 s x 1/2"),
    ]
    assert report.reference_marks([RunResult("X3D_M", "cnn", 15.0, 2, 0.0, 1, False)]) == []


def test_throughput_and_data_wait_axes_start_at_zero(monkeypatch):
    monkeypatch.setattr(report, "png_data", lambda figure: figure)  # keep the figure to read its axes
    records = [
        {"type": "train_epoch", "epoch": e, "clips_per_s": 24.0 + 0.3 * e, "data_wait_share": 0.02 + 0.01 * e}
        for e in range(3)
    ]
    figure = report.throughput_figure([_result(1, "a")], [records])
    speed, wait = figure.axes
    assert speed.get_ylim()[0] == 0 and speed.get_ylim()[1] >= 24.6
    assert wait.get_ylim() == (0, 1.0)

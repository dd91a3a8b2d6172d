"""End-to-end CPU runs of the real engine on generated videos: X3D-M and a tiny MViT with MViT-B's recipe."""

import base64
import io
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest
import torch
from mlperf_logging.mllog import constants

from slowfast.benchmark.log_check import check_mllog
from slowfast.benchmark.run_reader import read_run
from slowfast.engine.run import run_job
from slowfast.suite.report import build_report
from slowfast.utils.metrics import read_metrics, records_of

pytestmark = pytest.mark.slow  # end-to-end runs


def _records(output_dir, record_type):
    # strict: every record the engine wrote matches its type in the one schema (slowfast/utils/metrics.py).
    return records_of(read_metrics(str(output_dir), strict=True), record_type)


@pytest.mark.parametrize("name", ["X3D_M", "MVIT_B_16x4"])
def test_smoke_run_trains_evaluates_checkpoints_and_logs(name, smoke_config, tmp_path):
    cfg_file, _, cfg = smoke_config(name, tmp_path, "SOLVER.MAX_EPOCH", "4", "TENSORBOARD.ENABLE", "True")
    summary = run_job(cfg, cfg_file)

    epochs = _records(tmp_path, "train_epoch")
    assert [r["epoch"] for r in epochs] == [0, 1, 2, 3]
    # Each epoch's time runs from its start to the end of its evaluation; no self-check ran, so no prediction.
    assert all(r["epoch_s"] > 0 and r["predicted_epoch_s"] is None for r in epochs)
    assert not (tmp_path / "report.html").exists()  # the caller writes it (tools/run_net.py), not every worker
    assert "\ntarget top-1       " in (tmp_path / "log.txt").read_text()  # the result block, logged by rank 0
    assert epochs[-1]["loss"] < epochs[0]["loss"], [r["loss"] for r in epochs]
    evals = _records(tmp_path, "eval")
    assert [r["num_videos"] for r in evals] == [8, 8, 8, 8]  # every val video once per evaluation
    assert all(0.0 <= r["top1"] <= 100.0 and isinstance(r["time"], float) for r in evals)
    assert all(isinstance(r["loss"], float) for r in _records(tmp_path, "train_iter"))
    (test_record,) = _records(tmp_path, "test")
    assert test_record["num_videos"] == 8
    assert test_record["num_views"] == 8 * cfg.TEST.NUM_ENSEMBLE_VIEWS * cfg.TEST.NUM_SPATIAL_CROPS

    checkpoints = sorted(os.listdir(tmp_path / "checkpoints"))
    assert checkpoints == [f"checkpoint_epoch_{e:05d}.pyth" for e in range(1, 5)] + ["last_checkpoint"]
    final = torch.load(tmp_path / "checkpoints" / "checkpoint_epoch_00004.pyth", weights_only=True)
    assert final["epoch"] == 4 and len(final["clock"]["evals"]) == 4

    with open(tmp_path / "mllog.txt") as f:
        keys = [json.loads(line.split(":::MLLOG ", 1)[1])["key"] for line in f if ":::MLLOG" in line]
    for key in (
        constants.INIT_START,
        constants.RUN_START,
        constants.EVAL_ACCURACY,
        constants.RUN_STOP,
        "target_accuracy",
        "num_accelerators",
    ):
        assert key in keys
    assert keys.count(constants.EVAL_ACCURACY) == 4
    assert check_mllog(str(tmp_path / "mllog.txt")) == []  # mlperf-logging's parser and checker accept it
    recomputed = read_run(str(tmp_path))
    assert recomputed.n_gpu == 1 and recomputed.reached is False and summary.reached is False
    assert os.path.isfile(tmp_path / "config.yaml")
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(tmp_path / "tensorboard"))
    html = build_report([recomputed])
    pngs = [base64.b64decode(chunk.split('"', 1)[0]) for chunk in html.split("data:image/png;base64,")[1:]]
    assert len(pngs) >= 3
    for png in pngs:
        image = plt.imread(io.BytesIO(png), format="png")
        assert image.shape[0] > 100 and image.shape[1] > 100 and image.std() > 0  # decodes, not blank


def test_run_reaching_its_target_stops_and_its_score_is_recomputed_from_the_log(smoke_config, tmp_path):
    cfg_file, _, cfg = smoke_config(
        *("X3D_M", tmp_path, "BENCHMARK.TARGET_TOP1", "0.01", "BENCHMARK.STOP_AT_TARGET", "True"),
        *("TEST.ENABLE", "False", "TRAIN.CHECKPOINT_PERIOD", "5"),
    )
    summary = run_job(cfg, cfg_file)
    assert summary.reached and summary.status == "success" and summary.epochs_to_target == 1
    assert len(_records(tmp_path, "train_epoch")) == 1  # STOP_AT_TARGET ended training after epoch 1
    # ... and saved that epoch (CHECKPOINT_PERIOD 5 would not have), so that a rerun (a requeued job, say) restores
    # the reached target and trains no further epoch.
    assert (tmp_path / "checkpoints" / "checkpoint_epoch_00001.pyth").is_file()
    rerun = run_job(cfg, cfg_file)
    assert len(_records(tmp_path, "train_epoch")) == 1 and rerun.t_bench_s == summary.t_bench_s
    recomputed = read_run(str(tmp_path))
    assert recomputed.status == "success" and recomputed.problems == []
    assert recomputed.t_bench_s == summary.t_bench_s and recomputed.score == summary.score
    assert summary.score == cfg.BENCHMARK.REFERENCE_TIME_S / summary.t_bench_s * cfg.BENCHMARK.REFERENCE_NUM_GPUS
    printed = (tmp_path / "log.txt").read_text()  # what rank 0 printed
    assert f"score              {recomputed.score:.4f}" in printed
    assert f"x epochs         {cfg.BENCHMARK.REFERENCE_EPOCHS / 1:.4f}" in printed


def test_rerun_after_a_run_stopped_before_its_first_checkpoint_starts_a_clean_scorable_log(smoke_config, tmp_path):
    # What Ctrl-C before the first checkpoint leaves: a log with run_start and an aborted run_stop, no checkpoint.
    aborted = os.path.join(os.path.dirname(os.path.dirname(__file__)), "benchmark", "logs", "x3d_aborted", "mllog.txt")
    earlier = open(aborted).read()
    (tmp_path / "mllog.txt").write_text(earlier)
    (tmp_path / "metrics.jsonl").write_text("")
    cfg_file, _, cfg = smoke_config(
        "X3D_M", tmp_path, "BENCHMARK.TARGET_TOP1", "0.01", "BENCHMARK.STOP_AT_TARGET", "True", "TEST.ENABLE", "False"
    )
    summary = run_job(cfg, cfg_file)
    assert (tmp_path / "mllog.previous-1.txt").read_text() == earlier
    assert (tmp_path / "metrics.previous-1.jsonl").exists()
    recomputed = read_run(str(tmp_path))
    assert recomputed.problems == [] and recomputed.score == summary.score
    assert "the earlier run's log is kept as" in (tmp_path / "log.txt").read_text()

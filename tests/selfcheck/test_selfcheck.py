"""The self-check: its findings, its prediction arithmetic, selfcheck.json, and a later run comparing with it."""

import json
import os

import pytest

from slowfast.benchmark.prediction import predict_run, read_predicted_epoch_s, write_selfcheck
from slowfast.config import load_config
from slowfast.engine.run import run_job
from slowfast.selfcheck import probes
from slowfast.selfcheck.check import (
    environment_findings,
    format_report,
    measurement_findings,
    run_selfcheck,
    shm_need_mb,
)
from slowfast.utils.metrics import read_metrics, records_of

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICKSTART_X3D = os.path.join(REPO, "configs", "quickstart", "X3D_M.yaml")
SCORED_X3D = os.path.join(REPO, "configs", "X3D_M.yaml")
FACTS = {
    "cpu_count": 2,
    "shm_total_mb": 64,
    "gpus": [],
    "output_free_gb": 100.0,
    "data_filesystem": "ext4",
    "load_1min": 0.5,
    "torch_threads": 2,
}


def _by_check(findings):
    return {f["check"]: f for f in findings}


def test_docker_default_shm_and_too_many_workers_say_what_to_change():
    cfg = load_config(SCORED_X3D, ["NUM_GPUS", "0", "NUM_CPU_PROCESSES", "2", "DATA_LOADER.NUM_WORKERS", "8"])
    # 2 processes x 8 workers x prefetch 2 x 32 clips of 3 x 16 x 224 x 224 uint8 (normalised on the device).
    assert shm_need_mb(cfg, 2) == pytest.approx(2 * 8 * 2 * 32 * 3 * 16 * 224 * 224 / 2**20)
    findings = _by_check(environment_findings(cfg, FACTS))
    assert not findings["shared memory"]["ok"] and "--shm-size=" in findings["shared memory"]["fix"]
    assert not findings["cpu cores"]["ok"] and "DATA_LOADER.NUM_WORKERS 0" in findings["cpu cores"]["fix"]
    assert findings["machine load"]["ok"]
    roomy = _by_check(environment_findings(cfg, dict(FACTS, shm_total_mb=64_000, cpu_count=32)))
    assert roomy["shared memory"]["ok"] and roomy["cpu cores"]["ok"] and roomy["cpu cores"]["fix"] is None
    busy = _by_check(environment_findings(cfg, dict(FACTS, load_1min=8.0)))["machine load"]
    assert not busy["ok"] and "stop them before timing" in busy["fix"]


def test_slower_steps_that_did_not_wait_for_data_are_explained():
    # Observed on 2 cores: model 1.1 clips/s in memory, 0.5 fed by the loader, 0 % of the time waiting for data.
    cfg = load_config(QUICKSTART_X3D)
    measured = {
        "compute_clips_per_s": [1.1],
        "loader_clips_per_s": [3.0],
        "clips_per_step": 8,
        "step_s": 16.0,
        "data_wait_share": 0.0,
        "checkpoint_bytes": 1,
    }
    input_bound, verdict, _ = measurement_findings(cfg, FACTS, measured)
    assert not input_bound
    assert verdict.endswith(
        "0 % of the step time waited for data, yet fed by the loader the model trained 0.5 clips/s, not 1.1: its "
        "1 loader worker(s) shared the 2 cores with training"
    )
    _, unaffected, _ = measurement_findings(cfg, FACTS, dict(measured, step_s=8.0))  # 1.0 clips/s: within 80 %
    assert unaffected.endswith("0 % of the step time waited for data")


def test_prediction_from_measured_figures():
    cfg = load_config(QUICKSTART_X3D)  # 16 epochs, target after 3 epochs in the reference, t_ref 181.1 s
    measured = {"step_s": 0.25, "steps_per_epoch": 240, "eval_s": 3.0, "precise_bn_s": 1.0, "processes": 1}
    predicted = predict_run(cfg, measured)
    assert predicted["predicted_epoch_s"] == pytest.approx(0.25 * 240 + 3.0 + 1.0)
    assert predicted["predicted_run_s"] == pytest.approx(16 * 64.0)
    assert predicted["predicted_target_s"] == pytest.approx(3 * 64.0)
    assert predicted["predicted_score"] == pytest.approx(181.1 / 192.0)
    scored_cfg = load_config(SCORED_X3D, ["NUM_GPUS", "0", "TRAIN.BATCH_SIZE", "16", "TEST.BATCH_SIZE", "16"])
    scored = predict_run(scored_cfg, measured)  # the reference reached its target after its 20th epoch
    ref = scored_cfg.BENCHMARK
    assert scored["predicted_target_s"] == pytest.approx(ref.REFERENCE_EPOCHS * 64.0)
    assert scored["predicted_score"] == pytest.approx(
        ref.REFERENCE_TIME_S / (ref.REFERENCE_EPOCHS * 64.0) * ref.REFERENCE_NUM_GPUS / 1
    )


def test_unreadable_selfcheck_file_gives_no_prediction(tmp_path):
    assert read_predicted_epoch_s(str(tmp_path)) is None
    (tmp_path / "selfcheck.json").write_text("{not json")
    assert read_predicted_epoch_s(str(tmp_path)) is None
    write_selfcheck(str(tmp_path), {"predicted_epoch_s": 12.5})
    assert read_predicted_epoch_s(str(tmp_path)) == 12.5


@pytest.mark.slow
def test_selfcheck_writes_its_prediction_and_a_later_run_logs_epoch_time_beside_it(smoke_config, tmp_path):
    _, _, cfg = smoke_config("X3D_M", tmp_path / "run", "SOLVER.MAX_EPOCH", "1", "TEST.ENABLE", "False")
    record = run_selfcheck(cfg, budget_s=1.0)

    with open(tmp_path / "run" / "selfcheck.json") as f:
        written = json.load(f)
    for key in ("predicted_epoch_s", "predicted_run_s", "predicted_score", "input_bound", "findings"):
        assert key in written
    assert written["predicted_epoch_s"] > 0 and written["predicted_run_s"] == pytest.approx(
        written["predicted_epoch_s"]
    )  # one epoch, evaluated
    assert isinstance(written["input_bound"], bool)
    assert {"cpu cores", "disk"} <= {f["check"] for f in written["findings"]}
    measured = written["measured"]
    assert measured["steps_per_epoch"] == 3 and measured["clips_per_step"] == 8  # 24 videos, batch 8
    assert min(measured["compute_clips_per_s"]) > 0 and min(measured["loader_clips_per_s"]) > 0
    assert "prediction    epoch" in format_report(cfg, record)
    assert measured["implementation"].startswith(f"{cfg.BENCHMARK.IMPLEMENTATION}: ")
    assert f"implementation {measured['implementation']}" in format_report(cfg, record)

    run_job(cfg, os.path.join(REPO, "configs", "smoke", "X3D_M.yaml"))
    epochs = records_of(read_metrics(str(tmp_path / "run")), "train_epoch")
    assert epochs[0]["predicted_epoch_s"] == written["predicted_epoch_s"]
    assert epochs[0]["epoch_s"] >= epochs[0]["time"] - 1e-6  # train + evaluation, from the epoch's start at 0
    with open(tmp_path / "run" / "log.txt") as f:
        log_text = f.read()
    assert f"selfcheck predicted {written['predicted_epoch_s']:.1f} s" in log_text


def test_shm_estimate_counts_clips_not_videos():
    opts = ["NUM_GPUS", "0", "NUM_CPU_PROCESSES", "2", "DATA_LOADER.NUM_WORKERS", "8"]
    one = shm_need_mb(load_config(SCORED_X3D, opts + ["AUG.NUM_SAMPLE", "1"]), 2)
    assert shm_need_mb(load_config(SCORED_X3D, opts + ["AUG.NUM_SAMPLE", "2"]), 2) == pytest.approx(2 * one)


def test_the_selfcheck_chooses_the_implementation_as_the_run_does(monkeypatch, tmp_path):
    class Chosen(Exception):
        pass

    def choose(cfg, device, timed_by):
        raise Chosen(f"{device} {timed_by}")

    monkeypatch.setattr(probes, "choose_run_implementation", choose)
    # Before the model is built, with the run's own function, its choice kept for the run (implementation_choice).
    with pytest.raises(Chosen, match="cpu selfcheck"):
        probes.measure_job(load_config(QUICKSTART_X3D), str(tmp_path / "m.json"), budget_s=1.0)


@pytest.mark.parametrize(
    ("loader", "data_wait", "bound"), [(50.0, 0.4, True), (150.0, 0.02, False), (150.0, 0.3, True)]
)
def test_input_bound_verdict_is_the_runs_rule_on_the_measured_data_wait(loader, data_wait, bound):
    cfg = load_config(QUICKSTART_X3D)
    measured = {
        "compute_clips_per_s": [100.0],
        "loader_clips_per_s": [loader],
        "data_wait_share": data_wait,
        "checkpoint_bytes": 1,
        "clips_per_step": 8,
        "step_s": 0.08,  # fed by the loader at the model's own rate: no contention sentence
    }
    input_bound, verdict, _ = measurement_findings(cfg, dict(FACTS, output_free_gb=100.0), measured)
    assert input_bound is bound and verdict.startswith("INPUT-BOUND" if bound else "not input-bound")

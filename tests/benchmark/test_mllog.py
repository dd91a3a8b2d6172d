"""MLLOG round trip: events written by MLLog, read by the mlperf-logging parser, checked and scored."""

import os

import pytest

from slowfast.benchmark.clock import BenchmarkClock
from slowfast.benchmark.compliance import ComplianceVerdict, KeyChange
from slowfast.benchmark.log_check import check_mllog
from slowfast.benchmark.mllog import IMPLEMENTATION, MLLog, log_run_header, open_mllog, read_mllog
from slowfast.benchmark.result import QUICKSTART_LABEL, format_result_block
from slowfast.benchmark.run_reader import read_run
from slowfast.benchmark.run_result import RunResult, summarize_runs
from slowfast.config import get_cfg
from slowfast.utils.metrics import MetricsWriter


class FakeTime:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def scored_cfg(output_dir, quickstart=False):
    cfg = get_cfg()
    cfg.OUTPUT_DIR = str(output_dir)
    cfg.BENCHMARK.KIND = "cnn"
    cfg.BENCHMARK.TARGET_TOP1 = 16.75
    cfg.BENCHMARK.REFERENCE_TIME_S = 3657.96
    cfg.BENCHMARK.QUICKSTART = quickstart
    return cfg


def write_run(cfg, accuracies, world_size=4, verdict=None, seconds_per_epoch=600.0):
    """Drive MLLog and BenchmarkClock the way the engine does; return the clock."""
    verdict = verdict or ComplianceVerdict()
    fake = FakeTime()
    clock = BenchmarkClock(time_fn=fake)
    with open_mllog(cfg.OUTPUT_DIR, is_main_process=True) as log:
        log.event("init_start")
        fingerprint = {"train": {"videos": 40, "sha256": "ab"}, "val": {"videos": 10, "sha256": "cd"}}
        log_run_header(log, cfg, "X3D_M", world_size, verdict, fingerprint=fingerprint)
        log.event("init_stop")
        clock.start()
        log.run_start(clock.elapsed())
        for epoch, top1 in enumerate(accuracies):
            log.epoch_start(epoch, clock.elapsed())
            fake.now += seconds_per_epoch
            log.epoch_stop(epoch, clock.elapsed())
            log.eval_start(epoch, clock.elapsed())
            clock.record_eval(epoch, top1, cfg.BENCHMARK.TARGET_TOP1)
            log.eval_accuracy(epoch, top1, clock.evals[-1]["time_s"])
            log.eval_stop(epoch, clock.elapsed())
        log.run_stop("success" if clock.reached else "aborted", clock.elapsed())
    return clock


def test_round_trip_parsed_by_mlperf_logging(tmp_path):
    cfg = scored_cfg(tmp_path)
    clock = write_run(cfg, [5.0, 10.0, 17.0, 18.0], seconds_per_epoch=609.66)
    path = os.path.join(tmp_path, "mllog.txt")
    lines, errors = read_mllog(path)
    assert errors == []
    keys = [line.key for line in lines]
    for key in (
        "init_start",
        "init_stop",
        "run_start",
        "epoch_start",
        "epoch_stop",
        "eval_start",
        "eval_stop",
        "eval_accuracy",
        "run_stop",
        "global_batch_size",
        "seed",
        "target_accuracy",
        "num_accelerators",
        "submission_division",
        "train_samples",
        "eval_samples",
    ):
        assert key in keys
    assert keys.index("init_stop") < keys.index("run_start") < keys.index("run_stop")
    accuracy = [line for line in lines if line.key == "eval_accuracy"]
    assert [a.value["value"] for a in accuracy] == [5.0, 10.0, 17.0, 18.0]
    assert [a.value["metadata"]["epoch_num"] for a in accuracy] == [1, 2, 3, 4]
    assert check_mllog(path) == []

    result = read_run(str(tmp_path))
    assert result.t_bench_s == pytest.approx(clock.t_bench) == pytest.approx(3 * 609.66)
    assert result.epochs_to_target == clock.epochs_to_target == 3
    assert result.score == pytest.approx(3657.96 / (3 * 609.66))
    assert result.status == "success" and result.problems == []


def test_resumed_run_appends_and_still_passes(tmp_path):
    cfg = scored_cfg(tmp_path)
    first = write_run(cfg, [5.0, 10.0])  # crashed after its checkpoint of epoch 2 (clock at 1200 s)
    (tmp_path / "mllog.txt").write_text((tmp_path / "mllog.txt").read_text().rsplit("\n", 2)[0] + "\n")
    fake = FakeTime()
    clock = BenchmarkClock(time_fn=fake)
    with open_mllog(cfg.OUTPUT_DIR, is_main_process=True) as log:
        log.event("init_start")
        log_run_header(log, cfg, "X3D_M", 4, ComplianceVerdict())
        clock.load_state_dict(first.state_dict())
        log.event("init_stop")
        clock.start()
        log.run_resume(2, clock.elapsed())
        fake.now += 600.0
        clock.record_eval(2, 17.0, cfg.BENCHMARK.TARGET_TOP1)
        log.eval_accuracy(2, 17.0, clock.evals[-1]["time_s"])
        log.run_stop("success", clock.t_bench)
    assert check_mllog(str(tmp_path / "mllog.txt")) == []
    result = read_run(str(tmp_path))
    assert result.t_bench_s == pytest.approx(1800.0) and result.epochs_to_target == 3
    assert [e["epoch"] for e in result.evals] == [0, 1, 2]


def test_several_logs_in_one_process_stay_separate(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    write_run(scored_cfg(first), [20.0])
    write_run(scored_cfg(second), [1.0, 2.0], world_size=2)
    assert read_run(str(first)).n_gpu == 4 and len(read_run(str(first)).evals) == 1
    assert read_run(str(second)).n_gpu == 2 and len(read_run(str(second)).evals) == 2


def test_non_main_process_writes_nothing(tmp_path):
    log = open_mllog(str(tmp_path), is_main_process=False)
    log.event("init_start")
    log.run_stop("aborted", 0.0)
    assert not log.enabled and os.listdir(tmp_path) == []


def test_bad_status_is_refused(tmp_path):
    with MLLog(str(tmp_path / "mllog.txt")) as log, pytest.raises(ValueError, match="status"):
        log.run_stop("done", 1.0)


def test_checker_reports_missing_run_stop(tmp_path):
    path = tmp_path / "mllog.txt"
    with MLLog(str(path)) as log:
        log.event("init_start")
        log.run_start(0.0)
    problems = check_mllog(str(path))
    assert any("run_stop" in p for p in problems)
    assert any("target_accuracy" in p for p in problems)


def test_result_block_live_and_recomputed(tmp_path):
    cfg = scored_cfg(tmp_path)
    verdict = ComplianceVerdict(disallowed=[KeyChange("SOLVER.BASE_LR", 0.05, 0.1)])
    clock = write_run(cfg, [10.0, 20.0], verdict=verdict)
    live = RunResult.from_live_run(
        cfg, clock=clock, verdict=verdict, world_size=4, model_name="X3D_M", status="success"
    )
    block = format_result_block(live)
    assert "t_bench            1200.00 s" in block and "epochs to target   2" in block
    assert f"{3657.96 / 1200:.4f} (open division" in block
    assert "SOLVER.BASE_LR: 0.05 -> 0.1" in block
    recomputed = read_run(str(tmp_path))
    assert recomputed.changes == live.changes and recomputed.score == pytest.approx(live.score)
    for name in ("global_videos", "global_clips", "base_lr", "lr_factor", "reference_epochs"):
        assert getattr(recomputed, name) == getattr(live, name), name


def test_score_splits_into_epoch_time_epochs_and_gpus(tmp_path):
    cfg = scored_cfg(tmp_path)
    cfg.TRAIN.BATCH_SIZE, cfg.SOLVER.BASE_LR_BATCH_SIZE, cfg.SOLVER.BASE_LR = 16, 64, 0.05
    write_run(cfg, [10.0, 20.0], world_size=1)
    result = read_run(str(tmp_path))
    # 1200 s to target after 2 epochs on 1 GPU: 600 s per epoch against the reference's 3657.96 / 20.
    assert result.epoch_time_ratio == pytest.approx((3657.96 / 20) / 600.0)
    assert result.epochs_ratio == pytest.approx(10.0)
    assert result.epoch_time_ratio * result.epochs_ratio * 4 == pytest.approx(result.score)
    block = format_result_block(result)
    assert "x epochs         10.0000 (reference 20 epochs to target, this run 2)" in block
    assert "comes from faster convergence, not from the machine" in block
    assert "16 videos = 16 clips per step over 1 process(es) (16 videos each)" in block
    assert "base LR            0.0125 (x0.25 linear scaling with the global batch)" in block


def test_quickstart_is_labelled_and_scored_only_against_its_own_reference(tmp_path):
    cfg = scored_cfg(tmp_path, quickstart=True)
    write_run(cfg, [50.0])
    block = format_result_block(read_run(str(tmp_path)))
    assert QUICKSTART_LABEL in block
    assert f"score              {3657.96 / 600:.4f} (quick-start vs its CPU reference, not a benchmark score)" in block
    summary = summarize_runs([read_run(str(tmp_path))])
    assert summary["models"] == {} and summary["benchmark_score"] is None  # never in benchmark_score
    assert len(summary["quickstart"]["models"]["X3D_M"]["scores"]) == 1  # scored apart, against its reference
    missed = tmp_path / "missed"
    write_run(scored_cfg(missed, quickstart=True), [5.0])
    assert "score              none (quick-start, target not reached)" in format_result_block(read_run(str(missed)))


IMPLEMENTATION_EVENT = {
    "mode": "auto",
    "settings": [
        {"name": "channels_last", "value": True, "chosen_by": "auto: fastest timed candidate"},
        {"name": "compile", "value": False, "chosen_by": "auto: not a candidate on the CPU"},
        {"name": "cpu_threads", "value": 2, "chosen_by": "cores / local processes"},
    ],
    "candidates": [
        {"settings": {"channels_last": True, "compile": False}, "step_s": [0.5, 0.4], "median_s": 0.45},
        {"settings": {"channels_last": False, "compile": False}, "step_s": [0.9, 0.8], "median_s": 0.85},
    ],
    "versions": {"torch": "2.14.1", "cuda": "13.0", "cudnn": 92400, "nccl": None},
}


def _run_with_implementation_event(tmp_path, event):
    cfg = scored_cfg(tmp_path)
    with open_mllog(cfg.OUTPUT_DIR, is_main_process=True) as log:
        log.event("init_start")
        log_run_header(log, cfg, "X3D_M", 4, ComplianceVerdict())
        log.event(IMPLEMENTATION, event)
        log.event("init_stop")
        log.run_start(0.0)
        log.epoch_start(0, 0.0)
        log.epoch_stop(0, 10.0)
        log.eval_start(0, 10.0)
        log.eval_accuracy(0, 20.0, 12.0)
        log.eval_stop(0, 12.0)
        log.run_stop("success", 12.0)
    return str(tmp_path / "mllog.txt")


def test_implementation_event_is_read_back_and_shown(tmp_path):
    path = _run_with_implementation_event(tmp_path, IMPLEMENTATION_EVENT)
    assert check_mllog(path) == []
    result = read_run(str(tmp_path))
    assert result.implementation == IMPLEMENTATION_EVENT
    block = format_result_block(result)
    assert (
        "implementation     auto: channels_last on, compile off (fastest of 2 timed candidates); "
        "2 CPU thread(s) per process"
    ) in block
    assert "  versions         torch 2.14.1, CUDA 13.0, cuDNN 92400, NCCL -" in block


def test_implementation_event_without_how_chosen_fails_the_checker(tmp_path):
    event = {**IMPLEMENTATION_EVENT, "settings": [{"name": "channels_last", "value": True}]}
    problems = check_mllog(_run_with_implementation_event(tmp_path, event))
    assert any("implementation" in p for p in problems), problems


def test_a_run_without_a_target_is_timed_but_not_scored(tmp_path):
    # A PySlowFast YAML sets no BENCHMARK.TARGET_TOP1: 5 % top-1 must not count as reaching a 0 % target.
    cfg = get_cfg()
    cfg.OUTPUT_DIR = str(tmp_path)
    clock = write_run(cfg, [5.0, 7.0])
    assert not clock.reached and clock.t_bench is None
    result = read_run(str(tmp_path))
    assert not result.reached and result.score is None and result.t_bench_s is None and result.problems == []
    block = format_result_block(result).splitlines()
    assert block[4].startswith("target top-1       none: BENCHMARK.TARGET_TOP1 is not set, so the run is timed but")
    assert "reached            no (best top-1 7.00 % over 2 evaluations)" in block
    assert "score              none (no target set: not scored)" in block
    assert 'run status         ended without a target (mllog.txt run_stop status "aborted")' in block


def _epoch_record(epoch, share):
    return {
        "epoch": epoch,
        "loss": 1.0,
        "top1": 10.0,
        "lr": 0.1,
        "clips_per_s": 50.0,
        "data_wait_share": share,
        "first_batch_wait_s": 1.0,
        "steady_clips_per_s": 50.0,
        "steady_data_wait_share": share,
        "bad_videos": 0,
        "recompilations": 0,
        "memory_mb": 900.0,
        "epoch_s": 600.0,
        "predicted_epoch_s": None,
        "time": 600.0 * (epoch + 1),
    }


def test_input_bound_share_is_read_back_shown_and_advised(tmp_path):
    cfg = scored_cfg(tmp_path)
    clock = write_run(cfg, [10.0, 20.0])
    writer = MetricsWriter(str(tmp_path), True, None)
    for epoch, share in enumerate((0.28, 0.36)):
        writer.write("train_epoch", _epoch_record(epoch, share), step=epoch + 1)
    writer.close()
    result = read_run(str(tmp_path))
    assert result.data_wait_shares == [0.28, 0.36]
    block = format_result_block(result)
    assert "input-bound        32 % waiting for data (epochs 28-36 %): input-bound; try more DATA_LOADER" in block
    live = RunResult.from_live_run(
        cfg, clock=clock, verdict=ComplianceVerdict(), world_size=4, model_name="X3D_M", data_wait_shares=[0.02]
    )
    assert "input-bound        2 % waiting for data (epochs 2-2 %): the accelerators set the pace" in (
        format_result_block(live)
    )

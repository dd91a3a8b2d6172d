"""tools/gpu_check.py on the CPU: its short real runs, on the smoke configs, print the summary a GPU user reads."""

import os

import pytest

from slowfast.suite import gpu_check

pytestmark = pytest.mark.slow  # end-to-end runs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_short_runs_report_throughput_waiting_memory_recompilations_and_precision(tmp_path):
    configs = [os.path.join(ROOT, "configs", "smoke", f"{name}.yaml") for name in ("X3D_M", "MVIT_B_16x4")]
    # A small data set (4 classes: 16 train, 4 val videos of 1.2 s) and one timed step per auto candidate.
    small = ["DATA.SYNTHETIC.WIDTH", "64", "DATA.SYNTHETIC.HEIGHT", "48", "DATA.SYNTHETIC.SECONDS", "1.2"]
    small += ["MODEL.NUM_CLASSES", "4", "BENCHMARK.AUTO_STEPS", "1", "BENCHMARK.AUTO_BUDGET_S", "2"]
    runs = gpu_check.run_gpu_check(
        configs, data_dir=str(tmp_path / "data"), output_dir=str(tmp_path / "out"), gpus=0, opts=small
    )
    assert [run.name for run in runs] == ["X3D_M", "MVIT_B_16x4"]
    for run in runs:
        s = run.summary
        assert s["clips_per_s"] > 0 and 0.0 <= s["data_wait_share"] <= 1.0 and s["memory_mb"] > 0
        assert s["first_batch_wait_s"] > 0  # the loader's start, shown apart from the steady figures
        assert s["recompilations"] == 0
        assert (
            s["implementation"].startswith("auto: ")
            and "precision: cuDNN TF32 off, matmul highest" in (s["implementation"])
        )
        line = gpu_check.format_summary(run)
        assert line.startswith(run.name) and "clips/s" in line and "recompilations 0" in line
        assert f"(first batch {s['first_batch_wait_s']:.1f} s)" in line
        # A check run is not a score: no result block (compliance, "target not reached") above the summary.
        log = open(os.path.join(run.run_dir, "log.txt")).read()
        assert "epoch 1/1 eval: top1" in log and "\ntarget top-1       " not in log


@pytest.mark.parametrize("name", ["X3D_M", "MVIT_B_16x4"])
def test_the_scored_configs_shortened_to_one_epoch_pass_the_config_checks(name, tmp_path):
    # load_config runs every config check: the warm-up shrinks with the schedule (2.33 of 20 epochs failed before).
    cfg_file = os.path.join(ROOT, "configs", f"{name}.yaml")
    cfg = gpu_check.check_config(cfg_file, data_dir=str(tmp_path / "data"), output_dir=str(tmp_path), gpus=1, opts=[])
    scored = gpu_check.load_config(cfg_file)
    assert cfg.SOLVER.MAX_EPOCH == 1
    assert cfg.SOLVER.WARMUP_EPOCHS / cfg.SOLVER.MAX_EPOCH == scored.SOLVER.WARMUP_EPOCHS / scored.SOLVER.MAX_EPOCH
    assert cfg.BENCHMARK.IMPLEMENTATION == "auto"
    assert cfg.TRAIN.BATCH_SIZE == {"X3D_M": 64, "MVIT_B_16x4": 48}[name] // 4  # the reference's videos per GPU

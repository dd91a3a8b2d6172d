"""The GPU paths of a real run, on the CPU where meaningful and on CUDA when present: compile warmed up before
the clock and never recompiling, resume on the device, DDP with compile, auto past a failing candidate, and the
train loader decoding on the GPU (NVDEC)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from slowfast.datasets.decoder import check_backend
from slowfast.datasets.loader import build_loader, set_loader_epoch
from slowfast.datasets.video_reader import DecoderUnavailableError
from slowfast.engine import implementation as impl_mod
from slowfast.engine.run import run_job
from slowfast.utils.metrics import read_metrics, records_of

pytestmark = [pytest.mark.gpu, pytest.mark.slow]  # real runs

REPO = Path(__file__).resolve().parents[2]
HANG_GUARD_S = 400


def _device_opts(device):
    """CUDA: one GPU, compiled (compile on the CPU takes minutes, so the CPU case runs the rest eagerly)."""
    if device.type == "cuda":
        return ["NUM_GPUS", "1", "BENCHMARK.IMPLEMENTATION", "config", "MODEL.COMPILE", "True"]
    return ["NUM_GPUS", "0", "BENCHMARK.IMPLEMENTATION", "reference"]


def test_run_warms_up_never_recompiles_and_resumes_on_the_device(device, smoke_config, tmp_path):
    opts = [*_device_opts(device), "TEST.ENABLE", "False"]
    cfg_file, _, cfg = smoke_config("X3D_M", tmp_path, *opts, "SOLVER.MAX_EPOCH", "1")
    run_job(cfg, cfg_file)
    _, _, resumed = smoke_config("X3D_M", tmp_path, *opts, "SOLVER.MAX_EPOCH", "2")
    run_job(resumed, cfg_file)  # resumes from epoch 1's checkpoint on the device
    epochs = records_of(read_metrics(str(tmp_path), strict=True), "train_epoch")
    assert [r["epoch"] for r in epochs] == [0, 1]
    assert [r["recompilations"] for r in epochs] == [0, 0]  # the warm-up compiled every shape before the clock
    with open(tmp_path / "mllog.txt") as f:
        assert '"key": "run_resume"' in f.read()
    if device.type == "cuda":
        with open(tmp_path / "log.txt") as f:
            assert "warm-up before the clock" in f.read()


def test_two_gpu_ddp_run_with_compile(device, smoke_config, tmp_path):
    if device.type == "cpu":
        pytest.skip("compile on the CPU takes minutes; tests/engine covers 2-process gloo runs")
    if torch.cuda.device_count() < 2:
        pytest.skip(f"DDP over NCCL needs 2 GPUs; {torch.cuda.device_count()} visible")
    extra = ["NUM_GPUS", "2", "BENCHMARK.IMPLEMENTATION", "config", "MODEL.COMPILE", "True", "SOLVER.MAX_EPOCH", "1"]
    cfg_file, opts, _ = smoke_config("X3D_M", tmp_path / "out", *extra, "TEST.ENABLE", "False")
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR")}
    done = subprocess.run(
        [sys.executable, str(REPO / "tools" / "run_net.py"), "--cfg", cfg_file, *opts],
        env=dict(env, PYTHONPATH=str(REPO)),
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    epochs = records_of(read_metrics(str(tmp_path / "out"), strict=True), "train_epoch")
    assert [r["recompilations"] for r in epochs] == [0]


def test_auto_goes_on_past_a_failing_candidate_on_the_device(device, smoke_config, tmp_path, monkeypatch):
    real = impl_mod.time_train_steps

    def failing(cfg, settings, *args, **kwargs):
        if settings["channels_last"]:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(cfg, settings, *args, **kwargs)

    monkeypatch.setattr(impl_mod, "time_train_steps", failing)
    opts = ["BENCHMARK.IMPLEMENTATION", "auto", "BENCHMARK.AUTO_STEPS", "1", "TRAIN.BATCH_SIZE", "2"]
    _, _, cfg = smoke_config("X3D_M", tmp_path, *_device_opts(device)[:2], *opts)
    impl = impl_mod.choose_implementation(cfg, device)
    failed = [c for c in impl.candidates if "failed" in c]
    assert failed and all("OutOfMemoryError" in c["failed"][0] for c in failed)
    assert impl.settings["channels_last"] is False
    assert any(c.get("median_s", 0) > 0 for c in impl.candidates)


def test_train_loader_decodes_on_the_gpu(device, smoke_config, tmp_path):
    try:
        check_backend("torchcodec", device.type)
    except DecoderUnavailableError as error:
        pytest.skip(f"torchcodec on {device.type}: {error}")
    opts = ["DATA.DECODING_BACKEND", "torchcodec", "DATA.DECODING_DEVICE", device.type]
    _, _, cfg = smoke_config("X3D_M", tmp_path, *opts, "DATA_LOADER.NUM_WORKERS", "2", "TRAIN.BATCH_SIZE", "4")
    loader = build_loader(cfg, "train", rank=0, world_size=1)
    set_loader_epoch(loader, 0)
    inputs, labels, _, meta = next(iter(loader))
    assert meta["valid"].all() and not meta["bad_paths"]  # every clip decoded, none counted bad
    crop = cfg.DATA.TRAIN_CROP_SIZE
    assert inputs[0].shape == (4, 3, cfg.DATA.NUM_FRAMES, crop, crop) and labels.shape == (4,)

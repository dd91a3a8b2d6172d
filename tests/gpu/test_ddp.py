"""A 2-process DDP train step: NCCL on 2 GPUs, gloo on the CPU; the replicas end with identical weights."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytestmark = [pytest.mark.gpu, pytest.mark.slow]  # a 2-process job

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("ddp_job.py")
HANG_GUARD_S = 240


@pytest.mark.timeout(HANG_GUARD_S + 30)
def test_two_process_ddp_step_keeps_replicas_identical(device, tmp_path):
    if device.type == "cuda" and torch.cuda.device_count() < 2:
        pytest.skip(f"NCCL DDP needs 2 GPUs; {torch.cuda.device_count()} visible")
    opts = ["NUM_GPUS", "2"] if device.type == "cuda" else ["NUM_GPUS", "0", "NUM_CPU_PROCESSES", "2"]
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR")}
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path), *opts],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert [r["backend"] for r in records] == ["nccl" if device.type == "cuda" else "gloo"] * 2
    assert all(r["world_size"] == 2 for r in records)
    assert records[0]["before"] == records[1]["before"]  # same initial weights ...
    assert records[0]["loss"] != records[1]["loss"]  # ... different clips ...
    assert records[0]["after"] == records[1]["after"] != records[0]["before"]  # ... one averaged update

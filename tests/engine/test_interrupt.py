"""Ctrl-C during training: one line naming where a rerun resumes, an aborted run_stop in mllog.txt, exit 130."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from slowfast.utils.metrics import read_metrics, records_of

RUN_NET = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "tools", "run_net.py"
)
INTERRUPT_LINE = "interrupted after epoch 1; rerun the same command to resume"


def _second_epoch_started(output_dir):
    # The run is still writing: a last line without its newline does not parse and is skipped.
    return any(r["epoch"] == 1 for r in records_of(read_metrics(str(output_dir)), "train_iter", "epoch"))


def _interrupt_during_second_epoch(command, output_dir):
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while not _second_epoch_started(output_dir):
        assert process.poll() is None and time.time() < deadline, "run ended before it could be interrupted"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    return process.returncode, stdout, stderr


def _run_stops(output_dir):
    with open(os.path.join(output_dir, "mllog.txt")) as f:
        return [json.loads(line.split(":::MLLOG ", 1)[1]) for line in f if '"run_stop"' in line]


@pytest.mark.slow
@pytest.mark.parametrize("processes", [1, 2])
def test_ctrl_c_during_training_prints_one_line_logs_aborted_and_exits_130(smoke_config, tmp_path, processes):
    output_dir = tmp_path / "run"
    cfg_file, opts, _ = smoke_config(
        "MVIT_B_16x4", output_dir, "LOG_PERIOD", "1", "TEST.ENABLE", "False", "NUM_CPU_PROCESSES", str(processes)
    )
    status, _, stderr = _interrupt_during_second_epoch([sys.executable, RUN_NET, "--cfg", cfg_file, *opts], output_dir)

    assert status == 130
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert [line for line in stderr.splitlines() if "interrupted" in line] == [INTERRUPT_LINE], stderr
    stops = _run_stops(output_dir)
    assert [stop["metadata"]["status"] for stop in stops] == ["aborted"]

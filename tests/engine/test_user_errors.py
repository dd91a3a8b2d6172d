"""Mistakes a user can make end in one ``error:`` line with the fix, no traceback, exit status 1."""

import os
import subprocess
import sys

import pytest
import torch
from tools_in_process import REPO, run_net

SMOKE_X3D = os.path.join(REPO, "configs", "smoke", "X3D_M.yaml")
DIST_JOB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dist_job.py")


def _run(capsys, *argv):
    status = run_net.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.err.splitlines()


def test_yaml_syntax_error_is_one_line_naming_file_and_line(capsys, tmp_path):
    cfg_file = tmp_path / "broken.yaml"
    cfg_file.write_text("SOLVER:\n  BASE_LR: [0.1\nNUM_GPUS: 0\n")
    status, lines = _run(capsys, "--cfg", str(cfg_file))
    assert status == 1
    assert len(lines) == 1 and lines[0].startswith(f"error: {cfg_file}, line 3, column 9: YAML syntax error")


def test_override_below_a_value_key_names_the_key(capsys):
    status, lines = _run(capsys, "--cfg", SMOKE_X3D, "NUM_GPUS.X", "1")
    assert status == 1
    assert lines == [
        "error: command-line override NUM_GPUS.X: NUM_GPUS is a value, not a group of keys; "
        "write NUM_GPUS VALUE (keys are listed in slowfast/config/defaults.py)"
    ]


def test_missing_config_file_is_one_line(capsys, tmp_path):
    status, lines = _run(capsys, "--cfg", str(tmp_path / "nope.yaml"))
    assert status == 1 and lines == [f"error: config file not found: {tmp_path / 'nope.yaml'}: check the --cfg path"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without GPUs")
def test_gpus_asked_for_on_a_machine_without_them_is_one_line_with_the_cpu_fix(capsys, tiny_kinetics, tmp_path):
    status, lines = _run(
        capsys,
        "--cfg",
        SMOKE_X3D,
        "NUM_GPUS",
        "4",
        "MODEL.NUM_CLASSES",
        "4",
        "DATA.PATH_TO_DATA_DIR",
        tiny_kinetics,
        "DATA.PATH_PREFIX",
        tiny_kinetics,
        "OUTPUT_DIR",
        str(tmp_path / "run"),
    )
    assert status == 1
    assert lines == [
        "error: config key NUM_GPUS = 4 asks for GPUs, but CUDA is not available here. To train on "
        "the CPU pass NUM_GPUS 0 (and NUM_CPU_PROCESSES N for N processes)."
    ]


def test_debug_flag_shows_the_traceback_of_a_user_error(capsys):
    status, lines = _run(capsys, "--debug", "--cfg", SMOKE_X3D, "NUM_GPUS.X", "1")
    assert status == 1
    assert lines[0] == "Traceback (most recent call last):" and lines[-1].startswith("error: command-line override")


@pytest.mark.slow
def test_user_error_inside_a_spawned_worker_is_one_line_without_traceback(tmp_path):
    done = subprocess.run(
        [sys.executable, DIST_JOB, "user_error", str(tmp_path), "NUM_GPUS", "0", "NUM_CPU_PROCESSES", "2"],
        env=dict(os.environ, PYTHONPATH=REPO),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr, done.stderr
    assert [line for line in done.stderr.splitlines() if line.startswith("error:")] == [
        "error: rank 1 found a problem the user can fix"
    ]


def test_run_net_warns_on_a_busy_machine(capsys, monkeypatch, tiny_kinetics, tmp_path):
    monkeypatch.setattr(os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    launched = []
    # run_net imports the engine after the config check, from slowfast.engine.launch
    monkeypatch.setattr("slowfast.engine.launch.launch_job", lambda *args: launched.append(args))
    data = ["DATA.PATH_TO_DATA_DIR", tiny_kinetics, "DATA.PATH_PREFIX", tiny_kinetics, "MODEL.NUM_CLASSES", "4"]
    status = run_net.main(["--cfg", SMOKE_X3D, *data, "TRAIN.ENABLE", "False", "OUTPUT_DIR", str(tmp_path / "run")])
    assert status == 0 and len(launched) == 1
    assert "warning: load average 9.0 on 2 cores: other processes compete" in capsys.readouterr().err

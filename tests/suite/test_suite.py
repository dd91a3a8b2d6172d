"""tools/run_benchmark.py: the run plan, "finished" read from each run's mllog.txt, and interrupt-and-continue."""

import os
import signal
import subprocess
import sys
import time

import pytest

from slowfast.benchmark.mllog import MLLog
from slowfast.config import ConfigError
from slowfast.suite.runner import check_overrides, plan_runs, run_state
from slowfast.utils.metrics import read_metrics, records_of

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOGS = os.path.join(REPO, "tests", "benchmark", "logs")
SMOKE = [os.path.join(REPO, "configs", "smoke", f"{name}.yaml") for name in ("X3D_M", "MVIT_B_16x4")]


def _log(path, *events):
    """Write mllog events: ("run_start",), ("run_resume", epoch), ("epoch", epoch), ("run_stop", status)."""
    log = MLLog(str(path / "mllog.txt"))
    log.event("epoch_count", 3)
    for event in events:
        if event[0] == "run_start":
            log.run_start(0.0)
        elif event[0] == "run_resume":
            log.run_resume(event[1], 1.0)
        elif event[0] == "epoch":
            log.epoch_stop(event[1], 1.0)
        else:
            log.run_stop(event[1], 2.0)
    log.close()


def test_run_state_comes_from_the_runs_own_log(tmp_path):
    assert run_state(str(tmp_path / "never_started")) == "new"
    assert run_state(os.path.join(LOGS, "x3d_4gpu_a")) == "finished"  # run_stop success
    cases = {
        "killed": [("run_start",), ("epoch", 0)],  # no run_stop
        "crashed": [("run_start",), ("epoch", 0), ("run_stop", "aborted")],  # aborted mid-way
        "all_epochs": [("run_start",), ("epoch", 0), ("epoch", 1), ("epoch", 2), ("run_stop", "aborted")],
        "killed_after_resume": [("run_start",), ("epoch", 0), ("run_stop", "aborted"), ("run_resume", 1)],
        "resumed_to_success": [("run_start",), ("run_stop", "aborted"), ("run_resume", 1), ("run_stop", "success")],
    }
    states = {}
    for name, events in cases.items():
        (tmp_path / name).mkdir()
        _log(tmp_path / name, *events)
        states[name] = run_state(str(tmp_path / name))
    assert states == {
        "killed": "interrupted",
        "crashed": "interrupted",
        "all_epochs": "finished",
        "killed_after_resume": "interrupted",
        "resumed_to_success": "finished",
    }


def test_plan_and_overrides():
    runs = plan_runs(SMOKE, 2, "out")
    assert [(r.model, r.index, r.output_dir) for r in runs] == [
        ("X3D_M", 1, os.path.join("out", "X3D_M", "run_1")),
        ("X3D_M", 2, os.path.join("out", "X3D_M", "run_2")),
        ("MVIT_B_16x4", 1, os.path.join("out", "MVIT_B_16x4", "run_1")),
        ("MVIT_B_16x4", 2, os.path.join("out", "MVIT_B_16x4", "run_2")),
    ]
    with pytest.raises(ConfigError, match="--out"):
        check_overrides(SMOKE, ["OUTPUT_DIR", "x"])
    with pytest.raises(ConfigError, match="NO_SUCH_KEY"):
        check_overrides(SMOKE, ["NO_SUCH_KEY", "1"])


def _benchmark(out, data):
    return [
        sys.executable,
        os.path.join(REPO, "tools", "run_benchmark.py"),
        "--configs",
        *SMOKE,
        "--out",
        str(out),
        "DATA.PATH_TO_DATA_DIR",
        data,
        "DATA.PATH_PREFIX",
        data,
        "MODEL.NUM_CLASSES",
        "4",
        "SOLVER.MAX_EPOCH",
        "2",
        "TEST.ENABLE",
        "False",
        "LOG_PERIOD",
        "1",
        "LOG_MODEL_INFO",  # the FLOP count costs each run a second
        "False",
    ]


def _has_second_epoch(run_dir):
    # The run is still writing: a last line without its newline does not parse and is skipped.
    return any(r["epoch"] == 1 for r in records_of(read_metrics(str(run_dir)), "train_iter", "epoch"))


@pytest.mark.slow
def test_interrupted_benchmark_continues_when_rerun(tiny_kinetics, tmp_path):
    out = tmp_path / "bench"
    x3d, mvit = out / "X3D_M" / "run_1", out / "MVIT_B_16x4" / "run_1"
    command = _benchmark(out, tiny_kinetics)
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    # Kill the whole benchmark (itself and its run) while the first run trains its second epoch.
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.time() + 600
    while not _has_second_epoch(x3d):
        assert process.poll() is None and time.time() < deadline, "the first run ended before it could be killed"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    assert run_state(str(x3d)) == "interrupted" and run_state(str(mvit)) == "new"

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert "run 1/2: X3D_M run 1" in rerun.stdout and "(resuming;" in rerun.stdout
    with open(x3d / "log.txt") as f:
        assert "resumed from" in f.read()
    assert run_state(str(x3d)) == run_state(str(mvit)) == "finished"
    assert "QUICK-START BENCHMARK" in rerun.stdout and f"report             {out}/report.html" in rerun.stdout
    assert (out / "report.html").is_file() and (x3d / "report.html").is_file() and (mvit / "report.html").is_file()

    mllog_sizes = [os.path.getsize(d / "mllog.txt") for d in (x3d, mvit)]
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0
    assert again.stdout.count("finished earlier, kept") == 2
    assert [os.path.getsize(d / "mllog.txt") for d in (x3d, mvit)] == mllog_sizes  # nothing ran again

"""tools/run_benchmark.py: the run plan and "finished" read from each run's mllog.txt (a benchmark killed and rerun:
tests/suite/test_leaderboard.py)."""

import os

import pytest

from slowfast.benchmark.mllog import MLLog
from slowfast.config import ConfigError
from slowfast.suite.runner import QUICKSTART_CONFIGS, check_overrides, default_configs, plan_runs, run_state

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


def test_the_default_configs_missing_from_another_folder_name_the_repository_root(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    assert default_configs(quickstart=True) == QUICKSTART_CONFIGS
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"configs/X3D_M.yaml is not in .*: run tools/run_benchmark.py from the"):
        default_configs(quickstart=False)

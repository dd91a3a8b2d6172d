"""A plain run folder read as a one-run bundle: verified like a bundle, on the hand-written run in logs/."""

import json
import os
import shutil

import pytest

from slowfast.benchmark.bundle import read_run_folder

RUN = os.path.join(os.path.dirname(__file__), "logs", "x3d_run_folder")


def _copy(tmp_path):
    run = str(tmp_path / "run")
    shutil.copytree(RUN, run)
    return run


def _edit(path, old, new):
    with open(path) as f:
        text = f.read()
    assert old in text
    with open(path, "w") as f:
        f.write(text.replace(old, new, 1))


def test_a_run_folder_is_a_verified_one_run_bundle_with_its_input_wait():
    bundle = read_run_folder(RUN)
    assert bundle.problems == [] and bundle.path == RUN
    assert bundle.system["system_name"] == "hand box" and bundle.fingerprint["digest"] == "0123456789abcdef" * 4
    (result,) = bundle.results
    assert result.model == "X3D_M" and result.score == pytest.approx(2.0)
    x3d = bundle.scores["models"]["X3D_M"]
    assert x3d["valid"] and not x3d["comparable"] and x3d["score"] == pytest.approx(2.0)
    assert bundle.scores["benchmark_score"] is None  # one model only
    assert bundle.data_wait_shares == [pytest.approx(0.2)]  # mean of the train epochs' 0.1, 0.2, 0.3, 0.2, 0.2


def test_an_edited_log_is_rejected_naming_the_file_and_the_rule(tmp_path):
    run = _copy(tmp_path)
    _edit(
        os.path.join(run, "mllog.txt"), '"key": "eval_accuracy", "value": 9.50', '"key": "eval_accuracy", "value": 12.0'
    )
    problems = read_run_folder(run).problems
    assert any(p.startswith("mllog.txt: eval_accuracy matches metrics.jsonl") and "12.0" in p for p in problems)


def test_a_system_description_that_disagrees_with_the_log_is_rejected(tmp_path):
    run = _copy(tmp_path)
    path = os.path.join(run, "system.json")
    with open(path) as f:
        system = json.load(f)
    with open(path, "w") as f:
        json.dump({**system, "accelerators_per_node": 8}, f)
    problems = read_run_folder(run).problems
    assert any("system accelerators_per_node: the log says 1, the bundle 8" in p for p in problems), problems


def test_a_run_folder_without_system_json_or_fingerprint_is_rejected(tmp_path):
    run = _copy(tmp_path)
    os.remove(os.path.join(run, "system.json"))
    assert read_run_folder(run).problems == ["system.json is missing: runs of this version write it at start-up"]
    run = str(tmp_path / "run2")
    shutil.copytree(RUN, run)
    _edit(os.path.join(run, "mllog.txt"), '"key": "dataset_fingerprint"', '"key": "dataset_fingerprint_x"')
    assert any("no dataset_fingerprint event in the log" in p for p in read_run_folder(run).problems)

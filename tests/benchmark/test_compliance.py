"""Compliance verdicts against an official config built from get_cfg() and a small YAML."""

import pytest

from slowfast.benchmark.compliance import (
    KeyChange,
    check_compliance,
    load_official_config,
    official_config_path,
)
from slowfast.config import load_config

OFFICIAL_YAML = """\
BENCHMARK:
  KIND: cnn
  TARGET_TOP1: 16.75
  REFERENCE_TIME_S: 3657.96
  REFERENCE_NUM_GPUS: 4
TRAIN:
  BATCH_SIZE: 64
TEST:
  BATCH_SIZE: 64
SOLVER:
  BASE_LR: 0.05
  MAX_EPOCH: 20
DATA:
  PATH_TO_DATA_DIR: data/kinetics20
DATA_LOADER:
  NUM_WORKERS: 32
NUM_GPUS: 4
"""


@pytest.fixture
def official_path(tmp_path):
    path = tmp_path / "X3D_M.yaml"
    path.write_text(OFFICIAL_YAML)
    return str(path)


def verdict_for(official_path, opts):
    run_cfg = load_config(official_path, opts, world_size=None)
    return check_compliance(run_cfg, load_official_config(official_path))


def test_unchanged_config_is_compliant(official_path):
    verdict = verdict_for(official_path, [])
    assert verdict.compliant and verdict.division == "closed"
    assert verdict.allowed == [] and verdict.disallowed == []


def test_resource_changes_are_compliant(official_path):
    verdict = verdict_for(
        official_path,
        [
            "NUM_GPUS",
            "2",
            "TRAIN.BATCH_SIZE",
            "32",
            "DATA_LOADER.NUM_WORKERS",
            "8",
            "OUTPUT_DIR",
            "/tmp/elsewhere",
            "RNG_SEED",
            "3",
        ],
    )
    assert verdict.compliant
    allowed = {c.key for c in verdict.allowed}
    assert allowed == {"NUM_GPUS", "TRAIN.BATCH_SIZE", "DATA_LOADER.NUM_WORKERS", "OUTPUT_DIR", "RNG_SEED"}
    assert verdict.describe() == "compliant (closed division)"


def test_implementation_settings_are_compliant(official_path):
    changes = [
        "BENCHMARK.IMPLEMENTATION",
        "reference",
        "MODEL.CHANNELS_LAST",
        "False",
        "MVIT.FUSED_ATTENTION",
        "False",
        "X3D.FAST_CHANNELWISE_BACKWARD",
        "False",
        "X3D.FAST_CHANNELWISE_WEIGHT_GRAD",
        "False",
        "MVIT.FAST_CHANNELWISE_BACKWARD",
        "False",
        "MODEL.COMPILE",
        "True",
        "MODEL.CUDNN_BENCHMARK",
        "False",
        "BENCHMARK.AUTO_BUDGET_S",
        "5",
    ]
    verdict = verdict_for(official_path, changes)
    assert verdict.compliant and verdict.disallowed == []
    assert {c.key for c in verdict.allowed} == set(changes[::2])
    assert {c.reason for c in verdict.allowed} == {"implementation setting"}


def test_changed_learning_rate_is_open_division_and_named(official_path):
    verdict = verdict_for(official_path, ["SOLVER.BASE_LR", "0.1"])
    assert not verdict.compliant and verdict.division == "open"
    assert [c.key for c in verdict.disallowed] == ["SOLVER.BASE_LR"]
    message = verdict.describe()
    assert "SOLVER.BASE_LR" in message and "0.05" in message and "0.1" in message
    assert message.startswith("NON-COMPLIANT (open division)")


def test_batch_kept_per_gpu_is_compliant(official_path):
    # Reference: 64 clips on 4 GPUs = 16 per GPU; 16 clips on 1 GPU keeps that.
    verdict = verdict_for(official_path, ["NUM_GPUS", "1", "TRAIN.BATCH_SIZE", "16", "TEST.BATCH_SIZE", "16"])
    assert verdict.compliant
    assert "TRAIN.BATCH_SIZE" in {c.key for c in verdict.allowed}


def test_batch_changed_per_gpu_is_not_compliant(official_path):
    verdict = verdict_for(official_path, ["NUM_GPUS", "1", "TRAIN.BATCH_SIZE", "32"])
    assert not verdict.compliant
    (change,) = verdict.disallowed
    assert change.key == "TRAIN.BATCH_SIZE" and (change.official, change.run) == (64, 32)
    assert "32 videos per process" in change.line() and "set TRAIN.BATCH_SIZE 16" in change.line()


def test_global_batch_kept_on_fewer_gpus_is_open_division_and_names_the_fix(official_path):
    # 64 videos on 1 GPU would be 4x the reference's work per GPU step: another problem, not another machine.
    verdict = verdict_for(official_path, ["NUM_GPUS", "1"])
    assert not verdict.compliant
    (change,) = verdict.disallowed
    assert change.key == "TRAIN.BATCH_SIZE" and "set TRAIN.BATCH_SIZE 16" in change.line()
    # The value itself did not change: the text must not read as a change of it.
    assert change.line().startswith("TRAIN.BATCH_SIZE: 64 unchanged (64 videos per process on 1 process(es)")
    assert KeyChange.from_dict(change.as_dict()).line() == change.line()  # as score.py reads it back from the log


def test_global_batch_kept_on_more_gpus_is_open_division(official_path):
    verdict = verdict_for(official_path, ["NUM_GPUS", "8"])
    assert not verdict.compliant and "set TRAIN.BATCH_SIZE 128" in verdict.describe()


def test_ignored_pyslowfast_key_keeps_the_run_compliant_and_is_named(official_path):
    verdict = verdict_for(official_path, ["SOLVER.BASE_LR_SCALE_NUM_SHARDS", "True"])
    assert verdict.compliant
    (change,) = verdict.allowed
    assert change.key == "SOLVER.BASE_LR_SCALE_NUM_SHARDS" and change.reason.startswith("ignored")


def test_official_config_path_prefers_benchmark_key(official_path):
    cfg = load_config(official_path, ["BENCHMARK.OFFICIAL_CONFIG", "configs/X3D_M.yaml"])
    assert official_config_path(cfg, official_path) == "configs/X3D_M.yaml"
    assert official_config_path(load_config(official_path), official_path) == official_path


def test_keys_that_define_the_benchmark_are_named_even_when_the_yaml_itself_sets_them(tmp_path):
    # A PySlowFast YAML run as its own official config: evaluating every 10th epoch and starting from weights.
    pyslowfast = tmp_path / "X3D_M.yaml"
    extra = "TRAIN:\n  EVAL_PERIOD: 10\n  CHECKPOINT_FILE_PATH: x3d_m.pyth\n"
    pyslowfast.write_text(OFFICIAL_YAML.replace("TRAIN:\n", extra, 1))
    verdict = verdict_for(str(pyslowfast), [])
    assert not verdict.compliant
    assert [c.key for c in verdict.disallowed] == ["TRAIN.CHECKPOINT_FILE_PATH", "TRAIN.EVAL_PERIOD"]
    assert verdict.disallowed[1].line().startswith("TRAIN.EVAL_PERIOD: 1 -> 10 (the clock stops only at an evaluation")

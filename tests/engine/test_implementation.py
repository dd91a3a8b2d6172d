"""BENCHMARK.IMPLEMENTATION: the settings each mode picks, auto's timings and budget, the mllog event and the
result block of a smoke run in every mode."""

import itertools
import json
import logging
import os

import pytest
import torch
from mlperf_logging.mllog import constants

from slowfast.benchmark.log_check import check_mllog
from slowfast.benchmark.mllog import IMPLEMENTATION, describe_implementation
from slowfast.benchmark.result import format_result_block
from slowfast.benchmark.run_reader import read_run
from slowfast.config import ConfigError
from slowfast.config.keys import IMPLEMENTATION_KEYS
from slowfast.engine import implementation as impl_mod
from slowfast.engine.run import run_job
from slowfast.utils.metrics import read_metrics, records_of

CPU = torch.device("cpu")
X3D_OPTIONS = ["channels_last", "fast_channelwise_backward", "fast_channelwise_weight_grad", "compile"]
MVIT_OPTIONS = ["channels_last", "fast_channelwise_backward", "fused_attention", "compile"]
# auto times real train steps: a narrow, shallow X3D (the X3D-M layout at a quarter of its width) keeps that short.
SMALL_X3D = [
    "X3D.WIDTH_FACTOR",
    "1.0",
    "X3D.DEPTH_FACTOR",
    "1.0",
    "X3D.BOTTLENECK_FACTOR",
    "1.0",
    "X3D.DIM_C5",
    "64",
    "TRAIN.BATCH_SIZE",
    "2",
]


def _cfg(smoke_config, tmp_path, name, *opts):
    return smoke_config(name, tmp_path, *opts)[2]


@pytest.mark.parametrize("name,options", [("X3D_M", X3D_OPTIONS), ("MVIT_B_16x4", MVIT_OPTIONS)])
def test_reference_and_fast_switch_every_option_off_and_on(smoke_config, tmp_path, name, options):
    for mode, value in (("reference", False), ("fast", True)):
        cfg = _cfg(smoke_config, tmp_path, name, "BENCHMARK.IMPLEMENTATION", mode)
        impl = impl_mod.choose_implementation(cfg, CPU)
        # On the CPU compile is left out of fast as of auto (its compile time exceeds its gain there).
        assert impl.settings == {option: value and option != "compile" for option in options}
        assert impl.chosen_by["channels_last"] == f"{mode} mode" and impl.candidates == []
        applied = impl.apply(cfg)
        assert applied.MODEL.CHANNELS_LAST is value and applied.MODEL.COMPILE is False
        arch_key = "X3D" if name == "X3D_M" else "MVIT"
        assert applied[arch_key].FAST_CHANNELWISE_BACKWARD is value
        if name == "X3D_M":
            assert applied.X3D.FAST_CHANNELWISE_WEIGHT_GRAD is value


def test_config_mode_reads_the_keys(smoke_config, tmp_path):
    cfg = _cfg(
        smoke_config,
        tmp_path,
        "MVIT_B_16x4",
        "BENCHMARK.IMPLEMENTATION",
        "config",
        "MVIT.FUSED_ATTENTION",
        "False",
        "MODEL.CHANNELS_LAST",
        "True",
        "MVIT.FAST_CHANNELWISE_BACKWARD",
        "False",
    )
    impl = impl_mod.choose_implementation(cfg, CPU)
    assert impl.settings == {
        "channels_last": True,
        "fast_channelwise_backward": False,
        "fused_attention": False,
        "compile": False,
    }
    assert impl.chosen_by["fused_attention"] == "config key MVIT.FUSED_ATTENTION"


def test_unknown_mode_is_a_config_error(smoke_config, tmp_path):
    with pytest.raises(ConfigError, match="BENCHMARK.IMPLEMENTATION"):
        _cfg(smoke_config, tmp_path, "X3D_M", "BENCHMARK.IMPLEMENTATION", "fastest")


@pytest.mark.slow
def test_auto_times_every_candidate_and_keeps_the_fastest(smoke_config, tmp_path):
    cfg = _cfg(
        smoke_config,
        tmp_path,
        "X3D_M",
        "BENCHMARK.IMPLEMENTATION",
        "auto",
        "BENCHMARK.AUTO_STEPS",
        "2",
        "BENCHMARK.AUTO_BUDGET_S",
        "600",
        *SMALL_X3D,
    )
    impl = impl_mod.choose_implementation(cfg, CPU)
    combos = [c["settings"] for c in impl.candidates]
    # Every combination of the three X3D model options, compile off (not a CPU candidate).
    model_options = X3D_OPTIONS[:-1]
    assert sorted(tuple(c[name] for name in model_options) for c in combos) == sorted(
        itertools.product((False, True), repeat=len(model_options))
    )
    assert all(c["compile"] is False for c in combos)
    timed = [c for c in impl.candidates if "median_s" in c]
    assert len(timed) == 8 and all(0 < len(c["step_s"]) <= 2 and c["median_s"] > 0 for c in timed)
    assert impl.settings == min(timed, key=lambda c: c["median_s"])["settings"]
    assert set(impl.chosen_by) == set(X3D_OPTIONS)


def test_auto_starts_no_candidate_after_its_budget(smoke_config, tmp_path, caplog):
    cfg = _cfg(
        smoke_config,
        tmp_path,
        "X3D_M",
        "BENCHMARK.IMPLEMENTATION",
        "auto",
        "BENCHMARK.AUTO_STEPS",
        "1",
        "BENCHMARK.AUTO_BUDGET_S",
        "1e-6",
        *SMALL_X3D,
    )
    caplog.set_level(logging.INFO, logger=impl_mod.__name__)
    impl = impl_mod.choose_implementation(cfg, CPU)
    assert "median_s" in impl.candidates[0]  # the first candidate is always timed
    assert all("skipped" in c for c in impl.candidates[1:]) and len(impl.candidates) == 8
    assert impl.settings == impl.candidates[0]["settings"]
    # The run's log and the result block count the same search the same way.
    search = "1 timed candidate, 7 skipped (time budget spent)"
    assert f"implementation auto: {search} in " in caplog.text
    assert f"(fastest of {search})" in describe_implementation(impl.event_value())


def test_event_value_names_every_setting_threads_and_versions(smoke_config, tmp_path):
    cfg = _cfg(smoke_config, tmp_path, "X3D_M", "BENCHMARK.IMPLEMENTATION", "fast")
    value = impl_mod.choose_implementation(cfg, CPU).event_value()
    names = [s["name"] for s in value["settings"]]
    assert names == X3D_OPTIONS + ["cpu_threads"]
    threads = value["settings"][-1]
    assert threads["value"] == torch.get_num_threads() and threads["chosen_by"]
    assert set(value["versions"]) == {"torch", "cuda", "cudnn", "nccl", "pyav", "torchcodec"}
    assert value["versions"]["torch"] == torch.__version__


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["reference", "fast", "auto"])
def test_smoke_run_in_each_mode_trains_and_logs_its_implementation(smoke_config, tmp_path, mode, caplog):
    cfg_file, _, cfg = smoke_config(
        "X3D_M",
        tmp_path,
        "BENCHMARK.IMPLEMENTATION",
        mode,
        "SOLVER.MAX_EPOCH",
        "2",
        "TEST.ENABLE",
        "False",
        "BENCHMARK.AUTO_STEPS",
        "1",
        *SMALL_X3D[:-2],
    )
    summary = run_job(cfg, cfg_file)
    losses = [r["loss"] for r in records_of(read_metrics(str(tmp_path)), "train_epoch", "loss")]
    assert len(losses) == 2 and all(loss == loss for loss in losses)  # trained, finite
    mllog = os.path.join(tmp_path, "mllog.txt")
    with open(mllog) as f:
        events = [json.loads(line.split(":::MLLOG ", 1)[1]) for line in f if ":::MLLOG" in line]
    keys = [e["key"] for e in events]
    (event,) = [e for e in events if e["key"] == IMPLEMENTATION]
    assert keys.index(IMPLEMENTATION) < keys.index(constants.RUN_START)  # chosen before the clock
    assert event["value"]["mode"] == mode
    assert (event["value"]["candidates"] != []) == (mode == "auto")
    assert check_mllog(mllog) == []
    # The smoke overrides (data, classes, epochs) are recipe changes; the implementation ones are not among them.
    assert summary.changes and not any(key in line for line in summary.changes for key in IMPLEMENTATION_KEYS)
    assert read_run(str(tmp_path)).implementation == event["value"] == summary.implementation
    block = format_result_block(summary)
    assert f"implementation     {mode}: channels_last" in block and "torch " + torch.__version__ in block

"""auto's choice handed from the self-check to the run through OUTPUT_DIR: reused for the same config, machine and
versions (and logged), timed again otherwise. A stand-in times the candidates, so nothing runs on a device."""

import json
import logging
import os

import pytest
import torch

from slowfast.engine import implementation as impl_mod
from slowfast.engine import implementation_choice as choice_mod

CPU = torch.device("cpu")


class CountingSearch:
    """_auto_search's stand-in: counts the searches; the n-th one picks channels_last = (n is odd)."""

    def __init__(self):
        self.searches = 0

    def __call__(self, cfg, device, amp_dtype, options):
        self.searches += 1
        settings = {name: False for name in options}
        settings["channels_last"] = self.searches % 2 == 1
        return settings, [{"settings": dict(settings), "step_s": [0.1, 0.1], "median_s": 0.1}]


@pytest.fixture
def search(monkeypatch):
    fake = CountingSearch()
    monkeypatch.setattr(impl_mod, "_auto_search", fake)
    return fake


def _cfg(smoke_config, tmp_path, *opts, mode="auto"):
    return smoke_config("X3D_M", tmp_path, "BENCHMARK.IMPLEMENTATION", mode, *opts)[2]


def test_the_run_reuses_the_selfchecks_auto_choice_and_says_so(smoke_config, tmp_path, search, caplog):
    cfg = _cfg(smoke_config, tmp_path)
    checked, _ = impl_mod.choose_run_implementation(cfg, CPU, timed_by="selfcheck")
    assert os.path.isfile(os.path.join(cfg.OUTPUT_DIR, choice_mod.CHOICE_FILENAME))
    with caplog.at_level(logging.INFO):
        run, run_cfg = impl_mod.choose_run_implementation(cfg, CPU)
    assert search.searches == 1  # timed once, by the self-check
    assert run.settings == checked.settings and run.settings["channels_last"] and run_cfg.MODEL.CHANNELS_LAST
    assert run.candidates == checked.candidates and run.mode == "auto"
    assert all("timed by the selfcheck" in how for how in run.chosen_by.values())
    assert "reusing auto's choice timed by the selfcheck" in caplog.text


@pytest.mark.parametrize("change", ["config", "versions", "machine"])
def test_another_config_machine_or_versions_times_again(smoke_config, tmp_path, search, monkeypatch, change):
    impl_mod.choose_run_implementation(_cfg(smoke_config, tmp_path), CPU, timed_by="selfcheck")
    cfg = _cfg(smoke_config, tmp_path)
    if change == "config":
        cfg = _cfg(smoke_config, tmp_path, "TRAIN.BATCH_SIZE", "4")
    elif change == "versions":
        monkeypatch.setattr(choice_mod, "library_versions", lambda: {"torch": "9.9"})
    else:
        monkeypatch.setattr(choice_mod.platform, "node", lambda: "another-host")
    run, _ = impl_mod.choose_run_implementation(cfg, CPU)
    assert search.searches == 2 and not run.settings["channels_last"]  # the run's own timing, saved for its resume
    with open(os.path.join(cfg.OUTPUT_DIR, choice_mod.CHOICE_FILENAME)) as f:
        assert json.load(f)["timed_by"] == "run"


def test_a_damaged_choice_file_times_again(smoke_config, tmp_path, search):
    cfg = _cfg(smoke_config, tmp_path)
    os.makedirs(cfg.OUTPUT_DIR, exist_ok=True)
    with open(os.path.join(cfg.OUTPUT_DIR, choice_mod.CHOICE_FILENAME), "w") as f:
        f.write('{"key": ')  # cut short
    impl_mod.choose_run_implementation(cfg, CPU)
    assert search.searches == 1


def test_only_auto_writes_or_reads_a_choice(smoke_config, tmp_path, search):
    impl_mod.choose_run_implementation(_cfg(smoke_config, tmp_path), CPU, timed_by="selfcheck")
    reference, _ = impl_mod.choose_run_implementation(_cfg(smoke_config, tmp_path, mode="reference"), CPU)
    assert not any(reference.settings.values())  # the saved auto choice does not leak into another mode
    other = tmp_path / "other"
    impl_mod.choose_run_implementation(_cfg(smoke_config, other, mode="fast"), CPU)
    assert not os.path.exists(other / choice_mod.CHOICE_FILENAME) and search.searches == 1


def test_every_rank_takes_rank_zeros_answer(smoke_config, tmp_path, search, monkeypatch):
    # On another node OUTPUT_DIR may not hold rank 0's file: a rank deciding alone would skip the collective
    # timing that the others enter.
    cfg = _cfg(smoke_config, tmp_path)
    impl_mod.choose_run_implementation(cfg, CPU, timed_by="selfcheck")
    monkeypatch.setattr(choice_mod.du, "is_main_process", lambda: False)  # this rank reads no file ...
    saved = {"from": "rank 0"}
    monkeypatch.setattr(choice_mod.du, "all_gather_objects", lambda obj: [saved, obj])  # ... and takes rank 0's
    assert choice_mod.load_choice(cfg, choice_mod.choice_key(cfg, CPU)) == saved

"""auto's search with a stand-in for the timed train steps: failing candidates, agreement across ranks, the
plain implementation first on CUDA, engine toggles past the budget, fast mode on CUDA. The stand-in never
touches a device, so CUDA's order and choices show on the CPU."""

import pytest
import torch

from slowfast.engine import implementation as impl_mod
from slowfast.utils import distributed as du

CUDA = torch.device("cuda", 0)  # never used for memory: the timing stand-in runs nothing
CPU = torch.device("cpu")


class FakeSteps:
    """time_train_steps' stand-in: records every timed settings; raises for those ``fails`` matches."""

    def __init__(self, fails=lambda settings: False, step_s=lambda settings: 1.0):
        self.timed, self.fails, self.step_s = [], fails, step_s

    def __call__(self, cfg, settings, device, amp_dtype, steps, beat_s=None):
        self.timed.append(dict(settings))
        if self.fails(settings):
            raise RuntimeError("torch._dynamo: InductorError: no C compiler found\nlong traceback")
        return [self.step_s(settings)] * steps


def _auto_cfg(smoke_config, tmp_path, budget="600"):
    opts = ("BENCHMARK.IMPLEMENTATION", "auto", "BENCHMARK.AUTO_STEPS", "2", "BENCHMARK.AUTO_BUDGET_S", budget)
    return smoke_config("X3D_M", tmp_path, *opts)[2]


def test_a_failing_candidate_is_logged_with_its_error_and_auto_goes_on(smoke_config, tmp_path, monkeypatch):
    # channels_last "raises" (as cuDNN without an algorithm would); the fastest of the others wins.
    fake = FakeSteps(
        fails=lambda s: s["channels_last"], step_s=lambda s: 0.5 if s["fast_channelwise_backward"] else 1.0
    )
    monkeypatch.setattr(impl_mod, "time_train_steps", fake)
    impl = impl_mod.choose_implementation(_auto_cfg(smoke_config, tmp_path), CPU)
    failed = [c for c in impl.candidates if "failed" in c]
    assert len(failed) == 4 and all(c["settings"]["channels_last"] for c in failed)
    assert failed[0]["failed"] == ["rank 0: RuntimeError: torch._dynamo: InductorError: no C compiler found"]
    assert impl.settings["channels_last"] is False and impl.settings["fast_channelwise_backward"] is True
    assert len(fake.timed) == 8  # every candidate was tried


def test_a_candidate_that_fails_on_another_rank_fails_on_every_rank(smoke_config, tmp_path, monkeypatch):
    monkeypatch.setattr(impl_mod, "time_train_steps", FakeSteps(step_s=lambda s: 0.1 if s["channels_last"] else 1.0))
    monkeypatch.setattr(du, "get_world_size", lambda: 2)

    def gather(obj):  # rank 1 ran out of memory in every channels_last candidate; rank 0 timed it fine
        return [obj, "OutOfMemoryError: CUDA out of memory" if gather.inject else obj]

    def time_candidate(cfg, device, amp_dtype, settings, candidates):
        gather.inject = settings["channels_last"]
        try:
            return real(cfg, device, amp_dtype, settings, candidates)
        finally:
            gather.inject = False

    real = impl_mod._time_candidate
    gather.inject = False
    monkeypatch.setattr(du, "all_gather_objects", gather)
    monkeypatch.setattr(impl_mod, "_time_candidate", time_candidate)
    impl = impl_mod.choose_implementation(_auto_cfg(smoke_config, tmp_path), CPU)
    failed = [c for c in impl.candidates if "failed" in c]
    assert failed and all(c["failed"] == ["rank 1: OutOfMemoryError: CUDA out of memory"] for c in failed)
    assert impl.settings["channels_last"] is False  # rank 0's fast timing of it does not count


def test_every_candidate_failing_leaves_the_plain_implementation(smoke_config, tmp_path, monkeypatch):
    monkeypatch.setattr(impl_mod, "time_train_steps", FakeSteps(fails=lambda s: True))
    impl = impl_mod.choose_implementation(_auto_cfg(smoke_config, tmp_path), CPU)
    assert not any(impl.settings.values()) and all("failed" in c for c in impl.candidates)


def test_on_cuda_the_plain_implementation_is_timed_first_and_the_budget_spares_the_engine_toggles(
    smoke_config, tmp_path, monkeypatch
):
    fake = FakeSteps()
    monkeypatch.setattr(impl_mod, "time_train_steps", fake)
    impl = impl_mod.choose_implementation(_auto_cfg(smoke_config, tmp_path, budget="1e-9"), CUDA)
    assert not any(fake.timed[0].values())  # every option off, cuDNN's autotuner too
    toggled = fake.timed[1:]
    assert [name for name in ("cudnn_benchmark", "compile") if any(t[name] for t in toggled)] == [
        "cudnn_benchmark",
        "compile",
    ]
    assert len(toggled) == 2 and all("skipped" in c for c in impl.candidates[1:-2])


def test_fast_on_cuda_leaves_the_channelwise_backward_to_cudnn(smoke_config, tmp_path):
    cfg = smoke_config("X3D_M", tmp_path, "BENCHMARK.IMPLEMENTATION", "fast")[2]
    impl = impl_mod.choose_implementation(cfg, CUDA)
    assert impl.settings["fast_channelwise_backward"] is False
    assert impl.settings["fast_channelwise_weight_grad"] is False
    assert impl.settings["compile"] and impl.settings["cudnn_benchmark"] and impl.settings["channels_last"]
    assert "cuDNN" in impl.chosen_by["fast_channelwise_backward"]


@pytest.mark.parametrize("device", [CPU, CUDA])
def test_channelwise_backward_is_an_auto_candidate_on_every_device(device):
    options = ["channels_last", "fast_channelwise_backward", "fast_channelwise_weight_grad", "compile"]
    rounds = impl_mod.first_round(options, device)
    assert {r["fast_channelwise_backward"] for r in rounds} == {True, False}

"""Warm-up before the clock: the training model meets the run's shapes in train and eval, the state it changed
is put back, the run calls it before the clock starts, and torch.compile's compilations are counted."""

import pytest
import torch
from cpu_loop import cpu_loop_context

from slowfast.config import load_config
from slowfast.engine import run as run_mod
from slowfast.engine import warmup
from slowfast.engine.run import run_job
from slowfast.utils.metrics import read_metrics, records_of


class ShapeRecorder(torch.nn.Module):
    """BN + linear head on pooled clips; records (training, input shape) of every call."""

    def __init__(self):
        super().__init__()
        self.bn = torch.nn.BatchNorm3d(3)
        self.fc = torch.nn.Linear(3, 4)
        self.calls = []

    def forward(self, inputs):
        self.calls.append((self.training, tuple(inputs[0].shape)))
        return self.fc(self.bn(inputs[0]).mean(dim=(2, 3, 4)))


def test_warm_up_runs_the_run_shapes_and_restores_the_state():
    opts = ["NUM_GPUS", "0", "MODEL.NUM_CLASSES", "4", "TRAIN.BATCH_SIZE", "8", "TEST.BATCH_SIZE", "6"]
    opts += ["AUG.NUM_SAMPLE", "2", "DATA.NUM_FRAMES", "4", "DATA.TRAIN_CROP_SIZE", "8", "DATA.TEST_CROP_SIZE", "10"]
    cfg = load_config(None, opts)
    model = ShapeRecorder()
    ctx = cpu_loop_context(cfg, model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    warmup.warm_up(ctx, world_size=2)
    # 8 videos over 2 processes x 2 clips each; evaluation: 6 videos over 2 processes at the val split's crop,
    # TRAIN_CROP_SIZE (the test crop is the multi-view test's, after the clock).
    assert model.calls == [(True, (8, 3, 4, 8, 8)), (False, (3, 3, 4, 8, 8))]
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and BN statistics, num_batches too
    assert ctx.optimizer.state_dict()["state"] == {}  # no momentum left from the warm-up step
    assert all(p.grad is None for p in model.parameters())


def test_only_cuda_or_a_compiled_model_needs_a_warm_up():
    assert warmup.needs_warm_up(torch.device("cuda", 0), compiled=False)
    assert warmup.needs_warm_up(torch.device("cpu"), compiled=True)
    assert not warmup.needs_warm_up(torch.device("cpu"), compiled=False)


def test_compiled_frames_count_compilations_not_calls():
    fn = torch.compile(lambda x: x * 2 + 1, backend="eager")
    before = warmup.compiled_frames()
    fn(torch.ones(3))
    first = warmup.compiled_frames()
    fn(torch.ones(3))
    assert first > before and warmup.compiled_frames() == first


@pytest.mark.slow
def test_the_run_warms_up_before_the_clock_and_logs_recompilations(smoke_config, tmp_path, monkeypatch):
    seen = []
    real = warmup.warm_up
    monkeypatch.setattr(run_mod, "needs_warm_up", lambda device, compiled: True)
    monkeypatch.setattr(run_mod, "warm_up", lambda ctx, world: seen.append(ctx.clock_time()) or real(ctx, world))
    cfg_file, _, cfg = smoke_config("X3D_M", tmp_path, "SOLVER.MAX_EPOCH", "1", "TEST.ENABLE", "False")
    run_job(cfg, cfg_file)
    assert seen == [0.0]  # once, with the clock not yet started
    epochs = records_of(read_metrics(str(tmp_path), strict=True), "train_epoch")
    assert [r["recompilations"] for r in epochs] == [0]

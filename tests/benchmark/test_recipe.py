"""The effective recipe of the scored configs on several layouts, against PySlowFast's own formulas.

PySlowFast (commit 287ec00) gives each GPU ``int(TRAIN.BATCH_SIZE / max(1, NUM_GPUS))`` videos per step and
each video AUG.NUM_SAMPLE clips (datasets/loader.py), and sets the learning rate with ``get_lr_at_epoch``
(utils/lr_policy.py): linear warm-up from WARMUP_START_LR to the policy's value at WARMUP_EPOCHS, then a half
cosine from BASE_LR to COSINE_END_LR over MAX_EPOCH (minus the warm-up with COSINE_AFTER_WARMUP). The
functions below restate those formulas independently of slowfast.solver.
"""

import json
import math
from pathlib import Path

import pytest
from tools_in_process import run_tool

from slowfast.benchmark.compliance import check_compliance, load_official_config
from slowfast.benchmark.recipe import compliant_batch_overrides, effective_recipe, steps_per_epoch
from slowfast.config import load_config

REPO = Path(__file__).resolve().parents[2]
SCORED = {name: str(REPO / "configs" / f"{name}.yaml") for name in ("X3D_M", "MVIT_B_16x4")}


def pyslowfast_videos_per_gpu(batch_size, num_gpus):
    return int(batch_size / max(1, num_gpus))


def pyslowfast_lr(solver, epoch, factor=1.0):
    """PySlowFast's get_lr_at_epoch for the cosine policy, with the three rates multiplied by ``factor``."""
    base, start, end = solver.BASE_LR * factor, solver.WARMUP_START_LR * factor, solver.COSINE_END_LR * factor

    def cosine(e):
        offset = solver.WARMUP_EPOCHS if solver.COSINE_AFTER_WARMUP else 0.0
        return end + (base - end) * (math.cos(math.pi * (e - offset) / (solver.MAX_EPOCH - offset)) + 1.0) * 0.5

    if epoch < solver.WARMUP_EPOCHS:
        return epoch * (cosine(solver.WARMUP_EPOCHS) - start) / solver.WARMUP_EPOCHS + start
    return cosine(epoch)


def layout_cfg(name, processes):
    """The scored config on ``processes`` GPUs with the reference's videos per GPU (a compliant run)."""
    official = load_official_config(SCORED[name])
    per_gpu = official.TRAIN.BATCH_SIZE // official.NUM_GPUS
    opts = ["TRAIN.BATCH_SIZE", str(per_gpu * processes), "TEST.BATCH_SIZE", str(per_gpu * processes)]
    return load_config(SCORED[name], opts, world_size=processes), official


@pytest.mark.parametrize("name, videos, clips", [("X3D_M", 16, 16), ("MVIT_B_16x4", 12, 24)])
def test_reference_layout_matches_pyslowfasts_loader_and_schedule(name, videos, clips):
    cfg, official = layout_cfg(name, 4)
    recipe = effective_recipe(cfg, official, processes=4, train_videos=7000)
    assert recipe.videos_per_process == pyslowfast_videos_per_gpu(cfg.TRAIN.BATCH_SIZE, cfg.NUM_GPUS) == videos
    assert recipe.clips_per_process == videos * cfg.AUG.NUM_SAMPLE == clips
    assert recipe.global_clips == 4 * clips and recipe.lr_factor == 1.0 and recipe.division == "closed"
    for epoch, lr in recipe.lr_at:
        assert lr == pytest.approx(pyslowfast_lr(cfg.SOLVER, epoch), rel=1e-12, abs=1e-15)
    assert [epoch for epoch, _ in recipe.lr_at] == [0.0, cfg.SOLVER.WARMUP_EPOCHS, 5.0, 10.0, 15.0, 20.0]


@pytest.mark.parametrize("name", ["X3D_M", "MVIT_B_16x4"])
@pytest.mark.parametrize("processes, factor", [(1, 0.25), (4, 1.0), (8, 2.0)])
def test_learning_rates_scale_linearly_with_the_number_of_gpus(name, processes, factor):
    cfg, official = layout_cfg(name, processes)
    recipe = effective_recipe(cfg, official, processes=processes)
    assert recipe.lr_factor == factor and recipe.division == "closed"
    assert recipe.videos_per_process == official.TRAIN.BATCH_SIZE // 4  # the reference's work per GPU step
    for epoch, lr in recipe.lr_at:
        assert lr == pytest.approx(pyslowfast_lr(cfg.SOLVER, epoch, factor), rel=1e-12, abs=1e-15)


def test_two_machines_of_four_gpus_get_the_same_recipe_as_eight_gpus_on_one():
    official = load_official_config(SCORED["X3D_M"])
    two_by_four = load_config(SCORED["X3D_M"], ["NUM_SHARDS", "2", "TRAIN.BATCH_SIZE", "128"])
    one_by_eight = load_config(SCORED["X3D_M"], ["NUM_GPUS", "8", "TRAIN.BATCH_SIZE", "128"])
    recipes = [effective_recipe(c, official, processes=8, train_videos=7000) for c in (two_by_four, one_by_eight)]
    assert recipes[0] == recipes[1] and recipes[0].lr_factor == 2.0 and recipes[0].division == "closed"


def test_fewer_gpus_with_the_reference_global_batch_is_open_division():
    cfg = load_config(SCORED["X3D_M"], ["NUM_GPUS", "1"])
    recipe = effective_recipe(cfg, load_official_config(SCORED["X3D_M"]), processes=1)
    assert recipe.videos_per_process == 64 and recipe.division == "open"
    assert any("set TRAIN.BATCH_SIZE 16" in line for line in recipe.changes)


def test_steps_per_epoch_follow_the_padded_shard_and_dropped_last_batch():
    # 1001 videos on 4 processes: 251 per process (the sampler pads), 15 full batches of 16.
    assert steps_per_epoch(1001, 64, 4) == 15
    assert steps_per_epoch(1024, 64, 4) == 16


def test_recipe_tool_prints_the_layout_as_json():
    result = run_tool(
        "recipe.py", "--cfg", SCORED["MVIT_B_16x4"], "--world-size", "8", "--train-videos", "7500", "--json"
    )
    assert result.returncode == 0, result.stderr
    recipe = json.loads(result.stdout)
    assert set(recipe) >= {
        "processes",
        "videos_per_process",
        "clips_per_process",
        "global_clips",
        "steps_per_epoch",
        "lr_factor",
        "lr_at",
        "division",
    }
    assert (recipe["processes"], recipe["videos_per_process"], recipe["clips_per_process"]) == (8, 12, 24)
    assert recipe["global_clips"] == 192 and recipe["steps_per_epoch"] == math.ceil(7500 / 8) // 12
    assert recipe["lr_factor"] == 2.0 and recipe["division"] == "closed"


def test_run_benchmark_keeps_each_models_reference_batch_per_gpu_on_any_layout():
    # One NUM_GPUS override serves both models: each gets its own compliant global batch.
    x3d = compliant_batch_overrides(SCORED["X3D_M"], ["NUM_GPUS", "8"])
    mvit = compliant_batch_overrides(SCORED["MVIT_B_16x4"], ["NUM_GPUS", "2", "NUM_SHARDS", "2"])
    assert x3d == ["TRAIN.BATCH_SIZE", "128", "TEST.BATCH_SIZE", "128"]
    assert mvit == ["TRAIN.BATCH_SIZE", "48", "TEST.BATCH_SIZE", "48"]
    assert compliant_batch_overrides(SCORED["X3D_M"], ["NUM_GPUS", "1", "TRAIN.BATCH_SIZE", "64"]) == [
        "TEST.BATCH_SIZE",
        "16",
    ]  # a batch the user gives is kept (and judged by the compliance check)
    for name, opts in (("X3D_M", ["NUM_GPUS", "8"]), ("MVIT_B_16x4", ["NUM_GPUS", "1"])):
        cfg = load_config(SCORED[name], opts + compliant_batch_overrides(SCORED[name], opts))
        assert check_compliance(cfg, load_official_config(SCORED[name])).compliant

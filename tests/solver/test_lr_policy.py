"""Learning rates of the two scored recipes and of steps_with_relative_lrs, against PySlowFast's formulas.

Expected values are written here from the formulas (half cosine, linear warm-up towards the policy's
value at WARMUP_EPOCHS), independently of slowfast.solver.
"""

import math

import pytest

from slowfast.config import ConfigError, load_config
from slowfast.solver.lr_policy import get_lr_at_epoch

X3D_OPTS = [
    "SOLVER.OPTIMIZING_METHOD",
    "sgd",
    "SOLVER.LR_POLICY",
    "cosine",
    "SOLVER.BASE_LR",
    "0.05",
    "SOLVER.WARMUP_START_LR",
    "0.005",
    "SOLVER.WARMUP_EPOCHS",
    "2.33",
    "SOLVER.MAX_EPOCH",
    "20",
    "SOLVER.COSINE_END_LR",
    "0.0",
    "SOLVER.COSINE_AFTER_WARMUP",
    "False",
]
MVIT_OPTS = [
    "SOLVER.OPTIMIZING_METHOD",
    "adamw",
    "SOLVER.LR_POLICY",
    "cosine",
    "SOLVER.BASE_LR",
    "3e-4",
    "SOLVER.WARMUP_START_LR",
    "1e-6",
    "SOLVER.WARMUP_EPOCHS",
    "3.0",
    "SOLVER.MAX_EPOCH",
    "20",
    "SOLVER.COSINE_END_LR",
    "1e-6",
    "SOLVER.COSINE_AFTER_WARMUP",
    "True",
]
EPOCHS = [0.0, 0.01, 0.5, 1.0, 2.0, 2.33, 2.5, 3.0, 3.7, 5.0, 10.0, 11.5, 13.37, 17.0, 19.99, 20.0]


def x3d_expected(epoch, base=0.05, start=0.005, end=0.0):
    """Cosine over the whole run (COSINE_AFTER_WARMUP False); warm-up overrides epochs < 2.33."""

    def cosine(e):
        return end + (base - end) * 0.5 * (1.0 + math.cos(math.pi * e / 20.0))

    if epoch < 2.33:
        return start + (cosine(2.33) - start) / 2.33 * epoch
    return cosine(epoch)


def mvit_expected(epoch, base=3e-4, start=1e-6, end=1e-6):
    """Cosine over epochs 3..20 only (COSINE_AFTER_WARMUP True), so warm-up ends exactly at BASE_LR."""
    if epoch < 3.0:
        return start + (base - start) / 3.0 * epoch
    return end + (base - end) * 0.5 * (1.0 + math.cos(math.pi * (epoch - 3.0) / 17.0))


@pytest.mark.parametrize("epoch", EPOCHS)
def test_x3d_recipe_matches_formula(epoch):
    cfg = load_config(None, X3D_OPTS)
    assert get_lr_at_epoch(cfg, epoch) == pytest.approx(x3d_expected(epoch), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("epoch", EPOCHS)
def test_mvit_recipe_matches_formula(epoch):
    cfg = load_config(None, MVIT_OPTS)
    assert get_lr_at_epoch(cfg, epoch) == pytest.approx(mvit_expected(epoch), rel=1e-12, abs=1e-15)


def test_landmark_values_by_hand():
    x3d, mvit = load_config(None, X3D_OPTS), load_config(None, MVIT_OPTS)
    # X3D: warm-up starts at WARMUP_START_LR, cos(pi/2) = 0 halves the rate at epoch 10, ends at 0.
    assert get_lr_at_epoch(x3d, 0.0) == pytest.approx(0.005)
    assert get_lr_at_epoch(x3d, 10.0) == pytest.approx(0.025)
    assert get_lr_at_epoch(x3d, 20.0) == pytest.approx(0.0, abs=1e-15)
    # MViT: warm-up reaches BASE_LR at epoch 3; epoch 11.5 is the middle of the cosine over 3..20.
    assert get_lr_at_epoch(mvit, 1.5) == pytest.approx(1e-6 + (3e-4 - 1e-6) / 2)
    assert get_lr_at_epoch(mvit, 3.0) == pytest.approx(3e-4)
    assert get_lr_at_epoch(mvit, 11.5) == pytest.approx(1e-6 + (3e-4 - 1e-6) / 2)
    assert get_lr_at_epoch(mvit, 20.0) == pytest.approx(1e-6)


def test_warmup_is_continuous_at_its_end():
    cfg = load_config(None, X3D_OPTS)
    just_before = get_lr_at_epoch(cfg, 2.33 - 1e-9)
    assert just_before == pytest.approx(get_lr_at_epoch(cfg, 2.33), rel=1e-7)


@pytest.mark.parametrize("epoch", [0.0, 1.0, 2.33, 10.0, 20.0])
@pytest.mark.parametrize("global_batch, factor", [(16, 0.25), (64, 1.0), (128, 2.0)])
def test_rates_scale_linearly_with_the_global_batch(epoch, global_batch, factor):
    # BASE_LR, WARMUP_START_LR and COSINE_END_LR are given for a global batch of 64 and all three scale.
    for opts, expected in ((X3D_OPTS, x3d_expected), (MVIT_OPTS, mvit_expected)):
        cfg = load_config(
            None,
            opts + ["SOLVER.BASE_LR_BATCH_SIZE", "64", "TRAIN.BATCH_SIZE", str(global_batch), "TEST.BATCH_SIZE", "16"],
        )
        assert get_lr_at_epoch(cfg, epoch) == pytest.approx(factor * expected(epoch), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("layout", [["NUM_SHARDS", "2", "NUM_GPUS", "4"], ["NUM_SHARDS", "1", "NUM_GPUS", "8"]])
def test_rates_do_not_depend_on_how_processes_are_spread_over_machines(layout):
    # PySlowFast's BASE_LR_SCALE_NUM_SHARDS multiplied by the machine count; here it is ignored: 2x4 and 1x8
    # processes with the same global batch get the same rates, whichever launcher started them.
    opts = X3D_OPTS + [
        "SOLVER.BASE_LR_BATCH_SIZE",
        "64",
        "TRAIN.BATCH_SIZE",
        "128",
        "SOLVER.BASE_LR_SCALE_NUM_SHARDS",
        "True",
    ]
    cfg = load_config(None, opts + layout)
    assert get_lr_at_epoch(cfg, 10.0) == pytest.approx(2 * x3d_expected(10.0), rel=1e-12)


STEPS_OPTS = [
    "SOLVER.LR_POLICY",
    "steps_with_relative_lrs",
    "SOLVER.STEPS",
    "[0, 5, 8]",
    "SOLVER.LRS",
    "[1, 0.1, 0.01]",
    "SOLVER.BASE_LR",
    "0.1",
    "SOLVER.MAX_EPOCH",
    "10",
    "SOLVER.WARMUP_EPOCHS",
    "1.0",
    "SOLVER.WARMUP_START_LR",
    "0.01",
]


@pytest.mark.parametrize(
    "epoch, expected",
    [
        (0.0, 0.01),
        (0.5, 0.01 + (0.1 - 0.01) * 0.5),  # warm-up towards LRS[0] * BASE_LR at epoch 1
        (1.0, 0.1),
        (4.99, 0.1),
        (5.0, 0.01),
        (7.5, 0.01),
        (8.0, 0.001),
        (9.99, 0.001),
        (10.0, 0.001),
    ],
)
def test_steps_with_relative_lrs(epoch, expected):
    cfg = load_config(None, STEPS_OPTS)
    assert get_lr_at_epoch(cfg, epoch) == pytest.approx(expected, rel=1e-12)


def test_constant_policy_after_warmup():
    cfg = load_config(
        None,
        [
            "SOLVER.LR_POLICY",
            "constant",
            "SOLVER.BASE_LR",
            "0.2",
            "SOLVER.WARMUP_EPOCHS",
            "2.0",
            "SOLVER.WARMUP_START_LR",
            "0.0",
        ],
    )
    assert get_lr_at_epoch(cfg, 1.0) == pytest.approx(0.1)
    assert get_lr_at_epoch(cfg, 7.0) == pytest.approx(0.2)


def test_cosine_end_above_base_is_refused_at_load_time():
    with pytest.raises(ConfigError, match="SOLVER.COSINE_END_LR"):
        load_config(None, ["SOLVER.BASE_LR", "0.1", "SOLVER.COSINE_END_LR", "0.2"])

"""Losses against hand computation."""

import math

import pytest
import torch

from slowfast.config import ConfigError, load_config
from slowfast.solver.losses import get_loss_func

LOGITS = [[2.0, 0.0, -1.0], [0.5, 0.5, 1.0]]


def log_softmax_by_hand(row):
    log_total = math.log(sum(math.exp(v) for v in row))
    return [v - log_total for v in row]


def test_cross_entropy_is_mean_negative_log_probability_of_the_label():
    labels = [0, 2]
    expected = -(log_softmax_by_hand(LOGITS[0])[0] + log_softmax_by_hand(LOGITS[1])[2]) / 2
    loss = get_loss_func("cross_entropy")(reduction="mean")(torch.tensor(LOGITS), torch.tensor(labels))
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_soft_cross_entropy_is_mean_over_batch_of_target_weighted_log_probs():
    targets = [[0.7, 0.2, 0.1], [0.0, 0.5, 0.5]]
    per_sample = [
        -sum(t * lp for t, lp in zip(target, log_softmax_by_hand(row))) for row, target in zip(LOGITS, targets)
    ]
    loss_class = get_loss_func("soft_cross_entropy")
    mean = loss_class(reduction="mean")(torch.tensor(LOGITS), torch.tensor(targets))
    assert mean.item() == pytest.approx(sum(per_sample) / 2, rel=1e-6)
    each = loss_class(reduction="none")(torch.tensor(LOGITS), torch.tensor(targets))
    assert each.tolist() == pytest.approx(per_sample, rel=1e-6)


def test_soft_cross_entropy_with_one_hot_targets_equals_cross_entropy():
    logits = torch.randn(4, 5, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 3, 4, 1])
    soft = get_loss_func("soft_cross_entropy")()(logits, torch.nn.functional.one_hot(labels, 5).float())
    hard = get_loss_func("cross_entropy")()(logits, labels)
    assert soft.item() == pytest.approx(hard.item(), rel=1e-6)


def test_unknown_loss_is_refused_at_load_time_naming_the_key():
    with pytest.raises(ConfigError, match="MODEL.LOSS_FUNC = 'focal'"):
        load_config(None, ["MODEL.LOSS_FUNC", "focal"])

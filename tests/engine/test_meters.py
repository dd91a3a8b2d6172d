"""Accuracy counting, the epoch statistics and the video-level aggregation of the multi-view test."""

import pytest
import torch

from slowfast.engine import meters
from slowfast.engine.meters import EpochStats, VideoScores, topk_correct


def test_topk_correct_counts_hits():
    scores = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3], [0.2, 0.3, 0.5]])
    labels = torch.tensor([1, 2, 0])
    assert topk_correct(scores, labels, ks=(1, 2, 5)) == [1, 2, 3]
    # Rows left out by a mask count as indexing them out would (the evaluation's undecodable videos).
    valid = torch.tensor([True, False, True])
    assert meters.topk_hits(scores, labels, ks=(1, 2, 5), valid=valid).tolist() == [1, 1, 2]
    assert meters.topk_hits(scores, labels, ks=(1, 2, 5), valid=valid).tolist() == topk_correct(
        scores[valid], labels[valid], ks=(1, 2, 5)
    )


def test_video_scores_sum_views_per_video():
    # 2 videos x 3 views; video 0's views disagree, the summed scores pick class 2.
    scores = VideoScores(views_per_video=3, num_classes=3)
    scores.add(torch.tensor([[0.6, 0.0, 0.4], [0.0, 0.3, 0.7]]), torch.tensor([2, 2]), torch.tensor([0, 1]))
    scores.add(torch.tensor([[0.5, 0.0, 0.5], [0.1, 0.8, 0.1]]), torch.tensor([2, 1]), torch.tensor([2, 3]))
    scores.add(torch.tensor([[0.2, 0.7, 0.1], [0.1, 0.6, 0.3]]), torch.tensor([1, 1]), torch.tensor([4, 5]))
    result = scores.result()
    # Video 0: sums [1.1, 0.3, 1.6] -> class 2 (label 2, correct); video 1: [0.4, 2.1, 0.5] -> 1 (correct).
    assert result == {"top1": 100.0, "top5": 100.0, "num_videos": 2, "num_views": 6}


def test_epoch_rates_with_and_without_the_first_batch_wait(monkeypatch):
    # A 10 s epoch of 4 steps of 8 clips: the loader's start made the first batch wait 4 s, the others 0.5 s each.
    now = iter([100.0, 110.0])
    monkeypatch.setattr(meters.time, "perf_counter", lambda: next(now))
    stats = EpochStats()
    for wait in (4.0, 0.5, 0.5, 0.5):
        stats.update(loss=1.0, correct=2, clips=8, data_wait_s=wait)
    rates = stats.reduced()
    assert rates["clips_per_s"] == pytest.approx(32 / 10) and rates["data_wait_share"] == pytest.approx(5.5 / 10)
    assert rates["first_batch_wait_s"] == 4.0
    assert rates["steady_clips_per_s"] == pytest.approx(32 / 6)
    assert rates["steady_data_wait_share"] == pytest.approx(1.5 / 6)

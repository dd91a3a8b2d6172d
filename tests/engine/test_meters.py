"""Accuracy counting and the video-level aggregation of the multi-view test."""

import torch

from slowfast.engine.meters import VideoScores, topk_correct


def test_topk_correct_counts_hits():
    scores = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3], [0.2, 0.3, 0.5]])
    labels = torch.tensor([1, 2, 0])
    assert topk_correct(scores, labels, ks=(1, 2, 5)) == [1, 2, 3]


def test_video_scores_sum_views_per_video():
    # 2 videos x 3 views; video 0's views disagree, the summed scores pick class 2.
    scores = VideoScores(views_per_video=3, num_classes=3)
    scores.add(torch.tensor([[0.6, 0.0, 0.4], [0.0, 0.3, 0.7]]), torch.tensor([2, 2]), torch.tensor([0, 1]))
    scores.add(torch.tensor([[0.5, 0.0, 0.5], [0.1, 0.8, 0.1]]), torch.tensor([2, 1]), torch.tensor([2, 3]))
    scores.add(torch.tensor([[0.2, 0.7, 0.1], [0.1, 0.6, 0.3]]), torch.tensor([1, 1]), torch.tensor([4, 5]))
    result = scores.result()
    # Video 0: sums [1.1, 0.3, 1.6] -> class 2 (label 2, correct); video 1: [0.4, 2.1, 0.5] -> 1 (correct).
    assert result == {"top1": 100.0, "top5": 100.0, "num_videos": 2, "num_views": 6}

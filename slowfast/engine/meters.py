"""Accuracy counting and epoch statistics, reducible across processes."""

import time
from collections.abc import Sequence

import torch

from slowfast.utils import distributed as du


def topk_hits(
    scores: torch.Tensor, labels: torch.Tensor, ks: Sequence[int] = (1, 5), valid: torch.Tensor | None = None
) -> torch.Tensor:
    """Number of rows whose label is among the top-k scores, for each k, as a tensor on ``scores``' device
    (reading it would wait for the device; the loops read it once every LOG_PERIOD or once per evaluation).

    Args:
        scores (Tensor): (N, num_classes) logits or probabilities.
        labels (Tensor): (N,) class indices.
        ks (tuple of int): the k values (capped at the number of classes).
        valid (Tensor or None): (N,) bool on ``scores``' device; only these rows count (a mask, not indexing,
            which would wait for the device to learn how many rows remain).
    Returns:
        Tensor: (len(ks),) int64 correct counts.
    """
    if scores.shape[0] == 0:
        return torch.zeros(len(ks), dtype=torch.long, device=scores.device)
    top = scores.topk(min(max(ks), scores.shape[1]), dim=1).indices
    hits = top == labels.view(-1, 1)
    if valid is not None:
        hits &= valid.view(-1, 1)
    return torch.stack([hits[:, : min(k, scores.shape[1])].any(dim=1).sum() for k in ks])


def topk_correct(scores: torch.Tensor, labels: torch.Tensor, ks: Sequence[int] = (1, 5)) -> list[int]:
    """``topk_hits`` read on the host, as ints (one host sync)."""
    return [int(count) for count in topk_hits(scores, labels, ks).tolist()]


class EpochStats:
    """Running sums of one training epoch: loss, top-1 hits, clips, data-wait and step time.

    The loss and hit sums are tensors on the training device once updated with tensors, so a step adds to them
    without waiting for the device; ``sums`` reads them (one host sync). The wait for the epoch's first batch
    (the loader starting its workers and filling its queue) is also kept apart: in a short epoch it dominates,
    and the steady figures leave it out.
    """

    def __init__(self) -> None:
        self.loss_sum: torch.Tensor | float = 0.0
        self.correct: torch.Tensor | int = 0
        self.clips = 0
        self.data_wait_s = 0.0
        self.first_batch_wait_s: float | None = None
        self.start = time.perf_counter()

    def update(self, loss: torch.Tensor | float, correct: torch.Tensor | int, clips: int, data_wait_s: float) -> None:
        """Add one iteration's mean loss, top-1 hits (tensors on the device, or numbers), batch size and time
        spent waiting for data."""
        self.loss_sum = self.loss_sum + loss * clips
        self.correct = self.correct + correct
        self.clips += clips
        self.data_wait_s += data_wait_s
        if self.first_batch_wait_s is None:
            self.first_batch_wait_s = data_wait_s

    def sums(self) -> tuple[float, float]:
        """(loss sum, top-1 hits) of this process, read on the host."""
        if not torch.is_tensor(self.loss_sum):
            return float(self.loss_sum), float(self.correct)
        loss_sum, correct = torch.stack([torch.as_tensor(v).double() for v in (self.loss_sum, self.correct)]).tolist()
        return loss_sum, correct

    def reduced(self) -> dict[str, float]:
        """Loss, top-1 (%), clips/s over all processes and this process's data-wait share of the epoch; the
        same two rates without the first batch's wait (``steady_*``) and that wait itself."""
        loss_sum, correct, clips = du.all_reduce_sum([*self.sums(), float(self.clips)])
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        first = self.first_batch_wait_s or 0.0
        steady = max(elapsed - first, 1e-9)
        return {
            "loss": loss_sum / max(clips, 1.0),
            "top1": 100.0 * correct / max(clips, 1.0),
            "clips_per_s": clips / elapsed,
            "data_wait_share": self.data_wait_s / elapsed,
            "first_batch_wait_s": first,
            "steady_clips_per_s": clips / steady,
            "steady_data_wait_share": (self.data_wait_s - first) / steady,
        }


class VideoScores:
    """Per-video sums of view scores for the multi-view test (video id = dataset index // views per video)."""

    def __init__(self, views_per_video: int, num_classes: int) -> None:
        self.views_per_video = views_per_video
        self.num_classes = num_classes
        self._scores: list[torch.Tensor] = []
        self._labels: list[torch.Tensor] = []
        self._ids: list[torch.Tensor] = []

    def add(self, scores: torch.Tensor, labels: torch.Tensor, index: torch.Tensor) -> None:
        """Record one batch of view scores with their labels and dataset indices."""
        self._scores.append(scores.detach().float().cpu())
        self._labels.append(labels.cpu())
        self._ids.append(torch.div(index.cpu(), self.views_per_video, rounding_mode="floor"))

    def result(self) -> dict[str, float]:
        """Gather all processes' views and return video-level top-1/top-5 (%) and counts."""
        scores = du.all_gather_tensors(torch.cat(self._scores) if self._scores else torch.zeros(0, self.num_classes))
        labels = du.all_gather_tensors(torch.cat(self._labels) if self._labels else torch.zeros(0, dtype=torch.long))
        ids = du.all_gather_tensors(torch.cat(self._ids) if self._ids else torch.zeros(0, dtype=torch.long))
        if ids.numel() == 0:
            return {"top1": 0.0, "top5": 0.0, "num_videos": 0, "num_views": 0}
        videos, position = torch.unique(ids, return_inverse=True)
        summed = torch.zeros(len(videos), self.num_classes).index_add_(0, position, scores)
        video_labels = torch.zeros(len(videos), dtype=torch.long).index_copy_(0, position, labels)
        top1, top5 = topk_correct(summed, video_labels)
        return {
            "top1": 100.0 * top1 / len(videos),
            "top5": 100.0 * top5 / len(videos),
            "num_videos": len(videos),
            "num_views": int(ids.numel()),
        }

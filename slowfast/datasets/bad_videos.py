"""Count the videos of a split that failed to decode, and stop the run when too many did."""

from slowfast.utils.errors import UserError


class TooManyBadVideos(UserError, RuntimeError):
    """More videos of a split failed to decode than DATA.MAX_BAD_FRACTION allows (a data problem, no bug)."""


class BadVideoTracker:
    """Collects bad video paths from batch metadata, per epoch and over the whole run.

    Usage per epoch: ``update(meta)`` for every batch, then on each rank ``tracker.merge(all_gathered_states)``,
    log ``summary()``, ``check()``, and ``end_epoch()``, which adds the epoch's videos to the run's and starts
    the next epoch empty. ``run_paths``/``restore_run_paths`` carry the run's videos across a resume.
    """

    def __init__(self, num_videos, max_fraction, split):
        """
        Args:
            num_videos (int): videos in the split.
            max_fraction (float): DATA.MAX_BAD_FRACTION.
            split (str): "train", "val" or "test", for messages.
        """
        self.num_videos, self.max_fraction, self.split = num_videos, max_fraction, split
        self._paths = set()
        self._run_paths = set()

    @classmethod
    def for_loader(cls, loader, max_fraction, split):
        """A tracker for ``loader``'s data set (``num_videos`` is the dataset registry's contract)."""
        return cls(loader.dataset.num_videos, max_fraction, split)

    def update(self, meta):
        """Record the ``meta["bad_paths"]`` of one batch (a flat list of str)."""
        self._paths.update(meta.get("bad_paths", []))

    def state(self):
        """Sorted list of bad paths seen by this process (picklable, for ``all_gather_object``)."""
        return sorted(self._paths)

    def merge(self, states):
        """Union with other processes' states.

        Args:
            states (list): a state (list of str) or a list of states.
        """
        for item in states:
            if isinstance(item, str):
                self._paths.add(item)
            else:
                self._paths.update(item)

    def end_epoch(self):
        """Add this epoch's bad videos to the run's and start the next epoch with none."""
        self._run_paths.update(self._paths)
        self._paths.clear()

    def run_paths(self):
        """Sorted bad paths of every ended epoch of the run (for the checkpoint)."""
        return sorted(self._run_paths)

    def restore_run_paths(self, paths):
        """Continue a resumed run's count with the bad paths its checkpoint saved."""
        self._run_paths = set(paths)

    def summary(self):
        """Returns: dict with this epoch's ``count`` and sorted ``paths``, and ``run_total`` distinct bad videos
        over the run including this epoch."""
        return {"count": len(self._paths), "paths": self.state(), "run_total": len(self._run_paths | self._paths)}

    def check(self):
        """Raise TooManyBadVideos naming the files when more than ``max_fraction`` of the split is bad."""
        if len(self._paths) > self.max_fraction * self.num_videos:
            raise TooManyBadVideos(
                f"{len(self._paths)} of {self.num_videos} {self.split} videos could not be decoded, "
                f"more than DATA.MAX_BAD_FRACTION = {self.max_fraction} (run tools/check_dataset.py and "
                f"use its cleaned CSVs): {', '.join(self.state())}"
            )

"""Count the videos of a split that failed to decode, and stop the run when too many did."""

from slowfast.utils.errors import UserError


class TooManyBadVideos(UserError, RuntimeError):
    """More videos of a split failed to decode than DATA.MAX_BAD_FRACTION allows (a data problem, no bug)."""


class BadVideoTracker:
    """Collects bad video paths from batch metadata; its state is a plain list for all-gathering.

    Usage per epoch: ``update(meta)`` for every batch, then on each rank
    ``tracker.merge(all_gathered_states)``, log ``summary()``, and call ``check()``.
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

    def reset(self):
        """Forget everything (start of an epoch)."""
        self._paths.clear()

    def summary(self):
        """Returns: dict with ``count`` and sorted ``paths`` of bad videos."""
        return {"count": len(self._paths), "paths": self.state()}

    def check(self):
        """Raise TooManyBadVideos naming the files when more than ``max_fraction`` of the split is bad."""
        if len(self._paths) > self.max_fraction * self.num_videos:
            raise TooManyBadVideos(
                f"{len(self._paths)} of {self.num_videos} {self.split} videos could not be decoded, "
                f"more than DATA.MAX_BAD_FRACTION = {self.max_fraction} (run tools/check_dataset.py and "
                f"use its cleaned CSVs): {', '.join(self.state())}")

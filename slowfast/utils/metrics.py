"""Machine-readable metrics: one JSON object per line in OUTPUT_DIR/metrics.jsonl, plus optional TensorBoard.

Record types (field ``type``), numbers as numbers:
- ``train_iter``: epoch, iter, global_step, loss, lr, top1, clips_per_s, data_wait_s, time
- ``train_epoch``: epoch, loss, top1, lr, clips_per_s, data_wait_share, bad_videos, time
- ``eval``: epoch, top1, top5, num_videos, bad_videos, time
- ``test``: top1, top5, num_videos, num_views, bad_videos
``time`` is the benchmark clock (seconds since run_start, continued across resumes).
"""

import math
import os

import simplejson

METRICS_FILENAME = "metrics.jsonl"


class MetricsWriter:
    """Append metric records to ``metrics.jsonl`` (and TensorBoard scalars when enabled); rank 0 only."""

    def __init__(self, output_dir, enabled=True, tensorboard_dir=None):
        """
        Args:
            output_dir (str): folder of metrics.jsonl.
            enabled (bool): False on ranks other than 0: every call is a no-op.
            tensorboard_dir (str or None): write TensorBoard scalars there too.
        """
        self.enabled = enabled
        self.path = os.path.join(output_dir, METRICS_FILENAME)
        self._tb = None
        if enabled and tensorboard_dir:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(tensorboard_dir)

    def write(self, record_type, step=None, **values):
        """Append one record; ``step`` (if given) is the TensorBoard x-axis for its scalars."""
        if not self.enabled:
            return
        record = {"type": record_type, **{k: _plain(v) for k, v in values.items()}}
        with open(self.path, "a") as f:
            f.write(simplejson.dumps(record, ignore_nan=True) + "\n")
        if self._tb is not None and step is not None:
            for key, value in record.items():
                if isinstance(value, (int, float)) and key not in ("epoch", "iter", "global_step"):
                    self._tb.add_scalar(f"{record_type}/{key}", value, step)

    def close(self):
        """Flush TensorBoard events."""
        if self._tb is not None:
            self._tb.close()


def _plain(value):
    """Tensors and numpy scalars become Python numbers; non-finite floats become None (JSON null)."""
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value

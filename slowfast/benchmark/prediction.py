"""What the self-check predicts for a run, and OUTPUT_DIR/selfcheck.json, which a later run compares with.

The prediction is arithmetic on measured figures (slowfast/selfcheck/probes.py):
``epoch = steps per epoch x seconds per step fed by the real loader + evaluation (+ precise BN)``, the run is
MAX_EPOCH such epochs (evaluations every EVAL_PERIOD), and when the reference's epochs to the target are known
(BENCHMARK.REFERENCE_EPOCHS) the time to the target is that many epochs, which gives the score.
Start-up before the clock and checkpoint writing are not included.
"""

import json
import logging
import math
import os
from typing import Any

from fvcore.common.config import CfgNode

from slowfast.benchmark.score import score
from slowfast.utils.files import atomic_write_json

logger = logging.getLogger(__name__)

SELFCHECK_FILENAME = "selfcheck.json"


def predict_run(cfg: CfgNode, measured: dict[str, Any]) -> dict[str, float | None]:
    """Predict epoch time, run time and score from the probes' measurements.

    Args:
        cfg (CfgNode): the configuration (SOLVER.MAX_EPOCH, TRAIN.EVAL_PERIOD, BENCHMARK.*).
        measured (dict): from ``probes.measure_job``: step_s, steps_per_epoch, eval_s, precise_bn_s, processes.
    Returns:
        dict: predicted_train_s, predicted_eval_s, predicted_epoch_s (an evaluated epoch: train + evaluation),
        predicted_run_s (MAX_EPOCH epochs), predicted_target_s and predicted_score (None when the reference's
        epochs to the target or its time is unknown).
    """
    train_s = measured["step_s"] * measured["steps_per_epoch"]
    eval_s = measured["eval_s"] + measured["precise_bn_s"]
    epochs, period = cfg.SOLVER.MAX_EPOCH, cfg.TRAIN.EVAL_PERIOD
    evaluations = epochs // period + (1 if epochs % period else 0)  # the last epoch is always evaluated
    target_epochs = cfg.BENCHMARK.REFERENCE_EPOCHS
    target_s = None
    if target_epochs:
        target_s = target_epochs * train_s + math.ceil(target_epochs / period) * eval_s
    predicted_score = None
    if target_s and cfg.BENCHMARK.REFERENCE_TIME_S > 0:
        predicted_score = score(
            cfg.BENCHMARK.REFERENCE_TIME_S, target_s, cfg.BENCHMARK.REFERENCE_NUM_GPUS, measured["processes"]
        )
    return {
        "predicted_train_s": train_s,
        "predicted_eval_s": eval_s,
        "predicted_epoch_s": train_s + eval_s,
        "predicted_run_s": epochs * train_s + evaluations * eval_s,
        "predicted_target_s": target_s,
        "predicted_score": predicted_score,
    }


def write_selfcheck(output_dir: str, record: dict[str, Any]) -> str:
    """Write ``record`` to ``output_dir/selfcheck.json``; return the path."""
    return atomic_write_json(os.path.join(output_dir, SELFCHECK_FILENAME), record)


def read_predicted_epoch_s(output_dir: str) -> float | None:
    """The self-check's predicted epoch seconds for the run in ``output_dir``, or None without a readable one."""
    path = os.path.join(output_dir, SELFCHECK_FILENAME)
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f).get("predicted_epoch_s")
    except (OSError, ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, (int, float)) else None


def log_epoch_time(epoch: int, epoch_s: float, predicted_epoch_s: float | None) -> None:
    """Log an epoch's measured time (train + evaluation) beside the self-check's prediction, when there is one."""
    if predicted_epoch_s is None:
        logger.info("epoch %d took %.1f s (train + evaluation)", epoch + 1, epoch_s)
        return
    logger.info(
        "epoch %d took %.1f s (train + evaluation); selfcheck predicted %.1f s (measured %+.0f %%)",
        epoch + 1,
        epoch_s,
        predicted_epoch_s,
        100.0 * (epoch_s / predicted_epoch_s - 1.0),
    )

"""MLPerf ``:::MLLOG`` events of a run, written with the mlperf-logging package to OUTPUT_DIR/mllog.txt.

Only rank 0 writes (``open_mllog(output_dir, is_main_process)`` gives other ranks a disabled log).
Each MLLog owns a private ``logging.Logger`` (not the package's global one), so one process can write
several runs to different files, e.g. in tests.

Units and conventions, so that tools/score.py can recompute the result from this file alone:
- ``eval_accuracy`` and ``target_accuracy`` are top-1 in PERCENT (as BENCHMARK.TARGET_TOP1), not fractions.
- ``epoch_num`` in metadata counts from 1: the epoch being trained, or for ``eval_accuracy`` the number of
  epochs trained before that evaluation (so it equals epochs to target). The API takes the engine's 0-based
  epoch index.
- ``clock_s`` in metadata is the BenchmarkClock's elapsed seconds; unlike ``time_ms`` it continues across a
  resume, so it is the time the score uses. A resumed run appends ``run_resume`` (not a second run_start).
- ``global_batch_size`` counts clips per optimisation step (videos x AUG.NUM_SAMPLE), ``global_batch_videos``
  videos; ``opt_base_learning_rate`` is BASE_LR after linear scaling by ``lr_factor``.
- Custom keys besides MLPerf's: target_accuracy, num_accelerators (world size), reference_time_s,
  reference_num_accelerators, reference_epochs, benchmark_kind, quickstart, config_changes,
  dataset_fingerprint, global_batch_videos, lr_factor, bad_videos (per split and epoch, with run totals),
  run_resume,
  implementation (value: {"mode", "settings": [{"name", "value", "chosen_by"}], "candidates": auto's timings,
  "precision": {"allow_tf32", "matmul_precision", "autocast"}, "versions": torch/CUDA/cuDNN/NCCL};
  see slowfast/engine/implementation.py),
  system (value: the system description of slowfast/utils/system.py, also in OUTPUT_DIR/system.json).
"""

import dataclasses
import logging
import os
from typing import TYPE_CHECKING, Any

from fvcore.common.config import CfgNode
from mlperf_logging.compliance_checker.mlp_parser import parse_file
from mlperf_logging.mllog import constants
from mlperf_logging.mllog.mllog import MLLogger

from slowfast.solver.lr_policy import lr_scale_factor, scaled_lrs

if TYPE_CHECKING:  # compliance imports the engine, which imports this module
    from slowfast.benchmark.compliance import ComplianceVerdict

MLLOG_FILENAME = "mllog.txt"
CLOCK_KEY = "clock_s"
TARGET_ACCURACY = "target_accuracy"
NUM_ACCELERATORS = "num_accelerators"
REFERENCE_TIME = "reference_time_s"
REFERENCE_ACCELERATORS = "reference_num_accelerators"
BENCHMARK_KIND = "benchmark_kind"
QUICKSTART = "quickstart"
CONFIG_CHANGES = "config_changes"
DATASET_FINGERPRINT = "dataset_fingerprint"
RUN_RESUME = "run_resume"
REFERENCE_EPOCHS = "reference_epochs"
GLOBAL_BATCH_VIDEOS = "global_batch_videos"
LR_FACTOR = "lr_factor"
BAD_VIDEOS = "bad_videos"
IMPLEMENTATION = "implementation"
SYSTEM = "system"
# The run's system description (slowfast/utils/system.py), beside mllog.txt; also logged as the ``system`` event.
SYSTEM_FILENAME = "system.json"
STATUS_SUCCESS = constants.SUCCESS
STATUS_ABORTED = constants.ABORTED

# The parser is the same for every recent ruleset; name one so the package does not fall back to 0.6.0.
PARSER_RULESET = "6.1.0"
TOKEN = ":::MLLOG"
# A parsed line: mlperf_logging's LogLine, whose ``value`` is annotated str but holds {"value", "metadata"}.
LogLine = Any
# Frames between MLLogger.get_caller and the engine line that called one of our public methods.
_CALLER_STACK_OFFSET = 3


class MLLog:
    """An ``:::MLLOG`` event writer bound to one file (or disabled when ``path`` is None).

    Args:
        path (str or None): file to append to; None gives a log that ignores every call (non-zero ranks).
    """

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self._handler: logging.FileHandler | None = None
        self._mllogger: MLLogger | None = None
        if path is None:
            return
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        logger = logging.Logger(f"slowfast.mllog:{os.path.abspath(path)}", level=logging.INFO)
        logger.propagate = False
        self._handler = logging.FileHandler(path, mode="a", encoding="utf-8")
        logger.addHandler(self._handler)
        self._mllogger = MLLogger(logger=logger, default_stack_offset=_CALLER_STACK_OFFSET)

    @property
    def enabled(self) -> bool:
        """True when this log writes to a file."""
        return self._mllogger is not None

    def _emit(self, kind: str, key: str, value: object, metadata: dict[str, Any] | None) -> None:
        if self._mllogger is None or self._handler is None:  # disabled
            return
        # kind is the MLLogger method: "start", "end" or "event".
        getattr(self._mllogger, kind)(key=key, value=value, metadata=metadata)
        self._handler.flush()

    def event(self, key: str, value: object = None, metadata: dict[str, Any] | None = None) -> None:
        """Log a point-in-time event ``key`` with ``value`` and optional metadata dict."""
        self._emit("event", key, value, metadata)

    def start(self, key: str, value: object = None, metadata: dict[str, Any] | None = None) -> None:
        """Log the start of interval ``key``."""
        self._emit("start", key, value, metadata)

    def end(self, key: str, value: object = None, metadata: dict[str, Any] | None = None) -> None:
        """Log the end of interval ``key``."""
        self._emit("end", key, value, metadata)

    def run_start(self, clock_s: float = 0.0) -> None:
        """Log run_start; call right after ``BenchmarkClock.start()`` of a fresh run."""
        self._emit("start", constants.RUN_START, None, {CLOCK_KEY: clock_s})

    def run_resume(self, epoch: int, clock_s: float) -> None:
        """Log that a resumed run continues at 0-based ``epoch`` with the clock at ``clock_s``."""
        self._emit("event", RUN_RESUME, None, {"epoch_num": epoch + 1, CLOCK_KEY: clock_s})

    def epoch_start(self, epoch: int, clock_s: float) -> None:
        """Log epoch_start of the 0-based ``epoch``."""
        self._emit("start", constants.EPOCH_START, None, {"epoch_num": epoch + 1, CLOCK_KEY: clock_s})

    def epoch_stop(self, epoch: int, clock_s: float) -> None:
        """Log epoch_stop of the 0-based ``epoch``."""
        self._emit("end", constants.EPOCH_STOP, None, {"epoch_num": epoch + 1, CLOCK_KEY: clock_s})

    def eval_start(self, epoch: int, clock_s: float) -> None:
        """Log eval_start after training the 0-based ``epoch``."""
        self._emit("start", constants.EVAL_START, None, {"epoch_num": epoch + 1, CLOCK_KEY: clock_s})

    def eval_accuracy(self, epoch: int, top1: float, clock_s: float) -> None:
        """Log the top-1 (percent) of the evaluation after the 0-based ``epoch`` at clock time ``clock_s``."""
        metadata = {"epoch_num": epoch + 1, CLOCK_KEY: clock_s}
        self._emit("event", constants.EVAL_ACCURACY, float(top1), metadata)

    def eval_stop(self, epoch: int, clock_s: float) -> None:
        """Log eval_stop after training the 0-based ``epoch``."""
        self._emit("end", constants.EVAL_STOP, None, {"epoch_num": epoch + 1, CLOCK_KEY: clock_s})

    def bad_videos(self, epoch: int, split: str, count: int, run_total: int) -> None:
        """Log the videos of ``split`` that could not be decoded in the 0-based ``epoch``, and the run totals.

        Args:
            epoch (int): 0-based epoch.
            split (str): "train", "val" or "test".
            count (int): undecodable videos of this split in this epoch.
            run_total (int): distinct undecodable videos of this split over the run so far (resumes included).
        """
        metadata = {"epoch_num": epoch + 1, "split": split, "run_total": int(run_total)}
        self._emit("event", BAD_VIDEOS, int(count), metadata)

    def run_stop(self, status: str, clock_s: float) -> None:
        """Log run_stop with ``status`` "success" (target reached) or "aborted"."""
        if status not in (STATUS_SUCCESS, STATUS_ABORTED):
            raise ValueError(f"run_stop status {status!r}: allowed {STATUS_SUCCESS!r} or {STATUS_ABORTED!r}")
        self._emit("end", constants.RUN_STOP, None, {"status": status, CLOCK_KEY: clock_s})

    def close(self) -> None:
        """Close the file; later calls are ignored."""
        if self._handler is not None:
            self._handler.close()
        self._handler = None
        self._mllogger = None

    def __enter__(self) -> "MLLog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_mllog(output_dir: str, is_main_process: bool) -> MLLog:
    """Return the run's MLLog: writing ``output_dir/mllog.txt`` on the main process, disabled elsewhere."""
    return MLLog(os.path.join(output_dir, MLLOG_FILENAME) if is_main_process else None)


def log_run_header(
    mllog: MLLog,
    cfg: CfgNode,
    model_name: str,
    world_size: int,
    verdict: "ComplianceVerdict",
    fingerprint: dict[str, Any] | None = None,
    platform: str = "",
) -> None:
    """Log the run's constants between init_start and init_stop: submission fields, batch, seed, targets.

    Args:
        mllog (MLLog): the run's log.
        cfg (CfgNode): the run's configuration.
        model_name (str): ``submission_benchmark``, e.g. "X3D_M".
        world_size (int): accelerators (processes) of the run, logged as num_accelerators.
        verdict (ComplianceVerdict): decides submission_division and lists config_changes.
        fingerprint (dict or None): from ``dataset_fingerprint``; also gives train/eval_samples.
        platform (str): e.g. "4xNVIDIA TITAN RTX" or "cpu".
    """
    mllog.event(constants.SUBMISSION_BENCHMARK, model_name)
    mllog.event(constants.SUBMISSION_DIVISION, verdict.division)
    mllog.event(constants.SUBMISSION_ORG, "video-model-benchmark")
    mllog.event(constants.SUBMISSION_PLATFORM, platform or "unknown")
    mllog.event(constants.SUBMISSION_STATUS, "research")
    mllog.event(constants.SEED, int(cfg.RNG_SEED))
    mllog.event(constants.GLOBAL_BATCH_SIZE, int(cfg.TRAIN.BATCH_SIZE * cfg.AUG.NUM_SAMPLE))
    mllog.event(GLOBAL_BATCH_VIDEOS, int(cfg.TRAIN.BATCH_SIZE))
    mllog.event(constants.OPT_BASE_LR, float(scaled_lrs(cfg)["BASE_LR"]))
    mllog.event(LR_FACTOR, float(lr_scale_factor(cfg)))
    mllog.event(constants.EPOCH_COUNT, int(cfg.SOLVER.MAX_EPOCH))
    mllog.event(TARGET_ACCURACY, float(cfg.BENCHMARK.TARGET_TOP1), {"unit": "percent top-1"})
    mllog.event(NUM_ACCELERATORS, int(world_size))
    mllog.event(REFERENCE_TIME, float(cfg.BENCHMARK.REFERENCE_TIME_S))
    mllog.event(REFERENCE_ACCELERATORS, int(cfg.BENCHMARK.REFERENCE_NUM_GPUS))
    mllog.event(REFERENCE_EPOCHS, int(cfg.BENCHMARK.REFERENCE_EPOCHS))
    mllog.event(BENCHMARK_KIND, cfg.BENCHMARK.KIND)
    mllog.event(QUICKSTART, bool(cfg.BENCHMARK.QUICKSTART))
    mllog.event(CONFIG_CHANGES, [c.as_dict() for c in verdict.disallowed])
    if fingerprint is not None:
        mllog.event(DATASET_FINGERPRINT, fingerprint)
        for split, key in (("train", constants.TRAIN_SAMPLES), ("val", constants.EVAL_SAMPLES)):
            if split in fingerprint:
                mllog.event(key, fingerprint[split]["videos"])


def read_mllog(path: str) -> tuple[list[LogLine], list[tuple[str, str]]]:
    """Parse an mllog file with the mlperf-logging parser.

    Args:
        path (str): an mllog.txt.
    Returns:
        tuple: (list of LogLine whose ``lineno`` is the 1-based line number in the file, list of (line, error)
        for lines that failed to parse).
    """
    lines, errors = parse_file(path, ruleset=PARSER_RULESET)
    with open(path, encoding="utf-8", errors="replace") as f:
        # The parser numbers only the lines holding the token, from 0; map them back to file lines.
        file_lines = [number for number, text in enumerate(f, start=1) if TOKEN in text]
    return [dataclasses.replace(line, lineno=file_lines[line.lineno]) for line in lines], errors


def describe_implementation(value: dict[str, Any] | None) -> str:
    """One line for an ``implementation`` event value, e.g. "auto: channels_last on, compile off; 2 CPU threads".

    Args:
        value (dict or None): the event's value (None or {} when the log has none).
    Returns:
        str: the summary ("" without an event).
    """
    if not value:
        return ""
    settings = value.get("settings", [])
    options = [s for s in settings if s["name"] != "cpu_threads"]
    text = f"{value.get('mode', '?')}: " + ", ".join(f"{s['name']} {'on' if s['value'] else 'off'}" for s in options)
    if any("median_s" in c for c in value.get("candidates", [])):
        text += f" (fastest of {describe_search(value['candidates'])})"
    threads = next((s["value"] for s in settings if s["name"] == "cpu_threads"), None)
    text += f"; {threads} CPU thread(s) per process" if threads is not None else ""
    return text + describe_precision(value.get("precision"))


def describe_precision(precision: dict[str, Any] | None) -> str:
    """ "; precision: TF32 off, matmul highest, autocast off" from the event's precision ("" without one)."""
    if not precision:
        return ""
    tf32 = "on" if precision.get("allow_tf32") else "off"
    return (
        f"; precision: cuDNN TF32 {tf32}, matmul {precision.get('matmul_precision')}, "
        f"autocast {precision.get('autocast')}"
    )


def describe_search(candidates: list[dict[str, Any]]) -> str:
    """ "N timed candidates" and how many the time budget skipped: auto's search in words, said the same way in
    the run's log and in the result block.

    Args:
        candidates (list of dict): the ``implementation`` event's candidates ("median_s" when timed, "skipped"
            when the budget was spent).
    Returns:
        str: e.g. "3 timed candidates, 5 skipped (time budget spent)".
    """
    timed = sum("median_s" in c for c in candidates)
    skipped = sum("skipped" in c for c in candidates)
    text = f"{timed} timed candidate{'s' if timed != 1 else ''}"
    return text + (f", {skipped} skipped (time budget spent)" if skipped else "")


def describe_versions(value: dict[str, Any] | None) -> str:
    """ "torch X, CUDA Y, cuDNN Z, NCCL W" from an ``implementation`` event value ("" without one)."""
    versions = (value or {}).get("versions")
    if not versions:
        return ""
    names = (("torch", "torch"), ("cuda", "CUDA"), ("cudnn", "cuDNN"), ("nccl", "NCCL"))
    return ", ".join(f"{label} {versions.get(key) or '-'}" for key, label in names)

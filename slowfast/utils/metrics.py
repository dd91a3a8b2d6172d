"""OUTPUT_DIR/metrics.jsonl: its schema, its writer (plus optional TensorBoard) and its reader.

One JSON object per line, numbers as numbers; a non-finite float is written as null. The record types below
are the one definition of the file: ``MetricsWriter.write`` refuses a record that does not match its type,
and readers go through ``read_metrics`` and ``records_of``. ``epoch`` is 0-based and ``time`` is the
benchmark clock (seconds since run_start, continued across resumes).

Reading is lenient, because logs of older versions or edited ones may lack fields: a reader treats a missing
field as unknown. ``read_metrics(run_dir, strict=True)`` reports every line that does not match instead.
"""

import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import simplejson

METRICS_FILENAME = "metrics.jsonl"


class TrainIterRecord(TypedDict):
    """``train_iter``: every LOG_PERIOD iterations and at the last iteration of an epoch."""

    epoch: int
    iter: int  # 1-based, within the epoch
    global_step: int
    loss: float
    lr: float
    top1: float  # percent, of this iteration's batch
    clips_per_s: float  # all processes, since the epoch began
    data_wait_s: float  # seconds this iteration waited for its batch
    time: float


class TrainEpochRecord(TypedDict):
    """``train_epoch``: at the end of every epoch, after its evaluation."""

    epoch: int
    loss: float
    top1: float  # percent
    lr: float  # at the end of the epoch
    clips_per_s: float  # all processes
    data_wait_share: float  # share of this process's epoch spent waiting for data
    first_batch_wait_s: float  # this process's wait for the epoch's first batch (the loader's start)
    steady_clips_per_s: float  # clips_per_s without that wait
    steady_data_wait_share: float  # data_wait_share without it
    bad_videos: int  # train videos that could not be decoded in this epoch
    recompilations: int  # torch.compile compilations during the epoch, after the warm-up (goal: 0)
    memory_mb: float  # peak GPU memory this process allocated in the epoch's training (CUDA), else resident memory
    epoch_s: float  # train + evaluation
    predicted_epoch_s: float | None  # the self-check's prediction (None without one)
    time: float


class EvalRecord(TypedDict):
    """``eval``: every evaluation (one view per val video)."""

    epoch: int
    top1: float  # percent
    top5: float
    num_videos: int
    bad_videos: int
    time: float


class MultiViewTestRecord(TypedDict):
    """``test``: the multi-view test after training (outside the clock)."""

    top1: float  # percent, video level
    top5: float
    num_videos: int
    num_views: int
    bad_videos: int


RECORD_TYPES: dict[str, type] = {
    "train_iter": TrainIterRecord,
    "train_epoch": TrainEpochRecord,
    "eval": EvalRecord,
    "test": MultiViewTestRecord,
}


class MetricsSchemaError(ValueError):
    """A metrics record that does not match its type: unknown type, missing, unknown or non-numeric fields."""


def record_fields(record_type: str) -> tuple[str, ...]:
    """The fields of ``record_type`` besides ``type``, in schema order.

    Raises:
        MetricsSchemaError: an unknown record type, naming the known ones.
    """
    if record_type not in RECORD_TYPES:
        raise MetricsSchemaError(f"unknown metrics record type {record_type!r}: known {list(RECORD_TYPES)}")
    return tuple(RECORD_TYPES[record_type].__annotations__)


def record_problems(record: Mapping[str, object]) -> list[str]:
    """What makes ``record`` differ from its type's schema; empty when it matches.

    Args:
        record (mapping): one metrics record, with its ``type``.
    Returns:
        list of str: one line per problem, naming the record type and the fields.
    """
    try:
        fields = record_fields(str(record.get("type")))
    except MetricsSchemaError as err:
        return [str(err)]
    record_type, present = record["type"], set(record) - {"type"}
    problems: list[str] = []
    missing = [name for name in fields if name not in present]
    if missing:
        problems.append(f"{record_type} record lacks {', '.join(missing)}")
    unknown = sorted(present - set(fields))
    if unknown:
        problems.append(f"{record_type} record has unknown field(s) {', '.join(unknown)}: its fields are {fields}")
    for name in fields:
        value = record.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            problems.append(f"{record_type} field {name} = {value!r} is not a number")
    return problems


class MetricsWriter:
    """Append metric records to ``metrics.jsonl`` (and TensorBoard scalars when enabled); rank 0 only."""

    def __init__(self, output_dir: str, enabled: bool = True, tensorboard_dir: str | None = None) -> None:
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

    def write(self, record_type: str, values: Mapping[str, object], step: int | None = None) -> None:
        """Append one record.

        Args:
            record_type (str): one of ``RECORD_TYPES``.
            values (mapping): the record's fields (tensors and numpy scalars are turned into numbers).
            step (int or None): the TensorBoard x-axis for the record's scalars; None writes no scalars.
        Raises:
            MetricsSchemaError: the record does not match ``record_type``'s schema (nothing is written).
        """
        if not self.enabled:
            return
        record = {"type": record_type, **{k: _plain(v) for k, v in values.items()}}
        problems = record_problems(record)
        if problems:
            raise MetricsSchemaError("; ".join(problems))
        with open(self.path, "a") as f:
            f.write(simplejson.dumps(record, ignore_nan=True) + "\n")
        if self._tb is not None and step is not None:
            for key, value in record.items():
                if isinstance(value, (int, float)) and key not in ("epoch", "iter", "global_step"):
                    self._tb.add_scalar(f"{record_type}/{key}", value, step)

    def close(self) -> None:
        """Flush TensorBoard events."""
        if self._tb is not None:
            self._tb.close()


def _plain(value: Any) -> Any:
    """Tensors and numpy scalars become Python numbers; non-finite floats become None (JSON null)."""
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def read_metrics(run_dir: str, strict: bool = False) -> list[dict[str, Any]]:
    """Read ``run_dir/metrics.jsonl``: the JSON objects in file order; lines that are not one are skipped.

    Args:
        run_dir (str): a run's OUTPUT_DIR.
        strict (bool): raise when a line is not a JSON object or a record does not match its schema.
    Returns:
        list of dict: the records ([] when the file is missing).
    Raises:
        MetricsSchemaError: with ``strict``, one line per problem, naming the file and the line number.
    """
    path = os.path.join(run_dir, METRICS_FILENAME)
    if not os.path.isfile(path):
        return []
    records: list[dict[str, Any]] = []
    problems: list[str] = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                problems.append(f"{path}:{lineno}: not a JSON object")
                continue
            records.append(record)
            problems += [f"{path}:{lineno}: {problem}" for problem in record_problems(record)]
    if strict and problems:
        raise MetricsSchemaError("\n".join(problems))
    return records


def records_of(records: Sequence[Mapping[str, Any]], record_type: str, *fields: str) -> list[Mapping[str, Any]]:
    """The records of ``record_type``, in order.

    Args:
        records (sequence of dict): from ``read_metrics``.
        record_type (str): one of ``RECORD_TYPES``.
        *fields (str): fields the caller will read; each must belong to the type.
    Raises:
        MetricsSchemaError: an unknown record type or a field the type does not have.
    """
    known = record_fields(record_type)
    unknown = [name for name in fields if name not in known]
    if unknown:
        raise MetricsSchemaError(f"{record_type} records have no field(s) {', '.join(unknown)}: fields {known}")
    return [record for record in records if record.get("type") == record_type]


def mean_data_wait_share(records: Sequence[Mapping[str, Any]]) -> float | None:
    """How input-bound a run was: the mean ``data_wait_share`` of its train_epoch records.

    Args:
        records (sequence of dict): from ``read_metrics``.
    Returns:
        float or None: a share in [0, 1]; None when no train_epoch record has the field (older or no metrics).
    """
    shares = [r.get("data_wait_share") for r in records_of(records, "train_epoch", "data_wait_share")]
    known = [share for share in shares if isinstance(share, int | float) and not isinstance(share, bool)]
    return sum(known) / len(known) if known else None

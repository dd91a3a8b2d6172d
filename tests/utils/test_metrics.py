"""metrics.jsonl has one schema: the engine writes through it, readers read through it, deviations are named."""

import json
import os
from types import SimpleNamespace

import pytest
import torch

from slowfast.config import get_cfg
from slowfast.engine.meters import EpochStats
from slowfast.engine.trainer import _log_iteration
from slowfast.utils.metrics import (
    RECORD_TYPES,
    MetricsSchemaError,
    MetricsWriter,
    mean_data_wait_share,
    read_metrics,
    record_fields,
    records_of,
)

STORED_RUN = os.path.join(os.path.dirname(os.path.dirname(__file__)), "benchmark", "logs", "x3d_4gpu_a")


def _complete(record_type, **overrides):
    """A record of ``record_type`` with every field set (1.5 unless overridden)."""
    return {**{name: 1.5 for name in record_fields(record_type)}, **overrides}


def test_a_train_iter_record_written_by_the_loop_reads_back_through_the_schema(tmp_path):
    cfg = get_cfg()
    cfg.SOLVER.MAX_EPOCH = 3
    ctx = SimpleNamespace(
        cfg=cfg, device=torch.device("cpu"), metrics=MetricsWriter(str(tmp_path)), clock_time=lambda: 12.5
    )
    stats = EpochStats()
    stats.update(loss=2.0, correct=3, clips=4, data_wait_s=0.25)
    _log_iteration(ctx, epoch=1, it=4, num_iters=10, stats=stats, loss=2.0, top1=75.0, lr=0.1, wait=0.25)

    (record,) = records_of(read_metrics(str(tmp_path), strict=True), "train_iter")
    assert set(record) == {"type", *record_fields("train_iter")}
    assert (record["epoch"], record["iter"], record["global_step"], record["time"]) == (1, 5, 15, 12.5)
    assert (record["loss"], record["lr"], record["top1"], record["data_wait_s"]) == (2.0, 0.1, 75.0, 0.25)


@pytest.mark.parametrize("record_type", sorted(RECORD_TYPES))
def test_every_record_type_round_trips_with_numbers_as_numbers(tmp_path, record_type):
    first, last = record_fields(record_type)[0], record_fields(record_type)[-1]
    MetricsWriter(str(tmp_path)).write(record_type, _complete(record_type, **{first: torch.tensor(5), last: 1e999}))
    (record,) = read_metrics(str(tmp_path), strict=True)
    assert record == {"type": record_type, **_complete(record_type, **{first: 5, last: None})}
    assert type(record[first]) is int  # a 0-dim tensor became a number; a non-finite float became null


def test_the_writer_refuses_a_missing_or_an_unknown_field_and_names_it(tmp_path):
    writer = MetricsWriter(str(tmp_path))
    missing = _complete("eval")
    del missing["top5"]
    with pytest.raises(MetricsSchemaError, match=r"^eval record lacks top5$"):
        writer.write("eval", missing)
    with pytest.raises(MetricsSchemaError, match=r"eval record has unknown field\(s\) top_1: its fields are \("):
        writer.write("eval", _complete("eval", top_1=3.0))
    with pytest.raises(MetricsSchemaError, match=r"eval field top1 = '3' is not a number"):
        writer.write("eval", _complete("eval", top1="3"))
    with pytest.raises(MetricsSchemaError, match=r"unknown metrics record type 'evaluation': known \["):
        writer.write("evaluation", _complete("eval"))
    assert read_metrics(str(tmp_path)) == []  # nothing was written


def test_a_disabled_writer_writes_nothing(tmp_path):
    MetricsWriter(str(tmp_path), enabled=False).write("eval", _complete("eval"))
    assert not os.path.exists(tmp_path / "metrics.jsonl")


def test_reading_is_lenient_and_the_strict_read_names_each_line(tmp_path):
    lines = [
        {"type": "eval", **_complete("eval")},
        {"type": "eval", "epoch": 1, "top1": 20.0, "extra": 1},
        {"type": "bogus"},
    ]
    with open(tmp_path / "metrics.jsonl", "w") as f:
        f.write("\n".join(map(json.dumps, lines)) + "\n[1, 2]\n{truncated\n")
    assert read_metrics(str(tmp_path)) == lines  # what is not a JSON object is skipped
    with pytest.raises(MetricsSchemaError) as caught:
        read_metrics(str(tmp_path), strict=True)
    path = tmp_path / "metrics.jsonl"
    assert str(caught.value).splitlines() == [
        f"{path}:2: eval record lacks top5, num_videos, bad_videos, time",
        f"{path}:2: eval record has unknown field(s) extra: its fields are {record_fields('eval')}",
        f"{path}:3: unknown metrics record type 'bogus': known {list(RECORD_TYPES)}",
        f"{path}:4: not a JSON object",
        f"{path}:5: not a JSON object",
    ]


def test_stored_log_skips_its_bad_line_and_the_strict_read_reports_it():
    records = read_metrics(STORED_RUN)
    assert len(records) == 11
    assert {r["type"] for r in records} == {"train_iter", "train_epoch", "eval"}
    assert read_metrics(os.path.join(os.path.dirname(STORED_RUN), "x3d_1gpu")) == []  # no metrics.jsonl
    with pytest.raises(MetricsSchemaError, match=r"metrics.jsonl:8: not a JSON object"):
        read_metrics(STORED_RUN, strict=True)


def test_readers_cannot_ask_for_a_field_or_a_type_the_schema_does_not_have():
    records = [{"type": "eval", "epoch": 0, "top1": 10.0}, {"type": "train_epoch", "epoch": 0}]
    assert records_of(records, "eval", "epoch", "top1") == [records[0]]
    with pytest.raises(MetricsSchemaError, match=r"eval records have no field\(s\) accuracy"):
        records_of(records, "eval", "accuracy")
    with pytest.raises(MetricsSchemaError, match=r"unknown metrics record type 'evaluation'"):
        records_of(records, "evaluation")


def test_the_input_wait_share_is_the_mean_over_train_epochs_and_unknown_without_them():
    def record(record_type, **values):
        return {"type": record_type, **_complete(record_type, **values)}

    records = [
        record("train_epoch", data_wait_share=0.1),
        record("train_iter", data_wait_s=9.0),
        record("train_epoch", data_wait_share=0.4),
        record("train_epoch", data_wait_share=None),  # a non-finite value is written as null
    ]
    assert mean_data_wait_share(records) == pytest.approx(0.25)
    assert mean_data_wait_share([record("eval")]) is None
    assert mean_data_wait_share([{"type": "train_epoch", "epoch": 0}]) is None  # an older record lacks the field

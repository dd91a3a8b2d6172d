"""A run with broken videos: training replaces and counts them, evaluation reports them, too many stop the run."""

import json
import os
import shutil

import pytest

from slowfast.benchmark.run_reader import read_run
from slowfast.config import load_config
from slowfast.engine.run import run_job
from slowfast.utils.metrics import read_metrics, records_of

pytestmark = pytest.mark.slow  # end-to-end runs


@pytest.fixture
def damaged_kinetics(tiny_kinetics, tmp_path):
    """A copy of the tiny data set with one truncated train video and one val video that is not a video."""
    data = tmp_path / "data"
    shutil.copytree(tiny_kinetics, data)
    train_video = (data / "train.csv").read_text().split()[0]
    val_video = (data / "val.csv").read_text().split()[0]
    path = data / train_video
    path.write_bytes(path.read_bytes()[:300])
    (data / val_video).write_text("this is not a video")
    return str(data), train_video, val_video


def _run(smoke_config, data_dir, output_dir, max_bad_fraction):
    cfg_file, opts, _ = smoke_config(
        "X3D_M", output_dir, "SOLVER.MAX_EPOCH", "1", "TEST.ENABLE", "False", "DATA.MAX_BAD_FRACTION", max_bad_fraction
    )
    opts += ["DATA.PATH_TO_DATA_DIR", data_dir, "DATA.PATH_PREFIX", data_dir]
    return run_job(load_config(cfg_file, opts), cfg_file)


def test_bad_videos_are_counted_and_evaluation_excludes_them(smoke_config, damaged_kinetics, tmp_path):
    data_dir, _, _ = damaged_kinetics
    _run(smoke_config, data_dir, tmp_path / "out", "0.5")
    records = read_metrics(str(tmp_path / "out"), strict=True)
    (train,) = records_of(records, "train_epoch")
    (evaluation,) = records_of(records, "eval")
    assert train["bad_videos"] == 1
    assert evaluation["bad_videos"] == 1 and evaluation["num_videos"] == 7  # never replaced by another video
    # mllog: the epoch's count and the run total per split; the result read back from the log has the totals.
    assert read_run(str(tmp_path / "out")).bad_videos == {"train": 1, "val": 1}


def test_too_many_bad_videos_stop_the_run_naming_them(smoke_config, damaged_kinetics, tmp_path):
    data_dir, train_video, _ = damaged_kinetics
    with pytest.raises(RuntimeError, match=os.path.basename(train_video)):
        _run(smoke_config, data_dir, tmp_path / "out", "0.0")
    with open(tmp_path / "out" / "mllog.txt") as f:
        run_stop = [json.loads(line.split(":::MLLOG ", 1)[1]) for line in f if '"run_stop"' in line]
    assert [event["metadata"]["status"] for event in run_stop] == ["aborted"]

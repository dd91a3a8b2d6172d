"""Preflight: data, OUTPUT_DIR and device problems are all listed at once, before the model and the clock."""

import os
import shutil

import pytest
from tools_in_process import REPO, run_net

from slowfast.config import load_config
from slowfast.engine.preflight import PreflightError, check_before_run

SMOKE_X3D = os.path.join(REPO, "configs", "smoke", "X3D_M.yaml")
QUICKSTART_X3D = os.path.join(REPO, "configs", "quickstart", "X3D_M.yaml")


def _argv(data_dir, output_dir, *extra):
    return [
        "--cfg",
        SMOKE_X3D,
        "DATA.PATH_TO_DATA_DIR",
        str(data_dir),
        "DATA.PATH_PREFIX",
        str(data_dir),
        "MODEL.NUM_CLASSES",
        "4",
        "OUTPUT_DIR",
        str(output_dir),
        *extra,
    ]


def test_missing_data_folder_is_one_line_before_anything_is_logged(capsys, tmp_path):
    status = run_net.main(_argv(tmp_path / "typo", tmp_path / "run"))
    assert status == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: data folder {tmp_path / 'typo'} does not exist: pass the folder holding train.csv, val.csv and "
        "test.csv (DATA.PATH_TO_DATA_DIR)"
    ]
    assert not (tmp_path / "run" / "mllog.txt").exists() and not (tmp_path / "run" / "log.txt").exists()


def test_missing_and_empty_listed_files_and_unwritable_output_dir_are_listed_at_once(capsys, tiny_kinetics, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tiny_kinetics, data)
    train = (data / "train.csv").read_text().splitlines()
    os.remove(data / train[0].split()[0])  # a listed video deleted
    (data / train[1].split()[0]).write_bytes(b"")  # a listed video emptied (0 bytes)
    (data / "val.csv").unlink()
    (tmp_path / "a_file").write_text("")
    status = run_net.main(_argv(data, tmp_path / "a_file" / "run"))  # OUTPUT_DIR below a file: not writable
    lines = capsys.readouterr().err.splitlines()
    assert status == 1
    assert lines == [
        f"error: OUTPUT_DIR {tmp_path / 'a_file' / 'run'} is not writable (Not a directory): pass OUTPUT_DIR with a "
        "folder you can write to, or fix its permissions",
        f"error: {data / 'train.csv'} lists 1 of 24 file(s) that do not exist: {data / train[0].split()[0]}: fix the "
        "paths in the list or DATA.PATH_PREFIX",
        f"error: {data / 'train.csv'} lists 1 of 24 file(s) that are empty (0 bytes): {data / train[1].split()[0]}: "
        "replace them or remove their lines",
        f"error: {data / 'val.csv'} does not exist: the val split needs it (see data/README.md for the layout)",
    ]


def test_malformed_list_line_is_named_with_its_line_number(tiny_kinetics, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tiny_kinetics, data)
    with open(data / "val.csv", "a") as f:
        f.write("videos/extra.mp4 seven\n")
    cfg = load_config(
        SMOKE_X3D,
        [
            *("DATA.PATH_TO_DATA_DIR", str(data), "DATA.PATH_PREFIX", str(data), "MODEL.NUM_CLASSES", "4"),
            *("OUTPUT_DIR", str(tmp_path / "run")),
        ],
    )
    with pytest.raises(PreflightError) as found:
        check_before_run(cfg)
    assert str(found.value) == f"{data / 'val.csv'}:9: label 'seven' is not an integer: fix that line"


def test_synthetic_quickstart_refuses_a_folder_holding_the_users_data(capsys, tmp_path):
    data = tmp_path / "my_kinetics"
    data.mkdir()
    (data / "train.csv").write_text("clips/a.mp4 0\n")
    status = run_net.main(
        [
            "--cfg",
            QUICKSTART_X3D,
            "DATA.PATH_TO_DATA_DIR",
            str(data),
            "DATA.PATH_PREFIX",
            str(data),
            "OUTPUT_DIR",
            str(tmp_path / "run"),
        ]
    )
    assert status == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: {data} holds files the synthetic generator did not make (train.csv, ...); it writes only into a new "
        "or empty folder or one it made (with its dataset.json): choose another DATA.PATH_TO_DATA_DIR, or set "
        "DATA.SYNTHETIC.ENABLE False to train on the data in that folder"
    ]
    assert os.listdir(data) == ["train.csv"] and (data / "train.csv").read_text() == "clips/a.mp4 0\n"


def test_labels_that_do_not_fit_num_classes_are_named(capsys, tiny_kinetics, tmp_path):
    # A PySlowFast Kinetics-400 YAML on a smaller data set: 400 outputs for 4 classes.
    status = run_net.main(_argv(tiny_kinetics, tmp_path / "run", "MODEL.NUM_CLASSES", "400"))
    assert status == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: config key MODEL.NUM_CLASSES = 400 does not fit the data set in {tiny_kinetics}: its labels run "
        "0..3 (4 classes): pass MODEL.NUM_CLASSES 4"
    ]
    status = run_net.main(_argv(tiny_kinetics, tmp_path / "run", "MODEL.NUM_CLASSES", "3"))
    assert status == 1 and "pass MODEL.NUM_CLASSES 4" in capsys.readouterr().err


def test_a_test_only_run_needs_only_test_csv(tiny_kinetics, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tiny_kinetics, data)
    (data / "train.csv").unlink()
    (data / "val.csv").unlink()
    test_only = load_config(SMOKE_X3D, _argv(data, tmp_path / "run", "TRAIN.ENABLE", "False")[2:])
    check_before_run(test_only)  # no error: the multi-view test reads test.csv alone
    training = load_config(SMOKE_X3D, _argv(data, tmp_path / "run")[2:])
    with pytest.raises(PreflightError, match="train.csv does not exist: the train split needs it"):
        check_before_run(training)

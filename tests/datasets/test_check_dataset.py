"""tools/check_dataset.py finds the unreadable and short files, counts classes, writes cleaned CSVs."""

import os

from conftest import REPO, write_csv
from tools_in_process import run_tool

from slowfast.datasets.video_list import read_video_list


def test_check_dataset_reports_and_cleans(tiny_dataset, tmp_path):
    folder, good, broken = tiny_dataset
    write_csv(folder, "train", good + broken, labels=[0, 0, 1, 1] + [2] * len(broken))
    write_csv(folder, "val", good)
    if os.path.exists(os.path.join(folder, "test.csv")):
        os.remove(os.path.join(folder, "test.csv"))
    out = tmp_path / "clean"
    # --min-coverage 0.5: stricter than the scored configs' 0 (as the loader tests are), so that the 2-frame
    # too_short.mp4 counts as unreadable.
    args = ["--workers", "2", "--min-frames", "60", "--min-coverage", "0.5", "--write-clean", out]
    proc = run_tool("check_dataset.py", folder, *args)
    assert proc.returncode == 1, proc.stderr
    unreadable = {
        line.split()[1].rsplit("/", 1)[-1].rstrip(":")
        for line in proc.stdout.splitlines()
        if line.strip().startswith("UNREADABLE")
    }
    assert unreadable == set(broken)
    short = [
        line.split()[1].rsplit("/", 1)[-1].rstrip(":")
        for line in proc.stdout.splitlines()
        if line.strip().startswith("SHORT")
    ]
    assert short == good + good  # 40 frames: shorter than the 60-frame span, but usable (train and val)
    assert "[train] 10 listed, 6 unreadable" in proc.stdout and "[val] 4 listed, 0 unreadable" in proc.stdout
    assert "class counts (readable videos): 0:2, 1:2" in proc.stdout
    paths, labels = read_video_list(str(out / "train.csv"))
    assert paths == good and labels == [0, 0, 1, 1]
    assert read_video_list(str(out / "val.csv"))[0] == good


def _check_dataset(*args):
    return run_tool("check_dataset.py", *args)


def test_check_dataset_takes_the_clip_span_from_the_config(tiny_dataset, tmp_path):
    folder, good, _ = tiny_dataset
    data = tmp_path / "data"
    data.mkdir()
    for name in good:
        os.symlink(os.path.join(folder, name), data / name)
    write_csv(str(data), "val", good)
    # The quick-start's clip spans 4 frames x 8 = 32 frames: the 40-frame videos are long enough; the default
    # span (X3D-M's 80 frames) would call them short.
    quickstart = os.path.join(REPO, "configs", "quickstart", "X3D_M.yaml")
    proc = _check_dataset("--cfg", quickstart, str(data), "--workers", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "clip span 32 frames" in proc.stdout
    assert "[val] 4 listed, 0 unreadable, 0 shorter than the clip span" in proc.stdout
    assert "[val] 4 listed, 0 unreadable, 4 shorter" in _check_dataset(str(data), "--workers", "1").stdout
    # Without --cfg the loader's rule of the scored configs too (MIN_CLIP_COVERAGE 0): a 40-frame video covers 40 %
    # of a 100-frame span and is used (repeating its last frame), so it is short, not unreadable.
    proc = _check_dataset(str(data), "--workers", "1", "--min-frames", "100")
    assert proc.returncode == 0 and "[val] 4 listed, 0 unreadable, 4 shorter" in proc.stdout, proc.stdout


def test_check_dataset_on_a_missing_folder_exits_non_zero(tmp_path):
    proc = _check_dataset(str(tmp_path / "typo"))
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"error: data folder {tmp_path / 'typo'} does not exist: pass the folder holding train.csv, val.csv and "
        "test.csv (DATA.PATH_TO_DATA_DIR)"
    ]


def test_check_dataset_on_a_malformed_list_names_the_line_before_decoding(tmp_path):
    (tmp_path / "train.csv").write_text("a.mp4 0\nb.mp4 zero\n")
    proc = _check_dataset(str(tmp_path))
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"error: {tmp_path / 'train.csv'}:2: label 'zero' is not an integer: fix that line"
    ]

"""Read PySlowFast's video list CSV files: ``<path><sep><label>`` per line, no header."""

import hashlib
import os

# The splits of a data set, each listed in DATA.PATH_TO_DATA_DIR/<split>.csv.
SPLITS = ("train", "val", "test")


class VideoListError(ValueError):
    """A malformed list file; the message names the file and the line number."""


def _parse_line(fields, csv_path, line_number, line):
    """PySlowFast's field rules: 1 field = path (label 0), 2 = path label, 3 = path ignored label."""
    if len(fields) not in (1, 2, 3) or not fields[0]:
        raise VideoListError(f"{csv_path}:{line_number}: expected 'path label' (1 to 3 fields), got {line!r}")
    if len(fields) == 1:
        return fields[0], 0
    try:
        label = int(fields[-1])
    except ValueError:
        raise VideoListError(f"{csv_path}:{line_number}: label {fields[-1]!r} is not an integer") from None
    if label < 0:
        raise VideoListError(f"{csv_path}:{line_number}: negative label {label}")
    return fields[0], label


def read_video_list(csv_path, path_prefix="", separator=" "):
    """Parse a list file.

    Args:
        csv_path (str): the CSV file.
        path_prefix (str): joined in front of every listed path (DATA.PATH_PREFIX).
        separator (str): field separator (DATA.PATH_LABEL_SEPARATOR).
    Returns:
        tuple: (list of str paths, list of int labels).
    Raises:
        FileNotFoundError: the list does not exist.
        VideoListError: a malformed line, naming the file and line number, or an empty list.
    """
    if not os.path.isfile(csv_path):
        raise FileNotFoundError(f"video list not found: {csv_path}")
    paths, labels = [], []
    with open(csv_path) as f:
        for line_number, line in enumerate(f, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            path, label = _parse_line(line.split(separator), csv_path, line_number, line)
            paths.append(os.path.join(path_prefix, path))
            labels.append(label)
    if not paths:
        raise VideoListError(f"{csv_path}: no videos listed")
    return paths, labels


def count_videos(csv_path):
    """Return the number of non-empty lines of a list file (its videos), without parsing them."""
    with open(csv_path, "rb") as f:
        return sum(1 for line in f if line.strip())


def dataset_fingerprint(data_dir, splits=SPLITS):
    """Describe the data set a run used: videos per split and the SHA-256 of each split's list file.

    Args:
        data_dir (str): folder with ``<split>.csv`` files (DATA.PATH_TO_DATA_DIR).
        splits (sequence of str): splits to look for; missing list files are left out.
    Returns:
        dict: {split: {"videos": int, "sha256": str}} for every list file found.
    """
    fingerprint = {}
    for split in splits:
        path = os.path.join(data_dir, f"{split}.csv")
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        fingerprint[split] = {"videos": count_videos(path), "sha256": digest}
    return fingerprint

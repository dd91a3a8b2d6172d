"""Read PySlowFast's video list CSV files (``<path><sep><label>`` per line, no header) and a data folder's lists."""

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from slowfast.utils.errors import UserError

# The splits of a data set, each listed in DATA.PATH_TO_DATA_DIR/<split>.csv.
SPLITS = ("train", "val", "test")


class VideoListError(UserError, ValueError):
    """A malformed or empty list file; the message names the file, the line number and the fix."""


def list_path(data_dir: str, split: str) -> str:
    """The list file of ``split`` in a data folder: ``data_dir/<split>.csv``."""
    return os.path.join(data_dir, f"{split}.csv")


def _parse_line(fields, csv_path, line_number, line):
    """PySlowFast's field rules: 1 field = path (label 0), 2 = path label, 3 = path ignored label."""
    where = f"{csv_path}:{line_number}"
    if len(fields) not in (1, 2, 3) or not fields[0]:
        raise VideoListError(f"{where}: expected 'path label' (1 to 3 fields), got {line!r}: fix that line")
    if len(fields) == 1:
        return fields[0], 0
    try:
        label = int(fields[-1])
    except ValueError:
        raise VideoListError(f"{where}: label {fields[-1]!r} is not an integer: fix that line") from None
    if label < 0:
        raise VideoListError(f"{where}: negative label {label}: fix that line")
    return fields[0], label


def read_video_list(csv_path: str, path_prefix: str = "", separator: str = " ") -> tuple[list[str], list[int]]:
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
        raise VideoListError(f"{csv_path} lists no videos: add 'path label' lines or remove the file")
    return paths, labels


@dataclass
class SplitLists:
    """The split lists of a data folder, read as far as they exist and parse.

    Attributes:
        videos (dict): split -> (paths, labels) of each list that exists and parses.
        missing (dict): split -> list file, for each list that does not exist.
        problems (list of str): one line each, naming the folder or file and the fix: the folder does not
            exist (then nothing else is read), or a list is malformed or empty.
    """

    videos: dict[str, tuple[list[str], list[int]]] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def read_split_lists(
    data_dir: str, *, splits: Sequence[str] = SPLITS, path_prefix: str = "", separator: str = " "
) -> SplitLists:
    """Check that a data folder exists and read the list of each split in it (files are not opened).

    Args:
        data_dir (str): DATA.PATH_TO_DATA_DIR.
        splits (sequence of str): the splits to read.
        path_prefix (str): DATA.PATH_PREFIX, joined in front of every listed path.
        separator (str): DATA.PATH_LABEL_SEPARATOR.
    Returns:
        SplitLists
    """
    lists = SplitLists()
    if not os.path.isdir(data_dir):
        lists.problems.append(
            f"data folder {data_dir} does not exist: pass the folder holding train.csv, val.csv and test.csv "
            "(DATA.PATH_TO_DATA_DIR)"
        )
        return lists
    for split in splits:
        csv_path = list_path(data_dir, split)
        try:
            lists.videos[split] = read_video_list(csv_path, path_prefix, separator)
        except FileNotFoundError:
            lists.missing[split] = csv_path
        except VideoListError as err:
            lists.problems.append(str(err))
    return lists


def count_videos(csv_path):
    """Return the number of non-empty lines of a list file (its videos), without parsing them."""
    with open(csv_path, "rb") as f:
        return sum(1 for line in f if line.strip())


# Written by tools/prepare_kinetics20.py into the data folder: its options and source (the encoding summary).
PREPARE_OPTIONS_FILENAME = "prepare_options.json"
FINGERPRINT_COVERS = (
    "per split: the list file's SHA-256 (every video path and its label, in order: the video list and labels), "
    "its video count, and the total bytes of the listed videos found on disk (differs when re-encoded or at "
    "another resolution); "
    "encoding: the options prepare_kinetics20.py recorded in the data folder; digest: SHA-256 of all of it"
)


def _split_bytes(paths):
    """(total bytes of the listed videos that exist, how many are missing)."""
    total, missing = 0, 0
    for path in paths:
        try:
            total += os.path.getsize(path)
        except OSError:
            missing += 1
    return total, missing


def _encoding(data_dir):
    """The options prepare_kinetics20.py recorded in ``data_dir`` (None for data it did not prepare)."""
    path = os.path.join(data_dir, PREPARE_OPTIONS_FILENAME)
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        return json.load(f).get("options")


def dataset_fingerprint(data_dir, path_prefix="", separator=" ", splits=SPLITS):
    """Describe the data set a run used, so that two copies that differ have different fingerprints.

    Args:
        data_dir (str): folder with ``<split>.csv`` files (DATA.PATH_TO_DATA_DIR).
        path_prefix (str): DATA.PATH_PREFIX, joined in front of the listed paths to find the videos.
        separator (str): DATA.PATH_LABEL_SEPARATOR.
        splits (sequence of str): splits to look for; missing list files are left out.
    Returns:
        dict: {split: {"videos", "sha256" (of the list file), "bytes" (listed videos found), "missing" (listed
        but not on disk)}} for every list file found, plus "encoding" (prepare options or None), "covers"
        (what the fingerprint covers, FINGERPRINT_COVERS) and "digest" (SHA-256 over all of the above).
    """
    fingerprint = {}
    for split in splits:
        path = list_path(data_dir, split)
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        videos, _ = read_video_list(path, path_prefix, separator)
        total, missing = _split_bytes(videos)
        fingerprint[split] = {"videos": len(videos), "sha256": digest, "bytes": total, "missing": missing}
    fingerprint["encoding"] = _encoding(data_dir)
    fingerprint["covers"] = FINGERPRINT_COVERS
    fingerprint["digest"] = hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()
    return fingerprint

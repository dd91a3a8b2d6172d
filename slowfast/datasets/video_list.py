"""Read PySlowFast's video list CSV files: ``<path><sep><label>`` per line, no header."""

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

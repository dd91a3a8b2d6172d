"""Build Kinetics20 (20 Kinetics-400 classes) from a local Kinetics-400 copy.

Inputs: the official annotation CSVs (``label,youtube_id,time_start,time_end,split[,is_cc]``; one file per
split or one for all) and a folder of videos named ``{youtube_id}_{start:06d}_{end:06d}.{mp4,webm,mkv}``
or ``{youtube_id}.{ext}``, flat or in per-class sub-folders. Output, in ``out_dir``::

    videos/<class_dir>/<youtube_id>_<start>_<end>.<ext>   re-encoded mp4, or a symlink to the source
    train.csv, val.csv, test.csv                          "videos/... <label>" (PySlowFast format)
    classes.txt                                           line i is label i
    prepare_report.json                                   counts, missing, duplicate and unreadable videos

Labels are 0..19 in classes.txt order. test.csv lists the labelled test clips when the annotations have
some, otherwise it repeats val.csv (the Kinetics convention).
"""

import collections
import csv
import os
import re
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

import av

from slowfast.datasets.pyav_reader import stream_rate
from slowfast.datasets.video_list import SPLITS, list_path
from slowfast.utils.files import atomic_write, atomic_write_json, atomic_write_lines
from slowfast.utils.process_pool import map_with_progress

VIDEO_EXTENSIONS = (".mp4", ".webm", ".mkv")
SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "validate": "val",
    "validation": "val",
    "test": "test",
    "testing": "test",
}
# YouTube ids are 11 characters of [A-Za-z0-9_-]; the fixed length lets ids contain underscores.
SPANNED_NAME = re.compile(r"^(?P<youtube_id>[A-Za-z0-9_-]{11})_(?P<start>\d+)_(?P<end>\d+)$")
PLAIN_NAME = re.compile(r"^(?P<youtube_id>[A-Za-z0-9_-]{11})$")


@dataclass(frozen=True)
class Clip:
    """One annotated Kinetics clip; ``label`` is "" when the annotation has none (unlabelled test)."""

    label: str
    youtube_id: str
    time_start: int
    time_end: int
    split: str

    @property
    def key(self):
        return self.youtube_id, self.time_start, self.time_end

    @property
    def file_stem(self):
        return f"{self.youtube_id}_{self.time_start:06d}_{self.time_end:06d}"


def read_class_list(path):
    """Class names, one per line (blank lines and ``#`` comments ignored).

    Args:
        path (str): classes.txt.
    Returns:
        list[str]: names in label order.
    """
    with open(path) as handle:
        names = [line.strip() for line in handle]
    names = [name for name in names if name and not name.startswith("#")]
    if len(set(names)) != len(names):
        raise ValueError(f"{path} lists a class twice")
    return names


def read_annotations(csv_paths):
    """Read official Kinetics annotation CSVs.

    The split comes from the ``split`` column, else from the file name (train/validate/test).

    Args:
        csv_paths (list[str]): annotation files.
    Returns:
        list[Clip]: in file order.
    """
    clips = []
    for path in csv_paths:
        default_split = _split_from_file_name(path)
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                split = SPLIT_ALIASES.get((row.get("split") or default_split or "").strip().lower())
                if split is None:
                    raise ValueError(f"{path}: cannot tell the split of row {row}; add a 'split' column")
                clips.append(
                    Clip(
                        (row.get("label") or "").strip(),
                        row["youtube_id"].strip(),
                        int(float(row["time_start"])),
                        int(float(row["time_end"])),
                        split,
                    )
                )
    return clips


def _split_from_file_name(path):
    """'validate.csv' -> 'validate'; None when the name is not a split name."""
    stem = os.path.splitext(os.path.basename(path))[0].lower()
    return next((alias for alias in SPLIT_ALIASES if alias in stem.split("_") or alias == stem), None)


def class_dir_name(label):
    """Folder name of a class: 'riding a bike' -> 'riding_a_bike' (no spaces or brackets in CSV paths)."""
    return re.sub(r"[^A-Za-z0-9]+", "_", label).strip("_")


def index_video_files(videos_dir):
    """Find video files under ``videos_dir`` (recursively) and key them by name.

    Args:
        videos_dir (str): root of the Kinetics video copy.
    Returns:
        tuple: (by_span {(youtube_id, start, end): [paths]}, by_id {youtube_id: [paths]}); paths sorted.
    """
    by_span, by_id = {}, {}
    for root, dirs, files in os.walk(videos_dir):
        dirs.sort()
        for name in sorted(files):
            stem, extension = os.path.splitext(name)
            if extension.lower() not in VIDEO_EXTENSIONS:
                continue
            path = os.path.join(root, name)
            spanned = SPANNED_NAME.match(stem)
            if spanned:
                key = (spanned["youtube_id"], int(spanned["start"]), int(spanned["end"]))
                by_span.setdefault(key, []).append(path)
                by_id.setdefault(spanned["youtube_id"], []).append(path)
            elif PLAIN_NAME.match(stem):
                by_id.setdefault(stem, []).append(path)
    return by_span, by_id


def match_clips(clips, classes, by_span, by_id):
    """Pick the clips of ``classes`` and find each one's video file.

    Files are matched by youtube_id and time span, falling back to youtube_id alone. The first annotation
    of a clip wins; repeats are reported. When several files match, the first (sorted) is used.

    Args:
        clips (list[Clip]): all annotations.
        classes (list[str]): selected class names.
        by_span, by_id (dict): from ``index_video_files``.
    Returns:
        tuple: (matched [(Clip, path)], problems {"missing", "duplicate_annotations", "duplicate_files"}).
    """
    wanted = set(classes)
    matched, seen = [], {}
    problems = {"missing": [], "duplicate_annotations": [], "duplicate_files": []}
    for clip in clips:
        if clip.label not in wanted:
            continue
        if clip.key in seen:
            problems["duplicate_annotations"].append({**asdict(clip), "kept": asdict(seen[clip.key])})
            continue
        seen[clip.key] = clip
        candidates = by_span.get(clip.key) or by_id.get(clip.youtube_id) or []
        if not candidates:
            problems["missing"].append(asdict(clip))
            continue
        if len(candidates) > 1:
            problems["duplicate_files"].append({**asdict(clip), "used": candidates[0], "ignored": candidates[1:]})
        matched.append((clip, candidates[0]))
    return matched, problems


def check_readable(path):
    """Open a video and decode its first frame.

    Args:
        path (str): video file.
    Returns:
        str or None: the error message, None when the video is readable.
    """
    try:
        with av.open(path) as container:
            if not container.streams.video:
                return "no video stream"
            next(container.decode(video=0))
    except StopIteration:
        return "no decodable frame"
    except (av.error.FFmpegError, OSError, ValueError) as error:
        return f"{type(error).__name__}: {error}"
    return None


def scaled_size(width, height, short_side):
    """Size with the short side at ``short_side`` (never upscaled), both even for yuv420p.

    Args:
        width, height (int): source size.
        short_side (int): target short side.
    Returns:
        tuple: (width, height).
    """
    scale = min(1.0, short_side / min(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


# Frames between keyframes of a re-encoded video (x264's default is 250). A clip decodes from the keyframe at or
# before its window: a random 80-frame X3D-M window in a 10 s, 300-frame video decodes ~96 frames instead of ~190.
# Measured on the 80 golden videos (MEASUREMENTS.md): PyAV's raw decode 1.65x, the X3D-M train loader 1.43x faster,
# files 20 % larger.
KEYFRAME_INTERVAL = 32


def reencode_video(source, destination, short_side, crf=23):
    """Re-encode to H.264 mp4 with the short side at ``short_side``, keeping the frame rate (no audio).

    Written with ``atomic_write``, so a killed run leaves no half file under the final name.

    Args:
        source (str): input video.
        destination (str): output .mp4 path.
        short_side (int): target short side in pixels.
        crf (int): x264 quality.
    Returns:
        str or None: the error message, None on success.
    """
    try:
        atomic_write(destination, lambda f: _encode_scaled(source, f, short_side, crf))
    except (av.error.FFmpegError, OSError, ValueError, IndexError) as error:
        return f"{type(error).__name__}: {error}"
    return None


def _encode_scaled(source, out_file, short_side, crf):
    """Decode ``source`` and write it, scaled, as H.264 mp4 into the open binary file ``out_file``."""
    with av.open(source) as reader, av.open(out_file, mode="w", format="mp4") as writer:
        in_stream = reader.streams.video[0]
        rate = stream_rate(in_stream) or 30
        width, height = scaled_size(in_stream.codec_context.width, in_stream.codec_context.height, short_side)
        out_stream = writer.add_stream("libx264", rate=rate)
        out_stream.width, out_stream.height, out_stream.pix_fmt = width, height, "yuv420p"
        out_stream.options = {"crf": str(crf), "g": str(KEYFRAME_INTERVAL)}
        frame_count = 0
        for frame in reader.decode(in_stream):
            scaled = frame.reformat(width=width, height=height, format="yuv420p")
            # Renumber frames at the output rate (the source's time base and pts do not carry over).
            scaled.pts, scaled.time_base = frame_count, 1 / Fraction(rate)
            for packet in out_stream.encode(scaled):
                writer.mux(packet)
            frame_count += 1
        for packet in out_stream.encode():
            writer.mux(packet)
    if frame_count == 0:
        raise ValueError("no decodable frame")


def _materialize(task):
    """Re-encode (or check and symlink) one video; returns the error message or None."""
    source, destination, short_side = task
    if os.path.lexists(destination):
        os.remove(destination)
    if short_side:
        return reencode_video(source, destination, short_side)
    error = check_readable(source)
    if error is None:
        os.symlink(os.path.abspath(source), destination)
    return error


def prepare_kinetics20(
    *,
    annotation_csvs: list[str],
    videos_dir: str,
    out_dir: str,
    classes_file: str,
    reencode_short_side: int | None = None,
    workers: int = 1,
    progress: bool = True,
) -> dict[str, Any]:
    """Select the classes of ``classes_file`` from a Kinetics copy and write a Kinetics20 folder.

    Args:
        annotation_csvs (list[str]): official annotation CSVs (any of train/validate/test).
        videos_dir (str): root of the video files.
        out_dir (str): output folder (see the module docstring).
        classes_file (str): class list; line i becomes label i.
        reencode_short_side (int or None): re-encode to this short side; None symlinks the sources.
        workers (int): processes for checking or re-encoding.
        progress (bool): show a tqdm bar on stderr when it is a terminal.
    Returns:
        dict: the report also written to ``out_dir/prepare_report.json``.
    """
    classes = read_class_list(classes_file)
    clips = read_annotations(annotation_csvs)
    known = {clip.label for clip in clips}
    absent = [name for name in classes if name not in known]
    if absent:
        raise ValueError(f"classes not in the annotations (check the spelling): {absent}")
    matched, problems = match_clips(clips, classes, *index_video_files(videos_dir))
    relatives, errors = _materialize_all(matched, out_dir, reencode_short_side, workers, progress)
    lines, problems["unreadable"] = _split_lines(matched, relatives, errors, classes)
    test_source = "test" if lines["test"] else "val"
    lines["test"] = lines[test_source]
    for split in SPLITS:
        atomic_write_lines(list_path(out_dir, split), [f"{path} {label}" for path, label in lines[split]])
    atomic_write_lines(os.path.join(out_dir, "classes.txt"), classes)
    report = dict(
        classes=classes,
        annotation_files=list(annotation_csvs),
        videos_dir=videos_dir,
        reencode_short_side=reencode_short_side,
        test_source=test_source,
        num_selected_annotations=sum(clip.label in classes for clip in clips),
        counts={split: _class_counts(lines[split], classes) for split in SPLITS},
        **problems,
    )
    atomic_write_json(os.path.join(out_dir, "prepare_report.json"), report)
    return report


def _materialize_all(matched, out_dir, reencode_short_side, workers, progress):
    """Re-encode or link every matched clip under ``out_dir/videos``; returns (relative paths, error or None each)."""
    tasks, relatives = [], []
    for clip, source in matched:
        extension = ".mp4" if reencode_short_side else os.path.splitext(source)[1].lower()
        relative = f"videos/{class_dir_name(clip.label)}/{clip.file_stem}{extension}"
        os.makedirs(os.path.dirname(os.path.join(out_dir, relative)), exist_ok=True)
        tasks.append((source, os.path.join(out_dir, relative), reencode_short_side))
        relatives.append(relative)
    errors = map_with_progress(
        _materialize, tasks, workers=workers, desc="kinetics20 videos", unit="video", progress=progress
    )
    return relatives, errors


def _class_counts(rows, classes):
    """Videos per class name among (path, label) rows, every class included."""
    counts = collections.Counter(label for _, label in rows)
    return {name: counts[label] for label, name in enumerate(classes)}


def _split_lines(matched, relatives, errors, classes):
    """The (relative path, label) rows of each split, and the unreadable clips left out of them."""
    lines, unreadable = {split: [] for split in SPLITS}, []
    for (clip, source), relative, error in zip(matched, relatives, errors):
        if error is None:
            lines[clip.split].append((relative, classes.index(clip.label)))
        else:
            unreadable.append({**asdict(clip), "path": source, "error": error})
    return lines, unreadable


def format_summary(report):
    """Short human-readable summary of a ``prepare_kinetics20`` report.

    Args:
        report (dict): as returned by ``prepare_kinetics20``.
    Returns:
        str: a few lines for stdout.
    """
    totals = {split: sum(report["counts"][split].values()) for split in SPLITS}
    lines = [
        f"Kinetics20: train {totals['train']}, val {totals['val']}, test {totals['test']} videos"
        f" (test from {report['test_source']}) in {len(report['classes'])} classes"
    ]
    for kind in ("missing", "duplicate_annotations", "duplicate_files", "unreadable"):
        lines.append(f"  {kind.replace('_', ' ')}: {len(report[kind])}")
    emptiest = min(report["counts"]["train"].items(), key=lambda item: item[1])
    lines.append(f"  fewest train videos: {emptiest[1]} ({emptiest[0]})")
    return "\n".join(lines)

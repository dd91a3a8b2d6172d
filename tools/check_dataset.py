"""Decode every video listed in DATA_DIR/{train,val,test}.csv once, in parallel, before the clock starts.

    python tools/check_dataset.py --cfg configs/quickstart/X3D_M.yaml      # folder and clip span from a config
    python tools/check_dataset.py DATA_DIR [--prefix DIR] [--workers N] [--min-frames 80] \
        [--write-clean OUT_DIR]

Reports unreadable files, files shorter than --min-frames (the clip span DATA.NUM_FRAMES x DATA.SAMPLING_RATE
of --cfg; without --cfg 80, X3D-M's) and class counts per split. With --cfg, the data folder, prefix,
separator and minimum coverage also come from the config (a DATA_DIR given still wins). Files under
--min-coverage of the span (DATA.MIN_CLIP_COVERAGE; without --cfg 0, the scored configs' and PySlowFast's
rule) count as unreadable, as in the loader. With
--write-clean, writes the CSVs without the unreadable files (other short files are kept: the loader repeats
their last frame, as PySlowFast does).
Exit status 1 when any file is unreadable, or (with an ``error:`` line) when the folder or every list is missing.
"""

import collections
import os
import sys
from concurrent.futures import ProcessPoolExecutor

# Lets the tool run from a plain checkout, and a checkout's tool use that checkout's package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.config import load_config
from slowfast.config.cli import ToolParser, run_tool
from slowfast.datasets.pyav_reader import probe_video
from slowfast.datasets.video_list import list_path, read_split_lists
from slowfast.datasets.video_reader import VideoDecodeError
from slowfast.utils.errors import UserError
from slowfast.utils.files import atomic_write_lines


def check_one(path):
    """(path, probe dict or None, error message or None) for one video."""
    try:
        return path, probe_video(path), None
    except VideoDecodeError as error:
        return path, None, str(error)


def check_split(csv_path, videos, pool, min_frames, min_coverage):
    """Probe every video of one list file.

    Args:
        csv_path (str): the list file.
        videos (tuple): its (paths, labels), as read_video_list reads them.
        pool (Executor): the decoding processes.
        min_frames (int), min_coverage (float): as the command-line options.

    Returns:
        dict: rows (list of (raw line, path, label)), bad (path -> reason), short (path -> frames),
        classes (Counter of labels of readable videos).
    """
    paths, labels = videos
    with open(csv_path) as f:
        lines = [line.rstrip("\r\n") for line in f if line.strip()]
    results = {path: (info, error) for path, info, error in pool.map(check_one, paths, chunksize=4)}
    bad = {p: error for p, (info, error) in results.items() if error is not None}
    bad.update(
        {
            p: f"too short: {info['frames']} frames"
            for p, (info, _) in results.items()
            if info and info["frames"] < max(1.0, min_coverage * min_frames)
        }
    )
    short = {
        p: info["frames"] for p, (info, _) in results.items() if info and p not in bad and info["frames"] < min_frames
    }
    classes = collections.Counter(label for path, label in zip(paths, labels) if path not in bad)
    return dict(rows=list(zip(lines, paths, labels)), bad=bad, short=short, classes=classes)


def report(split, result):
    """Print one split's findings."""
    rows, bad, short, classes = result["rows"], result["bad"], result["short"], result["classes"]
    print(
        f"[{split}] {len(rows)} listed, {len(bad)} unreadable, {len(short)} shorter than the clip span, "
        f"{len(classes)} classes"
    )
    for path, reason in sorted(bad.items()):
        print(f"  UNREADABLE {path}: {reason}")
    for path, frames in sorted(short.items()):
        print(f"  SHORT      {path}: {frames} frames")
    counts = ", ".join(f"{label}:{count}" for label, count in sorted(classes.items()))
    print(f"  class counts (readable videos): {counts}")


def write_clean(out_dir, split, result):
    """Write ``out_dir/split.csv`` with the original lines of the readable videos."""
    path = atomic_write_lines(
        list_path(out_dir, split), [line for line, video, _ in result["rows"] if video not in result["bad"]]
    )
    print(f"  wrote {path}")


def build_parser():
    """The command line; what --cfg gives fills in whatever is not passed explicitly (see ``fill_in``)."""
    parser = ToolParser(__doc__)
    parser.add_argument("data_dir", nargs="?", help="folder with train.csv, val.csv, test.csv (default: from --cfg)")
    parser.add_argument("--cfg", help="run config giving the data folder, prefix, clip span and coverage")
    parser.add_argument("--prefix", default=None, help="DATA.PATH_PREFIX (default: DATA_DIR)")
    parser.add_argument("--separator", default=None, help="DATA.PATH_LABEL_SEPARATOR (default: a space)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="decoding processes")
    parser.add_argument(
        "--min-frames",
        type=int,
        default=None,
        help="clip span in frames, to flag shorter files (default: from --cfg, else 80)",
    )
    parser.add_argument(
        "--min-coverage",
        type=float,
        default=None,
        help="fraction of --min-frames below which a file is unusable (DATA.MIN_CLIP_COVERAGE; "
        "default: from --cfg, else 0: a short file is used, as in the scored configs)",
    )
    parser.add_argument("--write-clean", metavar="OUT_DIR", help="write CSVs without unreadable videos")
    return parser


def fill_in(args):
    """Set the options not passed from --cfg's DATA (else the defaults) in place.

    Raises:
        UserError: neither DATA_DIR nor --cfg is given.
    """
    data = load_config(args.cfg).DATA if args.cfg else None
    if args.data_dir is None:
        if data is None:
            raise UserError("give DATA_DIR or --cfg")
        args.data_dir, args.prefix = data.PATH_TO_DATA_DIR, data.PATH_PREFIX if args.prefix is None else args.prefix
    defaults = dict(prefix=args.data_dir, separator=" ", min_frames=80, min_coverage=0.0)  # X3D-M's
    if data is not None:
        defaults.update(
            separator=data.PATH_LABEL_SEPARATOR,
            min_frames=data.NUM_FRAMES * data.SAMPLING_RATE,
            min_coverage=data.MIN_CLIP_COVERAGE,
        )
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)


def check_dataset(args):
    """Check every split of ``args.data_dir``; return the exit status."""
    fill_in(args)
    lists = read_split_lists(args.data_dir, path_prefix=args.prefix, separator=args.separator)
    if lists.problems:
        raise UserError("\n".join(lists.problems))
    if not lists.videos:
        raise UserError(f"{args.data_dir} has none of train.csv, val.csv, test.csv: pass the data folder itself")
    print(f"clip span {args.min_frames} frames (files under {args.min_coverage:.0%} of it are unusable)")
    any_bad = False
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for split, csv_path in lists.missing.items():
            print(f"[{split}] no {csv_path}")
        for split, videos in lists.videos.items():
            result = check_split(list_path(args.data_dir, split), videos, pool, args.min_frames, args.min_coverage)
            report(split, result)
            any_bad |= bool(result["bad"])
            if args.write_clean:
                write_clean(args.write_clean, split, result)
    return 1 if any_bad else 0


def main(argv=None):
    """Check the data set; return the exit status (1: an unreadable file, or a user error printed as one line;
    130: Ctrl-C)."""
    return run_tool(build_parser(), check_dataset, argv)


if __name__ == "__main__":
    sys.exit(main())

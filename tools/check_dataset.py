"""Decode every video listed in DATA_DIR/{train,val,test}.csv once, in parallel, before the clock starts.

    python tools/check_dataset.py DATA_DIR [--prefix DIR] [--workers N] [--min-frames 80] \
        [--write-clean OUT_DIR]

Reports unreadable files, files shorter than --min-frames (the clip span: 80 for X3D-M at 30 fps, 64 for
MViT-B 16x4) and class counts per split. Files under --min-coverage of the span (DATA.MIN_CLIP_COVERAGE)
count as unreadable, as in the loader. With --write-clean, writes the CSVs without the unreadable files
(other short files are kept: the loader repeats their last frame, as PySlowFast does).
Exit status 1 when any file is unreadable.
"""

import argparse
import collections
import os
import sys
from concurrent.futures import ProcessPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.datasets.decoder import VideoDecodeError, probe_video  # noqa: E402
from slowfast.datasets.video_list import read_video_list  # noqa: E402

SPLITS = ("train", "val", "test")


def check_one(path):
    """(path, probe dict or None, error message or None) for one video."""
    try:
        return path, probe_video(path), None
    except VideoDecodeError as error:
        return path, None, str(error)


def check_split(csv_path, prefix, separator, pool, min_frames, min_coverage):
    """Probe every video of one list file.

    Returns:
        dict: rows (list of (raw line, path, label)), bad (path -> reason), short (path -> frames),
        classes (Counter of labels of readable videos).
    """
    paths, labels = read_video_list(csv_path, prefix, separator)
    with open(csv_path) as f:
        lines = [line.rstrip("\r\n") for line in f if line.strip()]
    results = {path: (info, error) for path, info, error in pool.map(check_one, paths, chunksize=4)}
    bad = {p: error for p, (info, error) in results.items() if error is not None}
    bad.update({p: f"too short: {info['frames']} frames" for p, (info, _) in results.items()
                if info and info["frames"] < max(1.0, min_coverage * min_frames)})
    short = {p: info["frames"] for p, (info, _) in results.items()
             if info and p not in bad and info["frames"] < min_frames}
    classes = collections.Counter(label for path, label in zip(paths, labels) if path not in bad)
    return dict(rows=list(zip(lines, paths, labels)), bad=bad, short=short, classes=classes)


def report(split, result):
    """Print one split's findings."""
    rows, bad, short, classes = result["rows"], result["bad"], result["short"], result["classes"]
    print(f"[{split}] {len(rows)} listed, {len(bad)} unreadable, {len(short)} shorter than the clip span, "
          f"{len(classes)} classes")
    for path, reason in sorted(bad.items()):
        print(f"  UNREADABLE {path}: {reason}")
    for path, frames in sorted(short.items()):
        print(f"  SHORT      {path}: {frames} frames")
    counts = ", ".join(f"{label}:{count}" for label, count in sorted(classes.items()))
    print(f"  class counts (readable videos): {counts}")


def write_clean(out_dir, split, result):
    """Write ``out_dir/split.csv`` with the original lines of the readable videos."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{split}.csv")
    with open(path, "w") as f:
        f.writelines(f"{line}\n" for line, video, _ in result["rows"] if video not in result["bad"])
    print(f"  wrote {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", help="folder with train.csv, val.csv, test.csv")
    parser.add_argument("--prefix", default=None, help="DATA.PATH_PREFIX (default: DATA_DIR)")
    parser.add_argument("--separator", default=" ", help="DATA.PATH_LABEL_SEPARATOR")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="decoding processes")
    parser.add_argument("--min-frames", type=int, default=80, help="clip span in frames (flag shorter files)")
    parser.add_argument("--min-coverage", type=float, default=0.5,
                        help="fraction of --min-frames below which a file is unusable (DATA.MIN_CLIP_COVERAGE)")
    parser.add_argument("--write-clean", metavar="OUT_DIR", help="write CSVs without unreadable videos")
    args = parser.parse_args()
    prefix = args.data_dir if args.prefix is None else args.prefix
    any_bad = False
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for split in SPLITS:
            csv_path = os.path.join(args.data_dir, f"{split}.csv")
            if not os.path.isfile(csv_path):
                print(f"[{split}] no {csv_path}")
                continue
            result = check_split(csv_path, prefix, args.separator, pool, args.min_frames,
                                 args.min_coverage)
            report(split, result)
            any_bad |= bool(result["bad"])
            if args.write_clean:
                write_clean(args.write_clean, split, result)
    return 1 if any_bad else 0


if __name__ == "__main__":
    sys.exit(main())

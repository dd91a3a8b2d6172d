"""Build data/kinetics20 from a local Kinetics-400 copy (see data/README.md).

Example:
    python tools/prepare_kinetics20.py --videos /data/kinetics400/videos \
        --annotations /data/kinetics400/train.csv /data/kinetics400/validate.csv \
        --out data/kinetics20 --reencode-short-side 320 --workers 8
"""

import argparse
import hashlib
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Lets the tool run from a plain checkout, without `pip install -e .`.
sys.path.insert(0, REPO_ROOT)

from slowfast.datasets.kinetics20 import format_summary, prepare_kinetics20  # noqa: E402
from slowfast.datasets.video_list import PREPARE_OPTIONS_FILENAME  # noqa: E402
from slowfast.utils.files import atomic_write_json  # noqa: E402


def parse_args(argv=None):
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", required=True, help="root folder of the Kinetics-400 videos")
    parser.add_argument(
        "--annotations",
        required=True,
        nargs="+",
        help="official annotation CSVs (label,youtube_id,time_start,time_end,split,...)",
    )
    parser.add_argument("--out", default=os.path.join(REPO_ROOT, "data", "kinetics20"), help="output folder")
    parser.add_argument(
        "--classes",
        default=os.path.join(REPO_ROOT, "data", "kinetics20", "classes.txt"),
        help="class list, line i = label i",
    )
    parser.add_argument(
        "--reencode-short-side",
        type=int,
        default=None,
        help="re-encode to H.264 with this short side (e.g. 320); default: symlink the sources",
    )
    parser.add_argument("--workers", type=int, default=1, help="processes for checking or re-encoding")
    return parser.parse_args(argv)


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def record_options(args):
    """Write OUT/prepare_options.json: the options (the fingerprint's encoding summary) and the source.

    Returns:
        str: the file's path.
    """
    record = {
        "options": {
            "reencode_short_side": args.reencode_short_side,
            "encoding": "H.264 re-encoded" if args.reencode_short_side else "source files linked as they are",
            "classes_sha256": _sha256(args.classes),
        },
        "source": {
            "videos": os.path.abspath(args.videos),
            "annotations": {os.path.abspath(p): _sha256(p) for p in args.annotations},
        },
    }
    return atomic_write_json(os.path.join(args.out, PREPARE_OPTIONS_FILENAME), record)


def main(argv=None):
    """Prepare the dataset and print the summary; the full report is in OUT/prepare_report.json."""
    args = parse_args(argv)
    report = prepare_kinetics20(
        args.annotations,
        args.videos,
        args.out,
        args.classes,
        reencode_short_side=args.reencode_short_side,
        workers=args.workers,
    )
    record_options(args)
    print(format_summary(report))
    print(f"report: {os.path.join(args.out, 'prepare_report.json')}")


if __name__ == "__main__":
    main()

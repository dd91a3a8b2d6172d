#!/usr/bin/env python3
"""Build data/kinetics20 from a local Kinetics-400 copy (see data/README.md).

Example:
    python tools/prepare_kinetics20.py --videos /data/kinetics400/videos \
        --annotations /data/kinetics400/train.csv /data/kinetics400/validate.csv \
        --out data/kinetics20 --reencode-short-side 320 --workers 8
"""

import hashlib
import os
import sys

# Lets the tool run from a plain checkout, and a checkout's tool use that checkout's package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.config.cli import ToolParser, run_tool
from slowfast.datasets.video_list import PREPARE_OPTIONS_FILENAME
from slowfast.utils.errors import UserError
from slowfast.utils.files import atomic_write_json

DEFAULT_OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "kinetics20")


def build_parser():
    """Command-line options."""
    parser = ToolParser(__doc__)
    parser.add_argument("--videos", required=True, help="root folder of the Kinetics-400 videos")
    parser.add_argument(
        "--annotations",
        required=True,
        nargs="+",
        help="official annotation CSVs (label,youtube_id,time_start,time_end,split,...)",
    )
    parser.add_argument("--out", default=DEFAULT_OUT, help="output folder")
    parser.add_argument(
        "--classes",
        default=os.path.join(DEFAULT_OUT, "classes.txt"),
        help="class list, line i = label i",
    )
    parser.add_argument(
        "--reencode-short-side",
        type=int,
        default=None,
        help="re-encode to H.264 with this short side (e.g. 320); default: symlink the sources",
    )
    parser.add_argument("--workers", type=int, default=1, help="processes for checking or re-encoding")
    return parser


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def record_options(args):
    """Write OUT/prepare_options.json: the options (the fingerprint's encoding summary) and the source.

    Returns:
        str: the file's path.
    """
    from slowfast.datasets.kinetics20 import KEYFRAME_INTERVAL  # torch: after the check

    record = {
        "options": {
            "reencode_short_side": args.reencode_short_side,
            "encoding": (
                f"H.264 re-encoded, a keyframe every {KEYFRAME_INTERVAL} frames"
                if args.reencode_short_side
                else "source files linked as they are"
            ),
            "classes_sha256": _sha256(args.classes),
        },
        "source": {
            "videos": os.path.abspath(args.videos),
            "annotations": {os.path.abspath(p): _sha256(p) for p in args.annotations},
        },
    }
    return atomic_write_json(os.path.join(args.out, PREPARE_OPTIONS_FILENAME), record)


def check_inputs(args):
    """Refuse a missing videos folder, annotation file or class list before any work.

    Raises:
        UserError: naming the path and its option.
    """
    if not os.path.isdir(args.videos):
        raise UserError(f"--videos {args.videos} is not a folder: pass the root of the Kinetics-400 videos")
    for option, path in [("--annotations", path) for path in args.annotations] + [("--classes", args.classes)]:
        if not os.path.isfile(path):
            raise UserError(f"{option} {path}: no such file")


def prepare(args):
    """Prepare the dataset and print the summary; the full report is in OUT/prepare_report.json."""
    check_inputs(args)
    from slowfast.datasets.kinetics20 import format_summary, prepare_kinetics20  # torch: after the check

    try:
        report = prepare_kinetics20(
            annotation_csvs=args.annotations,
            videos_dir=args.videos,
            out_dir=args.out,
            classes_file=args.classes,
            reencode_short_side=args.reencode_short_side,
            workers=args.workers,
        )
    except ValueError as err:  # a class list or annotation file it cannot use, named in the message
        raise UserError(str(err)) from err
    record_options(args)
    print(format_summary(report))
    print(f"report: {os.path.join(args.out, 'prepare_report.json')}")


def main(argv=None):
    """Build the folder; return the exit status (1: a user error, printed as one line; 130: Ctrl-C)."""
    return run_tool(build_parser(), prepare, argv)


if __name__ == "__main__":
    sys.exit(main())

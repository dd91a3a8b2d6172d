#!/usr/bin/env python3
"""Write a synthetic Kinetics-format dataset (20 classes: 5 shapes x 4 motions), e.g. for tests or a loader benchmark.

Example:
    python tools/make_synthetic_dataset.py --out /tmp/synthetic --size 128x96 --fps 15 --seconds 3

The quick-starts need no such command: they generate their own set (DATA.SYNTHETIC.*) on first use.
"""

import argparse
import os
import sys

# Lets the tool run from a plain checkout, and a checkout's tool use that checkout's package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.config.cli import ToolParser, run_tool
from slowfast.datasets.synthetic import SyntheticSpec, class_names, make_synthetic_dataset


def parse_size(text):
    """Parse ``WxH`` into (width, height), both even and at least 16 (H.264 yuv420p)."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must look like 128x96, got {text!r}") from None
    if width % 2 or height % 2 or min(width, height) < 16:
        raise argparse.ArgumentTypeError(f"width and height must be even and >= 16, got {text}")
    return width, height


def build_parser():
    """Command-line options; the defaults give 400 videos (12/4/4 per class), 128x96, 15 fps, 3 s."""
    parser = ToolParser(__doc__)
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--size", type=parse_size, default=(128, 96), help="frame size WxH, even numbers")
    parser.add_argument("--fps", type=int, default=15, help="frame rate")
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each video")
    parser.add_argument(
        "--videos-per-class",
        type=int,
        nargs=3,
        default=[12, 4, 4],
        metavar=("TRAIN", "VAL", "TEST"),
        help="videos per class in each split (TEST 0: test=val)",
    )
    parser.add_argument("--gop", type=int, default=15, help="keyframe interval in frames")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed (same seed, same bytes)")
    parser.add_argument(
        "--classes",
        type=int,
        default=20,
        choices=range(1, len(class_names()) + 1),
        metavar="N",
        help=f"number of classes, 1..{len(class_names())}",
    )
    parser.add_argument("--workers", type=int, default=1, help="encoding processes")
    return parser


def make_dataset(args):
    """Generate the dataset and print a one-line summary."""
    width, height = args.size
    train, val, test = args.videos_per_class
    spec = SyntheticSpec(
        train_per_class=train,
        val_per_class=val,
        test_per_class=test,
        width=width,
        height=height,
        fps=args.fps,
        seconds=args.seconds,
        gop=args.gop,
        seed=args.seed,
        num_classes=args.classes,
    )
    summary = make_synthetic_dataset(spec, out_dir=args.out, workers=args.workers)
    print(
        f"wrote {summary['num_videos']} videos ({summary['total_bytes'] / 1e6:.1f} MB, "
        f"{width}x{height}, {summary['num_frames']} frames at {args.fps} fps) to {args.out} "
        f"in {summary['elapsed_seconds']:.1f} s"
    )


def main(argv=None):
    """Write the dataset; return the exit status (1: a user error, printed as one line; 130: Ctrl-C)."""
    return run_tool(build_parser(), make_dataset, argv)


if __name__ == "__main__":
    sys.exit(main())

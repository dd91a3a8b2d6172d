#!/usr/bin/env python3
"""Prove a GPU machine: a short real training of both scored configs on synthetic data, with auto (~5 min).

    python -m pytest -m gpu -rs          # first: every GPU path, CUDA cases skipped (with the reason) without one
    python tools/gpu_check.py            # then: X3D-M and MViT-B on every visible GPU
    python tools/gpu_check.py --gpus 1 MODEL.ALLOW_TF32 True

Prints, per config: clips/s, the share of time waiting for data (both after the first batch, whose wait is shown
apart), peak GPU memory, recompilations in the timed epoch (expected none) and the implementation auto chose with
the precision; PROBLEM lines say what to look at.
"""

import argparse
import os
import sys

# Lets the tool run from a plain checkout, and a checkout's tool use that checkout's package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.config.cli import ToolParser, run_tool

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCORED = [os.path.join(ROOT, "configs", "X3D_M.yaml"), os.path.join(ROOT, "configs", "MVIT_B_16x4.yaml")]


def build_parser():
    """The command line: --gpus, --cfg (repeatable), --data-dir, --output-dir and KEY VALUE overrides."""
    parser = ToolParser(__doc__)
    parser.add_argument("--gpus", type=int, default=None, help="GPUs per run (default: every visible one)")
    parser.add_argument("--cfg", dest="cfg_files", action="append", help="config(s) to run (default: both scored)")
    parser.add_argument("--data-dir", default=os.path.join(ROOT, "data", "gpu_check"), help="synthetic data folder")
    parser.add_argument("--output-dir", default=os.path.join(ROOT, "output", "gpu_check"), help="runs go here")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE overrides for every run")
    return parser


def gpu_check(args):
    """Run the configs and print one summary line (and any PROBLEM lines) per run; status 1 on a problem."""
    import torch  # with the engine below: after the command line is checked

    from slowfast.suite.gpu_check import format_summary, run_gpu_check

    gpus = torch.cuda.device_count() if args.gpus is None else args.gpus
    runs = run_gpu_check(
        args.cfg_files or SCORED, data_dir=args.data_dir, output_dir=args.output_dir, gpus=gpus, opts=args.opts
    )
    print("\n".join(format_summary(run) for run in runs), flush=True)
    return 1 if any(run.summary["problems"] for run in runs) else 0


def main(argv=None):
    """Run the check; return the exit status (1: a problem or a user error)."""
    return run_tool(build_parser(), gpu_check, argv)


if __name__ == "__main__":
    sys.exit(main())

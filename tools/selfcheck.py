#!/usr/bin/env python3
"""Check this machine for a run before spending hours on it, and predict the run (about 2-3 minutes).

    python tools/selfcheck.py --cfg configs/X3D_M.yaml NUM_GPUS 4
    python tools/selfcheck.py --cfg configs/quickstart/X3D_M.yaml

Reports the environment (torch, CUDA, cuDNN, NCCL, driver, GPUs, cores, RAM, /dev/shm, free disk), an
all-reduce across the configured processes, the model's train-step and the loader's throughput per process,
whether training is input-bound, and the predicted epoch time, run time and score. Writes
OUTPUT_DIR/selfcheck.json; a run later started with the same OUTPUT_DIR logs each epoch's time beside the
prediction. Lines marked ACTION say what to change.
"""

import logging
import os
import sys

# Lets the tool run from a plain checkout, and a checkout's tool use that checkout's package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.config import load_config
from slowfast.config.cli import build_parser, run_tool


def selfcheck(args):
    """Load the configuration, run the self-check and print its report."""
    cfg = load_config(args.cfg_file, args.opts, num_shards=args.num_shards, shard_id=args.shard_id)
    from slowfast.selfcheck.check import format_report, run_selfcheck  # torch: after the config is checked

    logging.basicConfig(
        level=logging.INFO, format="[selfcheck %(asctime)s] %(message)s", datefmt="%H:%M:%S", stream=sys.stdout
    )
    logging.getLogger("slowfast.engine.trainer").setLevel(logging.WARNING)  # the probes' iteration lines
    print(format_report(cfg, run_selfcheck(cfg, args.init_method, args.budget)))


def main(argv=None):
    """Run the self-check; return the exit status (1: a user error, printed as one line; 130: Ctrl-C)."""
    parser = build_parser(__doc__)
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per timed probe (%(default)s)")
    return run_tool(parser, selfcheck, argv)


if __name__ == "__main__":
    sys.exit(main())

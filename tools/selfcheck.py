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
import sys

from slowfast.config import ConfigError, load_config
from slowfast.config.cli import build_parser
from slowfast.selfcheck.check import format_report, run_selfcheck


def main(argv=None):
    """Parse the command line, run the self-check and print its report."""
    parser = build_parser(__doc__)
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per timed probe (%(default)s)")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(
            args.cfg_file, list(args.opts) + list(args.flag_opts), num_shards=args.num_shards, shard_id=args.shard_id
        )
    except (ConfigError, FileNotFoundError) as err:
        sys.exit(f"error: {err}")
    logging.basicConfig(
        level=logging.INFO, format="[selfcheck %(asctime)s] %(message)s", datefmt="%H:%M:%S", stream=sys.stdout
    )
    logging.getLogger("slowfast.engine.trainer").setLevel(logging.WARNING)  # the probes' iteration lines
    try:
        record = run_selfcheck(cfg, args.init_method, args.budget)
    except ConfigError as err:
        sys.exit(f"error: {err}")
    print(format_report(cfg, record))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Train, evaluate every epoch, test, and score a video model: the benchmark's entry point.

    python tools/run_net.py --cfg configs/X3D_M.yaml NUM_GPUS 4
    python tools/run_net.py --cfg configs/quickstart/X3D_M.yaml          # CPU quick-start, synthetic data
"""

import sys

from slowfast.config import ConfigError, load_config
from slowfast.config.cli import parse_args
from slowfast.datasets.decoder import DecoderUnavailableError, check_backend
from slowfast.engine.launch import launch_job
from slowfast.engine.run import run_job


def main(argv=None):
    """Parse the command line, build the configuration and launch one process per accelerator."""
    args = parse_args(__doc__, argv)
    try:
        cfg = load_config(args.cfg_file, args.opts, num_shards=args.num_shards, shard_id=args.shard_id)
        check_backend(cfg.DATA.DECODING_BACKEND, cfg.DATA.DECODING_DEVICE)
    except (ConfigError, FileNotFoundError, DecoderUnavailableError) as err:
        sys.exit(f"error: {err}")
    launch_job(cfg, args.init_method, run_job, args.cfg_file, timeout_s=cfg.DIST_TIMEOUT_S)


if __name__ == "__main__":
    main()

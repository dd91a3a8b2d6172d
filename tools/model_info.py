#!/usr/bin/env python3
"""Print parameters, fvcore GFLOPs and activations of the configured model(s), side by side.

    python tools/model_info.py --cfg configs/X3D_M.yaml
    python tools/model_info.py --cfg configs/X3D_M.yaml --cfg configs/MVIT_B_16x4.yaml DATA.TRAIN_CROP_SIZE 160

Each config takes its own --cfg (one row each, in the order given); the KEY VALUE overrides after them apply
to every config. Counts are for one clip of DATA.NUM_FRAMES x TRAIN_CROP_SIZE^2.
"""

import os
import sys

# Lets the tool run from a plain checkout, and a checkout's tool use that checkout's package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.config import merge_config
from slowfast.config.cli import ToolParser, run_tool
from slowfast.utils.errors import UserError

CONFIG_SUFFIXES = (".yaml", ".yml")


def check_overrides(opts):
    """Refuse a config file where an override key belongs: ``--cfg A.yaml B.yaml`` takes B.yaml for a key.

    Raises:
        UserError: naming the file and the fix.
    """
    files = [key for key in opts[::2] if key.lower().endswith(CONFIG_SUFFIXES)]
    if files:
        raise UserError(
            f"{files[0]} is not a KEY VALUE override: give each config its own --cfg "
            f"(--cfg A.yaml --cfg {files[0]}); overrides follow the configs"
        )


def print_stats(args):
    """Print one row per config."""
    check_overrides(args.opts)
    configs = [(cfg_file, merge_config(cfg_file, args.opts)) for cfg_file in args.cfg_files]
    from slowfast.models import build_model  # torch: after every config is checked
    from slowfast.models.flops import model_stats

    print(f"{'config':<36} {'model':<6} {'input':<14} {'params':>12} {'GFLOPs':>10} {'activations (M)':>16}")
    for cfg_file, cfg in configs:
        stats = model_stats(build_model(cfg), cfg)
        clip = f"{cfg.DATA.NUM_FRAMES}x{cfg.DATA.TRAIN_CROP_SIZE}x{cfg.DATA.TRAIN_CROP_SIZE}"
        print(
            f"{cfg_file:<36} {cfg.MODEL.MODEL_NAME:<6} {clip:<14} {stats['params']:>12,} "
            f"{stats['gflops']:>10.4f} {stats['activations_m']:>16.2f}"
        )


def main(argv=None):
    """Print the models' counts; return the exit status (1: a user error, printed as one line; 130: Ctrl-C)."""
    parser = ToolParser(__doc__)
    parser.add_argument(
        "--cfg", dest="cfg_files", action="append", required=True, help="YAML config (repeat for several)"
    )
    parser.add_argument("opts", nargs="*", default=[], help="KEY VALUE overrides for every config")
    return run_tool(parser, print_stats, argv)


if __name__ == "__main__":
    sys.exit(main())

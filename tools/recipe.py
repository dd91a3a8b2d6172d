#!/usr/bin/env python3
"""Print the effective training recipe of a config on a layout: batch per process and step, steps per epoch,
the learning-rate factor and schedule, and whether the layout keeps the run in the closed division.

    python tools/recipe.py --cfg configs/X3D_M.yaml NUM_GPUS 8 TRAIN.BATCH_SIZE 128
    python tools/recipe.py --cfg configs/X3D_M.yaml --world-size 1 4 8       # layouts side by side
    python tools/recipe.py --cfg configs/MVIT_B_16x4.yaml --world-size 8 --train-videos 7500 --json

--world-size N describes N processes that keep the config's per-process batches (TRAIN.BATCH_SIZE and
TEST.BATCH_SIZE become per-process x N unless given as overrides), as a compliant run on N GPUs would. With
several N the layouts are shown side by side (--json: a list of objects).
"""

import json
import os
import sys

# Lets the tool run from a plain checkout, and a checkout's tool use that checkout's package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.benchmark.compliance import load_official_config, official_config_path
from slowfast.benchmark.recipe import compliant_batch_overrides, effective_recipe, format_recipes
from slowfast.config import load_config
from slowfast.config.checks import world_size_of
from slowfast.config.cli import ToolParser, run_tool


def _layout(cfg_file, opts, world_size, train_videos):
    """(cfg, recipe) of one layout; ``world_size`` None means the config's own."""
    official = load_official_config(cfg_file)
    if world_size is not None:
        opts = opts + compliant_batch_overrides(cfg_file, opts, world_size)
    cfg = load_config(cfg_file, opts, world_size=world_size)
    if cfg.BENCHMARK.OFFICIAL_CONFIG:
        official = load_official_config(official_config_path(cfg, cfg_file))
    return cfg, effective_recipe(cfg, official, world_size or world_size_of(cfg), train_videos)


def print_recipes(args):
    """Print the recipe table of the layouts asked for (or JSON with --json)."""
    layouts = [_layout(args.cfg_file, list(args.opts), n, args.train_videos) for n in args.world_size]
    cfgs, recipes = [cfg for cfg, _ in layouts], [recipe for _, recipe in layouts]
    if args.json:
        objects = [recipe.as_dict() for recipe in recipes]
        print(json.dumps(objects[0] if len(objects) == 1 else objects))
    else:
        print(f"{args.cfg_file}\n{format_recipes(recipes, cfgs)}")


def main(argv=None):
    """Print the recipe table (or JSON with --json); return the exit status (1: a user error, printed as one
    line; 130: Ctrl-C)."""
    parser = ToolParser(__doc__)
    parser.add_argument("--cfg", dest="cfg_file", required=True, help="path to the YAML config file")
    parser.add_argument("--world-size", type=int, nargs="+", default=[None], help="training processes of the layout(s)")
    parser.add_argument(
        "--train-videos",
        type=int,
        default=None,
        help="videos in the train split (default: rows of DATA.PATH_TO_DATA_DIR/train.csv)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON: one object, or a list for several layouts")
    parser.add_argument("opts", nargs="*", default=[], help="KEY VALUE overrides")
    return run_tool(parser, print_recipes, argv)


if __name__ == "__main__":
    sys.exit(main())

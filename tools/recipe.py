#!/usr/bin/env python3
"""Print the effective training recipe of a config on a layout: batch per process and step, steps per epoch,
the learning-rate factor and schedule, and whether the layout keeps the run in the closed division.

    python tools/recipe.py --cfg configs/X3D_M.yaml NUM_GPUS 8 TRAIN.BATCH_SIZE 128
    python tools/recipe.py --cfg configs/X3D_M.yaml --world-size 1            # 1 process, reference per-GPU batch
    python tools/recipe.py --cfg configs/MVIT_B_16x4.yaml --world-size 8 --train-videos 7500 --json

--world-size N describes N processes that keep the config's per-process batches (TRAIN.BATCH_SIZE and
TEST.BATCH_SIZE become per-process x N unless given as overrides), as a compliant run on N GPUs would.
"""

import argparse
import json
import sys

from slowfast.benchmark.compliance import load_official_config, official_config_path
from slowfast.benchmark.recipe import effective_recipe, format_recipe
from slowfast.config import ConfigError, load_config
from slowfast.config.checks import world_size_of


def _layout_overrides(official, opts, world_size):
    """Overrides that keep the official per-process batches on ``world_size`` processes."""
    given = set(opts[0::2])
    official_world = world_size_of(official)
    extra = []
    for key, node in (("TRAIN.BATCH_SIZE", official.TRAIN), ("TEST.BATCH_SIZE", official.TEST)):
        if key not in given:
            extra += [key, str(node.BATCH_SIZE // official_world * world_size)]
    return extra


def main(argv=None):
    """Parse the command line and print the recipe (or one JSON object with --json)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cfg", dest="cfg_file", required=True, help="path to the YAML config file")
    parser.add_argument("--world-size", type=int, default=None, help="training processes of the layout")
    parser.add_argument("--train-videos", type=int, default=None,
                        help="videos in the train split (default: rows of DATA.PATH_TO_DATA_DIR/train.csv)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("opts", nargs=argparse.REMAINDER, default=[], help="KEY VALUE overrides")
    args = parser.parse_args(argv)
    try:
        official = load_official_config(args.cfg_file)
        opts = list(args.opts)
        if args.world_size is not None:
            opts += _layout_overrides(official, opts, args.world_size)
        cfg = load_config(args.cfg_file, opts, world_size=args.world_size)
        if cfg.BENCHMARK.OFFICIAL_CONFIG:
            official = load_official_config(official_config_path(cfg, args.cfg_file))
    except (ConfigError, FileNotFoundError) as err:
        sys.exit(f"error: {err}")
    processes = args.world_size or world_size_of(cfg)
    recipe = effective_recipe(cfg, official, processes, args.train_videos)
    if args.json:
        print(json.dumps(recipe.as_dict()))
        return
    print(f"{args.cfg_file} on {processes} process(es)\n{format_recipe(recipe, cfg)}")
    if recipe.division == "closed" and args.world_size is not None:
        print(f"run it with           TRAIN.BATCH_SIZE {cfg.TRAIN.BATCH_SIZE} TEST.BATCH_SIZE {cfg.TEST.BATCH_SIZE} "
              f"on {processes} process(es)")


if __name__ == "__main__":
    main()

"""Print parameters, fvcore GFLOPs and activations of the configured model(s), side by side.

    python tools/model_info.py --cfg configs/X3D_M.yaml [--cfg configs/MVIT_B_16x4.yaml] [KEY VALUE ...]

The overrides apply to every config. Counts are for one clip of DATA.NUM_FRAMES x TRAIN_CROP_SIZE^2.
"""

import argparse

from slowfast.config import merge_config
from slowfast.models import build_model
from slowfast.models.flops import model_stats


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cfg", dest="cfg_files", action="append", required=True, help="YAML config (repeatable)")
    parser.add_argument("opts", nargs=argparse.REMAINDER, default=[], help="KEY VALUE overrides for all configs")
    args = parser.parse_args()
    print(f"{'config':<36} {'model':<6} {'input':<14} {'params':>12} {'GFLOPs':>10} {'activations (M)':>16}")
    for cfg_file in args.cfg_files:
        cfg = merge_config(cfg_file, args.opts)
        stats = model_stats(build_model(cfg), cfg)
        clip = f"{cfg.DATA.NUM_FRAMES}x{cfg.DATA.TRAIN_CROP_SIZE}x{cfg.DATA.TRAIN_CROP_SIZE}"
        print(
            f"{cfg_file:<36} {cfg.MODEL.MODEL_NAME:<6} {clip:<14} {stats['params']:>12,} "
            f"{stats['gflops']:>10.4f} {stats['activations_m']:>16.2f}"
        )


if __name__ == "__main__":
    main()

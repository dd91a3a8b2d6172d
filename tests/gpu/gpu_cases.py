"""Configs and inputs shared by the device tests."""

import os

import torch

from slowfast.config import load_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def scored_config(name, device, *opts):
    """The scored config ``configs/<name>.yaml`` sized for ``device``: full 16x224 clips on CUDA; on the CPU
    a 112 crop (X3D-M) or the 4-block quick-start MViT at 64, so a CPU run of the file takes seconds."""
    cfg_file = os.path.join(ROOT, "configs", f"{name}.yaml")
    sizes = ["NUM_GPUS", "0", "DATA.TRAIN_CROP_SIZE", "224", "DATA.TEST_CROP_SIZE", "224"]
    if device.type == "cpu":
        if name == "X3D_M":
            sizes = ["NUM_GPUS", "0", "DATA.NUM_FRAMES", "8", "DATA.TRAIN_CROP_SIZE", "112",
                     "DATA.TEST_CROP_SIZE", "112"]
        else:
            cfg_file = os.path.join(ROOT, "configs", "quickstart", f"{name}.yaml")
            sizes = ["NUM_GPUS", "0"]
    return load_config(cfg_file, [*sizes, *opts])


def clip_batch(cfg, batch, device, seed=0):
    """Deterministic random clips and labels of the config's training shape."""
    generator = torch.Generator().manual_seed(seed)
    crop = cfg.DATA.TRAIN_CROP_SIZE
    x = torch.randn(batch, cfg.DATA.INPUT_CHANNEL_NUM[0], cfg.DATA.NUM_FRAMES, crop, crop, generator=generator)
    labels = torch.randint(0, cfg.MODEL.NUM_CLASSES, (batch,), generator=generator)
    return x.to(device), labels.to(device)

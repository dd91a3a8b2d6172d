"""Configs and inputs shared by the device tests."""

import os

import torch

from slowfast.config import load_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def scored_config(name, device, *opts):
    """The scored config ``configs/<name>.yaml`` sized for ``device``: its own 16x224 clips on CUDA; on the
    CPU the quick-start's (4x64x64 clips, and MViT's 4-block layout), so a CPU run of the file takes seconds.
    NUM_GPUS is 1 on CUDA (the run's device is the current GPU), 0 on the CPU."""
    folder = os.path.join(ROOT, "configs") if device.type == "cuda" else os.path.join(ROOT, "configs", "quickstart")
    num_gpus = "1" if device.type == "cuda" else "0"
    return load_config(os.path.join(folder, f"{name}.yaml"), ["NUM_GPUS", num_gpus, *opts])


def clip_batch(cfg, batch, device, seed=0):
    """Deterministic random clips and labels of the config's training shape."""
    generator = torch.Generator().manual_seed(seed)
    crop = cfg.DATA.TRAIN_CROP_SIZE
    x = torch.randn(batch, cfg.DATA.INPUT_CHANNEL_NUM[0], cfg.DATA.NUM_FRAMES, crop, crop, generator=generator)
    labels = torch.randint(0, cfg.MODEL.NUM_CLASSES, (batch,), generator=generator)
    return x.to(device), labels.to(device)

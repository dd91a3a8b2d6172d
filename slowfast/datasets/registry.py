"""The dataset registry: the contract every registered data set keeps."""

from fvcore.common.registry import Registry

DATASET_REGISTRY = Registry("DATASET")
DATASET_REGISTRY.__doc__ = """
Registry of video datasets, looked up by lower-case name ("kinetics").

A registered class is constructed as ``cls(cfg, split)`` with split in "train" | "val" | "test" and is a
``torch.utils.data.Dataset`` whose ``dataset[key]`` (key = index or ``(epoch, index)``) returns
``(frames, label, index, meta)``: frames is a list of pathway tensors (C,T,H,W) float32, meta a dict with
at least "valid" (bool) and "bad_paths" (list of str). It exposes ``num_videos`` and ``video_paths``, and
the draws of an item depend only on (cfg.RNG_SEED, epoch, index).
"""

"""Data loaders: epoch-aware samplers, rank sharding, worker seeding and batch collation.

The sampler yields ``(epoch, index)`` pairs, so an item's random draws depend only on
(RNG_SEED, epoch, index) whatever the number of workers, with persistent workers and after a resume.
"""

import functools
import logging
import random

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler, Sampler, default_collate

from slowfast.datasets import spatial_transforms as st
from slowfast.datasets.build import build_dataset
from slowfast.utils import distributed as du

logger = logging.getLogger(__name__)


class EvalShardSampler(Sampler):
    """Indices ``rank, rank + world, ...``: every item on exactly one rank, no padding, no duplicates."""

    def __init__(self, num_items, rank, world_size):
        """
        Args:
            num_items (int): dataset length.
            rank (int): this process.
            world_size (int): number of processes.
        """
        self.num_items, self.rank, self.world_size = num_items, rank, world_size

    def __iter__(self):
        return iter(range(self.rank, self.num_items, self.world_size))

    def __len__(self):
        return len(range(self.rank, self.num_items, self.world_size))


class EpochSampler(Sampler):
    """Wrap an index sampler and yield ``(epoch, index)`` pairs; ``set_epoch`` reaches the wrapped one."""

    def __init__(self, sampler):
        """Args: sampler: yields dataset indices (DistributedSampler or EvalShardSampler)."""
        self.sampler, self.epoch = sampler, 0

    def set_epoch(self, epoch):
        """Select the epoch (reshuffles a DistributedSampler)."""
        self.epoch = epoch
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)

    def __iter__(self):
        return ((self.epoch, index) for index in self.sampler)

    def __len__(self):
        return len(self.sampler)


def build_sampler(dataset, split, seed, rank, world_size):
    """Shuffled, sharded, deterministic per epoch for train; a padding-free shard for val/test.

    Args:
        dataset (Dataset): the dataset.
        split (str): "train", "val" or "test".
        seed (int): shuffle seed (cfg.RNG_SEED).
        rank, world_size (int): this process and the number of processes.
    Returns:
        Sampler of dataset indices.
    """
    if split == "train":
        return DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=seed)
    return EvalShardSampler(len(dataset), rank, world_size)


def seed_worker(worker_id, seed, rank):
    """Seed torch, random and numpy of a loader worker from (seed, rank, worker id)."""
    worker_seed = int(np.random.SeedSequence([seed, rank, worker_id]).generate_state(1)[0])
    torch.manual_seed(worker_seed)
    random.seed(worker_seed)
    np.random.seed(worker_seed)


def _flatten_views(item):
    """An item as a list of (pathways, label, index, meta): one entry per augmented view."""
    frames, label, index, meta = item
    if isinstance(label, list):
        return [(views, lab, idx, meta) for views, lab, idx in zip(frames, label, index)]
    return [(frames, label, index, meta)]


def _one_dtype(clips, mean, std):
    """``clips`` as they are when they share a dtype, else each uint8 (C,T,H,W) clip normalised to float32."""
    if len({clip.dtype for clip in clips}) == 1:
        return clips
    if mean is None or std is None:
        raise ValueError("a batch mixing uint8 and float32 clips needs DATA.MEAN and DATA.STD to normalise it")
    return [st.normalize(c.permute(1, 0, 2, 3), mean, std) if c.dtype == torch.uint8 else c for c in clips]


def collate_clips(items, mean=None, std=None):
    """Stack items (or their views) into ``(inputs, labels, index, meta)``.

    Clips come as uint8, normalised on the training device, or as float32 (resized evaluation clips, the zero
    clip of a bad video); a batch mixing them is normalised here, in the worker, to float32 throughout.

    Args:
        items (list): dataset items ``(frames, label, index, meta)``.
        mean, std (sequence of float or None): DATA.MEAN and DATA.STD, needed for a batch mixing the dtypes.
    Returns:
        tuple: inputs (list of (N,C,T,H,W), uint8 or float32), labels LongTensor (N,),
        index LongTensor (N,), meta dict: "valid" BoolTensor (N,), "bad_paths" flat list of str (once per
        video), "time_idx" (N,3), "video_idx" LongTensor (N,), "path" list of N str; with random erasing,
        "erase" LongTensor (N, L) of the clips' erasing plans (random_erasing.erasing_plan), for the training step.
    """
    views = [view for item in items for view in _flatten_views(item)]
    num_pathways = len(views[0][0])
    # default_collate stacks tensors into shared memory in a loader worker, so the batch reaches the main
    # process without another copy (torch.stack's private memory was copied to shared memory when sent: 38 MB
    # per X3D-M batch of 4, about a tenth of the loader's CPU time).
    inputs = [default_collate(_one_dtype([v[0][p] for v in views], mean, std)) for p in range(num_pathways)]
    metas = [v[3] for v in views]
    meta = {
        "valid": torch.tensor([m["valid"] for m in metas], dtype=torch.bool),
        "bad_paths": [path for item in items for path in item[3]["bad_paths"]],
        "time_idx": torch.tensor([m["time_idx"] for m in metas], dtype=torch.float64),
        "video_idx": torch.tensor([m["video_idx"] for m in metas], dtype=torch.long),
        "path": [m["path"] for m in metas],
    }
    if "erase" in items[0][3]:  # one row per view, in the order the views are flattened
        meta["erase"] = torch.cat([item[3]["erase"] for item in items])
    labels = torch.tensor([v[1] for v in views], dtype=torch.long)
    index = torch.tensor([v[2] for v in views], dtype=torch.long)
    return inputs, labels, index, meta


def loader_workers(cfg):
    """Worker processes of one loader: DATA_LOADER.NUM_WORKERS, at most DATA_LOADER.MAX_CUDA_DECODE_WORKERS when
    decoding on the GPU (each such worker holds a CUDA context on its rank's GPU, and more decoders than NVDEC
    engines queue).

    Args:
        cfg (CfgNode): configuration (DATA_LOADER.NUM_WORKERS, MAX_CUDA_DECODE_WORKERS, DATA.DECODING_DEVICE).
    Returns:
        int
    """
    workers, cap = cfg.DATA_LOADER.NUM_WORKERS, cfg.DATA_LOADER.MAX_CUDA_DECODE_WORKERS
    if cfg.DATA.DECODING_DEVICE == "cuda" and workers > cap:
        logger.warning(
            "DATA_LOADER.NUM_WORKERS %d capped at DATA_LOADER.MAX_CUDA_DECODE_WORKERS %d per loader with "
            "DATA.DECODING_DEVICE cuda (one CUDA context per worker)",
            workers,
            cap,
        )
        return cap
    return workers


def build_loader(cfg, split, epoch_sampler=True, rank=None, world_size=None):
    """DataLoader of a split with the per-process share of the global batch (videos).

    A training batch holds ``TRAIN.BATCH_SIZE / world_size`` videos and ``AUG.NUM_SAMPLE`` times as many clips.

    Args:
        cfg (CfgNode): configuration (TRAIN/TEST.BATCH_SIZE, DATA_LOADER.*, AUG.NUM_SAMPLE, RNG_SEED).
        split (str): "train", "val" or "test".
        epoch_sampler (bool): yield (epoch, index) pairs so draws follow the epoch (else epoch 0 always).
        rank, world_size (int or None): override torch.distributed's (tests simulate ranks with them).
    Returns:
        DataLoader; call ``set_loader_epoch(loader, epoch)`` at every epoch.
    """
    rank = du.get_rank() if rank is None else rank
    world_size = du.get_world_size() if world_size is None else world_size
    dataset = build_dataset(cfg.TRAIN.DATASET if split == "train" else cfg.TEST.DATASET, cfg, split)
    is_train = split == "train"
    # Videos per process and step; in training each gives AUG.NUM_SAMPLE clips (PySlowFast's convention).
    per_process = (cfg.TRAIN.BATCH_SIZE if is_train else cfg.TEST.BATCH_SIZE) // world_size
    sampler = build_sampler(dataset, split, cfg.RNG_SEED, rank, world_size)
    if epoch_sampler:
        sampler = EpochSampler(sampler)
    workers = loader_workers(cfg)
    return DataLoader(
        dataset,
        batch_size=max(per_process, 1),
        sampler=sampler,
        num_workers=workers,
        collate_fn=functools.partial(collate_clips, mean=cfg.DATA.MEAN, std=cfg.DATA.STD),
        pin_memory=cfg.DATA_LOADER.PIN_MEMORY and cfg.NUM_GPUS > 0,  # not for a CPU run on a GPU host
        drop_last=is_train,
        worker_init_fn=functools.partial(seed_worker, seed=cfg.RNG_SEED, rank=rank),
        # Every new iterator draws the workers' base seed (which seed_worker overrides) from this generator; from
        # the global RNG it would take a draw from mixup's in an epoch that starts workers: a persistent-worker
        # loader's first epoch in a process, so a resumed run's mixup would differ from the uninterrupted run's.
        generator=torch.Generator().manual_seed(cfg.RNG_SEED),
        # Only the train loader keeps its workers: the val and test loaders' would sit idle, holding memory,
        # shared memory and (GPU decoding) CUDA contexts, through every epoch of training.
        persistent_workers=cfg.DATA_LOADER.PERSISTENT_WORKERS and workers > 0 and is_train,
        prefetch_factor=cfg.DATA_LOADER.PREFETCH_FACTOR if workers > 0 else None,
        # CUDA cannot be used in forked workers: GPU decoding starts them with spawn.
        multiprocessing_context="spawn" if workers > 0 and cfg.DATA.DECODING_DEVICE == "cuda" else None,
    )


def set_loader_epoch(loader, epoch):
    """Tell the loader's sampler the epoch (reshuffle and reseed the items' draws)."""
    if hasattr(loader.sampler, "set_epoch"):
        loader.sampler.set_epoch(epoch)

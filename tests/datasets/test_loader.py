"""Samplers shard without duplicates, items are seeded per (seed, epoch, index), views are flattened."""

import pytest
import torch
from conftest import small_cfg, write_csv

from slowfast.datasets import spatial_transforms as st
from slowfast.datasets.build import build_dataset
from slowfast.datasets.loader import (
    EpochSampler,
    EvalShardSampler,
    build_loader,
    build_sampler,
    collate_clips,
    set_loader_epoch,
)


@pytest.mark.parametrize("world_size", [1, 2, 3])
def test_eval_shards_cover_every_item_once(world_size):
    shards = [list(EvalShardSampler(10, rank, world_size)) for rank in range(world_size)]
    merged = sorted(i for shard in shards for i in shard)
    assert merged == list(range(10))
    assert [len(EvalShardSampler(10, rank, world_size)) for rank in range(world_size)] == [len(s) for s in shards]


def test_train_shards_are_disjoint_and_reshuffle_per_epoch():
    dataset = list(range(12))
    samplers = [EpochSampler(build_sampler(dataset, "train", 0, rank, 2)) for rank in range(2)]
    epoch0 = [list(s) for s in samplers]
    assert sorted(i for shard in epoch0 for _, i in shard) == list(range(12))
    assert all(epoch == 0 for shard in epoch0 for epoch, _ in shard)
    for s in samplers:
        s.set_epoch(1)
    epoch1 = [list(s) for s in samplers]
    assert all(epoch == 1 for shard in epoch1 for epoch, _ in shard)
    assert [i for _, i in epoch1[0]] != [i for _, i in epoch0[0]]


def test_val_loader_on_simulated_ranks_sees_each_video_once(tiny_dataset):
    folder, good, _ = tiny_dataset
    write_csv(folder, "val", good + good[:1])
    cfg = small_cfg(folder, ["TEST.BATCH_SIZE", "4"])
    seen = []
    for rank in range(2):
        loader = build_loader(cfg, "val", rank=rank, world_size=2)
        assert loader.batch_size == 2
        seen += [i for _, _, index, _ in loader for i in index.tolist()]
    assert sorted(seen) == list(range(5))


def _batches(cfg, epoch):
    loader = build_loader(cfg, "train")
    set_loader_epoch(loader, epoch)
    return list(loader)


def test_train_items_do_not_depend_on_worker_count_and_follow_the_epoch(tiny_dataset):
    folder, good, _ = tiny_dataset
    write_csv(folder, "train", good)
    serial = _batches(small_cfg(folder), 3)
    parallel = _batches(small_cfg(folder, ["DATA_LOADER.NUM_WORKERS", "2"]), 3)
    for (x0, y0, i0, _), (x1, y1, i1, _) in zip(serial, parallel, strict=True):
        assert i0.equal(i1) and y0.equal(y1) and x0[0].equal(x1[0])
    dataset = build_dataset("kinetics", small_cfg(folder), "train")
    assert dataset[(3, 1)][0][0].equal(dataset[(3, 1)][0][0])
    assert not dataset[(3, 1)][0][0].equal(dataset[(4, 1)][0][0])
    assert dataset[1][0][0].equal(dataset[(0, 1)][0][0])


def test_starting_an_epoch_leaves_the_global_torch_rng_to_mixup(tiny_dataset):
    # A DataLoader draws its workers' base seed at every new iterator: a persistent-worker loader only at a
    # process's first epoch. From the global RNG, that draw would shift mixup's draws after a resume.
    folder, good, _ = tiny_dataset
    write_csv(folder, "train", good)
    loader = build_loader(small_cfg(folder), "train")
    torch.manual_seed(0)
    expected = torch.rand(4)
    torch.manual_seed(0)
    iter(loader)
    assert torch.rand(4).equal(expected)


def test_repeated_augmentation_views_are_flattened_into_the_batch(tiny_dataset):
    folder, good, _ = tiny_dataset
    write_csv(folder, "train", good)
    cfg = small_cfg(
        folder,
        [
            "AUG.NUM_SAMPLE",
            "2",
            "TRAIN.BATCH_SIZE",
            "2",
            "AUG.ENABLE",
            "True",
            "DATA.TRAIN_JITTER_SCALES_RELATIVE",
            "[0.08, 1.0]",
            "DATA.TRAIN_JITTER_ASPECT_RELATIVE",
            "[0.75, 1.3333]",
        ],
    )
    frames, labels, index, meta = build_dataset("kinetics", cfg, "train")[0]
    assert len(frames) == len(labels) == len(index) == 2 and not frames[0][0].equal(frames[1][0][0])
    loader = build_loader(cfg, "train")
    assert loader.batch_size == 2  # TRAIN.BATCH_SIZE counts videos; each gives AUG.NUM_SAMPLE clips
    inputs, labels, index, meta = next(iter(loader))
    assert inputs[0].shape == (4, 3, 4, 32, 32) and inputs[0].dtype == torch.uint8  # erased on the device
    assert labels.shape == index.shape == meta["valid"].shape == (4,) and meta["erase"].shape == (4, 5)
    assert labels[0] == labels[1] and index[0] == index[1] and meta["bad_paths"] == []


def test_a_worker_stacks_the_batch_in_shared_memory(monkeypatch):
    # Sent to the main process as is: no copy into shared memory after collation.
    meta = {"valid": True, "bad_paths": [], "time_idx": [0.0, 3.0, 0.0], "video_idx": 0, "path": "a.mp4"}
    item = ([torch.rand(3, 4, 8, 8)], 1, 0, meta)
    assert not collate_clips([item, item])[0][0].is_shared()
    monkeypatch.setattr(torch.utils.data, "get_worker_info", lambda: object())
    inputs = collate_clips([item, item])[0]
    assert inputs[0].is_shared() and inputs[0].equal(torch.stack([item[0][0]] * 2))


def test_only_the_train_loader_keeps_its_workers_between_epochs(tiny_dataset):
    folder, good, _ = tiny_dataset
    for split in ("train", "val"):
        write_csv(folder, split, good)
    cfg = small_cfg(folder, ["DATA_LOADER.NUM_WORKERS", "1", "DATA_LOADER.PERSISTENT_WORKERS", "True"])
    assert build_loader(cfg, "train").persistent_workers
    assert not build_loader(cfg, "val").persistent_workers  # idle through training otherwise


def test_memory_is_pinned_for_a_run_on_gpus_only(tiny_dataset, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a GPU host
    folder, good, _ = tiny_dataset
    write_csv(folder, "train", good)
    pinned = ["DATA_LOADER.PIN_MEMORY", "True"]
    assert not build_loader(small_cfg(folder, pinned), "train").pin_memory  # NUM_GPUS 0: no CUDA context for this
    assert build_loader(small_cfg(folder, [*pinned, "NUM_GPUS", "1"]), "train").pin_memory


def test_train_clips_hand_over_uint8_and_normalise_on_the_device_to_the_worker_values(tiny_dataset):
    folder, good, _ = tiny_dataset
    write_csv(folder, "train", good)
    cfg = small_cfg(folder)
    clip = build_dataset("kinetics", cfg, "train")[(0, 1)][0][0]
    assert clip.dtype == torch.uint8 and clip.shape[0] == 3  # (C,T,H,W), a quarter of float32's bytes
    in_worker = st.normalize(clip.permute(1, 0, 2, 3), cfg.DATA.MEAN, cfg.DATA.STD)  # the previous hand-over
    on_device = st.normalize_batch(clip[None], cfg.DATA.MEAN, cfg.DATA.STD)[0]
    assert torch.equal(on_device, in_worker)  # tolerance 0: the same float32 ops in the same order
    erasing = small_cfg(folder, ["AUG.ENABLE", "True", "AUG.RE_PROB", "0.25"])
    frames, _, _, meta = build_dataset("kinetics", erasing, "train")[(0, 1)]
    assert frames[0].dtype == torch.uint8 and meta["erase"].shape == (1, 5)  # uint8 too, with its erasing plan


def test_a_batch_mixing_uint8_and_float_clips_is_normalised_in_the_worker():
    # A resized evaluation clip (or a bad video's zero clip) is float32, an unresized one uint8.
    uint8 = torch.randint(0, 256, (3, 2, 4, 4), dtype=torch.uint8)
    normalised = st.normalize(uint8.permute(1, 0, 2, 3), [0.45] * 3, [0.225] * 3)
    meta = {"valid": True, "bad_paths": [], "time_idx": [0.0, 1.0, 0.0], "video_idx": 0, "path": "a.mp4"}
    items = [([uint8], 0, 0, meta), ([torch.zeros(3, 2, 4, 4)], 1, 1, meta)]
    inputs = collate_clips(items, mean=[0.45] * 3, std=[0.225] * 3)[0]
    assert inputs[0].dtype == torch.float32 and inputs[0][0].equal(normalised) and not inputs[0][1].any()
    assert collate_clips(items[:1])[0][0].dtype == torch.uint8  # one dtype: as it is, normalised on the device
    with pytest.raises(ValueError, match="DATA.MEAN"):
        collate_clips(items)

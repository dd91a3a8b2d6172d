"""Loader throughput per NUM_WORKERS next to the raw PyAV decode rate of the same files.

    python tools/benchmark_loader.py --cfg configs/X3D_M.yaml --workers 0 2 \
        DATA.PATH_TO_DATA_DIR DIR DATA.PATH_PREFIX DIR TRAIN.BATCH_SIZE 4

Prints, per worker count, the median over epochs of videos/s (and augmented clips/s) the train loader
delivers, and the single-process rate of decoding the same clips without any transform (the input limit
of one core). If the loader is far below workers x the raw rate, transforms or the loader cost time; if
the GPU step is faster than the loader rate, training is input-bound: add workers.
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np
import psutil
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.config import load_config  # noqa: E402
from slowfast.datasets import build_dataset, build_loader, set_loader_epoch  # noqa: E402
from slowfast.datasets import temporal_sampling as ts  # noqa: E402
from slowfast.datasets.decoder import VideoDecodeError, decode_clip  # noqa: E402


def cpu_seconds_by_process():
    """CPU seconds (user + system) used so far by this process and each of its children, by pid."""
    me = psutil.Process()
    usage = {}
    for proc in [me] + me.children(recursive=True):
        try:
            times = proc.cpu_times()
            usage[proc.pid] = times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return usage


def loader_rate(cfg, split, workers, epochs):
    """Median over ``epochs`` passes of (videos/s, videos per CPU-second of all loader processes).

    The second figure hardly depends on what else runs on the machine, so it compares across runs.
    """
    cfg = cfg.clone()
    cfg.defrost()
    cfg.DATA_LOADER.NUM_WORKERS = workers
    cfg.freeze()
    loader = build_loader(cfg, split, rank=0, world_size=1)
    rates, cpu_rates = [], []
    for epoch in range(epochs):
        set_loader_epoch(loader, epoch)
        cpu_before, start, clips = cpu_seconds_by_process(), time.perf_counter(), 0
        for inputs, _, _, _ in loader:
            clips += inputs[0].shape[0]
        videos = clips / cfg.AUG.NUM_SAMPLE
        rates.append(videos / (time.perf_counter() - start))
        cpu_after = cpu_seconds_by_process()
        cpu = sum(used - cpu_before.get(pid, 0.0) for pid, used in cpu_after.items())
        cpu_rates.append(videos / cpu)
    del loader
    return statistics.median(rates), statistics.median(cpu_rates)


def raw_decode_rate(cfg, paths, repeats=1):
    """Clips per CPU-second of ``decode_clip`` alone (random starts, uint8 RGB of the T frames)."""
    rng = np.random.default_rng(0)
    data = cfg.DATA
    start, clips = time.process_time(), 0
    for _ in range(repeats):
        for path in paths:
            try:
                decode_clip(path, data.NUM_FRAMES, data.SAMPLING_RATE, data.TARGET_FPS,
                            lambda n, span: ts.random_clip_start(n, span, rng), data.MIN_CLIP_COVERAGE,
                            cfg.DATA_LOADER.ENABLE_MULTI_THREAD_DECODE)
                clips += 1
            except VideoDecodeError:
                pass
    return clips / (time.process_time() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cfg", required=True, help="config YAML")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="NUM_WORKERS values to time")
    parser.add_argument("--epochs", type=int, default=3, help="passes per worker count (median reported)")
    parser.add_argument("--split", default="train", choices=["train", "val", "test"])
    parser.add_argument("--torch-threads", type=int, default=0,
                        help="torch.set_num_threads in the main process (0 = leave torch's default)")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides")
    args = parser.parse_args()
    cfg = load_config(args.cfg, args.opts, world_size=1)
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    probe = build_dataset(cfg.TRAIN.DATASET, cfg, args.split)
    raw = raw_decode_rate(cfg, probe.video_paths)
    print(f"{len(probe.video_paths)} videos, split {args.split}, batch {cfg.TRAIN.BATCH_SIZE}, "
          f"multi-thread decode {cfg.DATA_LOADER.ENABLE_MULTI_THREAD_DECODE}, "
          f"main-process torch threads {torch.get_num_threads()}")
    print(f"raw PyAV clip decode, no transforms: {raw:.1f} clips per CPU-second "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    for workers in args.workers:
        rate, cpu_rate = loader_rate(cfg, args.split, workers, args.epochs)
        views = cfg.AUG.NUM_SAMPLE if args.split == "train" else 1
        print(f"NUM_WORKERS {workers:2d}: {rate:6.1f} videos/s ({rate * views:.1f} augmented clips/s); "
              f"{cpu_rate:.1f} videos per CPU-second = {cpu_rate / raw:.0%} of the raw decode rate")


if __name__ == "__main__":
    main()

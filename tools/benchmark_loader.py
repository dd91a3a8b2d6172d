"""Loader throughput per decoding backend and NUM_WORKERS, next to each backend's raw decode rate.

    python tools/benchmark_loader.py --cfg configs/X3D_M.yaml --workers 0 2 --backends pyav torchcodec \
        DATA.PATH_TO_DATA_DIR DIR DATA.PATH_PREFIX DIR TRAIN.BATCH_SIZE 4

For each backend (DATA.DECODING_BACKEND), prints the single-process rate of decoding the same clips without
any transform (clips per CPU-second: the input limit of one core), then per worker count the median over
epochs of videos/s (and augmented clips/s) the train loader delivers and its videos per CPU-second as a
share of the raw rate. Epochs alternate between the backends, so both see the same machine load. Each epoch
uses a fresh loader and is timed from its first batch to its last (as the PySlowFast side of the speed
comparison in MEASUREMENTS.md is timed). If the
loader is far below workers x the raw rate, transforms or the loader cost time; if the GPU step is faster
than the loader rate, training is input-bound: add workers.
"""

import os
import statistics
import sys
import time

import numpy as np
import psutil
import torch

# Lets the tool run from a plain checkout, and a checkout's tool use that checkout's package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.config import load_config
from slowfast.config.cli import ToolParser, run_tool
from slowfast.datasets import temporal_sampling as ts
from slowfast.datasets.build import build_dataset
from slowfast.datasets.decoder import check_backend, decode_config_clip
from slowfast.datasets.loader import build_loader, set_loader_epoch
from slowfast.datasets.video_reader import DecoderUnavailableError, VideoDecodeError
from slowfast.utils.errors import UserError


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


def _with(cfg, **data_values):
    cfg = cfg.clone()
    cfg.defrost()
    for key, value in data_values.items():
        setattr(cfg.DATA_LOADER if key == "NUM_WORKERS" else cfg.DATA, key, value)
    cfg.freeze()
    return cfg


def loader_epoch_rate(cfg, split, epoch):
    """(videos/s, videos per CPU-second of all loader processes) of one epoch of a fresh loader.

    Timed from the first batch to the last (worker start-up excluded), as the peer's bench_loader.py does;
    the second figure hardly depends on what else runs on the machine, so it compares across runs.
    """
    loader = build_loader(cfg, split, rank=0, world_size=1)
    set_loader_epoch(loader, epoch)
    clips, start, cpu_before = 0, None, None
    for inputs, _, _, _ in loader:
        if start is None:
            cpu_before, start = cpu_seconds_by_process(), time.perf_counter()
        else:
            clips += inputs[0].shape[0]
    seconds = time.perf_counter() - start
    cpu_after = cpu_seconds_by_process()
    cpu = sum(used - cpu_before.get(pid, 0.0) for pid, used in cpu_after.items())
    del loader
    videos = clips / cfg.AUG.NUM_SAMPLE
    return videos / seconds, videos / cpu


def raw_decode_rate(cfg, paths, repeats=1):
    """Clips per CPU-second of decoding alone with cfg's backend (random starts, uint8 RGB of T frames)."""
    rng = np.random.default_rng(0)
    start, clips = time.process_time(), 0
    for _ in range(repeats):
        for path in paths:
            try:
                decode_config_clip(cfg, path, lambda n, span: ts.random_clip_start(n, span, rng))
                clips += 1
            except VideoDecodeError:
                pass
    return clips / (time.process_time() - start)


def usable_backends(wanted, device):
    """The backends of ``wanted`` that can decode on ``device`` here; prints why each other one is skipped.

    Raises:
        UserError: none can.
    """
    backends = []
    for backend in wanted:
        try:
            check_backend(backend, device)
            backends.append(backend)
        except DecoderUnavailableError as error:
            print(f"{backend}: skipped: {error}")
    if not backends:
        raise UserError("no backend of --backends can decode here (the reasons are printed above)")
    return backends


def print_worker_rates(cfg, args, backends, raw):
    """Time ``args.epochs`` epochs per backend for each worker count (backends alternating epoch by epoch) and
    print each backend's median rates next to its raw decode rate."""
    views = cfg.AUG.NUM_SAMPLE if args.split == "train" else 1
    for workers in args.workers:
        rates = {backend: [] for backend in backends}
        for epoch in range(args.epochs):
            for backend in backends:
                run_cfg = _with(cfg, DECODING_BACKEND=backend, NUM_WORKERS=workers)
                rates[backend].append(loader_epoch_rate(run_cfg, args.split, epoch))
        for backend in backends:
            rate = statistics.median(r for r, _ in rates[backend])
            cpu_rate = statistics.median(c for _, c in rates[backend])
            print(
                f"{backend:10s} raw decode {raw[backend]:5.1f} clips per CPU-second | NUM_WORKERS {workers:2d}: "
                f"{rate:6.1f} videos/s ({rate * views:.1f} augmented clips/s); {cpu_rate:.1f} videos per "
                f"CPU-second = {cpu_rate / raw[backend]:.0%} of the raw decode rate"
            )


def benchmark(args):
    """Measure each backend's raw decode rate, then the loader's rates per worker count."""
    cfg = load_config(args.cfg, args.opts, world_size=1)
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    backends = usable_backends(args.backends, cfg.DATA.DECODING_DEVICE)
    paths = build_dataset(cfg.TRAIN.DATASET, cfg, args.split).video_paths
    print(
        f"{len(paths)} videos, split {args.split}, batch {cfg.TRAIN.BATCH_SIZE}, "
        f"multi-thread decode {cfg.DATA_LOADER.ENABLE_MULTI_THREAD_DECODE}, decoding device "
        f"{cfg.DATA.DECODING_DEVICE}, main-process torch threads {torch.get_num_threads()}, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    raw = {backend: raw_decode_rate(_with(cfg, DECODING_BACKEND=backend), paths) for backend in backends}
    print_worker_rates(cfg, args, backends, raw)


def main(argv=None):
    """Time the loaders; return the exit status (1: a user error, printed as one line; 130: Ctrl-C)."""
    parser = ToolParser(__doc__)
    parser.add_argument("--cfg", required=True, help="config YAML")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="NUM_WORKERS values to time")
    parser.add_argument(
        "--backends",
        nargs="+",
        default=["pyav", "torchcodec"],
        choices=["pyav", "torchcodec"],
        help="DATA.DECODING_BACKEND values to compare (one unavailable here is reported and skipped)",
    )
    parser.add_argument("--epochs", type=int, default=3, help="epochs per backend and worker count (median)")
    parser.add_argument("--split", default="train", choices=["train", "val", "test"])
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=0,
        help="torch.set_num_threads in the main process (0 = leave torch's default)",
    )
    parser.add_argument("opts", nargs="*", default=[], help="KEY VALUE config overrides")
    return run_tool(parser, benchmark, argv)


if __name__ == "__main__":
    sys.exit(main())

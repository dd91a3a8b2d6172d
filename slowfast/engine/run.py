"""One benchmark job, as run by every process: set-up, epochs under the benchmark clock, test, result.

Timeline (MLPerf): init_start -> config saved, data set generated if a quick-start asks for it, model built,
CSVs parsed, checkpoint restored -> init_stop, run_start and the clock starts -> epochs (train, precise BN,
evaluation, checkpoint) -> run_stop at the end of training -> multi-view test (outside the clock) -> result.
"""

import hashlib
import json
import logging
import os
import random

import numpy as np
import torch
from mlperf_logging.mllog import constants

from slowfast.benchmark import compliance, result
from slowfast.benchmark.clock import BenchmarkClock
from slowfast.benchmark.mllog import IMPLEMENTATION, STATUS_ABORTED, STATUS_SUCCESS, log_run_header, open_mllog
from slowfast.config import save_config
from slowfast.datasets import build_loader, set_loader_epoch
from slowfast.datasets.bad_videos import BadVideoTracker
from slowfast.datasets.mixup import MixUp
from slowfast.datasets.synthetic import GENERATOR_VERSION, make_synthetic_dataset
from slowfast.engine import checkpoint as ckpt
from slowfast.engine.implementation import choose_implementation, prepare_training_model
from slowfast.engine.trainer import LoopContext, evaluate, test, train_one_epoch, update_precise_bn
from slowfast.models import build_model
from slowfast.models.flops import model_stats
from slowfast.solver import build_optimizer, get_loss_func
from slowfast.utils import distributed as du
from slowfast.utils.env import environment_info, platform_name
from slowfast.utils.logging import setup_logging
from slowfast.utils.metrics import MetricsWriter

logger = logging.getLogger(__name__)


def seed_everything(seed, epoch, rank):
    """Seed Python, NumPy and torch from (seed, epoch, rank), so an epoch's randomness survives a resume."""
    state = np.random.SeedSequence([seed, epoch, rank]).generate_state(2)
    random.seed(int(state[0]))
    np.random.seed(int(state[1]))
    torch.manual_seed(int(state[0]) << 32 | int(state[1]))


def _device(cfg):
    if cfg.NUM_GPUS > 0:
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _place_model(model, cfg, device):
    """Move to the device, convert BN to SyncBN when asked, wrap in DDP when there are several processes."""
    if cfg.BN.NORM_TYPE == "sync_batchnorm" and du.get_world_size() > 1:
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    module = model.to(device)
    if du.get_world_size() == 1:
        return module, module
    device_ids = [device.index] if device.type == "cuda" else None
    return module, torch.nn.parallel.DistributedDataParallel(module, device_ids=device_ids)


def _mixed_precision(cfg, device):
    """GradScaler + fp16 autocast on CUDA, bf16 autocast on the CPU, or neither."""
    enabled = cfg.TRAIN.MIXED_PRECISION
    scaler = torch.amp.GradScaler(device.type, enabled=enabled and device.type == "cuda")
    dtype = (torch.float16 if device.type == "cuda" else torch.bfloat16) if enabled else None
    return scaler, dtype


def _restore(cfg, module, optimizer, scaler, clock):
    """Resume from the run's last checkpoint, or initialise weights from a file; return the start epoch."""
    path = ckpt.find_resume_checkpoint(cfg.OUTPUT_DIR) if cfg.TRAIN.AUTO_RESUME else None
    if path is None:
        if cfg.TRAIN.CHECKPOINT_FILE_PATH:
            ckpt.initialise_model_from_file(module, cfg.TRAIN.CHECKPOINT_FILE_PATH)
        return 0
    state = ckpt.load_checkpoint_file(path)
    module.load_state_dict(state["model_state"])
    optimizer.load_state_dict(state["optimizer_state"])
    scaler.load_state_dict(state["scaler_state"])
    clock.load_state_dict(state["clock"])
    logger.info("resumed from %s after epoch %d; clock continues at %.1f s", path, state["epoch"],
                state["clock"]["elapsed_s"])
    return state["epoch"]


def _save(cfg, epoch, module, optimizer, scaler, clock):
    if du.is_main_process():
        state = {
            "epoch": epoch,
            "model_state": module.state_dict(),
            "optimizer_state": optimizer.state_dict(),
            "scaler_state": scaler.state_dict(),
            "clock": clock.state_dict(),
            "rng_state": {"torch": torch.get_rng_state()},
            "cfg": cfg.dump(),
        }
        ckpt.save_checkpoint(cfg.OUTPUT_DIR, epoch, state)
    du.synchronize()


def _tracker(cfg, loader, split):
    return BadVideoTracker(loader.dataset.num_videos, cfg.DATA.MAX_BAD_FRACTION, split)


def _bad_video_count(tracker, epoch):
    """Merge every process's bad videos, log them, stop when too many; return the count."""
    tracker.merge(du.all_gather_objects(tracker.state()))
    summary = tracker.summary()
    if summary["count"]:
        logger.warning("epoch %d: %d %s video(s) could not be decoded: %s", epoch + 1, summary["count"],
                       tracker.split, ", ".join(summary["paths"][:10]))
    tracker.check()
    return summary["count"]


def _synthetic_settings(cfg):
    """The generator settings a quick-start asks for, in the fields of the generator's dataset.json."""
    syn = cfg.DATA.SYNTHETIC
    return {"generator_version": GENERATOR_VERSION, "width": syn.WIDTH, "height": syn.HEIGHT, "fps": syn.FPS,
            "seconds": syn.SECONDS, "gop": syn.GOP, "seed": syn.SEED, "num_classes": cfg.MODEL.NUM_CLASSES,
            "videos_per_class": {"train": syn.TRAIN_PER_CLASS, "val": syn.VAL_PER_CLASS, "test": syn.TEST_PER_CLASS}}


def ensure_synthetic_data(cfg):
    """Quick-start: generate the synthetic data set (rank 0, before the clock) unless its folder already holds
    one made with the same settings by the same generator version. The generator writes dataset.json last, so a
    folder without it (or with other settings) is regenerated rather than trusted."""
    syn, folder = cfg.DATA.SYNTHETIC, cfg.DATA.PATH_TO_DATA_DIR
    if syn.ENABLE and du.is_main_process():
        wanted, record = _synthetic_settings(cfg), os.path.join(folder, "dataset.json")
        existing = {}
        if os.path.isfile(record):
            with open(record) as f:
                existing = json.load(f)
        if any(existing.get(key) != value for key, value in wanted.items()):
            logger.info("generating the synthetic data set in %s (before the clock starts)", folder)
            summary = make_synthetic_dataset(
                folder, syn.TRAIN_PER_CLASS, syn.VAL_PER_CLASS, syn.TEST_PER_CLASS, syn.WIDTH, syn.HEIGHT, syn.FPS,
                syn.SECONDS, syn.GOP, syn.SEED, num_classes=cfg.MODEL.NUM_CLASSES,
                workers=max(1, min(4, os.cpu_count() or 1)),
            )
            logger.info("generated %d videos in %.1f s", summary["num_videos"], summary["elapsed_seconds"])
    du.synchronize()


def _model_name(cfg_file):
    return os.path.splitext(os.path.basename(cfg_file))[0]


def _build_context(cfg, metrics, clock, impl):
    device = _device(cfg)
    model = build_model(cfg)
    if cfg.LOG_MODEL_INFO and du.is_main_process():
        logger.info("model %s: %s", cfg.MODEL.MODEL_NAME, model_stats(model, cfg))
    module, model = _place_model(model, cfg, device)
    model = prepare_training_model(model, impl)
    scaler, amp_dtype = _mixed_precision(cfg, device)
    return LoopContext(
        cfg=cfg, model=model, module=module, optimizer=build_optimizer(module, cfg), scaler=scaler,
        loss_fn=get_loss_func(cfg.MODEL.LOSS_FUNC)(reduction="mean"),
        mixup=MixUp.from_config(cfg) if cfg.MIXUP.ENABLE else None, device=device, amp_dtype=amp_dtype,
        metrics=metrics, clock_time=clock.elapsed,
    )


def run_job(cfg, cfg_file):
    """Train with evaluation every epoch under the benchmark clock, test, and print the result block.

    Args:
        cfg (CfgNode): the frozen run configuration.
        cfg_file (str): the --cfg file, the official config for the compliance check unless
            BENCHMARK.OFFICIAL_CONFIG names another.
    """
    rank, world = du.get_rank(), du.get_world_size()
    setup_logging(cfg.OUTPUT_DIR, rank)
    log = open_mllog(cfg.OUTPUT_DIR, du.is_main_process())
    log.start(constants.INIT_START)
    if du.is_main_process():
        save_config(cfg, cfg.OUTPUT_DIR)
    info = environment_info()
    logger.info("environment: %s; %d process(es)", info, world)
    ensure_synthetic_data(cfg)
    # Before seeding: timing auto's candidates must not change the initial weights.
    impl = choose_implementation(cfg, _device(cfg), _mixed_precision(cfg, _device(cfg))[1])
    cfg = impl.apply(cfg)
    logger.info("implementation: %s", impl.describe())
    seed_everything(cfg.RNG_SEED, 0, 0)  # identical initial weights on every rank
    clock = BenchmarkClock(sync_fn=torch.cuda.synchronize if cfg.NUM_GPUS > 0 else None,
                           agree_fn=lambda seconds: max(du.all_gather_objects(seconds)))  # the slowest rank
    metrics = MetricsWriter(cfg.OUTPUT_DIR, du.is_main_process(),
                            (cfg.TENSORBOARD.LOG_DIR or os.path.join(cfg.OUTPUT_DIR, "tensorboard"))
                            if cfg.TENSORBOARD.ENABLE else None)
    ctx = _build_context(cfg, metrics, clock, impl)
    official = compliance.official_config_path(cfg, cfg_file)
    verdict = compliance.check_compliance(cfg, compliance.load_official_config(official), world)
    fingerprint = compliance.dataset_fingerprint(cfg.DATA.PATH_TO_DATA_DIR)
    log_run_header(log, cfg, _model_name(cfg_file), world, verdict, fingerprint, platform_name(info, cfg.NUM_GPUS))
    log.event(IMPLEMENTATION, impl.event_value())
    logger.info("compliance: %s; dataset: %s", verdict.describe(), fingerprint)
    train_loader, val_loader = build_loader(cfg, "train"), build_loader(cfg, "val")
    start_epoch = _restore(cfg, ctx.module, ctx.optimizer, ctx.scaler, clock)
    log.end(constants.INIT_STOP)
    clock.start()
    if start_epoch == 0:
        log.run_start(clock.elapsed())
    else:
        log.run_resume(start_epoch, clock.elapsed())
    try:
        _train_epochs(cfg, ctx, log, clock, train_loader, val_loader, start_epoch)
        _check_replicas_identical(ctx.module)
    except Exception:
        # The log must say how the run ended; the error itself propagates and fails the job.
        log.run_stop(STATUS_ABORTED, clock.elapsed())
        log.close()
        raise
    status = STATUS_SUCCESS if clock.reached else STATUS_ABORTED
    log.run_stop(status, clock.t_bench if clock.reached else clock.elapsed(agree=True))
    if cfg.TEST.ENABLE:
        _multi_view_test(cfg, ctx)
    summary = result.summarize_run(cfg, clock, world, verdict, _model_name(cfg_file), status, impl.event_value())
    if du.is_main_process():
        logger.info("\n%s", result.format_result_block(summary))
    metrics.close()
    log.close()
    return summary


def _train_epochs(cfg, ctx, log, clock, train_loader, val_loader, start_epoch):
    """The epoch loop: train, precise BN, evaluate, checkpoint; stop early at the target if asked."""
    train_bad, val_bad = _tracker(cfg, train_loader, "train"), _tracker(cfg, val_loader, "val")
    for epoch in range(start_epoch, cfg.SOLVER.MAX_EPOCH):
        seed_everything(cfg.RNG_SEED, epoch + 1, du.get_rank())
        set_loader_epoch(train_loader, epoch)
        log.epoch_start(epoch, clock.elapsed())
        stats = train_one_epoch(ctx, train_loader, epoch, train_bad)
        stats["bad_videos"] = _bad_video_count(train_bad, epoch)
        log.epoch_stop(epoch, clock.elapsed())
        ctx.metrics.write("train_epoch", step=epoch + 1, epoch=epoch, time=clock.elapsed(), **stats)
        last = epoch + 1 == cfg.SOLVER.MAX_EPOCH
        if (epoch + 1) % cfg.TRAIN.EVAL_PERIOD == 0 or last:
            if cfg.BN.USE_PRECISE_STATS:
                update_precise_bn(ctx, train_loader, cfg.BN.NUM_BATCHES_PRECISE)
            log.eval_start(epoch, clock.elapsed())
            scores = evaluate(ctx, val_loader, val_bad)
            scores["bad_videos"] = _bad_video_count(val_bad, epoch)
            reached = clock.record_eval(epoch, scores["top1"], cfg.BENCHMARK.TARGET_TOP1)
            now = clock.evals[-1]["time_s"]
            log.eval_accuracy(epoch, scores["top1"], now)
            log.eval_stop(epoch, now)
            ctx.metrics.write("eval", step=epoch + 1, epoch=epoch, time=now, **scores)
            logger.info("epoch %d/%d eval: top1 %.2f top5 %.2f on %d videos at %.1f s%s", epoch + 1,
                        cfg.SOLVER.MAX_EPOCH, scores["top1"], scores["top5"], scores["num_videos"], now,
                        " (target reached)" if reached and clock.epochs_to_target == epoch + 1 else "")
        if (epoch + 1) % cfg.TRAIN.CHECKPOINT_PERIOD == 0 or last:
            _save(cfg, epoch + 1, ctx.module, ctx.optimizer, ctx.scaler, clock)
        if clock.reached and cfg.BENCHMARK.STOP_AT_TARGET:
            logger.info("target reached and BENCHMARK.STOP_AT_TARGET: training ends after epoch %d", epoch + 1)
            break


def _check_replicas_identical(module):
    """Verify that DDP left every process with the same parameters (a silent desync would void the result).

    Buffers are left out: BatchNorm running statistics legitimately differ between processes under DDP.
    """
    digest = hashlib.sha256()
    for tensor in module.parameters():
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    digests = du.all_gather_objects(digest.hexdigest())
    if len(set(digests)) > 1:
        raise RuntimeError(f"model weights differ between processes after training: {digests}")
    logger.info("final weights identical on all %d process(es): sha256 %s", len(digests), digests[0])


def _multi_view_test(cfg, ctx):
    """Test the final model with NUM_ENSEMBLE_VIEWS x NUM_SPATIAL_CROPS views per video (outside the clock)."""
    loader = build_loader(cfg, "test")
    tracker = _tracker(cfg, loader, "test")
    scores = test(ctx, loader, tracker)
    scores["bad_videos"] = _bad_video_count(tracker, cfg.SOLVER.MAX_EPOCH - 1)
    ctx.metrics.write("test", **scores)
    logger.info("multi-view test (%d x %d views): top1 %.2f top5 %.2f on %d videos", cfg.TEST.NUM_ENSEMBLE_VIEWS,
                cfg.TEST.NUM_SPATIAL_CROPS, scores["top1"], scores["top5"], scores["num_videos"])

"""One benchmark run, as every process runs it: open, epochs under the clock, close.

Timeline (MLPerf): ``open_run`` (init_start -> set-up, implementation choice, model, compliance, log header,
loaders, restore -> init_stop, then run_start and the clock starts) -> ``train_epochs`` (train, precise BN,
evaluation, checkpoint) -> ``close_run`` (run_stop, multi-view test outside the clock, result block).
``test_job`` is the test-only job (TRAIN.ENABLE False); ``benchmark_job`` picks one of them. The caller writes
the HTML report.
"""

import hashlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from fvcore.common.config import CfgNode
from mlperf_logging.mllog import constants
from torch import nn
from torch.utils.data import DataLoader

from slowfast.benchmark import compliance
from slowfast.benchmark.clock import BenchmarkClock
from slowfast.benchmark.mllog import (
    IMPLEMENTATION,
    MLLOG_FILENAME,
    STATUS_ABORTED,
    STATUS_SUCCESS,
    SYSTEM,
    SYSTEM_FILENAME,
    MLLog,
    log_run_header,
    open_mllog,
    read_mllog,
)
from slowfast.benchmark.prediction import log_epoch_time, read_predicted_epoch_s
from slowfast.benchmark.result import format_result_block
from slowfast.benchmark.run_reader import resumes_in_log
from slowfast.benchmark.run_result import RunResult
from slowfast.config import ConfigError
from slowfast.config.defaults import ignored_settings
from slowfast.config.loading import model_name_of
from slowfast.datasets.bad_videos import BadVideoTracker
from slowfast.datasets.loader import build_loader, set_loader_epoch
from slowfast.datasets.mixup import MixUp
from slowfast.datasets.video_list import dataset_fingerprint
from slowfast.engine import checkpoint as ckpt
from slowfast.engine.implementation import Implementation, choose_run_implementation, prepare_training_model
from slowfast.engine.run_lock import run_lock
from slowfast.engine.setup import (
    apply_precision,
    default_setup,
    job_device,
    mixed_precision,
    place_model,
    seed_everything,
    set_aside_earlier_logs,
)
from slowfast.engine.trainer import LoopContext, evaluate, test, train_one_epoch, update_precise_bn
from slowfast.engine.warmup import compiled_frames, needs_warm_up, warm_up
from slowfast.models import build_model
from slowfast.models.flops import model_stats
from slowfast.solver.losses import get_loss_func
from slowfast.solver.lr_policy import lr_scale_factor, scaled_lrs
from slowfast.solver.optimizer import build_optimizer
from slowfast.utils import distributed as du
from slowfast.utils.env import platform_name
from slowfast.utils.files import atomic_write_json
from slowfast.utils.logging import setup_logging
from slowfast.utils.metrics import MetricsWriter
from slowfast.utils.peer_watch import on_peer_exit
from slowfast.utils.system import node_summary, system_description

logger = logging.getLogger(__name__)


@dataclass
class Run:
    """What a run holds from ``open_run`` to ``close_run``."""

    cfg: CfgNode
    model_name: str
    ctx: LoopContext
    log: MLLog
    clock: BenchmarkClock
    train_loader: DataLoader
    val_loader: DataLoader
    bad_videos: dict[str, BadVideoTracker]
    verdict: compliance.ComplianceVerdict
    implementation: Implementation
    start_epoch: int
    data_wait_shares: list[float] = field(default_factory=list)  # per epoch this process trained


def benchmark_job(cfg: CfgNode, cfg_file: str, *, result_block: bool = True) -> None:
    """What tools/run_net.py launches on every process: the benchmark run (``run_job``), or with TRAIN.ENABLE
    False the multi-view test of trained weights (``test_job``). The process owning OUTPUT_DIR (global rank 0)
    holds its run lock meanwhile: it lives as long as the run writes there, whoever launched it. ``result_block``
    False leaves out the end-of-run block (a check run, whose caller prints its own summary)."""
    with run_lock(cfg):
        if cfg.TRAIN.ENABLE:
            run_job(cfg, cfg_file, result_block=result_block)
        else:
            test_job(cfg)


def run_job(cfg: CfgNode, cfg_file: str, *, result_block: bool = True) -> RunResult:
    """Train with evaluation every epoch under the benchmark clock, test, and print the result block.

    Args:
        cfg (CfgNode): the frozen run configuration (TRAIN.ENABLE True).
        cfg_file (str): the --cfg file: names the model, and is the official config for the compliance check
            unless BENCHMARK.OFFICIAL_CONFIG names another.
        result_block (bool): print the end-of-run block (rank 0); False for a check run such as gpu_check's.
    Returns:
        RunResult
    """
    run = open_run(cfg, cfg_file)
    abort = _abort_once(run)
    # The log must say how the run ended: after an error or Ctrl-C here, or when the peer watcher ends the process.
    with on_peer_exit(abort):
        try:
            train_epochs(run)
            _check_replicas_identical(run.ctx.model_without_ddp)
        except BaseException:  # the error itself propagates and fails the job
            abort()
            raise
    return close_run(run, result_block=result_block)


def _abort_once(run: Run) -> Callable[[], None]:
    """A function that logs an aborted run_stop and closes the log, the first time only (two threads may call it).

    The clock is read without waiting for the device: a collective of the failed job may never finish."""
    once = threading.Lock()

    def abort() -> None:
        if once.acquire(blocking=False):
            run.log.run_stop(STATUS_ABORTED, run.clock.elapsed(sync=False))
            run.log.close()

    return abort


def open_run(cfg: CfgNode, cfg_file: str) -> Run:
    """Everything before the clock (init_start .. init_stop), then start the clock (run_start or run_resume)."""
    earlier_logs = set_aside_earlier_logs(cfg)
    log = open_mllog(cfg.OUTPUT_DIR, du.is_main_process())
    log.start(constants.INIT_START)
    info = default_setup(cfg)
    for path in earlier_logs:
        logger.info("no checkpoint to resume from: this run starts afresh; the earlier run's log is kept as %s", path)
    device = job_device(cfg)
    # Before seeding: timing auto's candidates must not change the initial weights.
    impl, cfg = choose_run_implementation(cfg, device)
    seed_everything(cfg.RNG_SEED, 0, 0)  # identical initial weights on every rank
    clock = BenchmarkClock(
        sync_fn=torch.cuda.synchronize if cfg.NUM_GPUS > 0 else None,
        agree_fn=lambda seconds: max(du.all_gather_objects(seconds)),  # the slowest rank
    )
    ctx = build_loop_context(cfg, _metrics_writer(cfg), clock.elapsed, impl)
    model_name = model_name_of(cfg_file)
    verdict = _log_header(cfg, cfg_file, model_name, log, info)
    log.event(IMPLEMENTATION, impl.event_value())
    _describe_system(cfg, log)
    train_loader, val_loader = build_loader(cfg, "train"), build_loader(cfg, "val")
    bad_videos = {
        "train": BadVideoTracker.for_loader(train_loader, cfg.DATA.MAX_BAD_FRACTION, "train"),
        "val": BadVideoTracker.for_loader(val_loader, cfg.DATA.MAX_BAD_FRACTION, "val"),
    }
    start_epoch = _restore(cfg, ctx, clock, bad_videos)
    if needs_warm_up(device, bool(impl.settings.get("compile"))):
        warm_up(ctx, du.get_world_size())
    log.end(constants.INIT_STOP)
    clock.start()
    if start_epoch == 0:
        log.run_start(clock.elapsed())
    else:
        log.run_resume(start_epoch, clock.elapsed())
    return Run(cfg, model_name, ctx, log, clock, train_loader, val_loader, bad_videos, verdict, impl, start_epoch)


def train_epochs(run: Run) -> None:
    """The epoch loop: train, evaluate when due, checkpoint; stop early at the target if asked."""
    cfg, ctx, clock = run.cfg, run.ctx, run.clock
    predicted_epoch_s = read_predicted_epoch_s(cfg.OUTPUT_DIR)
    for epoch in range(run.start_epoch, cfg.SOLVER.MAX_EPOCH):
        if clock.reached and cfg.BENCHMARK.STOP_AT_TARGET:  # also a rerun of a run that had stopped at its target
            logger.info("target reached and BENCHMARK.STOP_AT_TARGET: training ends after epoch %d", epoch)
            break
        seed_everything(cfg.RNG_SEED, epoch + 1, du.get_rank())
        set_loader_epoch(run.train_loader, epoch)
        epoch_started, frames_before = clock.elapsed(), _compilations(run)
        run.log.epoch_start(epoch, epoch_started)
        stats = train_one_epoch(ctx, run.train_loader, epoch, run.bad_videos["train"])
        stats["bad_videos"] = _bad_video_count(run.bad_videos["train"], epoch, run.log)
        stats["time"] = clock.elapsed()
        run.log.epoch_stop(epoch, stats["time"])
        last = epoch + 1 == cfg.SOLVER.MAX_EPOCH
        if (epoch + 1) % cfg.TRAIN.EVAL_PERIOD == 0 or last:
            _evaluate_epoch(run, epoch)
        epoch_s = clock.elapsed() - epoch_started  # train + evaluation, as tools/selfcheck.py predicts it
        run.data_wait_shares.append(stats["data_wait_share"])
        stats["recompilations"] = _compilations(run) - frames_before
        if stats["recompilations"]:
            logger.warning("torch.compile compiled %d time(s) during epoch %d", stats["recompilations"], epoch + 1)
        record = {"epoch": epoch, "epoch_s": epoch_s, "predicted_epoch_s": predicted_epoch_s, **stats}
        ctx.metrics.write("train_epoch", record, step=epoch + 1)
        log_epoch_time(epoch, epoch_s, predicted_epoch_s)
        stopping = clock.reached and cfg.BENCHMARK.STOP_AT_TARGET
        if (epoch + 1) % cfg.TRAIN.CHECKPOINT_PERIOD == 0 or last or stopping:
            _save(cfg, epoch + 1, ctx, clock, run.bad_videos)


def _compilations(run: Run) -> int:
    """torch.compile's compilations so far in this process (0 when the run does not compile)."""
    return compiled_frames() if run.implementation.settings.get("compile") else 0


def close_run(run: Run, *, result_block: bool = True) -> RunResult:
    """run_stop at the end of training, the multi-view test (outside the clock), the result block (unless
    ``result_block`` is False)."""
    cfg, clock = run.cfg, run.clock
    status = STATUS_SUCCESS if clock.reached else STATUS_ABORTED
    run.log.run_stop(status, clock.t_bench if clock.t_bench is not None else clock.elapsed(agree=True))
    if cfg.TEST.ENABLE:
        _multi_view_test(cfg, run.ctx, run.log)
    totals = {split: len(tracker.run_paths()) for split, tracker in run.bad_videos.items()}
    result = RunResult.from_live_run(
        cfg,
        clock=clock,
        verdict=run.verdict,
        world_size=du.get_world_size(),
        model_name=run.model_name,
        status=status,
        bad_videos=totals,
        implementation=run.implementation.event_value(),
        data_wait_shares=run.data_wait_shares,
    )
    if du.is_main_process():
        # The log alone knows the earlier sessions of a resumed run.
        result.resumes = resumes_in_log(read_mllog(os.path.join(cfg.OUTPUT_DIR, MLLOG_FILENAME))[0])
        if result_block:
            logger.info("\n%s", format_result_block(result))
    run.ctx.metrics.close()
    run.log.close()
    return result


def build_loop_context(
    cfg: CfgNode,
    metrics: MetricsWriter,
    clock_time: Callable[[], float],
    impl: Implementation | None = None,
) -> LoopContext:
    """Build the model (placed, DDP-wrapped with several processes), optimiser, loss and mixup of a run.

    Args:
        cfg (CfgNode): the run configuration.
        metrics (MetricsWriter): where the loop writes its records.
        clock_time (callable): returns the benchmark clock's seconds, which stamp the records.
        impl (Implementation or None): the chosen implementation settings (compiles the training model when
            they say so); None leaves the model as the config builds it.
    Returns:
        LoopContext
    """
    device = job_device(cfg)
    model = build_model(cfg)
    if cfg.LOG_MODEL_INFO and du.is_main_process():
        logger.info("model %s: %s", cfg.MODEL.MODEL_NAME, model_stats(model, cfg))
    model, model_without_ddp = place_model(model, cfg, device)
    if impl is not None:
        model = prepare_training_model(model, impl)
    scaler, amp_dtype = mixed_precision(cfg, device)
    return LoopContext(
        cfg=cfg,
        model=model,
        model_without_ddp=model_without_ddp,
        optimizer=build_optimizer(model_without_ddp, cfg),
        scaler=scaler,
        loss_fn=get_loss_func(cfg.MODEL.LOSS_FUNC)(reduction="mean"),
        mixup=MixUp.from_config(cfg) if cfg.MIXUP.ENABLE else None,
        device=device,
        amp_dtype=amp_dtype,
        metrics=metrics,
        clock_time=clock_time,
    )


def _metrics_writer(cfg: CfgNode) -> MetricsWriter:
    tensorboard_dir = cfg.TENSORBOARD.LOG_DIR or os.path.join(cfg.OUTPUT_DIR, "tensorboard")
    return MetricsWriter(cfg.OUTPUT_DIR, du.is_main_process(), tensorboard_dir if cfg.TENSORBOARD.ENABLE else None)


def _describe_system(cfg: CfgNode, log: MLLog) -> None:
    """Every node's summary (from its local rank 0) into rank 0's OUTPUT_DIR/system.json and the ``system`` event."""
    summary = node_summary(cfg.DATA.PATH_TO_DATA_DIR) if du.get_local_rank() == 0 else None
    nodes = [node for node in du.all_gather_objects(summary) if node is not None]
    if not du.is_main_process():
        return
    system = system_description(
        nodes=nodes,
        system_name=cfg.BENCHMARK.SYSTEM_NAME,
        submitter=cfg.BENCHMARK.SUBMITTER,
        world_size=du.get_world_size(),
    )
    atomic_write_json(os.path.join(cfg.OUTPUT_DIR, SYSTEM_FILENAME), system)
    log.event(SYSTEM, system)


def _log_header(
    cfg: CfgNode, cfg_file: str, model_name: str, log: MLLog, info: dict[str, object]
) -> compliance.ComplianceVerdict:
    """Judge compliance, log the run's constants, and say what the run is; return the verdict."""
    world = du.get_world_size()
    platform = platform_name(info, world, cfg.NUM_GPUS > 0)
    official = compliance.official_config_path(cfg, cfg_file)
    verdict = compliance.check_compliance(cfg, compliance.load_official_config(official), world)
    fingerprint = dataset_fingerprint(cfg.DATA.PATH_TO_DATA_DIR, cfg.DATA.PATH_PREFIX, cfg.DATA.PATH_LABEL_SEPARATOR)
    log_run_header(log, cfg, model_name, world, verdict, fingerprint, platform)
    logger.info(
        "compliance: %s; dataset: %s", verdict.describe(), {k: v for k, v in fingerprint.items() if k != "covers"}
    )
    for line in ignored_settings(cfg):
        logger.warning("config: %s", line)
    logger.info(
        "recipe: %d videos x %d clip(s) per process and step on %d process(es); base LR %.6g "
        "(x%g linear scaling with the global batch of %d videos)",
        cfg.TRAIN.BATCH_SIZE // world,
        cfg.AUG.NUM_SAMPLE,
        world,
        scaled_lrs(cfg)["BASE_LR"],
        lr_scale_factor(cfg),
        cfg.TRAIN.BATCH_SIZE,
    )
    return verdict


def _restore(cfg: CfgNode, ctx: LoopContext, clock: BenchmarkClock, bad_videos: dict[str, BadVideoTracker]) -> int:
    """Resume from the run's last checkpoint (rank 0's choice), or initialise weights from a file.

    Returns:
        int: the epoch to start from.
    """
    resumed = ckpt.resume_state(cfg.OUTPUT_DIR) if cfg.TRAIN.AUTO_RESUME else None
    if resumed is None:
        if cfg.TRAIN.CHECKPOINT_FILE_PATH:
            ckpt.initialise_model_from_file(ctx.model_without_ddp, cfg.TRAIN.CHECKPOINT_FILE_PATH)
        return 0
    path, state = resumed
    ctx.model_without_ddp.load_state_dict(state["model_state"])
    ctx.optimizer.load_state_dict(state["optimizer_state"])
    ctx.scaler.load_state_dict(state["scaler_state"])
    clock.load_state_dict(state["clock"])
    for split, tracker in bad_videos.items():
        tracker.restore_run_paths(state.get("bad_videos", {}).get(split, []))
    logger.info(
        "resumed from %s after epoch %d; clock continues at %.1f s", path, state["epoch"], state["clock"]["elapsed_s"]
    )
    return state["epoch"]


def _save(
    cfg: CfgNode, epoch: int, ctx: LoopContext, clock: BenchmarkClock, bad_videos: dict[str, BadVideoTracker]
) -> None:
    if du.is_main_process():
        # No RNG state: every epoch reseeds from (RNG_SEED, epoch, rank) and the loaders draw from their own seeded
        # generators, so a resumed run goes on bit-exactly (tests/engine/test_resume_and_ddp.py).
        state = {
            "epoch": epoch,
            "model_state": ctx.model_without_ddp.state_dict(),
            "optimizer_state": ctx.optimizer.state_dict(),
            "scaler_state": ctx.scaler.state_dict(),
            "clock": clock.state_dict(),
            "bad_videos": {split: tracker.run_paths() for split, tracker in bad_videos.items()},
            "cfg": cfg.dump(),
        }
        ckpt.save_checkpoint(cfg.OUTPUT_DIR, epoch, state)
    du.synchronize()


def _evaluate_epoch(run: Run, epoch: int) -> None:
    """Precise BN (when configured), the evaluation, and its record on the clock, the log and the metrics."""
    cfg, ctx, clock = run.cfg, run.ctx, run.clock
    if cfg.BN.USE_PRECISE_STATS:
        update_precise_bn(ctx, run.train_loader, cfg.BN.NUM_BATCHES_PRECISE)
    run.log.eval_start(epoch, clock.elapsed())
    scores = evaluate(ctx, run.val_loader, run.bad_videos["val"])
    scores["bad_videos"] = _bad_video_count(run.bad_videos["val"], epoch, run.log)
    reached = clock.record_eval(epoch, scores["top1"], cfg.BENCHMARK.TARGET_TOP1)
    now = clock.evals[-1]["time_s"]
    run.log.eval_accuracy(epoch, scores["top1"], now)
    run.log.eval_stop(epoch, now)
    ctx.metrics.write("eval", {"epoch": epoch, "time": now, **scores}, step=epoch + 1)
    logger.info(
        "epoch %d/%d eval: top1 %.2f top5 %.2f on %d videos at %.1f s%s",
        epoch + 1,
        cfg.SOLVER.MAX_EPOCH,
        scores["top1"],
        scores["top5"],
        scores["num_videos"],
        now,
        " (target reached)" if reached and clock.epochs_to_target == epoch + 1 else "",
    )


def _bad_video_count(tracker: BadVideoTracker, epoch: int, log: MLLog) -> int:
    """Merge every process's bad videos of this epoch, log them, stop when too many; return the epoch's count."""
    tracker.merge(du.all_gather_objects(tracker.state()))
    summary = tracker.summary()
    if summary["count"]:
        logger.warning(
            "epoch %d: %d %s video(s) could not be decoded (%d in the run): %s",
            epoch + 1,
            summary["count"],
            tracker.split,
            summary["run_total"],
            ", ".join(summary["paths"][:10]),
        )
    tracker.check()
    tracker.end_epoch()
    log.bad_videos(epoch, tracker.split, summary["count"], summary["run_total"])
    return summary["count"]


def _check_replicas_identical(module: nn.Module) -> None:
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


def test_job(cfg: CfgNode) -> dict[str, float]:
    """Multi-view test of trained weights, without training, clock or score (TRAIN.ENABLE False).

    The weights are TEST.CHECKPOINT_FILE_PATH (ours or a PySlowFast ``.pyth``), else the newest checkpoint in
    OUTPUT_DIR.

    Returns:
        dict: the test's top1, top5, num_videos, num_views and bad_videos.
    """
    setup_logging(cfg.OUTPUT_DIR, du.get_rank())
    path = cfg.TEST.CHECKPOINT_FILE_PATH or ckpt.find_resume_checkpoint(cfg.OUTPUT_DIR)
    if not path:
        raise ConfigError(
            f"TRAIN.ENABLE is False but there are no weights to test: set TEST.CHECKPOINT_FILE_PATH "
            f"or use the OUTPUT_DIR of a run with checkpoints (none in {cfg.OUTPUT_DIR})"
        )
    metrics = MetricsWriter(cfg.OUTPUT_DIR, du.is_main_process(), None)
    ctx = build_loop_context(cfg, metrics, clock_time=lambda: 0.0)
    apply_precision(cfg, ctx.amp_dtype)  # the config's precision, as in training, not PyTorch's TF32 default
    ckpt.initialise_model_from_file(ctx.model_without_ddp, path)
    scores = _multi_view_test(cfg, ctx, open_mllog(cfg.OUTPUT_DIR, is_main_process=False))  # no benchmark log
    metrics.close()
    return scores


def _multi_view_test(cfg: CfgNode, ctx: LoopContext, log: MLLog) -> dict[str, float]:
    """Test with NUM_ENSEMBLE_VIEWS x NUM_SPATIAL_CROPS views per video (outside the clock).

    The weights are the final model's, or TEST.CHECKPOINT_FILE_PATH's when it is set (as in PySlowFast).
    """
    if cfg.TEST.CHECKPOINT_FILE_PATH:
        ckpt.initialise_model_from_file(ctx.model_without_ddp, cfg.TEST.CHECKPOINT_FILE_PATH)
    loader = build_loader(cfg, "test")
    tracker = BadVideoTracker.for_loader(loader, cfg.DATA.MAX_BAD_FRACTION, "test")
    scores = test(ctx, loader, tracker)
    scores["bad_videos"] = _bad_video_count(tracker, cfg.SOLVER.MAX_EPOCH - 1, log)
    ctx.metrics.write("test", scores)
    logger.info(
        "multi-view test (%d x %d views): top1 %.2f top5 %.2f on %d videos",
        cfg.TEST.NUM_ENSEMBLE_VIEWS,
        cfg.TEST.NUM_SPATIAL_CROPS,
        scores["top1"],
        scores["top5"],
        scores["num_videos"],
    )
    return scores

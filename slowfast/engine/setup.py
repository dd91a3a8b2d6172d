"""Set-up shared by every job of a process, in one place (as detectron2's ``default_setup``).

``default_setup`` prepares the process (logging, saved config, environment line, synthetic data); the other
functions choose the device, seed the generators, place the model and pick the mixed-precision mode.
"""

import logging
import os
import random

import numpy as np
import torch
from fvcore.common.config import CfgNode
from torch import nn

from slowfast.benchmark.mllog import MLLOG_FILENAME
from slowfast.config import save_config
from slowfast.datasets.synthetic import ensure_synthetic_data
from slowfast.engine.checkpoint import find_resume_checkpoint
from slowfast.utils import distributed as du
from slowfast.utils.env import environment_info
from slowfast.utils.files import set_aside
from slowfast.utils.logging import setup_logging
from slowfast.utils.metrics import METRICS_FILENAME

logger = logging.getLogger(__name__)


def default_setup(cfg: CfgNode) -> dict[str, object]:
    """Prepare this process for a job: logging to OUTPUT_DIR, the merged config saved (rank 0), the environment
    logged, and the quick-start's synthetic data generated when it asks for it.

    Returns:
        dict: ``environment_info()`` of this machine.
    """
    setup_logging(cfg.OUTPUT_DIR, du.get_rank())
    if du.is_main_process():
        save_config(cfg, cfg.OUTPUT_DIR)
    info = environment_info()
    logger.info("environment: %s; %d process(es)", info, du.get_world_size())
    ensure_synthetic_data(cfg)
    return info


def seed_everything(seed: int, epoch: int, rank: int) -> None:
    """Seed Python, NumPy and torch from (seed, epoch, rank), so an epoch's randomness survives a resume."""
    state = np.random.SeedSequence([seed, epoch, rank]).generate_state(2)
    random.seed(int(state[0]))
    np.random.seed(int(state[1]))
    torch.manual_seed(int(state[0]) << 32 | int(state[1]))


def job_device(cfg: CfgNode) -> torch.device:
    """The device this process trains on: its CUDA device with NUM_GPUS > 0, else the CPU."""
    if cfg.NUM_GPUS > 0:
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def place_model(model: nn.Module, cfg: CfgNode, device: torch.device) -> tuple[nn.Module, nn.Module]:
    """Move to the device, convert BN to SyncBN when asked, wrap in DDP with several processes.

    Returns:
        tuple: (model, model_without_ddp); the same module twice in a single process.
    """
    if cfg.BN.NORM_TYPE == "sync_batchnorm" and du.get_world_size() > 1:
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model = model.to(device)
    if du.get_world_size() == 1:
        return model, model
    device_ids = [device.index] if device.type == "cuda" else None
    # DDP's default broadcasts rank 0's BatchNorm buffers before every forward: a collective per step. Train-mode
    # forwards use batch statistics, and with precise BN every evaluation's running statistics are recomputed
    # and averaged over processes first, so nothing would read the broadcast ones. (The buffers are still made
    # equal once, when DDP is built; forward_sync_buffers replaces the deprecated broadcast_buffers.)
    sync = not cfg.BN.USE_PRECISE_STATS
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids, forward_sync_buffers=sync), model


def mixed_precision(cfg: CfgNode, device: torch.device) -> tuple[torch.amp.GradScaler, torch.dtype | None]:
    """TRAIN.MIXED_PRECISION: (GradScaler, autocast dtype).

    bf16 where the device computes it natively (the CPU; CUDA GPUs of compute capability 8.0 and later): its fp32
    exponent range needs no loss scaling, so the scaler is disabled. fp16 with an enabled GradScaler on older GPUs
    (torch's default ``is_bf16_supported()`` also says yes there, counting bf16 emulated in software, which is
    slow). Off: a disabled scaler and no autocast.
    """
    if not cfg.TRAIN.MIXED_PRECISION:
        return torch.amp.GradScaler(device.type, enabled=False), None
    if device.type != "cuda" or torch.cuda.is_bf16_supported(including_emulation=False):
        return torch.amp.GradScaler(device.type, enabled=False), torch.bfloat16
    return torch.amp.GradScaler(device.type, enabled=True), torch.float16


def apply_precision(cfg: CfgNode, amp_dtype: torch.dtype | None) -> dict[str, object]:
    """Set fp32 precision from MODEL.ALLOW_TF32 and MODEL.MATMUL_PRECISION, not PyTorch's defaults.

    Args:
        cfg (CfgNode): the run configuration.
        amp_dtype (torch.dtype or None): the autocast dtype of ``mixed_precision``.
    Returns:
        dict: what the run computes in: allow_tf32 (cuDNN convolutions), matmul_precision, autocast ("off",
        "bfloat16" or "float16"), for the ``implementation`` event and the result block.
    """
    torch.backends.cudnn.allow_tf32 = bool(cfg.MODEL.ALLOW_TF32)
    torch.set_float32_matmul_precision(cfg.MODEL.MATMUL_PRECISION)  # also sets cuda.matmul.allow_tf32
    return {
        "allow_tf32": bool(cfg.MODEL.ALLOW_TF32),
        "matmul_precision": cfg.MODEL.MATMUL_PRECISION,
        "autocast": str(amp_dtype).removeprefix("torch.") if amp_dtype is not None else "off",
    }


def set_aside_earlier_logs(cfg: CfgNode) -> list[str]:
    """On rank 0 of a run starting from scratch, move an earlier run's mllog.txt and metrics.jsonl aside.

    A run stopped before its first checkpoint (Ctrl-C) restarts from scratch; appending to its log would put two
    run_starts in one mllog.txt, which scoring refuses. Returns the new paths of the files moved.
    """
    if not du.is_main_process() or (cfg.TRAIN.AUTO_RESUME and find_resume_checkpoint(cfg.OUTPUT_DIR)):
        return []
    moved = [set_aside(os.path.join(cfg.OUTPUT_DIR, name), "previous") for name in (MLLOG_FILENAME, METRICS_FILENAME)]
    return [path for path in moved if path]

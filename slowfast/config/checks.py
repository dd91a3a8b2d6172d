"""The one validator: everything a configuration alone decides, checked once at load time.

``check_config`` runs one function per config section. Every error names the key, the value and what is
allowed. The modules that use the values (optimizer, losses, models, loaders, launcher) rely on these checks
and do not repeat them.
"""

from collections.abc import Iterator
from typing import Any

from fvcore.common.config import CfgNode

from slowfast.config.defaults import get_cfg
from slowfast.config.keys import PYSLOWFAST_ONLY_KEYS
from slowfast.utils.errors import UserError
from slowfast.utils.torchrun import launched_by_torchrun, torchrun_world_size


class ConfigError(UserError, ValueError):
    """A configuration key, value or combination that is not allowed."""


# Allowed values of the keys that name a choice.
CHOICES = {
    "MODEL.MODEL_NAME": ("X3D", "MViT"),
    "MODEL.LOSS_FUNC": ("cross_entropy", "soft_cross_entropy"),
    "MODEL.HEAD_ACT": ("softmax", "sigmoid", "none"),
    "TRAIN.DATASET": ("kinetics",),
    "TEST.DATASET": ("kinetics",),
    "SOLVER.OPTIMIZING_METHOD": ("sgd", "adamw"),
    "SOLVER.LR_POLICY": ("cosine", "steps_with_relative_lrs", "constant"),
    "DATA.DECODING_BACKEND": ("pyav", "torchcodec"),
    "DATA.DECODING_DEVICE": ("cpu", "cuda"),
    "DATA.VAL_SAMPLING": ("center", "random"),
    "BENCHMARK.KIND": ("", "cnn", "transformer"),
    "BENCHMARK.IMPLEMENTATION": ("reference", "fast", "auto", "config"),
    "BN.NORM_TYPE": ("batchnorm", "sync_batchnorm"),
    "MVIT.MODE": ("conv", "max", "avg"),
    "AUG.RE_MODE": ("pixel", "rand", "const"),
    "AUG.INTERPOLATION": ("bicubic", "bilinear"),
    "DIST_BACKEND": ("auto", "nccl", "gloo"),
    "MODEL.MATMUL_PRECISION": ("highest", "high", "medium"),
    "TEST.NUM_SPATIAL_CROPS": (1, 3),
}
_AT_LEAST_ONE = (
    "NUM_SHARDS",
    "NUM_CPU_PROCESSES",
    "LOG_PERIOD",
    "TRAIN.BATCH_SIZE",
    "TEST.BATCH_SIZE",
    "TRAIN.EVAL_PERIOD",
    "TRAIN.CHECKPOINT_PERIOD",
    "SOLVER.MAX_EPOCH",
    "DATA.NUM_FRAMES",
    "DATA.SAMPLING_RATE",
    "TEST.NUM_ENSEMBLE_VIEWS",
    "AUG.NUM_SAMPLE",
    "MODEL.NUM_CLASSES",
    "DATA.TRAIN_CROP_SIZE",
    "DATA.TEST_CROP_SIZE",
    "BENCHMARK.REFERENCE_EPOCHS",
    "DATA_LOADER.MAX_CUDA_DECODE_WORKERS",
)


def config_value(cfg: CfgNode, key: str) -> Any:
    """The value at dotted ``key`` (e.g. "SOLVER.BASE_LR"); KeyError when a part is missing."""
    node = cfg
    for part in key.split("."):
        node = node[part]
    return node


def _problem(key: str, value: object, allowed: str) -> str:
    return f"config key {key} = {value!r} is not allowed: {allowed}"


def processes_per_machine(cfg: CfgNode) -> int:
    """Processes one machine runs: one per GPU, or NUM_CPU_PROCESSES on the CPU."""
    return cfg.NUM_GPUS if cfg.NUM_GPUS > 0 else cfg.NUM_CPU_PROCESSES


def configured_processes(cfg: CfgNode) -> int:
    """Processes of the job the config describes: processes per machine x NUM_SHARDS."""
    return processes_per_machine(cfg) * cfg.NUM_SHARDS


def world_size_of(cfg: CfgNode) -> int:
    """Total number of training processes: torchrun's WORLD_SIZE when set, else ``configured_processes``."""
    if launched_by_torchrun():
        return torchrun_world_size()
    return configured_processes(cfg)


def _check_values(cfg: CfgNode) -> Iterator[str]:
    """Choices, counts, and PySlowFast keys that only accept their default."""
    for key, allowed in CHOICES.items():
        if config_value(cfg, key) not in allowed:
            yield _problem(key, config_value(cfg, key), f"one of {list(allowed)}")
    for key in ("NUM_GPUS", "SHARD_ID"):
        if config_value(cfg, key) < 0:
            yield _problem(key, config_value(cfg, key), "an integer >= 0")
    for key in _AT_LEAST_ONE:
        if config_value(cfg, key) < 1:
            yield _problem(key, config_value(cfg, key), "an integer >= 1")
    defaults = get_cfg()
    for key, (kind, reason) in PYSLOWFAST_ONLY_KEYS.items():
        if kind == "fixed" and config_value(cfg, key) != config_value(defaults, key):
            yield _problem(key, config_value(cfg, key), f"only {config_value(defaults, key)!r} ({reason})")


def _check_layout(cfg: CfgNode, world: int) -> Iterator[str]:
    """Machines, processes, devices and batches that must divide among the processes."""
    if cfg.SHARD_ID >= cfg.NUM_SHARDS:
        yield _problem("SHARD_ID", cfg.SHARD_ID, f"an index below NUM_SHARDS = {cfg.NUM_SHARDS}")
    if cfg.DIST_BACKEND == "nccl" and cfg.NUM_GPUS == 0:
        yield _problem("DIST_BACKEND", cfg.DIST_BACKEND, "'gloo' or 'auto' with NUM_GPUS = 0 (nccl needs GPUs)")
    if cfg.DIST_TIMEOUT_S <= 0:
        yield _problem("DIST_TIMEOUT_S", cfg.DIST_TIMEOUT_S, "a number of seconds > 0")
    if cfg.DIST_HEARTBEAT_S <= 0:
        yield _problem("DIST_HEARTBEAT_S", cfg.DIST_HEARTBEAT_S, "a number of seconds > 0")
    for key in ("TRAIN.BATCH_SIZE", "TEST.BATCH_SIZE"):
        if config_value(cfg, key) % world:
            yield _problem(key, config_value(cfg, key), f"a multiple of the number of processes ({world})")
    if not cfg.TRAIN.ENABLE and not cfg.TEST.ENABLE:
        yield _problem(
            "TRAIN.ENABLE/TEST.ENABLE", (False, False), "at least one of them True: the job would do nothing"
        )


def _check_data(cfg: CfgNode) -> Iterator[str]:
    """Clip sampling, crops, normalisation and bad-video limits."""
    data = cfg.DATA
    scales = list(data.TRAIN_JITTER_SCALES)
    if len(scales) != 2 or scales[0] > scales[1]:
        yield _problem("DATA.TRAIN_JITTER_SCALES", scales, "[min, max] with min <= max")
    for key in ("DATA.TRAIN_JITTER_SCALES_RELATIVE", "DATA.TRAIN_JITTER_ASPECT_RELATIVE"):
        rng = list(config_value(cfg, key))
        if rng and (len(rng) != 2 or rng[0] > rng[1]):
            yield _problem(key, rng, "[] or [min, max] with min <= max")
    for key in ("DATA.MAX_BAD_FRACTION", "DATA.MIN_CLIP_COVERAGE"):
        if not 0.0 <= config_value(cfg, key) <= 1.0:
            yield _problem(key, config_value(cfg, key), "a fraction in [0, 1]")
    if data.DECODING_DEVICE == "cuda" and data.DECODING_BACKEND != "torchcodec":
        yield _problem(
            "DATA.DECODING_DEVICE", "cuda", "cpu unless DATA.DECODING_BACKEND is torchcodec (PyAV is CPU only)"
        )
    if len(data.MEAN) != 3 or len(data.STD) != 3 or min(data.STD) <= 0:
        yield _problem("DATA.MEAN/DATA.STD", (data.MEAN, data.STD), "three values each, STD > 0")
    if cfg.AUG.ENABLE and cfg.AUG.AA_TYPE:
        from slowfast.datasets.rand_augment import RandAugment  # torch: imported only when needed

        try:
            RandAugment.from_policy(cfg.AUG.AA_TYPE)
        except ValueError as err:
            yield f"config key {err}"


def _check_model(cfg: CfgNode) -> Iterator[str]:
    """Combinations the networks and losses need."""
    if cfg.MIXUP.ENABLE and cfg.MODEL.LOSS_FUNC != "soft_cross_entropy":
        yield _problem("MODEL.LOSS_FUNC", cfg.MODEL.LOSS_FUNC, "soft_cross_entropy when MIXUP.ENABLE is True")
    if cfg.MODEL.MODEL_NAME == "MViT" and cfg.DATA.TRAIN_CROP_SIZE != cfg.DATA.TEST_CROP_SIZE:
        yield _problem(
            "DATA.TEST_CROP_SIZE",
            cfg.DATA.TEST_CROP_SIZE,
            f"DATA.TRAIN_CROP_SIZE = {cfg.DATA.TRAIN_CROP_SIZE}: MViT's position embeddings fix one input size",
        )


def _check_solver(cfg: CfgNode) -> Iterator[str]:
    """Learning-rate schedule and its scaling."""
    solver = cfg.SOLVER
    if solver.LR_POLICY == "steps_with_relative_lrs":
        steps, lrs = list(solver.STEPS), list(solver.LRS)
        if not steps or steps[0] != 0 or len(steps) != len(lrs) or steps != sorted(steps):
            yield _problem("SOLVER.STEPS", steps, "increasing epochs starting at 0, one per SOLVER.LRS entry")
    if solver.WARMUP_EPOCHS < 0 or solver.WARMUP_EPOCHS > solver.MAX_EPOCH:
        yield _problem("SOLVER.WARMUP_EPOCHS", solver.WARMUP_EPOCHS, f"in [0, SOLVER.MAX_EPOCH = {solver.MAX_EPOCH}]")
    if solver.LR_POLICY == "cosine":
        if solver.COSINE_AFTER_WARMUP and solver.WARMUP_EPOCHS >= solver.MAX_EPOCH:
            yield _problem(
                "SOLVER.WARMUP_EPOCHS",
                solver.WARMUP_EPOCHS,
                f"below SOLVER.MAX_EPOCH = {solver.MAX_EPOCH} when SOLVER.COSINE_AFTER_WARMUP is True",
            )
        if solver.COSINE_END_LR > solver.BASE_LR:
            yield _problem("SOLVER.COSINE_END_LR", solver.COSINE_END_LR, f"at most SOLVER.BASE_LR = {solver.BASE_LR}")
    if solver.BASE_LR_BATCH_SIZE < 0:
        yield _problem(
            "SOLVER.BASE_LR_BATCH_SIZE", solver.BASE_LR_BATCH_SIZE, "a global batch >= 1, or 0 for no scaling"
        )


def _check_benchmark(cfg: CfgNode) -> Iterator[str]:
    """A scored config needs its target and reference; the implementation search needs a budget."""
    bench = cfg.BENCHMARK
    if bench.AUTO_BUDGET_S <= 0 or bench.AUTO_STEPS < 1:
        yield _problem(
            "BENCHMARK.AUTO_BUDGET_S/AUTO_STEPS",
            (bench.AUTO_BUDGET_S, bench.AUTO_STEPS),
            "seconds > 0 and at least 1 step",
        )
    if bench.KIND and (bench.TARGET_TOP1 <= 0 or bench.REFERENCE_TIME_S <= 0):
        yield _problem(
            "BENCHMARK.TARGET_TOP1/REFERENCE_TIME_S",
            (bench.TARGET_TOP1, bench.REFERENCE_TIME_S),
            "both > 0 for a scored config",
        )


def check_config(cfg: CfgNode, world_size: int | None = None) -> None:
    """Validate value ranges and combinations of ``cfg`` (it stays mutable); every problem is reported at once.

    Args:
        cfg (CfgNode): merged configuration.
        world_size (int or None): processes of the job (default: ``world_size_of(cfg)``).
    Raises:
        ConfigError: one line per problem, each naming the key, the value and what is allowed.
    """
    problems = [
        *_check_values(cfg),
        *_check_layout(cfg, world_size or world_size_of(cfg)),
        *_check_data(cfg),
        *_check_model(cfg),
        *_check_solver(cfg),
        *_check_benchmark(cfg),
    ]
    if problems:
        raise ConfigError("\n".join(problems))

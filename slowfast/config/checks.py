"""Cross-key checks of a merged configuration. Every error names the key, the value and what is allowed."""

import os


class ConfigError(ValueError):
    """A configuration key, value or combination that is not allowed."""

_CHOICES = {
    "MODEL.ARCH": ("x3d", "mvit"),
    "MODEL.LOSS_FUNC": ("cross_entropy", "soft_cross_entropy"),
    "MODEL.HEAD_ACT": ("softmax", "sigmoid", "none"),
    "SOLVER.OPTIMIZING_METHOD": ("sgd", "adamw"),
    "SOLVER.LR_POLICY": ("cosine", "steps_with_relative_lrs", "constant"),
    "DATA.DECODING_BACKEND": ("pyav", "torchcodec"),
    "DATA.VAL_SAMPLING": ("center", "random"),
    "BENCHMARK.KIND": ("", "cnn", "transformer"),
    "BENCHMARK.IMPLEMENTATION": ("reference", "fast", "auto", "config"),
    "BN.NORM_TYPE": ("batchnorm", "sync_batchnorm"),
    "MVIT.MODE": ("conv", "max", "avg"),
    "MVIT.NORM": ("layernorm",),
    "AUG.RE_MODE": ("pixel", "rand", "const"),
    "AUG.INTERPOLATION": ("bicubic", "bilinear"),
    "DIST_BACKEND": ("auto", "nccl", "gloo"),
    "TEST.NUM_SPATIAL_CROPS": (1, 3),
}


def config_value(cfg, key):
    """The value at dotted ``key`` (e.g. "SOLVER.BASE_LR"); KeyError when a part is missing."""
    node = cfg
    for part in key.split("."):
        node = node[part]
    return node


def _fail(key, value, allowed):
    raise ConfigError(f"config key {key} = {value!r} is not allowed: {allowed}")


def processes_per_machine(cfg):
    """Processes one machine runs: one per GPU, or NUM_CPU_PROCESSES on the CPU."""
    return cfg.NUM_GPUS if cfg.NUM_GPUS > 0 else cfg.NUM_CPU_PROCESSES


def world_size_of(cfg):
    """Total number of training processes: torchrun's WORLD_SIZE when set, else from the config."""
    if "WORLD_SIZE" in os.environ:
        return int(os.environ["WORLD_SIZE"])
    return processes_per_machine(cfg) * cfg.NUM_SHARDS


def check_config(cfg, world_size=None):
    """Validate value ranges and combinations of ``cfg`` in place (it stays mutable).

    Args:
        cfg (CfgNode): merged configuration.
        world_size (int or None): processes of the job (default: ``world_size_of(cfg)``).
    Raises:
        ConfigError: naming the key, the value and what is allowed.
    """
    for key, allowed in _CHOICES.items():
        value = config_value(cfg, key)
        if value not in allowed:
            _fail(key, value, f"one of {list(allowed)}")
    for key in ("NUM_GPUS", "SHARD_ID"):
        if config_value(cfg, key) < 0:
            _fail(key, config_value(cfg, key), "an integer >= 0")
    for key in ("NUM_SHARDS", "NUM_CPU_PROCESSES", "LOG_PERIOD", "TRAIN.BATCH_SIZE", "TEST.BATCH_SIZE",
                "TRAIN.EVAL_PERIOD", "TRAIN.CHECKPOINT_PERIOD", "SOLVER.MAX_EPOCH", "DATA.NUM_FRAMES",
                "DATA.SAMPLING_RATE", "TEST.NUM_ENSEMBLE_VIEWS", "AUG.NUM_SAMPLE", "MODEL.NUM_CLASSES",
                "DATA.TRAIN_CROP_SIZE", "DATA.TEST_CROP_SIZE"):
        if config_value(cfg, key) < 1:
            _fail(key, config_value(cfg, key), "an integer >= 1")
    if cfg.SHARD_ID >= cfg.NUM_SHARDS:
        _fail("SHARD_ID", cfg.SHARD_ID, f"an index below NUM_SHARDS = {cfg.NUM_SHARDS}")
    world = world_size or world_size_of(cfg)
    for key in ("TRAIN.BATCH_SIZE", "TEST.BATCH_SIZE"):
        if config_value(cfg, key) % world:
            _fail(key, config_value(cfg, key), f"a multiple of the number of processes ({world})")
    per_process = cfg.TRAIN.BATCH_SIZE // world
    if per_process % cfg.AUG.NUM_SAMPLE:
        _fail("TRAIN.BATCH_SIZE", cfg.TRAIN.BATCH_SIZE,
              f"a per-process batch ({per_process}) divisible by AUG.NUM_SAMPLE = {cfg.AUG.NUM_SAMPLE}")
    scales = list(cfg.DATA.TRAIN_JITTER_SCALES)
    if len(scales) != 2 or scales[0] > scales[1]:
        _fail("DATA.TRAIN_JITTER_SCALES", scales, "[min, max] with min <= max")
    for key in ("DATA.TRAIN_JITTER_SCALES_RELATIVE", "DATA.TRAIN_JITTER_ASPECT_RELATIVE"):
        rng = list(config_value(cfg, key))
        if rng and (len(rng) != 2 or rng[0] > rng[1]):
            _fail(key, rng, "[] or [min, max] with min <= max")
    for key in ("DATA.MAX_BAD_FRACTION", "DATA.MIN_CLIP_COVERAGE"):
        if not 0.0 <= config_value(cfg, key) <= 1.0:
            _fail(key, config_value(cfg, key), "a fraction in [0, 1]")
    if cfg.BENCHMARK.AUTO_BUDGET_S <= 0 or cfg.BENCHMARK.AUTO_STEPS < 1:
        _fail("BENCHMARK.AUTO_BUDGET_S/AUTO_STEPS", (cfg.BENCHMARK.AUTO_BUDGET_S, cfg.BENCHMARK.AUTO_STEPS),
              "seconds > 0 and at least 1 step")
    if cfg.DIST_TIMEOUT_S <= 0:
        _fail("DIST_TIMEOUT_S", cfg.DIST_TIMEOUT_S, "a number of seconds > 0")
    if len(cfg.DATA.MEAN) != 3 or len(cfg.DATA.STD) != 3 or min(cfg.DATA.STD) <= 0:
        _fail("DATA.MEAN/DATA.STD", (cfg.DATA.MEAN, cfg.DATA.STD), "three values each, STD > 0")
    if cfg.MIXUP.ENABLE and cfg.MODEL.LOSS_FUNC != "soft_cross_entropy":
        _fail("MODEL.LOSS_FUNC", cfg.MODEL.LOSS_FUNC, "soft_cross_entropy when MIXUP.ENABLE is True")
    if cfg.SOLVER.LR_POLICY == "steps_with_relative_lrs":
        steps, lrs = list(cfg.SOLVER.STEPS), list(cfg.SOLVER.LRS)
        if not steps or steps[0] != 0 or len(steps) != len(lrs) or steps != sorted(steps):
            _fail("SOLVER.STEPS", steps, "increasing epochs starting at 0, one per SOLVER.LRS entry")
    if cfg.SOLVER.WARMUP_EPOCHS < 0 or cfg.SOLVER.WARMUP_EPOCHS > cfg.SOLVER.MAX_EPOCH:
        _fail("SOLVER.WARMUP_EPOCHS", cfg.SOLVER.WARMUP_EPOCHS, f"in [0, SOLVER.MAX_EPOCH = {cfg.SOLVER.MAX_EPOCH}]")
    if cfg.BENCHMARK.KIND and (cfg.BENCHMARK.TARGET_TOP1 <= 0 or cfg.BENCHMARK.REFERENCE_TIME_S <= 0):
        _fail("BENCHMARK.TARGET_TOP1/REFERENCE_TIME_S",
              (cfg.BENCHMARK.TARGET_TOP1, cfg.BENCHMARK.REFERENCE_TIME_S), "both > 0 for a scored config")

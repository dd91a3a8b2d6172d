"""Key sets that several layers read: resource keys, implementation keys, PySlowFast-only keys.

The compliance verdict (slowfast/benchmark/compliance.py), the implementation search
(slowfast/engine/implementation.py) and the config checks all judge keys by these sets; they live with the
config so that none of those layers imports another for a list of names.
"""

# Resource settings: they change how fast the same computation runs, never what is computed, so a scored
# (closed division) run may change them. Every key under a prefix of RESOURCE_PREFIXES is one too.
RESOURCE_KEYS = frozenset(
    {
        "NUM_GPUS",
        "NUM_SHARDS",
        "SHARD_ID",
        "NUM_CPU_PROCESSES",
        "DIST_BACKEND",
        "DIST_HEARTBEAT_S",
        "RNG_SEED",
        "OUTPUT_DIR",
        "LOG_PERIOD",
        "LOG_MODEL_INFO",
        "TRAIN.AUTO_RESUME",
        "DATA.PATH_TO_DATA_DIR",
        "DATA.PATH_PREFIX",
        "DATA.DECODING_BACKEND",
        "DATA.DECODING_DEVICE",
        "TEST.BATCH_SIZE",
        "BENCHMARK.STOP_AT_TARGET",
        "BENCHMARK.OFFICIAL_CONFIG",
        "BENCHMARK.SYSTEM_NAME",
        "BENCHMARK.SUBMITTER",
    }
)
RESOURCE_PREFIXES = ("DATA_LOADER.", "TENSORBOARD.")

# Keys whose value is part of the benchmark's definition, whatever YAML a run starts from (a PySlowFast YAML
# judged against itself would pass anything): key -> (the benchmark's value, what another value changes). A run
# with another value is open division and its result names the key.
BENCHMARK_RULE_KEYS = {
    "TRAIN.EVAL_PERIOD": (
        1,
        "the clock stops only at an evaluation: evaluating every Nth epoch adds up to N - 1 epochs to the time "
        "to target, and skips their evaluation time",
    ),
    "TRAIN.CHECKPOINT_FILE_PATH": (
        "",
        "training starts from these weights, not from scratch: the time to target is not the benchmark's",
    ),
}

# Implementation option name -> config key (fast_channelwise_backward's key depends on the architecture:
# CHANNELWISE_BACKWARD_KEYS, by MODEL.MODEL_NAME).
IMPLEMENTATION_OPTION_KEYS = {
    "channels_last": "MODEL.CHANNELS_LAST",
    "fused_attention": "MVIT.FUSED_ATTENTION",
    "cudnn_benchmark": "MODEL.CUDNN_BENCHMARK",
    "compile": "MODEL.COMPILE",
    "fast_channelwise_weight_grad": "X3D.FAST_CHANNELWISE_WEIGHT_GRAD",
}
CHANNELWISE_BACKWARD_KEYS = {"X3D": "X3D.FAST_CHANNELWISE_BACKWARD", "MViT": "MVIT.FAST_CHANNELWISE_BACKWARD"}
# Every key that only chooses how the same mathematics is computed: a scored run may change them.
IMPLEMENTATION_KEYS = frozenset(
    {
        *IMPLEMENTATION_OPTION_KEYS.values(),
        *CHANNELWISE_BACKWARD_KEYS.values(),
        "BENCHMARK.IMPLEMENTATION",
        "BENCHMARK.AUTO_BUDGET_S",
        "BENCHMARK.AUTO_STEPS",
    }
)

# Numeric precision: each changes what is computed, so a closed-division run keeps the official values, the
# reference's fp32 (TF32 off, matmul "highest", no autocast). They are in neither set above: any change is
# open division. README's compliance section names them.
PRECISION_KEYS = frozenset({"MODEL.ALLOW_TF32", "MODEL.MATMUL_PRECISION", "TRAIN.MIXED_PRECISION"})

# PySlowFast keys that its YAMLs may carry but that no code here reads, with the reason. "ignored": any value
# loads; a run names the key when it differs from the default, and it keeps a scored run compliant. "fixed":
# another value would change what is computed and is not supported, so it is a config error naming the key.
PYSLOWFAST_ONLY_KEYS = {
    "SOLVER.BASE_LR_SCALE_NUM_SHARDS": (
        "ignored",
        "TRAIN.BATCH_SIZE is the global batch here and "
        "SOLVER.BASE_LR_BATCH_SIZE scales the learning rates under every launcher",
    ),
    "MODEL.ARCH": ("ignored", "MODEL.MODEL_NAME chooses the network"),
    "RESNET.INPLACE_RELU": ("ignored", "X3D uses in-place ReLU; it changes memory, not results"),
    "AUG.COLOR_JITTER": ("ignored", "PySlowFast's video loader does not use it either; RandAugment changes colours"),
    "AUG.RE_SPLIT": ("ignored", "PySlowFast's video loader does not use it either"),
    "TRAIN.CHECKPOINT_EPOCH_RESET": (
        "fixed",
        "TRAIN.CHECKPOINT_FILE_PATH initialises weights only; a run resumes from its own OUTPUT_DIR",
    ),
    "RESNET.TRANS_FUNC": ("fixed", "X3D's bottleneck is the only residual block"),
    "RESNET.STRIDE_1X1": ("fixed", "X3D strides in the 3x3x3 convolution"),
    "MVIT.PATCH_2D": ("fixed", "MViT embeds 3D patches of video"),
    "MVIT.NORM": ("fixed", "MViT uses LayerNorm"),
}

"""Default configuration: every key the benchmark reads, with PySlowFast's names.

Conventions:
- Key names are PySlowFast's, so its users' YAML files and command lines carry over.
- Only keys that some code path reads live here, plus the PySlowFast keys that its YAML files carry
  (PYSLOWFAST_ONLY_KEYS in slowfast/config/keys.py: ignored, or fixed to their default); an unknown key in a
  YAML file or an override is an error that names the key.
- Sizes are in pixels, times in seconds, rates per second; "epoch" is a pass over the train split.
- Batch sizes are global (summed over all processes), as in PySlowFast.
- Nodes: run-wide keys, then BENCHMARK, TRAIN, TEST, DATA, DATA_LOADER, MODEL, X3D, RESNET, MVIT,
  BN, SOLVER, AUG, MIXUP, TENSORBOARD.
"""

from fvcore.common.config import CfgNode

from slowfast.config.keys import PYSLOWFAST_ONLY_KEYS

_C = CfgNode()

# ---------------------------------------------------------------------------------------------------
# Run-wide options.
# ---------------------------------------------------------------------------------------------------
# Accelerators per machine (one process each); 0 runs one process on the CPU.
_C.NUM_GPUS = 1
# Number of machines taking part in the job.
_C.NUM_SHARDS = 1
# Index of this machine among NUM_SHARDS.
_C.SHARD_ID = 0
# Processes per machine when NUM_GPUS is 0 (CPU training with gloo, e.g. for tests).
_C.NUM_CPU_PROCESSES = 1
# torch.distributed backend: "auto" picks nccl on CUDA and gloo on the CPU.
_C.DIST_BACKEND = "auto"
# Seconds a collective may wait for a peer before the job fails (a dead process must not hang the others).
_C.DIST_TIMEOUT_S = 1800
# Seconds a peer process may go without a heartbeat (through the job's c10d store) before the job ends with an
# error naming its rank and host: how fast a dead machine is noticed, whatever DIST_TIMEOUT_S is.
_C.DIST_HEARTBEAT_S = 30.0
# Seed for Python, NumPy and torch; each rank and data-loader worker derives its own from it.
_C.RNG_SEED = 0
# Where config.yaml, logs, metrics.jsonl, mllog.txt and checkpoints are written.
_C.OUTPUT_DIR = "./output"
# Print a training line every LOG_PERIOD iterations.
_C.LOG_PERIOD = 10
# Log the model's parameter count and FLOPs at start-up.
_C.LOG_MODEL_INFO = True

# ---------------------------------------------------------------------------------------------------
# Time-to-accuracy benchmark.
# ---------------------------------------------------------------------------------------------------
_C.BENCHMARK = CfgNode()
# Top-1 (percent, single deterministic view per video) at which the clock stops; 0 = no target (a PySlowFast
# YAML): the run is timed but not scored.
_C.BENCHMARK.TARGET_TOP1 = 0.0
# Reference wall time (s) to reach TARGET_TOP1 on REFERENCE_NUM_GPUS reference GPUs.
_C.BENCHMARK.REFERENCE_TIME_S = 0.0
# Number of accelerators of the reference run.
_C.BENCHMARK.REFERENCE_NUM_GPUS = 4
# Epochs the reference run trained before reaching TARGET_TOP1: splits a score into speed and convergence, and
# gives the ETA to the target and tools/selfcheck.py's score prediction.
_C.BENCHMARK.REFERENCE_EPOCHS = 20
# Which half of benchmark_score this config is: "cnn" or "transformer" ("" = not scored).
_C.BENCHMARK.KIND = ""
# End training at the first evaluation that reaches the target (the reference ran all epochs).
_C.BENCHMARK.STOP_AT_TARGET = False
# Official config that a scored run is compared with for compliance ("" = this run's --cfg file).
_C.BENCHMARK.OFFICIAL_CONFIG = ""
# True for the synthetic quick-start: its result is labelled as such, never as a Kinetics20 score.
_C.BENCHMARK.QUICKSTART = False
# Implementation settings (slowfast/engine/implementation.py): "reference" (PySlowFast's plain one), "fast"
# (every option on but those known slower on the device: compile on the CPU, the channel-wise convolution's own
# backward on CUDA), "auto" (time the candidates before the clock, keep the fastest; a candidate that fails is
# logged and skipped) or "config" (the option keys below, as written).
_C.BENCHMARK.IMPLEMENTATION = "auto"
# "auto" starts no new model-option candidate after this many seconds of timing (the engine toggles, cuDNN's
# autotuner and compile, are always timed).
_C.BENCHMARK.AUTO_BUDGET_S = 60.0
# "auto": timed train steps per candidate (after one warm-up step).
_C.BENCHMARK.AUTO_STEPS = 3
# Name of the system in system.json and the leaderboard ("" = "<GPUs>x<GPU model>", or "<CPU model> (CPU)").
_C.BENCHMARK.SYSTEM_NAME = ""
# Who ran the benchmark (person or organisation), as MLPerf's "submitter" ("" = "unknown").
_C.BENCHMARK.SUBMITTER = ""

# ---------------------------------------------------------------------------------------------------
# Training.
# ---------------------------------------------------------------------------------------------------
_C.TRAIN = CfgNode()
# Train under the benchmark clock; False runs only the multi-view test of TEST.CHECKPOINT_FILE_PATH's weights.
_C.TRAIN.ENABLE = True
# Dataset name in the dataset registry.
_C.TRAIN.DATASET = "kinetics"
# Global mini-batch size, summed over all processes.
_C.TRAIN.BATCH_SIZE = 64
# Evaluate on the val split every EVAL_PERIOD epochs (and after the last one).
_C.TRAIN.EVAL_PERIOD = 1
# Save a checkpoint every CHECKPOINT_PERIOD epochs (and after the last one).
_C.TRAIN.CHECKPOINT_PERIOD = 1
# Resume from the latest checkpoint in OUTPUT_DIR/checkpoints when there is one.
_C.TRAIN.AUTO_RESUME = True
# Initialise the model from this file (ours or a PySlowFast .pyth) when not resuming.
_C.TRAIN.CHECKPOINT_FILE_PATH = ""
# PySlowFast's switch between resuming from CHECKPOINT_FILE_PATH and starting at epoch 0: fixed to True
# (PYSLOWFAST_ONLY_KEYS in slowfast/config/keys.py).
_C.TRAIN.CHECKPOINT_EPOCH_RESET = True
# Autocast: bf16 where the device supports it (the CPU, CUDA from Ampere on; no GradScaler), else fp16 with a
# GradScaler. Off in the scored configs: the reference trained in fp32 (changing it is open division).
_C.TRAIN.MIXED_PRECISION = False

# ---------------------------------------------------------------------------------------------------
# Multi-view testing of the final model.
# ---------------------------------------------------------------------------------------------------
_C.TEST = CfgNode()
# Run the multi-view test after training.
_C.TEST.ENABLE = True
# Dataset name in the dataset registry.
_C.TEST.DATASET = "kinetics"
# Global mini-batch size for evaluation and testing.
_C.TEST.BATCH_SIZE = 64
# Weights the multi-view test uses (ours or PySlowFast's .pyth); "" = the trained model, or with TRAIN.ENABLE
# False the last checkpoint in OUTPUT_DIR.
_C.TEST.CHECKPOINT_FILE_PATH = ""
# Temporal clips per video in the multi-view test.
_C.TEST.NUM_ENSEMBLE_VIEWS = 10
# Spatial crops per clip in the multi-view test (1 = centre, 3 = left/centre/right).
_C.TEST.NUM_SPATIAL_CROPS = 3

# ---------------------------------------------------------------------------------------------------
# Data: file lists, sampling and pixel statistics.
# ---------------------------------------------------------------------------------------------------
_C.DATA = CfgNode()
# Folder holding train.csv, val.csv and test.csv.
_C.DATA.PATH_TO_DATA_DIR = ""
# Prefix joined to every video path listed in the CSV files.
_C.DATA.PATH_PREFIX = ""
# Separator between path and label in the CSV files.
_C.DATA.PATH_LABEL_SEPARATOR = " "
# Frames per clip.
_C.DATA.NUM_FRAMES = 8
# Stride between sampled frames, in frames at TARGET_FPS.
_C.DATA.SAMPLING_RATE = 8
# Frame rate the sampling rate refers to; a clip spans SAMPLING_RATE*NUM_FRAMES/TARGET_FPS seconds.
_C.DATA.TARGET_FPS = 30
# Video decoder: "pyav" or "torchcodec" (pip extra [torchcodec] plus the system's FFmpeg; same frames).
_C.DATA.DECODING_BACKEND = "pyav"
# Where torchcodec decodes: "cpu" or "cuda" (NVDEC; frames then come back to the CPU transforms).
_C.DATA.DECODING_DEVICE = "cpu"
# Training short-side range [min, max] for scale jitter (X3D recipe); also the test resize size.
_C.DATA.TRAIN_JITTER_SCALES = [256, 320]
# Area range of RandomResizedCrop relative to the frame (MViT recipe; [] = scale jitter instead).
_C.DATA.TRAIN_JITTER_SCALES_RELATIVE = []
# Aspect-ratio range of RandomResizedCrop (MViT recipe).
_C.DATA.TRAIN_JITTER_ASPECT_RELATIVE = []
# Side of the square training crop.
_C.DATA.TRAIN_CROP_SIZE = 224
# Side of the square test crop.
_C.DATA.TEST_CROP_SIZE = 256
# Channels of each input pathway (one pathway for X3D and MViT).
_C.DATA.INPUT_CHANNEL_NUM = [3]
# Per-channel mean (RGB, in [0, 1]) subtracted from the frames.
_C.DATA.MEAN = [0.45, 0.45, 0.45]
# Per-channel standard deviation (RGB) the frames are divided by.
_C.DATA.STD = [0.225, 0.225, 0.225]
# Random horizontal flip during training.
_C.DATA.RANDOM_FLIP = True
# Test clips evenly spaced by the floor of the free span (PySlowFast's offset sampling, MViT).
_C.DATA.USE_OFFSET_SAMPLING = False
# Evaluation during training: "center" (one fixed clip and centre crop) or "random" (PySlowFast).
_C.DATA.VAL_SAMPLING = "center"
# Fail the run when more than this fraction of a split's videos cannot be decoded.
_C.DATA.MAX_BAD_FRACTION = 0.01
# Videos shorter than this fraction of a clip's span are bad; longer short ones repeat their last frame.
# 0 is PySlowFast's rule: every video with a frame is kept, however short.
_C.DATA.MIN_CLIP_COVERAGE = 0.0

# Quick-start only: generate a synthetic Kinetics-format data set (slowfast/datasets/synthetic.py) in
# PATH_TO_DATA_DIR before the clock starts, unless that folder's dataset.json records these settings.
_C.DATA.SYNTHETIC = CfgNode()
# Generate the data set unless it is there: a folder the generator made with other settings (or an older
# generator version) is replaced; one holding files it did not make is refused.
_C.DATA.SYNTHETIC.ENABLE = False
# Videos per class in the train split.
_C.DATA.SYNTHETIC.TRAIN_PER_CLASS = 12
# Videos per class in the val split.
_C.DATA.SYNTHETIC.VAL_PER_CLASS = 4
# Videos per class in the test split (0 = test.csv repeats val.csv, the Kinetics convention).
_C.DATA.SYNTHETIC.TEST_PER_CLASS = 0
# Frame width and height (even numbers).
_C.DATA.SYNTHETIC.WIDTH = 128
_C.DATA.SYNTHETIC.HEIGHT = 96
# Frame rate and duration (seconds) of each video.
_C.DATA.SYNTHETIC.FPS = 15
_C.DATA.SYNTHETIC.SECONDS = 3.0
# Keyframe interval in frames.
_C.DATA.SYNTHETIC.GOP = 15
# Seed of the generated data (independent of RNG_SEED, so training seeds share one data set).
_C.DATA.SYNTHETIC.SEED = 0

# ---------------------------------------------------------------------------------------------------
# Data loader.
# ---------------------------------------------------------------------------------------------------
_C.DATA_LOADER = CfgNode()
# Loader worker processes per training process.
_C.DATA_LOADER.NUM_WORKERS = 8
# Copy batches into pinned memory (CUDA only).
_C.DATA_LOADER.PIN_MEMORY = True
# Keep the train loader's workers alive between epochs (val and test loaders start theirs per evaluation).
_C.DATA_LOADER.PERSISTENT_WORKERS = True
# Batches each worker prepares ahead.
_C.DATA_LOADER.PREFETCH_FACTOR = 2
# Let FFmpeg decode with several threads per video.
_C.DATA_LOADER.ENABLE_MULTI_THREAD_DECODE = False
# Workers per loader at most with DATA.DECODING_DEVICE cuda (NUM_WORKERS above it is capped): each holds a CUDA
# context and NVDEC decoders (several hundred MB) on its rank's GPU, and an H100/H200 has 7 NVDEC engines, so more
# concurrent decoders add GPU memory, not speed. A resource key: it changes how fast clips arrive, not what they are.
_C.DATA_LOADER.MAX_CUDA_DECODE_WORKERS = 8

# ---------------------------------------------------------------------------------------------------
# Model.
# ---------------------------------------------------------------------------------------------------
_C.MODEL = CfgNode()
# PySlowFast's architecture family: accepted and ignored, MODEL.MODEL_NAME chooses the network
# (PYSLOWFAST_ONLY_KEYS in slowfast/config/keys.py).
_C.MODEL.ARCH = "x3d"
# Name in the model registry.
_C.MODEL.MODEL_NAME = "X3D"
# Number of classes to predict.
_C.MODEL.NUM_CLASSES = 20
# Loss: "cross_entropy" or "soft_cross_entropy" (for mixup targets).
_C.MODEL.LOSS_FUNC = "cross_entropy"
# Dropout before the final projection.
_C.MODEL.DROPOUT_RATE = 0.5
# Activation of the head at evaluation: "softmax", "sigmoid" or "none".
_C.MODEL.HEAD_ACT = "softmax"
# Standard deviation of the final projection's initial weights.
_C.MODEL.FC_INIT_STD = 0.01
# Run convolutional models in channels_last_3d memory format (same fp32 numbers, faster on CPU and GPU).
_C.MODEL.CHANNELS_LAST = True
# cuDNN's convolution autotuner (torch.backends.cudnn.benchmark); an implementation setting, CUDA only.
_C.MODEL.CUDNN_BENCHMARK = True
# Train through torch.compile (inductor); an implementation setting, same numbers up to fp32 rounding.
_C.MODEL.COMPILE = False
# TF32 in cuDNN convolutions (torch.backends.cudnn.allow_tf32; PyTorch's own default is True) on Ampere and
# later GPUs. False keeps the reference's fp32 numerics: its TITAN RTX (Turing) has no TF32, and TF32 rounds
# the inputs of every convolution to a 10-bit mantissa, so True changes what is computed (open division).
_C.MODEL.ALLOW_TF32 = False
# torch.set_float32_matmul_precision (it also sets torch.backends.cuda.matmul.allow_tf32): "highest" (fp32,
# the reference's, closed division), "high" (TF32) or "medium" (bf16); the last two are open division.
_C.MODEL.MATMUL_PRECISION = "highest"

# ---------------------------------------------------------------------------------------------------
# X3D (Feichtenhofer, CVPR 2020): sizes are expansion factors of a tiny base network.
# ---------------------------------------------------------------------------------------------------
_C.X3D = CfgNode()
# Channel width expansion factor.
_C.X3D.WIDTH_FACTOR = 1.0
# Depth (blocks per stage) expansion factor.
_C.X3D.DEPTH_FACTOR = 1.0
# Inner width of a bottleneck relative to its output width.
_C.X3D.BOTTLENECK_FACTOR = 1.0
# Channels of the final 1x1x1 projection before the classifier.
_C.X3D.DIM_C5 = 2048
# Stem channels.
_C.X3D.DIM_C1 = 12
# Scale the res2 stage width by WIDTH_FACTOR.
_C.X3D.SCALE_RES2 = False
# BatchNorm after the last linear projection in the head.
_C.X3D.BN_LIN5 = False
# Channel-wise (depthwise) 3x3x3 convolutions in the bottlenecks.
_C.X3D.CHANNELWISE_3x3x3 = True
# Channel-wise 3x3x3 convolution input gradient as a flipped-kernel convolution of the output gradient (spread
# to the stride-1 grid in strided blocks); same numbers, faster backward.
_C.X3D.FAST_CHANNELWISE_BACKWARD = True
# Channel-wise 3x3x3 convolution weight gradient as per-sample depthwise convolutions (stride-1 blocks; same
# numbers, faster backward on the CPU).
_C.X3D.FAST_CHANNELWISE_WEIGHT_GRAD = True
# BatchNorm epsilon of every X3D BatchNorm layer.
_C.X3D.BN_EPSILON = 1e-5
# BatchNorm momentum (PyTorch convention: weight of the new batch statistics).
_C.X3D.BN_MOMENTUM = 0.1

# ---------------------------------------------------------------------------------------------------
# ResNet-style block options shared by X3D.
# ---------------------------------------------------------------------------------------------------
_C.RESNET = CfgNode()
# PySlowFast's residual block type: fixed to "x3d_transform", X3D's bottleneck (PYSLOWFAST_ONLY_KEYS).
_C.RESNET.TRANS_FUNC = "x3d_transform"
# PySlowFast's stride on a bottleneck's first 1x1 convolution: fixed to False, X3D strides in the 3x3x3 one
# (PYSLOWFAST_ONLY_KEYS).
_C.RESNET.STRIDE_1X1 = False
# PySlowFast's in-place ReLU switch: accepted and ignored, X3D always uses in-place ReLU (PYSLOWFAST_ONLY_KEYS).
_C.RESNET.INPLACE_RELU = True
# Initialise the last BatchNorm of each residual branch to zero.
_C.RESNET.ZERO_INIT_FINAL_BN = False

# ---------------------------------------------------------------------------------------------------
# MViT v1 (Fan et al., ICCV 2021).
# ---------------------------------------------------------------------------------------------------
_C.MVIT = CfgNode()
# Pooling operator in attention: "conv" (depthwise conv), "max" or "avg".
_C.MVIT.MODE = "conv"
# Prepend a class token and classify from it (else mean-pool the tokens).
_C.MVIT.CLS_EMBED_ON = True
# Kernel of the patch-embedding convolution (T, H, W).
_C.MVIT.PATCH_KERNEL = [3, 7, 7]
# Stride of the patch-embedding convolution (T, H, W).
_C.MVIT.PATCH_STRIDE = [2, 4, 4]
# Padding of the patch-embedding convolution (T, H, W).
_C.MVIT.PATCH_PADDING = [2, 4, 4]
# PySlowFast's 2D (image) patch embedding: fixed to False, MViT embeds 3D patches (PYSLOWFAST_ONLY_KEYS).
_C.MVIT.PATCH_2D = False
# Token width of the first stage.
_C.MVIT.EMBED_DIM = 96
# Attention heads of the first stage.
_C.MVIT.NUM_HEADS = 1
# MLP hidden width relative to the token width.
_C.MVIT.MLP_RATIO = 4.0
# Bias in the qkv projection.
_C.MVIT.QKV_BIAS = True
# Maximum stochastic-depth rate (linearly increasing over blocks).
_C.MVIT.DROPPATH_RATE = 0.1
# Number of transformer blocks.
_C.MVIT.DEPTH = 16
# PySlowFast's normalisation layer: fixed to "layernorm" (PYSLOWFAST_ONLY_KEYS).
_C.MVIT.NORM = "layernorm"
# [[block, multiplier], ...]: token width multipliers, applied at the given blocks.
_C.MVIT.DIM_MUL = []
# [[block, multiplier], ...]: head-count multipliers, applied at the given blocks.
_C.MVIT.HEAD_MUL = []
# [[block, sT, sH, sW], ...]: key/value pooling strides per block (overrides the adaptive rule).
_C.MVIT.POOL_KV_STRIDE = []
# Initial key/value pooling stride, divided wherever the query is pooled ([] = none).
_C.MVIT.POOL_KV_STRIDE_ADAPTIVE = []
# [[block, sT, sH, sW], ...]: query pooling strides (resolution changes) per block.
_C.MVIT.POOL_Q_STRIDE = []
# Kernel of the q/k/v pooling ([] = derived from the stride).
_C.MVIT.POOL_KVQ_KERNEL = []
# Exclude position embeddings and the class token from weight decay.
_C.MVIT.ZERO_DECAY_POS_CLS = True
# Normalise the patch embedding.
_C.MVIT.NORM_STEM = False
# Separate spatial and temporal position embeddings.
_C.MVIT.SEP_POS_EMBED = False
# Attention through torch's fused scaled_dot_product_attention (same result as softmax(q k^T) v; faster train
# step in tools/benchmark_model.py's interleaved rounds).
_C.MVIT.FUSED_ATTENTION = True
# Conv pooling of q/k/v through ChannelwiseConv3d (input gradient as a flipped-kernel conv, strided pooling
# included; same numbers).
_C.MVIT.FAST_CHANNELWISE_BACKWARD = True
# Dropout before the final projection.
_C.MVIT.DROPOUT_RATE = 0.0

# ---------------------------------------------------------------------------------------------------
# Batch normalisation.
# ---------------------------------------------------------------------------------------------------
_C.BN = CfgNode()
# Recompute BN statistics on NUM_BATCHES_PRECISE training batches before each evaluation.
_C.BN.USE_PRECISE_STATS = False
# Batches used for precise BN statistics.
_C.BN.NUM_BATCHES_PRECISE = 200
# Weight decay on BN parameters.
_C.BN.WEIGHT_DECAY = 0.0
# "batchnorm" or "sync_batchnorm" (statistics over all processes).
_C.BN.NORM_TYPE = "batchnorm"

# ---------------------------------------------------------------------------------------------------
# Optimiser and learning-rate schedule.
# ---------------------------------------------------------------------------------------------------
_C.SOLVER = CfgNode()
# Learning rate for a global batch of BASE_LR_BATCH_SIZE videos (see there).
_C.SOLVER.BASE_LR = 0.1
# Global batch (videos) that BASE_LR, WARMUP_START_LR and COSINE_END_LR are given for: a run scales all three
# by TRAIN.BATCH_SIZE / BASE_LR_BATCH_SIZE (linear scaling rule). 0 uses them as written.
_C.SOLVER.BASE_LR_BATCH_SIZE = 0
# Schedule: "cosine", "steps_with_relative_lrs" or "constant".
_C.SOLVER.LR_POLICY = "cosine"
# Final learning rate of the cosine schedule.
_C.SOLVER.COSINE_END_LR = 0.0
# Cosine spans only the epochs after warm-up (else the whole run, warm-up overriding its start).
_C.SOLVER.COSINE_AFTER_WARMUP = False
# Epochs at which steps_with_relative_lrs changes the rate (the first must be 0).
_C.SOLVER.STEPS = []
# Rate multipliers of steps_with_relative_lrs, one per step.
_C.SOLVER.LRS = []
# Number of training epochs.
_C.SOLVER.MAX_EPOCH = 300
# SGD momentum.
_C.SOLVER.MOMENTUM = 0.9
# SGD dampening.
_C.SOLVER.DAMPENING = 0.0
# Nesterov momentum.
_C.SOLVER.NESTEROV = True
# L2 weight decay.
_C.SOLVER.WEIGHT_DECAY = 1e-4
# Epochs of linear warm-up.
_C.SOLVER.WARMUP_EPOCHS = 0.0
# Learning rate at the start of warm-up.
_C.SOLVER.WARMUP_START_LR = 0.01
# "sgd" or "adamw".
_C.SOLVER.OPTIMIZING_METHOD = "sgd"
# PySlowFast's per-machine LR scaling: accepted so its YAMLs load, ignored; BASE_LR_BATCH_SIZE scales the rates
# (PYSLOWFAST_ONLY_KEYS in slowfast/config/keys.py).
_C.SOLVER.BASE_LR_SCALE_NUM_SHARDS = False
# No weight decay on 1-D parameters (biases, norms) and position embeddings.
_C.SOLVER.ZERO_WD_1D_PARAM = False
# Clip each gradient element to [-v, v] (None = off).
_C.SOLVER.CLIP_GRAD_VAL = None
# Clip the global gradient L2 norm (None = off).
_C.SOLVER.CLIP_GRAD_L2NORM = None
# AdamW betas.
_C.SOLVER.BETAS = (0.9, 0.999)

# ---------------------------------------------------------------------------------------------------
# Clip augmentation (MViT recipe).
# ---------------------------------------------------------------------------------------------------
_C.AUG = CfgNode()
# Use RandAugment, random resized crop and random erasing.
_C.AUG.ENABLE = False
# Augmented views per decoded clip (repeated augmentation).
_C.AUG.NUM_SAMPLE = 1
# PySlowFast's colour jitter strength: accepted and ignored, as its video loader ignores it too; RandAugment
# changes colours (PYSLOWFAST_ONLY_KEYS).
_C.AUG.COLOR_JITTER = 0.4
# RandAugment policy in timm's notation, e.g. "rand-m7-n4-mstd0.5-inc1".
_C.AUG.AA_TYPE = "rand-m7-n4-mstd0.5-inc1"
# Sampling of RandAugment's Rotate/Shear/Translate: "bicubic" (PySlowFast's PIL default) or "bilinear".
_C.AUG.INTERPOLATION = "bicubic"
# Probability of random erasing.
_C.AUG.RE_PROB = 0.25
# Random erasing fill: "pixel" (per-pixel noise), "rand" (per-channel) or "const" (zeros).
_C.AUG.RE_MODE = "pixel"
# Boxes erased per clip.
_C.AUG.RE_COUNT = 1
# PySlowFast's random-erasing split: accepted and ignored, as its video loader ignores it too
# (PYSLOWFAST_ONLY_KEYS).
_C.AUG.RE_SPLIT = False

# ---------------------------------------------------------------------------------------------------
# Mixup and CutMix on the training batch.
# ---------------------------------------------------------------------------------------------------
_C.MIXUP = CfgNode()
# Apply mixup or cutmix to each training batch.
_C.MIXUP.ENABLE = False
# Beta(alpha, alpha) parameter of mixup.
_C.MIXUP.ALPHA = 0.8
# Beta(alpha, alpha) parameter of cutmix.
_C.MIXUP.CUTMIX_ALPHA = 1.0
# Probability of mixing a batch at all.
_C.MIXUP.PROB = 1.0
# Probability of cutmix rather than mixup for a mixed batch.
_C.MIXUP.SWITCH_PROB = 0.5
# Label smoothing of the mixed targets.
_C.MIXUP.LABEL_SMOOTH_VALUE = 0.1

# ---------------------------------------------------------------------------------------------------
# TensorBoard.
# ---------------------------------------------------------------------------------------------------
_C.TENSORBOARD = CfgNode()
# Write TensorBoard scalars.
_C.TENSORBOARD.ENABLE = False
# Event folder ("" = OUTPUT_DIR/tensorboard).
_C.TENSORBOARD.LOG_DIR = ""


def ignored_settings(cfg: CfgNode) -> list[str]:
    """Return "KEY = value (ignored: reason)" for every ignored key that ``cfg`` sets to a non-default value."""
    lines = []
    for key, (kind, reason) in PYSLOWFAST_ONLY_KEYS.items():
        node, default = cfg, _C
        for part in key.split("."):
            node, default = node[part], default[part]
        if kind == "ignored" and node != default:
            lines.append(f"{key} = {node!r} (ignored: {reason})")
    return lines


def get_cfg() -> CfgNode:
    """Return a fresh, mutable copy of the default configuration."""
    return _C.clone()

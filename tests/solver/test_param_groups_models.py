"""Weight-decay groups of the real X3D-M and MViT-B, counted from their architectures by hand."""

import pytest

from slowfast.config import load_config
from slowfast.models import build_model
from slowfast.solver.optimizer import build_param_groups

X3D_M = [
    "NUM_GPUS",
    "0",
    "MODEL.ARCH",
    "x3d",
    "MODEL.MODEL_NAME",
    "X3D",
    "MODEL.NUM_CLASSES",
    "20",
    "X3D.WIDTH_FACTOR",
    "2.0",
    "X3D.DEPTH_FACTOR",
    "2.2",
    "X3D.BOTTLENECK_FACTOR",
    "2.25",
    "X3D.DIM_C5",
    "2048",
    "X3D.DIM_C1",
    "12",
    "DATA.NUM_FRAMES",
    "16",
    "DATA.TRAIN_CROP_SIZE",
    "224",
    "SOLVER.WEIGHT_DECAY",
    "5e-5",
    "BN.WEIGHT_DECAY",
    "0.0",
    "SOLVER.ZERO_WD_1D_PARAM",
    "False",
]
MVIT_B = [
    "NUM_GPUS",
    "0",
    "MODEL.ARCH",
    "mvit",
    "MODEL.MODEL_NAME",
    "MViT",
    "MODEL.NUM_CLASSES",
    "20",
    "DATA.NUM_FRAMES",
    "16",
    "DATA.TRAIN_CROP_SIZE",
    "224",
    "DATA.TEST_CROP_SIZE",
    "224",
    "MVIT.SEP_POS_EMBED",
    "True",
    "MVIT.DEPTH",
    "16",
    "MVIT.NUM_HEADS",
    "1",
    "MVIT.EMBED_DIM",
    "96",
    "MVIT.PATCH_KERNEL",
    "[3, 7, 7]",
    "MVIT.PATCH_STRIDE",
    "[2, 4, 4]",
    "MVIT.PATCH_PADDING",
    "[1, 3, 3]",
    "MVIT.MLP_RATIO",
    "4.0",
    "MVIT.QKV_BIAS",
    "True",
    "MVIT.DROPPATH_RATE",
    "0.2",
    "MVIT.MODE",
    "conv",
    "MVIT.CLS_EMBED_ON",
    "True",
    "MVIT.DIM_MUL",
    "[[1, 2.0], [3, 2.0], [14, 2.0]]",
    "MVIT.HEAD_MUL",
    "[[1, 2.0], [3, 2.0], [14, 2.0]]",
    "MVIT.POOL_KVQ_KERNEL",
    "[3, 3, 3]",
    "MVIT.POOL_KV_STRIDE_ADAPTIVE",
    "[1, 8, 8]",
    "MVIT.POOL_Q_STRIDE",
    "[[1, 1, 2, 2], [3, 1, 2, 2], [14, 1, 2, 2]]",
    "SOLVER.WEIGHT_DECAY",
    "0.05",
    "SOLVER.ZERO_WD_1D_PARAM",
    "True",
]
POS_CLS = {"cls_token", "pos_embed_spatial", "pos_embed_temporal", "pos_embed_class"}


@pytest.fixture(scope="module")
def mvit_b():
    """One MViT-B for all tests: the groups depend on the config passed to build_param_groups only."""
    return build_model(load_config(None, MVIT_B))


def group_names(model, cfg_opts):
    cfg = load_config(None, cfg_opts)
    name_of = {id(p): n for n, p in model.named_parameters()}
    groups = build_param_groups(model, cfg)
    return {g["group"]: ({name_of[id(p)] for p in g["params"]}, g["weight_decay"]) for g in groups}


def test_x3d_m_bn_params_get_bn_decay_and_all_others_decay():
    model = build_model(load_config(None, X3D_M))
    groups = group_names(model, X3D_M)
    assert set(groups) == {"bn", "decay"}
    bn_names, bn_decay = groups["bn"]
    decay_names, decay = groups["decay"]
    assert (bn_decay, decay) == (0.0, 5e-5)
    # X3D-M stages hold ceil(2.2 * [1, 2, 5, 3]) = [3, 5, 11, 7] = 26 bottlenecks with BN after a, b, c;
    # each stage's first block has a shortcut BN; plus the stem BN and the head's conv_5 BN.
    bn_modules = 1 + 26 * 3 + 4 + 1
    assert len(bn_names) == 2 * bn_modules
    # Weights: stem conv_xy and conv, 3 per bottleneck, 4 shortcuts, squeeze-excitation (fc1, fc2 with
    # biases) on every other block (2 + 3 + 6 + 4 = 15), head conv_5, lin_5 and the projection with bias.
    assert len(decay_names) == 2 + 26 * 3 + 4 + 15 * 4 + 4
    assert all(".bn" in n or "_bn" in n for n in bn_names)
    assert {"head.projection.bias", "s1.pathway0_stem.conv.weight"} <= decay_names
    assert len(bn_names) + len(decay_names) == len(list(model.parameters()))


@pytest.mark.parametrize("zero_decay_pos_cls", [False, True])
def test_mvit_b_only_matrices_decay_and_pos_cls_follow_the_switch(mvit_b, zero_decay_pos_cls):
    opts = MVIT_B + ["MVIT.ZERO_DECAY_POS_CLS", str(zero_decay_pos_cls)]
    model = mvit_b
    groups = group_names(model, opts)
    assert "bn" not in groups
    decay_names, decay = groups["decay"]
    no_decay_names, no_decay = groups["no_decay"]
    assert (decay, no_decay) == (0.05, 0.0)
    # Tensors of 2+ dimensions: 4 pos/cls, the patch embedding, qkv/proj/fc1/fc2 in 16 blocks, k and v
    # pooling convs in all 16 blocks, q pooling convs and residual projections in the 3 blocks that
    # change resolution and width, and the head projection.
    matrices = 4 + 1 + 16 * 4 + 16 * 2 + 3 + 3 + 1
    expected_decay = matrices - (len(POS_CLS) if zero_decay_pos_cls else 0)
    assert len(decay_names) == expected_decay
    assert (POS_CLS <= no_decay_names) == zero_decay_pos_cls
    assert (POS_CLS <= decay_names) == (not zero_decay_pos_cls)
    params = dict(model.named_parameters())
    assert all(params[n].ndim == 1 for n in no_decay_names - POS_CLS)
    assert {"blocks.0.norm1.weight", "norm.bias", "head.projection.bias"} <= no_decay_names
    assert len(decay_names) + len(no_decay_names) == len(params)

"""Config loading: YAML + overrides, _BASE_, command-line forms, validation errors, config.yaml output."""

import glob
import os

import pytest
import yaml

from slowfast.benchmark.compliance import check_compliance, load_official_config
from slowfast.benchmark.reference import reference_for_name
from slowfast.config import ConfigError, get_cfg, load_config, save_config
from slowfast.config.cli import build_parser
from slowfast.config.defaults import ignored_settings
from slowfast.config.loading import model_name_of

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
X3D_M = os.path.join(ROOT, "configs", "X3D_M.yaml")
MVIT_B = os.path.join(ROOT, "configs", "MVIT_B_16x4.yaml")


def test_yaml_then_overrides_merge():
    cfg = load_config(X3D_M, ["NUM_GPUS", "2", "SOLVER.BASE_LR", "0.2", "DATA_LOADER.NUM_WORKERS", "4"])
    assert cfg.NUM_GPUS == 2
    assert cfg.SOLVER.BASE_LR == 0.2
    assert cfg.DATA_LOADER.NUM_WORKERS == 4
    assert cfg.X3D.DEPTH_FACTOR == 2.2  # from the YAML
    assert cfg.SOLVER.MOMENTUM == get_cfg().SOLVER.MOMENTUM  # from the defaults
    assert cfg.is_frozen()


@pytest.mark.parametrize("path", [X3D_M, MVIT_B])
def test_scored_configs_match_reference_table(path):
    cfg, ref = load_config(path), reference_for_name(model_name_of(path))
    bench = cfg.BENCHMARK
    assert (bench.KIND, bench.TARGET_TOP1, bench.REFERENCE_TIME_S) == (ref.kind, ref.target_top1, ref.time_to_target_s)
    assert (bench.REFERENCE_NUM_GPUS, bench.REFERENCE_EPOCHS) == (ref.num_gpus, ref.epochs)
    assert (cfg.NUM_GPUS, cfg.TRAIN.BATCH_SIZE, cfg.SOLVER.MAX_EPOCH) == (ref.num_gpus, ref.batch_size, ref.epochs)
    assert cfg.SOLVER.BASE_LR_BATCH_SIZE == ref.batch_size  # the rates are the reference run's
    assert cfg.DATA_LOADER.NUM_WORKERS == ref.num_workers and cfg.MODEL.NUM_CLASSES == 20


def test_mvit_patch_padding_is_pyslowfasts_conv_config():
    assert load_config(MVIT_B).MVIT.PATCH_PADDING == [1, 3, 3]


@pytest.mark.parametrize("name", ["X3D_M", "MVIT_B_16x4"])
def test_kinetics_aliases_equal_canonical_configs(name):
    alias = load_config(os.path.join(ROOT, "configs", "Kinetics", f"{name}.yaml"))
    canonical = load_config(os.path.join(ROOT, "configs", f"{name}.yaml"))
    assert alias.dump() == canonical.dump()


def test_every_config_loads():
    paths = sorted(glob.glob(os.path.join(ROOT, "configs", "**", "*.yaml"), recursive=True))
    assert len(paths) >= 8
    for path in paths:
        load_config(path)


def test_base_inheritance_and_override(tmp_path):
    child = tmp_path / "child.yaml"
    child.write_text(f"_BASE_: {X3D_M}\nSOLVER:\n  MAX_EPOCH: 3\n")
    cfg = load_config(str(child))
    assert cfg.SOLVER.MAX_EPOCH == 3
    assert cfg.X3D.WIDTH_FACTOR == 2.0


def test_positional_and_opts_forms_give_the_same_config():
    positional = build_parser("t").parse_args(["--cfg", X3D_M, "NUM_GPUS", "2", "SOLVER.BASE_LR", "0.3"])
    flagged = build_parser("t").parse_args(["--cfg", X3D_M, "--opts", "NUM_GPUS", "2", "SOLVER.BASE_LR", "0.3"])
    assert positional.opts == flagged.opts == ["NUM_GPUS", "2", "SOLVER.BASE_LR", "0.3"]
    assert (
        load_config(positional.cfg_file, positional.opts).dump() == load_config(flagged.cfg_file, flagged.opts).dump()
    )


def test_multi_node_flags_set_shards():
    args = build_parser("t").parse_args(
        ["--cfg", X3D_M, "--num_shards", "2", "--shard_id", "1", "--init_method", "tcp://10.0.0.1:9999"]
    )
    cfg = load_config(args.cfg_file, args.opts, num_shards=args.num_shards, shard_id=args.shard_id)
    assert (cfg.NUM_SHARDS, cfg.SHARD_ID, args.init_method) == (2, 1, "tcp://10.0.0.1:9999")


def test_integer_for_a_float_key_is_accepted(tmp_path):
    child = tmp_path / "child.yaml"
    child.write_text(f"_BASE_: {X3D_M}\nBENCHMARK:\n  TARGET_TOP1: 20\n")
    cfg = load_config(str(child), ["SOLVER.BASE_LR", "1", "TRAIN.BATCH_SIZE", "32"])
    assert cfg.BENCHMARK.TARGET_TOP1 == 20.0 and isinstance(cfg.BENCHMARK.TARGET_TOP1, float)
    assert cfg.SOLVER.BASE_LR == 1.0 and isinstance(cfg.SOLVER.BASE_LR, float)
    assert cfg.TRAIN.BATCH_SIZE == 32 and isinstance(cfg.TRAIN.BATCH_SIZE, int)
    with pytest.raises(ConfigError, match=r"TRAIN\.BATCH_SIZE"):
        load_config(X3D_M, ["TRAIN.BATCH_SIZE", "32.5"])


def test_unknown_key_is_named():
    with pytest.raises(ConfigError, match="FOO.BAR"):
        load_config(X3D_M, ["FOO.BAR", "1"])


def test_unknown_key_in_yaml_names_file_and_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("SOLVER:\n  BASE_LRR: 0.1\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml.*SOLVER\.BASE_LRR"):
        load_config(str(bad))


@pytest.mark.parametrize(
    "opts, pattern",
    [
        (["NUM_GPUS", "3"], r"TRAIN\.BATCH_SIZE = 64 .*multiple of the number of processes \(3\)"),
        (["MODEL.MODEL_NAME", "ResNet"], r"MODEL\.MODEL_NAME = 'ResNet' .*one of \['X3D', 'MViT'\]"),
        (["MVIT.PATCH_2D", "True"], r"MVIT\.PATCH_2D = True .*only False \(MViT embeds 3D patches"),
        (["DIST_BACKEND", "nccl", "NUM_GPUS", "0"], r"DIST_BACKEND = 'nccl' .*nccl needs GPUs"),
        (["AUG.ENABLE", "True", "AUG.AA_TYPE", "auto-v0"], r"AUG\.AA_TYPE = 'auto-v0'"),
        (["MODEL.MODEL_NAME", "MViT", "DATA.TEST_CROP_SIZE", "256"], r"DATA\.TEST_CROP_SIZE = 256 .*224"),
        (["SOLVER.BASE_LR", "0.1", "SOLVER.COSINE_END_LR", "0.2"], r"SOLVER\.COSINE_END_LR = 0\.2"),
        (["TRAIN.ENABLE", "False", "TEST.ENABLE", "False"], r"TRAIN\.ENABLE/TEST\.ENABLE"),
        (["SOLVER.BASE_LR", "fast"], r"SOLVER\.BASE_LR"),
        (["SHARD_ID", "1"], r"SHARD_ID = 1 .*NUM_SHARDS = 1"),
        (["DATA.MAX_BAD_FRACTION", "1.5"], r"DATA\.MAX_BAD_FRACTION = 1\.5"),
        (["MIXUP.ENABLE", "True"], r"MODEL\.LOSS_FUNC = 'cross_entropy' .*soft_cross_entropy"),
        (["NUM_GPUS"], r"KEY VALUE pairs"),
    ],
)
def test_bad_values_are_named(opts, pattern):
    with pytest.raises(ConfigError, match=pattern):
        load_config(X3D_M, opts)


def test_every_problem_of_a_config_is_listed_at_once():
    opts = ["NUM_GPUS", "3", "SHARD_ID", "1", "DATA.MAX_BAD_FRACTION", "1.5", "SOLVER.BASE_LR", "0.1"]
    with pytest.raises(ConfigError) as raised:
        load_config(X3D_M, [*opts, "SOLVER.COSINE_END_LR", "0.2"])
    lines = str(raised.value).splitlines()
    assert [line.split(" = ")[0] for line in lines] == [
        "config key SHARD_ID",
        "config key TRAIN.BATCH_SIZE",
        "config key TEST.BATCH_SIZE",
        "config key DATA.MAX_BAD_FRACTION",
        "config key SOLVER.COSINE_END_LR",
    ]


def test_ignored_pyslowfast_keys_load_and_are_named():
    cfg = load_config(X3D_M, ["SOLVER.BASE_LR_SCALE_NUM_SHARDS", "True", "MODEL.ARCH", "slowfast"])
    lines = ignored_settings(cfg)
    assert len(lines) == 2 and all("(ignored: " in line for line in lines)
    assert lines[0].startswith("SOLVER.BASE_LR_SCALE_NUM_SHARDS = True") and lines[1].startswith("MODEL.ARCH")
    assert ignored_settings(load_config(X3D_M)) == []


def test_integer_for_a_float_key_in_a_child_yaml_loads_as_the_official_config_too(tmp_path):
    # A child YAML's TARGET_TOP1: 20 loaded through load_config but broke the compliance check, which
    # read the same file with another loader.
    child = tmp_path / "child.yaml"
    child.write_text(f"_BASE_: {X3D_M}\nBENCHMARK:\n  TARGET_TOP1: 20\n")
    cfg = load_config(str(child))
    official = load_official_config(str(child))
    assert cfg.BENCHMARK.TARGET_TOP1 == official.BENCHMARK.TARGET_TOP1 == 20.0
    assert check_compliance(cfg, official).compliant


def test_world_size_from_torchrun_environment(torchrun_env):
    torchrun_env(0, 5)
    with pytest.raises(ConfigError, match=r"multiple of the number of processes \(5\)"):
        load_config(X3D_M)


def test_config_yaml_written_and_reloadable(tmp_path):
    cfg = load_config(MVIT_B, ["OUTPUT_DIR", str(tmp_path), "RNG_SEED", "7"])
    path = save_config(cfg, str(tmp_path))
    assert path == str(tmp_path / "config.yaml")
    with open(path) as f:
        written = yaml.safe_load(f)
    assert written["RNG_SEED"] == 7
    assert written["MVIT"]["DEPTH"] == 16
    assert load_config(path).dump() == cfg.dump()
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]  # no temporary file left behind

"""Every default key is read by some code path: a key that changes nothing would mislead its users.

Both smoke models run through the launcher under a configuration that records which keys the code reads (the
config checks run before recording starts, so a key that is only validated counts as unread), together with
the paths that other settings switch on: synthetic data generation, loader workers, TensorBoard, stopping at
the target, a test-only job, the steps schedule and the multi-machine rank formula.
"""

import os

import pytest
import torch
from fvcore.common.config import CfgNode

from slowfast.benchmark.recipe import lr_landmarks
from slowfast.config import load_config
from slowfast.config.defaults import get_cfg, ignored_settings
from slowfast.config.keys import PYSLOWFAST_ONLY_KEYS
from slowfast.engine import checkpoint as ckpt
from slowfast.engine import run
from slowfast.engine.implementation import choose_implementation
from slowfast.engine.launch import DEFAULT_INIT_METHOD, launch_job
from slowfast.engine.run import benchmark_job
from slowfast.utils.metrics import read_metrics, records_of

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class RecordingNode(CfgNode):
    """A CfgNode that adds the dotted name of every key read through it to ``reads``."""

    reads = set()

    def _record(self, name):
        # The prefix lives in the node's __dict__, so copies (cfg.clone(), as the implementation settings make)
        # keep recording under the right names.
        if dict.__contains__(self, name):
            RecordingNode.reads.add(self.__dict__.get("_record_prefix", "") + name)

    def __getattr__(self, name):
        self._record(name)
        return super().__getattr__(name)

    def __getitem__(self, name):
        self._record(name)
        return super().__getitem__(name)

    def get(self, name, default=None):
        self._record(name)
        return super().get(name, default)


def recording(cfg):
    """A frozen copy of ``cfg`` whose nodes record their reads."""
    cfg = cfg.clone()
    cfg.defrost()
    node = RecordingNode(cfg)

    def name_nodes(n, prefix):
        object.__setattr__(n, "_record_prefix", prefix)
        for key, value in dict.items(n):
            if isinstance(value, CfgNode):
                name_nodes(value, prefix + key + ".")

    name_nodes(node, "")
    node.freeze()
    return node


def leaf_keys(node, prefix=""):
    keys = set()
    for key, value in dict.items(node):
        keys |= leaf_keys(value, prefix + key + ".") if isinstance(value, CfgNode) else {prefix + key}
    return keys


def smoke(name, output_dir, *opts):
    cfg_file = os.path.join(ROOT, "configs", "smoke", f"{name}.yaml")
    return cfg_file, load_config(
        cfg_file, ["OUTPUT_DIR", str(output_dir), "MODEL.NUM_CLASSES", "4", "SOLVER.MAX_EPOCH", "1", *opts]
    )


@pytest.mark.slow
def test_every_default_key_is_read_by_some_code_path(tmp_path, monkeypatch):
    RecordingNode.reads.clear()
    # Naming the ignored PySlowFast keys reads them by design: let that read a plain copy.
    monkeypatch.setattr(run, "ignored_settings", lambda cfg: ignored_settings(CfgNode(cfg)))
    data = str(tmp_path / "synthetic")
    on_data = ["DATA.PATH_TO_DATA_DIR", data, "DATA.PATH_PREFIX", data]
    cfg_file, x3d = smoke(
        "X3D_M",
        tmp_path / "x3d",
        *on_data,
        "DATA.SYNTHETIC.ENABLE",
        "True",
        "DATA.SYNTHETIC.TRAIN_PER_CLASS",
        "4",
        "DATA.SYNTHETIC.VAL_PER_CLASS",
        "2",
        "DATA.SYNTHETIC.SECONDS",
        "1.2",
        "DATA_LOADER.NUM_WORKERS",
        "1",
        "TENSORBOARD.ENABLE",
        "True",
        "BENCHMARK.TARGET_TOP1",
        "0.01",
        "BENCHMARK.STOP_AT_TARGET",
        "True",
        "BENCHMARK.IMPLEMENTATION",
        "auto",
        "BENCHMARK.AUTO_BUDGET_S",
        "1",
        "BENCHMARK.AUTO_STEPS",
        "1",
    )
    launch_job(recording(x3d), DEFAULT_INIT_METHOD, benchmark_job, cfg_file)
    mvit_file, mvit = smoke("MVIT_B_16x4", tmp_path / "mvit", *on_data)
    launch_job(recording(mvit), DEFAULT_INIT_METHOD, benchmark_job, mvit_file)
    # A test-only job of the X3D run's weights (also checks that it runs and scores every test video).
    weights = ckpt.find_resume_checkpoint(str(tmp_path / "x3d"))
    _, test_only = smoke(
        "X3D_M", tmp_path / "test_only", *on_data, "TRAIN.ENABLE", "False", "TEST.CHECKPOINT_FILE_PATH", weights
    )
    launch_job(recording(test_only), DEFAULT_INIT_METHOD, benchmark_job, cfg_file)
    (scores,) = records_of(read_metrics(str(tmp_path / "test_only")), "test")
    assert scores["num_videos"] == 8 and 0.0 <= scores["top1"] <= 100.0
    # The config mode on a CUDA device reads the CUDA-only option too (no timing, nothing runs on the device).
    choose_implementation(recording(load_config(None, ["BENCHMARK.IMPLEMENTATION", "config"])), torch.device("cuda"))
    steps = load_config(
        None,
        [
            "SOLVER.LR_POLICY",
            "steps_with_relative_lrs",
            "SOLVER.STEPS",
            "[0, 5]",
            "SOLVER.LRS",
            "[1, 0.1]",
            "SOLVER.MAX_EPOCH",
            "10",
        ],
    )
    lr_landmarks(recording(steps))

    defaults = leaf_keys(get_cfg())
    unread = defaults - RecordingNode.reads - set(PYSLOWFAST_ONLY_KEYS)
    assert unread == set(), f"default keys that no code reads: {sorted(unread)}"
    misfiled = set(PYSLOWFAST_ONLY_KEYS) & RecordingNode.reads
    assert misfiled == set(), f"keys listed as PySlowFast-only but read: {sorted(misfiled)}"

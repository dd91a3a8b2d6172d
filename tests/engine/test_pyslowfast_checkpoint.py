"""GETTING_STARTED's command for testing a PySlowFast checkpoint, run on a file written in PySlowFast's format."""

import shutil

import torch
from tools_in_process import REPO, run_net

from slowfast.config import load_config
from slowfast.models import build_model
from slowfast.utils.metrics import read_metrics, records_of

SMOKE_X3D = f"{REPO}/configs/smoke/X3D_M.yaml"


def _write_pyslowfast_checkpoint(path, cfg, always_class):
    """What PySlowFast's checkpoint.save_checkpoint writes: model_state (DDP's module. prefix stripped), the SGD
    optimizer_state, the epoch and the config dumped as YAML text. The head always predicts ``always_class``."""
    model = build_model(cfg)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model([torch.randn(2, 3, cfg.DATA.NUM_FRAMES, 64, 64)]).sum().backward()
    optimizer.step()  # a momentum buffer per parameter, as in a trained run's file
    with torch.no_grad():
        model.head.projection.weight.zero_()
        model.head.projection.bias.copy_(10.0 * torch.nn.functional.one_hot(torch.tensor(always_class), 4))
    state = {
        "epoch": 300,
        "model_state": model.state_dict(),
        "optimizer_state": optimizer.state_dict(),
        "cfg": cfg.dump(),
    }
    torch.save(state, path)


def test_pyslowfast_checkpoint_is_tested_with_the_documented_command(capsys, tiny_kinetics, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tiny_kinetics, data)
    shutil.copy(data / "val.csv", data / "test.csv")
    (data / "train.csv").unlink()  # the test-only run reads test.csv alone
    (data / "val.csv").unlink()
    data_opts = ["DATA.PATH_TO_DATA_DIR", str(data), "DATA.PATH_PREFIX", str(data), "MODEL.NUM_CLASSES", "4"]
    cfg = load_config(SMOKE_X3D, data_opts)
    checkpoint = tmp_path / "x3d_m.pyth"
    _write_pyslowfast_checkpoint(checkpoint, cfg, always_class=2)
    # GETTING_STARTED.md: --cfg CONFIG TRAIN.ENABLE False TEST.CHECKPOINT_FILE_PATH FILE
    argv = ["--cfg", SMOKE_X3D, *data_opts, "TRAIN.ENABLE", "False", "TEST.CHECKPOINT_FILE_PATH", str(checkpoint)]
    assert run_net.main([*argv, "OUTPUT_DIR", str(tmp_path / "run"), "TEST.NUM_ENSEMBLE_VIEWS", "1"]) == 0
    (record,) = records_of(read_metrics(str(tmp_path / "run")), "test")
    labels = [int(line.split()[1]) for line in (data / "test.csv").read_text().splitlines()]
    # Every video predicted as class 2: top-1 is the share of class-2 videos, so the file's weights were used.
    assert record["num_videos"] == len(labels)
    assert record["top1"] == 100.0 * labels.count(2) / len(labels)
    with open(f"{REPO}/GETTING_STARTED.md") as f:
        assert "TRAIN.ENABLE False TEST.CHECKPOINT_FILE_PATH" in f.read()  # the command documented is this one

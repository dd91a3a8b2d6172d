"""Shared fixtures: a small synthetic Kinetics-format data set written once per test session."""

import os

import pytest

from slowfast.datasets.synthetic import make_synthetic_dataset

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def tiny_kinetics(tmp_path_factory):
    """4 classes x (6 train, 2 val) videos of 64x48 pixels, 2 s at 15 fps: real H.264 mp4 files."""
    out = tmp_path_factory.mktemp("tiny_kinetics")
    make_synthetic_dataset(str(out), 6, 2, 0, width=64, height=48, fps=15, seconds=2.0, gop=15, seed=0,
                           num_classes=4, progress=False)
    return str(out)


def smoke_opts(data_dir, output_dir, *extra):
    """Overrides pointing a configs/smoke config at ``data_dir`` and ``output_dir`` (4 classes)."""
    return ["DATA.PATH_TO_DATA_DIR", data_dir, "DATA.PATH_PREFIX", data_dir, "OUTPUT_DIR", str(output_dir),
            "MODEL.NUM_CLASSES", "4", *extra]

"""Shared fixtures: a small synthetic Kinetics-format data set written once per test session, smoke configs."""

import os

import pytest
import torch
from tiny_kinetics import write_tiny_kinetics

from slowfast.config import load_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def tiny_kinetics(tmp_path_factory):
    """The folder of ``TINY_KINETICS`` (tests/tiny_kinetics.py), written once per test session."""
    return write_tiny_kinetics(tmp_path_factory.mktemp("tiny_kinetics"))


@pytest.fixture(scope="session")
def smoke_config(tiny_kinetics):
    """``smoke_config(name, output_dir, *opts) -> (cfg_file, opts, cfg)`` for configs/smoke/<name>.yaml on the
    tiny data set (4 classes)."""

    def make(name, output_dir, *extra):
        cfg_file = os.path.join(ROOT, "configs", "smoke", f"{name}.yaml")
        opts = [
            "DATA.PATH_TO_DATA_DIR",
            tiny_kinetics,
            "DATA.PATH_PREFIX",
            tiny_kinetics,
            "OUTPUT_DIR",
            str(output_dir),
            "MODEL.NUM_CLASSES",
            "4",
            *extra,
        ]
        return cfg_file, opts, load_config(cfg_file, opts)

    return make


@pytest.fixture
def torchrun_env(monkeypatch):
    """``torchrun_env(rank, world_size)``: this process's environment as torchrun sets it for that rank."""

    def set_env(rank, world_size):
        values = {"RANK": rank, "WORLD_SIZE": world_size, "LOCAL_RANK": rank, "MASTER_ADDR": "localhost"}
        for name, value in values.items():
            monkeypatch.setenv(name, str(value))

    return set_env


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    """Tests that launch a job in this process set torch's thread count from the machine's load at that moment;
    the next tests get the count they started with back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


# The longest test files (each 20 s to 2 minutes with two pytest-xdist workers on 2 cores), longest first: they
# start before everything else and the short tests fill the gaps at the end (longest-first packing; without it one
# worker ran a long file alone for minutes at the end). test_compile takes ~15 s with torch's inductor cache warm and
# up to 2 minutes cold (a fresh machine), so it starts early too.
LONGEST_FILES = (
    "tests/engine/test_quickstart.py",
    "tests/models/test_compile.py",
    "tests/engine/test_cluster_run.py",
    "tests/engine/test_launch.py",
    "tests/suite/test_leaderboard.py",
    "tests/engine/test_resume_and_ddp.py",
    "tests/engine/test_peer_failure.py",
    "tests/suite/test_slurm.py",
)


def pytest_collection_modifyitems(config, items):
    """Run the longest files first, then the other slow tests, then the rest (pyproject.toml keeps pytest-xdist
    from reordering files)."""

    def start_order(item):
        path = item.nodeid.split("::")[0]
        if path in LONGEST_FILES:
            return (0, LONGEST_FILES.index(path))
        return (1 if item.get_closest_marker("slow") else 2, 0)

    items.sort(key=start_order)

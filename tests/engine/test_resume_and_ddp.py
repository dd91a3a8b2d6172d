"""Kill -9 and resume gives the uninterrupted result; 2-process DDP (torchrun, gloo) equals one process."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from slowfast.engine import launch
from slowfast.utils.metrics import read_metrics, records_of

pytestmark = pytest.mark.slow  # end-to-end runs

RUN_NET = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "tools", "run_net.py"
)
# MViT's recipe without its random batch-level parts (mixup draws per process, drop-path/dropout per sample
# position), so one process on the combined batch must give the same updates as two processes. SGD rather than
# AdamW: some parameters have a gradient that is zero in exact arithmetic (a key-norm bias shifts every key
# equally, which softmax ignores) and AdamW scales their rounding noise up to full-size steps.
NO_BATCH_RANDOMNESS = [
    "MIXUP.ENABLE",
    "False",
    "MODEL.LOSS_FUNC",
    "cross_entropy",
    "MVIT.DROPPATH_RATE",
    "0.0",
    "MODEL.DROPOUT_RATE",
    "0.0",
    "TEST.ENABLE",
    "False",
    "SOLVER.MAX_EPOCH",
    "2",
    "SOLVER.OPTIMIZING_METHOD",
    "sgd",
    "SOLVER.BASE_LR",
    "0.05",
]


def _command(cfg_file, opts, launcher=()):
    return [*launcher, RUN_NET, "--cfg", cfg_file, *opts]


def _final_state(output_dir, epoch):
    path = os.path.join(output_dir, "checkpoints", f"checkpoint_epoch_{epoch:05d}.pyth")
    return torch.load(path, weights_only=True)["model_state"]


# With a (persistent) loader worker, the resumed process starts its workers in a later epoch than the straight one.
@pytest.mark.parametrize("workers", [0, 1])
def test_kill_9_then_rerun_resumes_to_the_same_weights(smoke_config, tmp_path, workers):
    opts = ["LOG_PERIOD", "1", "TEST.ENABLE", "False", "DATA_LOADER.NUM_WORKERS", str(workers)]
    opts_for = lambda out: smoke_config("MVIT_B_16x4", out, *opts)[:2]  # noqa: E731
    cfg_file, straight_opts = opts_for(tmp_path / "straight")
    # Bit-equal weights need one thread count in every run: unset, the launcher takes the cores that are free at
    # its start, which a test running beside this one changes.
    env = dict(os.environ, OMP_NUM_THREADS="1")
    straight = subprocess.run(
        _command(cfg_file, straight_opts, [sys.executable]),
        check=True,
        timeout=300,
        capture_output=True,
        text=True,
        env=env,
    )
    # The launching process writes the report once the run's processes are done, and prints where it is.
    assert (tmp_path / "straight" / "report.html").is_file()
    assert "report with plots" in straight.stdout and "score: python tools/score.py" in straight.stdout

    _, killed_opts = opts_for(tmp_path / "killed")
    command = _command(cfg_file, killed_opts, [sys.executable])
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 300
    # Kill as soon as the second epoch is training: its first iteration is logged.
    # The run is still writing: a last line without its newline does not parse and is skipped.
    while not any(r["epoch"] == 1 for r in records_of(read_metrics(tmp_path / "killed"), "train_iter", "epoch")):
        assert process.poll() is None and time.time() < deadline, "run ended before it could be killed"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=60) == -signal.SIGKILL

    resumed = subprocess.run(command, check=True, timeout=300, capture_output=True, text=True, env=env)
    assert "resumed from" in resumed.stdout
    straight, killed = _final_state(tmp_path / "straight", 3), _final_state(tmp_path / "killed", 3)
    assert straight.keys() == killed.keys()
    for key in straight:
        assert torch.equal(straight[key], killed[key]), key


def test_two_process_ddp_equals_one_process_on_the_combined_batch(smoke_config, tmp_path):
    cfg_file, single_opts, _ = smoke_config("MVIT_B_16x4", tmp_path / "single", *NO_BATCH_RANDOMNESS)
    subprocess.run(_command(cfg_file, single_opts, [sys.executable]), check=True, timeout=300, capture_output=True)

    _, ddp_opts, _ = smoke_config("MVIT_B_16x4", tmp_path / "ddp", *NO_BATCH_RANDOMNESS)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
    torchrun += ["--master_port", str(launch.find_free_port())]  # a fixed port clashes with a suite run beside
    subprocess.run(_command(cfg_file, ddp_opts, torchrun), check=True, timeout=300, capture_output=True)

    with open(tmp_path / "ddp" / "log_rank1.txt") as f:
        assert "final weights identical on all 2 process(es)" in f.read()
    evals = records_of(read_metrics(tmp_path / "ddp", strict=True), "eval")
    assert [r["num_videos"] for r in evals] == [8, 8]  # each rank saw half; the counts were reduced
    single, ddp = _final_state(tmp_path / "single", 2), _final_state(tmp_path / "ddp", 2)
    for key in single:
        torch.testing.assert_close(ddp[key], single[key], rtol=1e-4, atol=1e-5, msg=key)

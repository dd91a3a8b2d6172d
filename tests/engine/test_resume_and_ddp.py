"""Kill -9 and an immediate rerun give the uninterrupted result; 2-process DDP (torchrun, gloo) equals one process."""

import contextlib
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
import torch
from tools_in_process import run_net

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


def _kill_in_second_epoch_and_rerun(command, out, env, workers):
    """Start ``command``, SIGKILL it once its second epoch trains (its first iteration is logged), rerun it at once.
    Its ``workers`` loader workers outlive it until they notice their parent is gone (up to seconds): they are
    stopped first, so the rerun meets them however long it takes to start (the OUTPUT_DIR lock must not refuse it).
    """
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 300
    # The run is still writing: a last line without its newline does not parse and is skipped.
    while not any(r["epoch"] == 1 for r in records_of(read_metrics(out), "train_iter", "epoch")):
        assert process.poll() is None and time.time() < deadline, "run ended before it could be killed"
        time.sleep(0.01)
    orphans = [child.pid for child in psutil.Process(process.pid).children()]  # its loader workers
    assert len(orphans) == workers, orphans
    try:
        for orphan in orphans:
            os.kill(orphan, signal.SIGSTOP)
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=60) == -signal.SIGKILL
        resumed = subprocess.run(command, timeout=300, capture_output=True, text=True, env=env)
    finally:
        for orphan in orphans:
            with contextlib.suppress(ProcessLookupError):
                os.kill(orphan, signal.SIGKILL)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from" in resumed.stdout


def test_kill_9_then_rerun_resumes_to_the_same_weights_with_or_without_loader_workers(smoke_config, tmp_path):
    """One straight run without loader workers; runs killed in their second epoch and rerun right away, without
    workers and with one (persistent) worker, whose resumed process starts its worker an epoch later than a straight
    run's, end with the straight run's weights, bit for bit."""

    def opts_for(out, workers):
        extra = ("LOG_PERIOD", "1", "TEST.ENABLE", "False", "DATA_LOADER.NUM_WORKERS", str(workers))
        return smoke_config("MVIT_B_16x4", out, *extra)[:2]

    cfg_file, straight_opts = opts_for(tmp_path / "straight", 0)
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
    expected = _final_state(tmp_path / "straight", 3)

    for workers in (0, 1):
        out = tmp_path / f"killed_{workers}_workers"
        _kill_in_second_epoch_and_rerun(
            _command(cfg_file, opts_for(out, workers)[1], [sys.executable]), out, env, workers
        )
        resumed = _final_state(out, 3)
        assert resumed.keys() == expected.keys()
        for key in expected:
            assert torch.equal(resumed[key], expected[key]), (workers, key)


def test_two_process_ddp_equals_one_process_on_the_combined_batch(smoke_config, tmp_path):
    cfg_file, single_opts, _ = smoke_config("MVIT_B_16x4", tmp_path / "single", *NO_BATCH_RANDOMNESS)
    assert run_net.main(["--cfg", cfg_file, *single_opts]) == 0  # in this process: one start-up less

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

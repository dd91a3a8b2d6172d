"""One run per OUTPUT_DIR: a second run is refused at once naming the holder; a killed run's lock is released (a rerun
right after kill -9 of a run whose loader worker lives on: tests/engine/test_resume_and_ddp.py)."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest
from tools_in_process import REPO, run_net

from slowfast.config import load_config
from slowfast.engine.run_lock import LOCK_FILENAME, OutputDirBusy, output_dir_lock, owns_output_dir, run_lock

DIST_JOB = os.path.join(REPO, "tests", "engine", "dist_job.py")
SMOKE_X3D = os.path.join(REPO, "configs", "smoke", "X3D_M.yaml")
# Holds the lock and forks a child (as a data-loader worker is forked) that outlives it; prints the child's pid.
HOLD_LOCK_AND_FORK = (
    "import os, sys, time; from slowfast.engine.run_lock import output_dir_lock\n"
    "with output_dir_lock(sys.argv[1]):\n"
    "    child = os.fork()\n"
    "    if child == 0:\n        time.sleep(600); os._exit(0)\n"
    "    print(child, flush=True); time.sleep(600)\n"
)
# Prints "free" when this process can take the lock, else the refusal.
TRY_LOCK = (
    "import sys; from slowfast.engine.run_lock import OutputDirBusy, output_dir_lock\n"
    "try:\n    with output_dir_lock(sys.argv[1]): print('free')\n"
    "except OutputDirBusy as busy:\n    print(busy)\n"
)


def _python(code, *args, **popen_args):
    return subprocess.Popen([sys.executable, "-c", code, *args], env=dict(os.environ, PYTHONPATH=REPO), **popen_args)


def _try_lock_in_another_process(output_dir):
    process = _python(TRY_LOCK, str(output_dir), stdout=subprocess.PIPE, text=True)
    return process.communicate(timeout=60)[0].strip()


def test_second_run_on_the_same_output_dir_is_refused_naming_host_pid_and_start(tmp_path):
    with output_dir_lock(str(tmp_path)):
        with pytest.raises(OutputDirBusy) as refused, output_dir_lock(str(tmp_path)):
            pass
        # The refused second try in this process left the lock held (a POSIX lock drops on any close).
        assert _try_lock_in_another_process(tmp_path) == str(refused.value)
    message = str(refused.value)
    assert (
        f"OUTPUT_DIR {tmp_path} is in use by another run (host {socket.gethostname()}, pid {os.getpid()}, "
        f"started {time.strftime('%Y-%m-%d')}" in message
    )
    assert message.endswith("wait for it to end, stop it, or pass another OUTPUT_DIR")
    with output_dir_lock(str(tmp_path)):  # released when the first run ended
        pass


def test_lock_of_a_killed_run_is_released_at_once_though_its_forked_child_lives_on(tmp_path):
    holder = _python(HOLD_LOCK_AND_FORK, str(tmp_path), stdout=subprocess.PIPE, text=True)
    child = int(holder.stdout.readline())
    try:
        with pytest.raises(OutputDirBusy, match=f"pid {holder.pid}"), output_dir_lock(str(tmp_path)):
            pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=60)
        os.kill(child, 0)  # the orphaned child is still alive (this raises if it is gone)
        with output_dir_lock(str(tmp_path)):  # no stale lock after kill -9
            assert (tmp_path / LOCK_FILENAME).exists()
    finally:
        holder.kill()
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
        holder.stdout.close()


def test_run_net_on_a_busy_output_dir_stops_before_logging_anything(capsys, tiny_kinetics, tmp_path):
    output_dir = tmp_path / "run"
    argv = [
        "--cfg",
        SMOKE_X3D,
        "DATA.PATH_TO_DATA_DIR",
        tiny_kinetics,
        "DATA.PATH_PREFIX",
        tiny_kinetics,
        "MODEL.NUM_CLASSES",
        "4",
        "OUTPUT_DIR",
        str(output_dir),
    ]
    with output_dir_lock(str(output_dir)):
        status = run_net.main(argv)
    lines = capsys.readouterr().err.splitlines()
    assert status == 1
    assert len(lines) == 1 and lines[0].startswith(f"error: OUTPUT_DIR {output_dir} is in use by another run (host ")
    assert sorted(os.listdir(output_dir)) == [LOCK_FILENAME]  # no mllog.txt, log.txt or config.yaml touched


def test_only_the_process_owning_output_dir_takes_the_lock(tmp_path, torchrun_env):
    cfg = load_config(None, ["OUTPUT_DIR", str(tmp_path), "NUM_SHARDS", "2"])
    assert owns_output_dir(cfg)
    other_machine = load_config(None, ["OUTPUT_DIR", str(tmp_path), "NUM_SHARDS", "2", "SHARD_ID", "1"])
    assert not owns_output_dir(other_machine)
    torchrun_env(1, 2)  # a torchrun worker other than rank 0
    assert not owns_output_dir(cfg)
    with output_dir_lock(str(tmp_path)), run_lock(cfg):  # so it never waits for, or refuses on, the owner's lock
        pass


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_kill_9_of_the_launcher_of_two_processes_leaves_the_lock_with_rank_0_until_it_ends(tmp_path):
    command = [sys.executable, DIST_JOB, "hold_lock", str(tmp_path), "NUM_GPUS", "0", "NUM_CPU_PROCESSES", "2"]
    launcher = subprocess.Popen(command, env=dict(os.environ, PYTHONPATH=REPO), stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"started{rank}").exists() for rank in range(2)):
        assert launcher.poll() is None and time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.1)
    children = psutil.Process(launcher.pid).children()
    try:
        holder = json.loads((tmp_path / LOCK_FILENAME).read_text())["pid"]
        # Rank 0 holds the lock, not the launcher: the lock lives as long as the process that writes the run.
        assert holder != launcher.pid and holder in [child.pid for child in children]
        launcher.send_signal(signal.SIGKILL)
        launcher.wait(timeout=60)
        # The orphaned workers end on their own (torch's spawn gave them SIGINT for their parent's death); the
        # lock is free once rank 0 has ended, and no orphan is left.
        _, alive = psutil.wait_procs(children, timeout=60)
        assert not alive, alive
        assert _try_lock_in_another_process(tmp_path) == "free"
    finally:
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()

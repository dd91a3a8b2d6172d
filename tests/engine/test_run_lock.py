"""One run per OUTPUT_DIR: a second run is refused at once naming the holder; a killed run's lock is released."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from run_net_tool import REPO, run_net

from slowfast.config import load_config
from slowfast.engine.run_lock import LOCK_FILENAME, OutputDirBusy, output_dir_lock, owns_output_dir, run_lock

SMOKE_X3D = os.path.join(REPO, "configs", "smoke", "X3D_M.yaml")
HOLD_LOCK = (
    "import sys, time; from slowfast.engine.run_lock import output_dir_lock\n"
    "with output_dir_lock(sys.argv[1]):\n    print('locked', flush=True); time.sleep(600)\n"
)


def test_second_run_on_the_same_output_dir_is_refused_naming_host_pid_and_start(tmp_path):
    with output_dir_lock(str(tmp_path)):
        with pytest.raises(OutputDirBusy) as refused, output_dir_lock(str(tmp_path)):
            pass
    message = str(refused.value)
    assert (
        f"OUTPUT_DIR {tmp_path} is in use by another run (host {socket.gethostname()}, pid {os.getpid()}, "
        f"started {time.strftime('%Y-%m-%d')}" in message
    )
    assert message.endswith("wait for it to end, stop it, or pass another OUTPUT_DIR")
    with output_dir_lock(str(tmp_path)):  # released when the first run ended
        pass


def test_lock_of_a_killed_run_is_released(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=REPO),
    )
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(OutputDirBusy, match=f"pid {holder.pid}"), output_dir_lock(str(tmp_path)):
        pass
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=60)
    with output_dir_lock(str(tmp_path)):  # no stale lock after kill -9
        assert (tmp_path / LOCK_FILENAME).exists()


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

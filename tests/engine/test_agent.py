"""The machine agent (slowfast/engine/agent.py): its short exit barrier, and what it prints."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from slowfast.engine import agent, launch

REPO = Path(__file__).resolve().parents[2]
# The other machine's agent, whose one worker never ends: it never reaches the exit barrier.
PEER_AGENT = (
    "import sys; from slowfast.engine.agent import run_agent\n"
    "run_agent(sys.executable, ['-c', 'import time; time.sleep(600)'], nnodes=2, nproc_per_node=1, "
    "rdzv_endpoint=sys.argv[1], rdzv_id='barrier', node_rank=1)\n"
)
BARRIER_S = 2.0
WRITE_END_TIME = "import sys, time; open(sys.argv[1], 'w').write(repr(time.time()))"


@pytest.mark.timeout(120)
def test_an_agent_whose_workers_succeeded_waits_exit_barrier_s_for_a_peer_that_never_arrives(
    monkeypatch, capfd, tmp_path
):
    monkeypatch.setattr(agent, "EXIT_BARRIER_S", BARRIER_S)
    endpoint = f"localhost:{launch.find_free_port()}"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    peer = subprocess.Popen([sys.executable, "-c", PEER_AGENT, endpoint], env=env, start_new_session=True)
    worker_end = tmp_path / "worker_end"
    handler_before = signal.getsignal(signal.SIGINT)
    try:
        # This machine's one worker writes the time it ends; its agent then waits in the exit barrier for the peer.
        status = agent.run_agent(
            sys.executable,
            ["-c", WRITE_END_TIME, str(worker_end)],
            nnodes=2,
            nproc_per_node=1,
            rdzv_endpoint=endpoint,
            rdzv_id="barrier",
            node_rank=0,
        )
        waited = time.time() - float(worker_end.read_text())
    finally:
        os.killpg(peer.pid, signal.SIGKILL)
        peer.wait()
    assert status == 0
    assert signal.getsignal(signal.SIGINT) is handler_before  # torch's agent replaced it while it ran
    # The barrier's time (the peer never came), far from torch's default of 300 s.
    assert BARRIER_S <= waited < BARRIER_S + 10, waited
    # torch's "Error waiting on exit barrier" and its traceback are not shown (c10d's C++ socket warnings are).
    stderr = capfd.readouterr().err
    assert "Traceback" not in stderr and "exit barrier" not in stderr, stderr

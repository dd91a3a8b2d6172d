"""Two ``run_net.py --nnodes 2`` "machines" on this host (gloo): a lost node ends the other within 60 s with one
error line, and rerunning both commands resumes from the checkpoint, with one shared OUTPUT_DIR (c10d rendezvous;
the node holding the rendezvous store dies) and with one OUTPUT_DIR per node (fixed ranks: --node-rank, torch's
static rendezvous; the node of rank 1 dies). Each scenario is one kill and one rerun: a run costs ~20 s of
process start-up, so the two losses are not each shown under both rendezvous.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_peer_failure import error_lines, kill_node, wait_for_port

from slowfast.engine import launch
from slowfast.utils.metrics import read_metrics, records_of

REPO = Path(__file__).resolve().parents[2]
HEARTBEAT_S = 6
END_WITHIN_S = 60


def run_net_node(port, cfg_file, opts, *node_rank):
    """One machine of a 2-machine run_net.py job, with run_net.py as the machine's agent."""
    # The host's name, as a real job's machines would give: run_net refuses a loopback endpoint for 2 machines.
    endpoint = f"{socket.gethostname()}:{port}"
    agent = ["--nnodes", "2", "--nproc-per-node", "1", "--rdzv-endpoint", endpoint, "--rdzv-id", str(port)]
    return [sys.executable, str(REPO / "tools" / "run_net.py"), *agent, *node_rank, "--cfg", cfg_file, *opts]


def start(command, cwd, **extra_env):
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR")}
    env.update(PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", **extra_env)
    return subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def wait_for_epoch(out, epoch, nodes, within_s=240):
    """Wait until the run logged its first train_iter of 0-based ``epoch``."""
    deadline = time.monotonic() + within_s
    while not any(r["epoch"] == epoch for r in records_of(read_metrics(str(out)), "train_iter", "epoch")):
        assert all(n.poll() is None for n in nodes) and time.monotonic() < deadline, "run ended before the kill"
        time.sleep(0.1)


def run_stops(out):
    return [line for line in (out / "mllog.txt").read_text().splitlines() if '"run_stop"' in line]


def smoke_opts(smoke_config, out):
    """The smoke MViT, every iteration logged (the kill waits for the first of epoch 1), no test, short heartbeats."""
    extra = ("LOG_PERIOD", "1", "TEST.ENABLE", "False", "DIST_HEARTBEAT_S", str(HEARTBEAT_S))
    return smoke_config("MVIT_B_16x4", out, *extra)[:2]


def lose_node(dead, survivor):
    """Kill ``dead`` as a machine dies; return the survivor's stderr once it ended (within END_WITHIN_S)."""
    kill_node(dead)
    killed_at = time.monotonic()
    _, stderr = survivor.communicate(timeout=END_WITHIN_S + 30)
    dead.communicate()
    assert time.monotonic() - killed_at < END_WITHIN_S
    assert survivor.returncode == 1
    assert "Traceback" not in stderr, stderr[-3000:]
    return stderr


def check_rerun_resumes(nodes, out):
    """The rerun's nodes end with 0 and the run's log (in ``out``) tells it resumed once, redoing one epoch."""
    results = [node.communicate(timeout=300) for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], [r[1][-2000:] for r in results]
    log = (out / "log.txt").read_text()
    assert "resumed from" in log
    assert "resumed            1 time(s) after interruptions; redone: 1 epoch(s)" in log  # the result block


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_losing_the_node_of_the_rendezvous_store_ends_the_other_with_one_line_and_a_rerun_resumes(
    smoke_config, tmp_path
):
    """One shared OUTPUT_DIR, c10d rendezvous: the node holding the rendezvous store (started first) dies; the
    survivor names the store; rerunning both commands resumes."""
    out = tmp_path / "run"
    cfg_file, opts = smoke_opts(smoke_config, out)
    port = launch.find_free_port()
    first = start(run_net_node(port, cfg_file, opts), tmp_path)
    wait_for_port(port)  # the first agent holds the rendezvous store
    second = start(run_net_node(port, cfg_file, opts), tmp_path)
    wait_for_epoch(out, 1, [first, second])
    [line] = error_lines(lose_node(first, second))
    assert f"lost or could not reach the rendezvous store at {socket.gethostname()}:{port}" in line, line

    port = launch.find_free_port()
    check_rerun_resumes([start(run_net_node(port, cfg_file, opts), tmp_path) for _ in range(2)], out)


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_one_output_dir_per_node_with_fixed_node_ranks_a_lost_rank_1_and_a_rerun_from_node_0s_checkpoint(
    smoke_config, tmp_path
):
    """Machines that share no disk: rank 0 (--node-rank 0) writes the run's logs and checkpoints to its OUTPUT_DIR,
    the other machine its own log. Node 1 (rank 1) dies: the survivor names it, logs an aborted run_stop, and a
    rerun resumes from node 0's checkpoint."""
    outs = [tmp_path / "node0", tmp_path / "node1"]
    configs = [smoke_opts(smoke_config, out) for out in outs]

    def start_nodes():
        port = launch.find_free_port()
        return [
            start(run_net_node(port, cfg, opts, "--node-rank", str(i)), tmp_path)
            for i, (cfg, opts) in enumerate(configs)
        ]

    nodes = start_nodes()
    wait_for_epoch(outs[0], 1, nodes)
    [line] = error_lines(lose_node(nodes[1], nodes[0]))
    assert f"rank 1 on host {socket.gethostname()} stopped answering (no heartbeat for {HEARTBEAT_S} s)" in line
    [stop] = run_stops(outs[0])
    assert '"status": "aborted"' in stop, stop

    check_rerun_resumes(start_nodes(), outs[0])
    assert (outs[1] / "log_rank1.txt").is_file() and not (outs[1] / "checkpoints").exists()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_two_srun_tasks_train_together_from_slurms_variables(smoke_config, tmp_path):
    """``srun --ntasks 2 python tools/run_net.py ...`` as srun starts it: SLURM's variables only, no torchrun's."""
    out = tmp_path / "run"
    cfg_file, opts, _ = smoke_config("MVIT_B_16x4", out, "TEST.ENABLE", "False", "SOLVER.MAX_EPOCH", "1")
    command = [sys.executable, str(REPO / "tools" / "run_net.py"), "--cfg", cfg_file, *opts]
    slurm = {"SLURM_JOB_ID": str(launch.find_free_port()), "SLURM_STEP_NUM_TASKS": "2"}
    slurm |= {"SLURM_STEP_TASKS_PER_NODE": "2", "SLURM_STEP_NODELIST": "localhost"}
    tasks = [start(command, tmp_path, **slurm, SLURM_PROCID=str(r), SLURM_LOCALID=str(r)) for r in range(2)]
    results = [task.communicate(timeout=240) for task in tasks]
    assert [task.returncode for task in tasks] == [0, 0], [r[1][-2000:] for r in results]
    assert "2 process(es)" in (out / "log.txt").read_text()
    assert (out / "log_rank1.txt").is_file()

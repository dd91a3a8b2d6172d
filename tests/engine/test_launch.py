"""The launcher on the CPU with gloo: local processes (started by torch's elastic agent), torchrun, a failing
worker, one process."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from slowfast.config import ConfigError, load_config
from slowfast.config.cli import DEFAULT_RDZV_ENDPOINT
from slowfast.engine import checkpoint as ckpt
from slowfast.engine import launch
from slowfast.utils import distributed as du
from slowfast.utils.machine_load import BUSY_CORES_ENV

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("dist_job.py")
CPU_2 = ["NUM_GPUS", "0", "NUM_CPU_PROCESSES", "2"]
# Hang protection only: a correct launcher finishes long before this.
HANG_GUARD_S = 240
TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR")


def run_script(command, tmp_path, omp_threads="1"):
    env = {k: v for k, v in os.environ.items() if k not in TORCHRUN_VARIABLES and k != "OMP_NUM_THREADS"}
    env["PYTHONPATH"] = str(REPO)
    if omp_threads is not None:
        env["OMP_NUM_THREADS"] = omp_threads
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S)


def torchrun_command(mode, tmp_path):
    """``torchrun --nproc_per_node 2`` running dist_job.py's ``mode`` on the CPU."""
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
    return [*torchrun, "--master_port", str(launch.find_free_port()), str(SCRIPT), mode, str(tmp_path), "NUM_GPUS", "0"]


def check_collectives(out_dir):
    records = [json.loads((out_dir / f"rank{r}.json").read_text()) for r in range(2)]
    for rank, record in enumerate(records):
        assert record["rank"] == rank and record["world_size"] == 2 and record["local_rank"] == rank
        assert record["is_main"] == (rank == 0)
        assert record["backend"] == "gloo"
        assert record["summed"] == [1.0 + 2.0, 0.0 + 10.0]
        assert record["numbers"] == [3.0, [1.0], 5.0]
        assert record["mean"] == [0.5, 4.0]
        assert record["gathered"] == [[0, 0], [1, 1], [1, 1]]
        assert record["objects"] == [{"rank": 0}, {"rank": 1}]
        assert record["broadcast"] == "from rank 0"


@pytest.fixture(scope="module")
def spawned_job(tmp_path_factory):
    """The folder of one job of two spawned CPU processes (dist_job.py "spawned"), OMP_NUM_THREADS unset on a
    machine taken as idle: their collectives, thread counts and the checkpoint each resumes from, for the tests
    below. Rank 0's OUTPUT_DIR holds the newest checkpoint (epoch 3); rank 1's holds a stale file of that name."""
    out = tmp_path_factory.mktemp("spawned")
    ckpt.save_checkpoint(str(out / "rank0" / "out"), 3, {"epoch": 3, "w": torch.tensor([3.0, 3.0])})
    ckpt.save_checkpoint(str(out / "rank1" / "out"), 3, {"epoch": 1, "w": torch.tensor([1.0, 1.0])})
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv(BUSY_CORES_ENV, "0")  # an idle machine, whatever else runs beside the test
        result = run_script([sys.executable, str(SCRIPT), "spawned", str(out), *CPU_2], out, omp_threads=None)
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.slow
@pytest.mark.timeout(HANG_GUARD_S + 30)
def test_two_spawned_cpu_processes_agree_on_collectives(spawned_job):
    check_collectives(spawned_job)


@pytest.mark.slow
@pytest.mark.timeout(HANG_GUARD_S + 30)
def test_two_processes_under_torchrun_agree_on_collectives(tmp_path):
    command = torchrun_command("collectives", tmp_path)
    result = run_script(command, tmp_path)
    assert result.returncode == 0, result.stderr
    check_collectives(tmp_path)


@pytest.mark.slow
@pytest.mark.timeout(HANG_GUARD_S + 30)
def test_every_rank_resumes_from_rank_zeros_checkpoint_when_output_dir_is_not_shared(spawned_job):
    for rank in range(2):
        record = json.loads((spawned_job / f"resume{rank}.json").read_text())
        assert record["epoch"] == 3 and record["weights"] == [3.0, 3.0], rank


@pytest.mark.slow
@pytest.mark.timeout(HANG_GUARD_S + 30)
def test_one_failing_spawned_process_ends_the_job_with_an_error(tmp_path):
    # The sibling sleeps 600 s: the job can only end before HANG_GUARD_S if the launcher stops it.
    result = run_script([sys.executable, str(SCRIPT), "one_fails", str(tmp_path), *CPU_2], tmp_path)
    assert result.returncode != 0
    assert "rank 1 fails on purpose" in result.stderr


@pytest.mark.slow
@pytest.mark.timeout(HANG_GUARD_S + 30)
def test_one_failing_process_under_torchrun_ends_the_job_with_an_error(tmp_path):
    command = torchrun_command("one_fails", tmp_path)
    result = run_script(command, tmp_path)
    assert result.returncode != 0
    assert "rank 1 fails on purpose" in result.stderr


@pytest.mark.slow
@pytest.mark.timeout(HANG_GUARD_S + 30)
def test_a_silent_peer_fails_the_job_through_the_process_group_timeout(tmp_path):
    # Rank 1 neither fails nor answers; only the 5 s process-group timeout can end rank 0's all_reduce. After that
    # communication error rank 0 gives its heartbeat watcher DIST_HEARTBEAT_S to find a dead peer (here there is
    # none: rank 1's watcher keeps beating), so a short heartbeat keeps the test from waiting the default 30 s.
    command = [sys.executable, str(SCRIPT), "peer_stuck", str(tmp_path), *CPU_2, "DIST_HEARTBEAT_S", "2"]
    result = run_script(command, tmp_path)
    assert result.returncode != 0
    assert "timed out" in result.stderr.lower() or "timeout" in result.stderr.lower(), result.stderr[-2000:]


def thread_counts(out_dir):
    return [json.loads((out_dir / f"threads{r}.json").read_text())["threads"] for r in range(2)]


@pytest.mark.slow
@pytest.mark.timeout(HANG_GUARD_S + 30)
def test_spawned_processes_share_the_cores_unless_omp_num_threads_is_set(spawned_job, tmp_path):
    assert thread_counts(spawned_job) == [max(1, launch.available_cores() // 2)] * 2
    result = run_script([sys.executable, str(SCRIPT), "threads", str(tmp_path), *CPU_2], tmp_path, omp_threads="3")
    assert result.returncode == 0, result.stderr
    assert thread_counts(tmp_path) == [3, 3]


def test_thread_setting_names_its_source(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "5")
    assert launch.cpu_thread_setting(4) == (5, "OMP_NUM_THREADS")
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(launch, "busy_cores", lambda: 0.0)
    threads, source = launch.cpu_thread_setting(2 * launch.available_cores())
    assert (threads, source) == (1, "free cores / local processes")
    assert launch.cpu_thread_setting(1)[0] == launch.available_cores()


def record_call(cfg, calls, extra):
    calls.append((du.get_world_size(), du.is_distributed(), extra))


def test_single_process_runs_in_place_without_torch_distributed(monkeypatch):
    for name in TORCHRUN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    cfg = load_config(None, ["NUM_GPUS", "0", "NUM_CPU_PROCESSES", "1"])
    calls = []
    launch.launch_job(cfg, launch.DEFAULT_INIT_METHOD, record_call, calls, "x")
    assert calls == [(1, False, "x")]


def test_gpus_without_cuda_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for name in TORCHRUN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    cfg = load_config(None, ["NUM_GPUS", "2"])
    with pytest.raises(RuntimeError, match=r"NUM_GPUS = 2.*NUM_GPUS 0"):
        launch.launch_job(cfg, launch.DEFAULT_INIT_METHOD, record_call, [], None)


def test_backend_auto_is_nccl_with_gpus_and_gloo_on_cpu():
    assert launch.resolve_backend(load_config(None, ["NUM_GPUS", "1"])) == "nccl"
    assert launch.resolve_backend(load_config(None, ["NUM_GPUS", "0"])) == "gloo"
    with pytest.raises(ConfigError, match="DIST_BACKEND"):  # refused when the config is loaded
        load_config(None, ["NUM_GPUS", "0", "DIST_BACKEND", "nccl"])


def test_default_port_on_one_machine_becomes_a_free_port():
    chosen = launch.resolve_init_method(launch.DEFAULT_INIT_METHOD, num_shards=1)
    host, port = chosen.rsplit(":", 1)
    assert host == "tcp://localhost" and int(port) > 0
    # Across machines every shard must agree on the address, so it is kept as given.
    assert launch.resolve_init_method("tcp://node0:9999", num_shards=2) == "tcp://node0:9999"
    assert launch.resolve_init_method("tcp://10.0.0.1:1234", num_shards=1) == "tcp://10.0.0.1:1234"


def test_helpers_are_identities_without_torch_distributed():
    tensor = torch.tensor([1.0, 2.0])
    assert du.get_world_size() == 1 and du.get_rank() == 0 and du.is_main_process()
    assert du.all_reduce_sum(tensor) is tensor and tensor.tolist() == [1.0, 2.0]
    assert du.all_reduce_sum([3, tensor]) == [3, tensor]
    assert du.all_reduce_mean(tensor) is tensor and tensor.tolist() == [1.0, 2.0]
    assert du.all_gather_tensors(tensor) is tensor
    assert du.all_gather_objects({"a": 1}) == [{"a": 1}]
    assert du.broadcast_object("x") == "x"
    du.synchronize()
    with pytest.raises(TypeError, match="floating-point"):
        du.all_reduce_mean(torch.tensor([1, 2]))


@pytest.mark.parametrize("init_method", [launch.DEFAULT_INIT_METHOD, "tcp://127.0.0.1:1234", "tcp://[::1]:1234"])
def test_several_machines_with_a_loopback_rendezvous_are_refused_at_once(init_method):
    with pytest.raises(ConfigError, match="cannot join NUM_SHARDS = 2 machines"):
        launch.resolve_init_method(init_method, num_shards=2)
    assert launch.resolve_init_method("tcp://10.1.2.3:9999", num_shards=2) == "tcp://10.1.2.3:9999"


def test_the_agents_default_endpoint_on_one_machine_becomes_a_free_port_and_loopback_cannot_join_machines():
    host, port = launch.resolve_rdzv_endpoint(DEFAULT_RDZV_ENDPOINT, nnodes=1).rsplit(":", 1)
    assert host == "localhost" and int(port) > 0 and int(port) != 29400
    assert launch.resolve_rdzv_endpoint("node0:29400", nnodes=2) == "node0:29400"
    for endpoint in (DEFAULT_RDZV_ENDPOINT, "127.0.0.1:29400", "[::1]:29400"):
        with pytest.raises(ConfigError, match=r"cannot join --nnodes 2 machines"):
            launch.resolve_rdzv_endpoint(endpoint, nnodes=2)


@pytest.mark.slow
@pytest.mark.timeout(HANG_GUARD_S + 30)
def test_a_killed_local_worker_ends_the_job_with_one_line_naming_its_rank_and_host(tmp_path):
    # Rank 1 kills itself (SIGKILL) after one all_reduce while rank 0 keeps reducing for 600 s.
    result = run_script([sys.executable, str(SCRIPT), "peer_dies", str(tmp_path), *CPU_2], tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        f"error: rank 1 on host {socket.gethostname()} died (SIGKILL); "
        "rerun the same command to resume from the last checkpoint"
    ], result.stderr


@pytest.mark.slow
@pytest.mark.timeout(HANG_GUARD_S + 30)
def test_two_machines_with_init_method_and_shard_id_rank_as_pyslowfast(tmp_path):
    # PySlowFast's multi-machine launch, both "machines" on this host (a loopback address is refused for it).
    init_method = f"tcp://{socket.gethostname()}:{launch.find_free_port()}"
    shards = [
        subprocess.Popen(
            [sys.executable, str(SCRIPT), "collectives", str(tmp_path), "--init_method", init_method, "NUM_GPUS", "0"]
            + ["NUM_SHARDS", "2", "SHARD_ID", str(i)],
            cwd=tmp_path,
            env={**{k: v for k, v in os.environ.items() if k not in TORCHRUN_VARIABLES}, "PYTHONPATH": str(REPO)},
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    stderrs = [shard.communicate(timeout=HANG_GUARD_S)[1] for shard in shards]
    assert [shard.returncode for shard in shards] == [0, 0], stderrs
    for rank in range(2):  # one process per machine: global rank SHARD_ID * 1 + 0
        record = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert (record["rank"], record["shard_id"], record["local_rank"], record["world_size"]) == (rank, rank, 0, 2)
        assert record["summed"] == [1.0 + 2.0, 0.0 + 10.0] and record["broadcast"] == "from rank 0"

"""srun's task variables become torchrun's, from a fake SLURM environment."""

import pytest

from slowfast.utils.slurm_env import adopt_srun_environment, first_host, rendezvous_port


@pytest.mark.parametrize(
    "nodelist, host",
    [("gpu07", "gpu07"), ("gpu[07-09,12]", "gpu07"), ("gpu[3,5-7],cpu1", "gpu3"), ("a-1,b-2", "a-1")],
)
def test_first_host_reads_slurm_node_lists(nodelist, host):
    assert first_host(nodelist) == host


def srun_task(procid, localid):
    """The environment srun gives task ``procid`` of a 2-node x 4-task step of job 4242."""
    return {
        "SLURM_JOB_ID": "4242",
        "SLURM_PROCID": str(procid),
        "SLURM_LOCALID": str(localid),
        "SLURM_STEP_NUM_TASKS": "8",
        "SLURM_STEP_TASKS_PER_NODE": "4(x2)",
        "SLURM_STEP_NODELIST": "node[11-12]",
        "SLURM_JOB_NODELIST": "node[10-12]",
    }


def test_an_srun_task_gets_torchruns_variables():
    env = srun_task(5, 1)
    assert adopt_srun_environment(env)
    assert {k: env[k] for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR")} == {
        "RANK": "5",
        "WORLD_SIZE": "8",
        "LOCAL_RANK": "1",
        "LOCAL_WORLD_SIZE": "4",
        "MASTER_ADDR": "node11",
    }
    assert env["MASTER_PORT"] == str(rendezvous_port(4242, 0)), "every task derives the port from the job and step"


def test_rendezvous_ports_stay_below_the_ephemeral_range_and_differ_between_a_jobs_steps():
    ports = [rendezvous_port(job, step) for job in range(0, 10**7, 997) for step in range(3)]
    assert 20000 <= min(ports) and max(ports) < 32768  # Linux's ephemeral ports start at 32768
    assert len({rendezvous_port(4242, step) for step in range(8)}) == 8
    first, second = srun_task(5, 1) | {"SLURM_STEP_ID": "0"}, srun_task(5, 1) | {"SLURM_STEP_ID": "1"}
    assert adopt_srun_environment(first) and adopt_srun_environment(second)
    assert first["MASTER_PORT"] != second["MASTER_PORT"]  # two srun steps of one allocation at once


def test_the_batch_script_a_single_task_and_torchrun_workers_are_left_alone():
    batch = {k: v for k, v in srun_task(0, 0).items() if not k.startswith("SLURM_STEP")}
    single = srun_task(0, 0) | {"SLURM_STEP_NUM_TASKS": "1"}
    under_torchrun = srun_task(0, 0) | {"RANK": "3"}
    for env in (batch, single, under_torchrun):
        before = dict(env)
        assert not adopt_srun_environment(env)
        assert env == before

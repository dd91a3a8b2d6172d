"""tools/submit.py: the checks before submitting, the sbatch parameters, and a job run by submitit's local executor,
preempted and requeued."""

import json
import os
import signal
import sys
import time

import psutil
import pytest

from slowfast.suite.slurm import (
    MAX_TIMEOUT_REQUEUES,
    SlurmResources,
    executor_parameters,
    make_executor,
    record_job_start,
)
from slowfast.utils.metrics import read_metrics, records_of

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import submit  # noqa: E402


def error_lines(text):
    return [line for line in text.splitlines() if line.startswith("error:")]


def test_too_few_cpus_per_task_for_the_loader_workers_is_one_error_line(smoke_config, tmp_path, capsys):
    cfg_file, opts, _ = smoke_config("X3D_M", tmp_path / "run", "DATA_LOADER.NUM_WORKERS", "8")
    assert submit.main(["--cpus-per-task", "8", "--gpus-per-node", "0", "--cfg", cfg_file, *opts]) == 1
    [line] = error_lines(capsys.readouterr().err)
    assert "--cpus-per-task 8 is too few for DATA_LOADER.NUM_WORKERS = 8" in line and "--cpus-per-task 9" in line


def test_cpus_per_task_defaults_to_the_runs_loader_workers_plus_one(smoke_config, tmp_path):
    cfg_file, opts, cfg = smoke_config("X3D_M", tmp_path / "run", "DATA_LOADER.NUM_WORKERS", "5")
    args = submit.build_parser().parse_args(["--cfg", cfg_file, *opts])
    assert submit.slurm_resources(args, cfg).cpus_per_task == 6
    args = submit.build_parser().parse_args(["--cpus-per-task", "12", "--cfg", cfg_file, *opts])
    assert submit.slurm_resources(args, cfg).cpus_per_task == 12


def test_a_batch_that_does_not_divide_among_all_the_jobs_processes_is_refused_before_the_queue(smoke_config, capsys):
    batches = ["TRAIN.BATCH_SIZE", "136", "TEST.BATCH_SIZE", "16"]  # 136 = 8 x 17, not 16 x n
    cfg_file, opts, _ = smoke_config("X3D_M", "/shared/run", *batches)
    assert submit.main(["--nodes", "2", "--gpus-per-node", "8", "--cfg", cfg_file, *opts]) == 1
    [line] = error_lines(capsys.readouterr().err)
    assert "TRAIN.BATCH_SIZE" in line and "a multiple of the number of processes (16)" in line, line


def test_a_relative_output_dir_is_one_error_line(smoke_config, capsys):
    cfg_file, opts, _ = smoke_config("X3D_M", "relative/run")
    assert submit.main(["--gpus-per-node", "0", "--cfg", cfg_file, *opts]) == 1
    [line] = error_lines(capsys.readouterr().err)
    assert "OUTPUT_DIR = 'relative/run' is relative" in line


def test_the_sbatch_parameters_follow_the_flags():
    resources = SlurmResources(
        nodes=2, gpus_per_node=8, cpus_per_task=10, time_min=90, partition="gpu", account="lab", sbatch={"qos": "hi"}
    )
    assert executor_parameters(resources, "vmb_x3d") == {
        "name": "vmb_x3d",
        "nodes": 2,
        "tasks_per_node": 8,
        "cpus_per_task": 10,
        "timeout_min": 90,
        "gpus_per_node": 8,
        "slurm_partition": "gpu",
        "slurm_account": "lab",
        "slurm_additional_parameters": {"qos": "hi"},
    }
    assert executor_parameters(SlurmResources(gpus_per_node=0), "cpu")["tasks_per_node"] == 1


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_job_preempted_mid_epoch_is_requeued_and_resumes_from_its_checkpoint(smoke_config, tmp_path, capsys):
    """submitit's local executor runs the job; SIGUSR2 (what SLURM sends before the time limit or on preemption,
    through submitit's --signal) in the middle of the second epoch makes submitit requeue it, and the requeued
    job resumes from the first epoch's checkpoint."""
    out = tmp_path / "run"
    cfg_file, opts, _ = smoke_config("X3D_M", out, "SOLVER.MAX_EPOCH", "2", "TEST.ENABLE", "False", "LOG_PERIOD", "1")
    argv = ["--cluster", "local", "--gpus-per-node", "0", "--cpus-per-task", "1", "--cfg", cfg_file, *opts]
    assert submit.main(argv) == 0
    [record] = json.loads((out / "slurm_jobs.json").read_text())
    assert f"submitted job {record['job_id']}" in capsys.readouterr().out

    def wait_for(condition, what):
        deadline = time.monotonic() + 240
        while not condition():
            assert time.monotonic() < deadline, f"{what}: " + open(record["stderr"]).read()[-3000:]
            time.sleep(0.2)

    wait_for(lambda: any(r["epoch"] == 1 for r in records_of(read_metrics(str(out)), "train_iter")), "no epoch 2")
    controller = psutil.Process(int(record["job_id"]))  # the local executor's job id is its controller's pid
    [task] = controller.children()
    task.send_signal(signal.SIGUSR2)
    controller.wait(timeout=240)  # the job ends once its requeued task has run the rest
    assert "Job completed successfully" in open(record["stdout"]).read()
    events = [json.loads(line.split(" ", 1)[1])["key"] for line in (out / "mllog.txt").read_text().splitlines()]
    assert [e for e in events if e in ("run_stop", "run_resume")] == ["run_stop", "run_resume", "run_stop"]
    log = (out / "log.txt").read_text()
    assert "resumed from" in log and "resumed            1 time(s) after interruptions" in log
    assert [r["epoch"] for r in records_of(read_metrics(str(out)), "train_epoch")] == [0, 1]


def test_the_executor_requeues_at_every_time_limit_not_submitits_three(tmp_path):
    executor = make_executor(str(tmp_path), "local")  # SLURM's executor takes the same slurm_ argument
    assert executor._executor.max_num_timeout == MAX_TIMEOUT_REQUEUES > 3


def test_task_0_of_a_job_records_its_nodes_and_requeues(tmp_path):
    env = {"SLURM_PROCID": "0", "SLURM_JOB_ID": "42", "SLURM_JOB_NODELIST": "gpu[1-2]", "SLURM_RESTART_COUNT": "1"}
    assert not record_job_start(str(tmp_path), env | {"SLURM_PROCID": "3"})
    assert record_job_start(str(tmp_path), env)
    assert json.loads((tmp_path / "slurm_jobs.json").read_text()) == [
        {"job_id": "42", "nodes": "gpu[1-2]", "restarts": 1}
    ]

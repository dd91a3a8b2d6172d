"""One benchmark run as one SLURM job across its nodes, submitted with submitit (tools/submit.py).

The job has one task per GPU (one per node on the CPU); every task runs tools/run_net.py's ``main`` in-process,
which reads SLURM's variables as torchrun's (slowfast/utils/slurm_env.py). In-process, not a subprocess: SLURM
signals every process of the step, and submitit's preemption signal (USR2) must reach the process that handles
it. On preemption or at the time limit submitit requeues the job (``RunNetTask`` is checkpointable), and the
requeued job resumes from OUTPUT_DIR's checkpoint (TRAIN.AUTO_RESUME), logged as a run_resume.
"""

import json
import os
import runpy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import submitit
from fvcore.common.config import CfgNode

from slowfast.config import ConfigError
from slowfast.utils.files import atomic_write_json
from slowfast.utils.slurm_env import adopt_srun_environment

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN_NET = os.path.join(REPO_ROOT, "tools", "run_net.py")
JOBS_FILENAME = "slurm_jobs.json"
# Requeues at the time limit before submitit gives up (its default, 3, ends a run longer than 4 x --time).
MAX_TIMEOUT_REQUEUES = 1000
LOGS_DIRNAME = "slurm"


@dataclass(frozen=True)
class SlurmResources:
    """What one run asks SLURM for (tools/submit.py's flags)."""

    nodes: int = 1
    gpus_per_node: int = 8
    cpus_per_task: int = 10
    time_min: int = 24 * 60
    partition: str | None = None
    account: str | None = None
    sbatch: dict[str, str] = field(default_factory=dict)  # further #SBATCH options, e.g. {"qos": "high"}

    @property
    def tasks_per_node(self) -> int:
        """One task per GPU, one per node on the CPU."""
        return max(1, self.gpus_per_node)


def check_submission(cfg: CfgNode, resources: SlurmResources) -> None:
    """Refuse a job that would crawl or fail on the nodes, before it waits in the queue.

    Args:
        cfg (CfgNode): the run's configuration.
        resources (SlurmResources): what the job asks for.
    Raises:
        ConfigError: too few CPUs per task for DATA_LOADER.NUM_WORKERS, or a relative data or output path.
    """
    needed = cfg.DATA_LOADER.NUM_WORKERS + 1
    if resources.cpus_per_task < needed:
        raise ConfigError(
            f"--cpus-per-task {resources.cpus_per_task} is too few for DATA_LOADER.NUM_WORKERS = "
            f"{cfg.DATA_LOADER.NUM_WORKERS} per GPU: each task needs its loader workers + 1 CPUs; pass "
            f"--cpus-per-task {needed} or more (or lower DATA_LOADER.NUM_WORKERS)"
        )
    for key in ("DATA.PATH_TO_DATA_DIR", "DATA.PATH_PREFIX", "OUTPUT_DIR"):
        value = cfg
        for part in key.split("."):
            value = value[part]
        if value and not os.path.isabs(value):
            raise ConfigError(
                f"{key} = {value!r} is relative: the job runs on other machines, in another folder; pass an "
                "absolute path on a disk every node sees"
            )


def executor_parameters(resources: SlurmResources, job_name: str) -> dict[str, Any]:
    """submitit's ``update_parameters`` for ``resources`` (the sbatch options it will write).

    Args:
        resources (SlurmResources): what the job asks for.
        job_name (str): the job's name in the queue.
    Returns:
        dict
    """
    parameters: dict[str, Any] = {
        "name": job_name,
        "nodes": resources.nodes,
        "tasks_per_node": resources.tasks_per_node,
        "cpus_per_task": resources.cpus_per_task,
        "timeout_min": resources.time_min,
        "slurm_additional_parameters": dict(resources.sbatch),
    }
    if resources.gpus_per_node:
        parameters["gpus_per_node"] = resources.gpus_per_node
    if resources.partition:
        parameters["slurm_partition"] = resources.partition
    if resources.account:
        parameters["slurm_account"] = resources.account
    return parameters


def append_job_record(output_dir: str, record: dict[str, Any]) -> None:
    """Add ``record`` to OUTPUT_DIR/slurm_jobs.json (a list: submissions, and each start of a job on its nodes)."""
    path = os.path.join(output_dir, JOBS_FILENAME)
    history = []
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            history = json.load(f)
    atomic_write_json(path, [*history, record])


def record_job_start(output_dir: str, env: Mapping[str, str]) -> bool:
    """In task 0 of a SLURM job, record the job id, its nodes and how often it was requeued.

    Args:
        output_dir (str): the run's OUTPUT_DIR.
        env (mapping): the task's environment.
    Returns:
        bool: True when a record was written (task 0 of a SLURM job).
    """
    if env.get("SLURM_PROCID") != "0" or "SLURM_JOB_NODELIST" not in env:
        return False
    started = {"job_id": env.get("SLURM_JOB_ID", ""), "nodes": env["SLURM_JOB_NODELIST"]}
    append_job_record(output_dir, started | {"restarts": int(env.get("SLURM_RESTART_COUNT", "0"))})
    return True


class RunNetTask(submitit.helpers.Checkpointable):
    """Each task of the job: tools/run_net.py with ``argv``; requeued as it is on preemption or time-out.

    Args:
        argv (sequence of str): run_net.py's arguments (``--cfg FILE KEY VALUE ...``).
        output_dir (str): the run's OUTPUT_DIR, where task 0 records the job's nodes.
    """

    def __init__(self, argv: Sequence[str], output_dir: str):
        self.argv, self.output_dir = list(argv), output_dir

    def __call__(self) -> int:
        record_job_start(self.output_dir, os.environ)
        adopt_srun_environment()
        status = runpy.run_path(RUN_NET, run_name="slowfast_slurm_task")["main"](self.argv)
        if status:
            raise SystemExit(status)  # submitit marks the task failed; the run printed its one line
        return 0


def make_executor(folder: str, cluster: str | None) -> submitit.AutoExecutor:
    """submitit's executor writing its files into ``folder``, requeueing a run at every time limit."""
    requeues = {f"{name}_max_num_timeout": MAX_TIMEOUT_REQUEUES for name in ("slurm", "local")}
    return submitit.AutoExecutor(folder=folder, cluster=cluster, **requeues)


def submit_run(
    argv: Sequence[str], cfg: CfgNode, resources: SlurmResources, *, cluster: str | None = None
) -> dict[str, Any]:
    """Submit one run (``run_net.py argv``) as one job; record it in OUTPUT_DIR/slurm_jobs.json.

    Args:
        argv (sequence of str): run_net.py's arguments.
        cfg (CfgNode): the run's configuration (OUTPUT_DIR, the model's name for the job's).
        resources (SlurmResources): what the job asks for.
        cluster (str or None): submitit's cluster: None picks SLURM when sbatch is here; "local" in tests.
    Returns:
        dict: the job's record: job_id, logs (stdout, stderr of task 0), folder. Task 0 adds the nodes when the
        job starts (``record_job_start``).
    """
    folder = os.path.join(cfg.OUTPUT_DIR, LOGS_DIRNAME)
    executor = make_executor(folder, cluster)
    job_name = f"vmb_{os.path.basename(os.path.normpath(cfg.OUTPUT_DIR))}"
    executor.update_parameters(**executor_parameters(resources, job_name))
    job = executor.submit(RunNetTask(argv, cfg.OUTPUT_DIR))
    record = {"job_id": str(job.job_id), "stdout": str(job.paths.stdout), "stderr": str(job.paths.stderr)}
    record["folder"] = folder
    append_job_record(cfg.OUTPUT_DIR, record)
    return record

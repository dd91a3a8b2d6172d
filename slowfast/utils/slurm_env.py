"""SLURM's task environment as torchrun's: ``srun python tools/run_net.py ...`` (one task per GPU) runs like torchrun.

srun starts every task itself and sets SLURM_PROCID (global rank), SLURM_STEP_NUM_TASKS (processes in the step),
SLURM_LOCALID (rank on the node), SLURM_STEP_TASKS_PER_NODE, SLURM_STEP_NODELIST and SLURM_JOB_ID; the launcher
reads torchrun's RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT, which this module
sets from them. The rendezvous host is the step's first node; the port comes from the job and step ids, so every
task of a step picks the same one without talking, and two steps of one job running at once pick different ones.
No torch needed.
"""

import os
import re
from collections.abc import Mapping, MutableMapping

# Ports 20000..32767: above the usual services, below Linux's ephemeral range (32768..60999 by default), so no
# outgoing connection on the first node holds the port already.
_PORT_BASE, _PORT_SPAN = 20000, 32768 - 20000
_STEPS_PER_JOB = 64  # steps of one job running at once that get distinct ports


def rendezvous_port(job_id: int, step_id: int) -> int:
    """The port of an srun step's rendezvous, the same in all its tasks."""
    return _PORT_BASE + (job_id * _STEPS_PER_JOB + step_id % _STEPS_PER_JOB) % _PORT_SPAN


def first_host(nodelist: str) -> str:
    """The first host of a SLURM node list ("gpu[07-09,12],cpu1" -> "gpu07"), as ``scontrol show hostnames``.

    Args:
        nodelist (str): SLURM's compressed node list.
    Returns:
        str
    """
    match = re.match(r"([^,\[]+)(?:\[([^\]]+)\])?", nodelist.strip())
    if match is None:
        raise ValueError(f"cannot read the SLURM node list {nodelist!r}")
    prefix, ranges = match.group(1), match.group(2)
    return prefix if ranges is None else prefix + re.split(r"[-,]", ranges)[0]


def launched_by_srun(env: Mapping[str, str]) -> bool:
    """True in a task of a multi-task srun step (not in the batch script itself, not under torchrun)."""
    tasks = env.get("SLURM_STEP_NUM_TASKS", "")
    return "SLURM_PROCID" in env and tasks.isdigit() and int(tasks) > 1 and "RANK" not in env


def torchrun_variables(env: Mapping[str, str]) -> dict[str, str]:
    """torchrun's variables for this srun task, read from SLURM's.

    Args:
        env (mapping): the task's environment (``launched_by_srun(env)``).
    Returns:
        dict: RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT (a MASTER_PORT already
        set is kept).
    """
    # SLURM_STEP_TASKS_PER_NODE reads "4(x2)" or "4,3": the first node's count is this layout's tasks per node.
    per_node = re.match(r"\d+", env.get("SLURM_STEP_TASKS_PER_NODE", "1"))
    job, step = int(env.get("SLURM_JOB_ID", "0")), int(env.get("SLURM_STEP_ID", "0"))
    port = env.get("MASTER_PORT") or str(rendezvous_port(job, step))
    return {
        "RANK": env["SLURM_PROCID"],
        "WORLD_SIZE": env["SLURM_STEP_NUM_TASKS"],
        "LOCAL_RANK": env.get("SLURM_LOCALID", "0"),
        "LOCAL_WORLD_SIZE": per_node.group(0) if per_node else "1",
        "MASTER_ADDR": first_host(env.get("SLURM_STEP_NODELIST") or env["SLURM_JOB_NODELIST"]),
        "MASTER_PORT": port,
    }


def adopt_srun_environment(env: MutableMapping[str, str] = os.environ) -> bool:
    """In an srun task, set torchrun's variables from SLURM's (see the module docstring).

    Args:
        env (mutable mapping): the environment to read and update (this process's by default).
    Returns:
        bool: True when this process is an srun task and the variables were set.
    """
    if not launched_by_srun(env):
        return False
    env.update(torchrun_variables(env))
    return True

#!/usr/bin/env python3
"""Submit a benchmark run to SLURM (submitit): one job across its nodes, one task per GPU, requeued on preemption.

python tools/submit.py --nodes 2 --gpus-per-node 8 --partition gpu --time 720 --cfg configs/X3D_M.yaml \\
    TRAIN.BATCH_SIZE 256 TEST.BATCH_SIZE 256 DATA_LOADER.NUM_WORKERS 9 \\
    DATA.PATH_TO_DATA_DIR /data/k20 DATA.PATH_PREFIX /data/k20 OUTPUT_DIR /shared/out/x3d

Prints the job id and log paths and adds them to OUTPUT_DIR/slurm_jobs.json. OUTPUT_DIR and the data paths must be
absolute (the job runs elsewhere); --cpus-per-task must cover DATA_LOADER.NUM_WORKERS + 1 (its default). The global
batch keeps the reference's videos per GPU (16 x 16 GPUs for X3D-M: tools/recipe.py prints it).
"""

import argparse
import os
import sys

# Lets the tool run from a plain checkout, and a checkout's tool use that checkout's package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from fvcore.common.config import CfgNode

from slowfast.config import load_config
from slowfast.config.cli import ToolParser, run_tool
from slowfast.utils.errors import UserError

try:
    from slowfast.suite.slurm import SlurmResources, check_submission, submit_run
except ModuleNotFoundError as err:  # submitit is the optional [slurm] extra
    MISSING = f"{err.name} is not installed: pip install -e '.[slurm]'"
else:
    MISSING = ""


def build_parser() -> ToolParser:
    parser = ToolParser(__doc__)
    parser.add_argument("--nodes", type=int, default=1, help="machines of the job")
    parser.add_argument("--gpus-per-node", type=int, default=8, help="GPUs (= tasks) per node; 0: CPU, one task")
    parser.add_argument(
        "--cpus-per-task", type=int, default=None, help="CPUs per task (default: DATA_LOADER.NUM_WORKERS + 1)"
    )
    parser.add_argument("--partition", default=None, help="SLURM partition")
    parser.add_argument("--time", type=int, default=24 * 60, help="time limit in minutes")
    parser.add_argument("--account", default=None, help="SLURM account")
    parser.add_argument("--sbatch", action="append", default=[], metavar="KEY=VALUE", help="further sbatch option")
    parser.add_argument("--cluster", default=None, help=argparse.SUPPRESS)  # submitit's "local" for tests
    parser.add_argument("--cfg", dest="cfg_file", required=True, help="path to the YAML config file")
    parser.add_argument("opts", nargs=argparse.REMAINDER, default=[], help="KEY VALUE overrides")
    return parser


def sbatch_options(pairs: list[str]) -> dict[str, str]:
    """``["qos=high", "exclusive="]`` -> ``{"qos": "high", "exclusive": ""}``."""
    if bad := [pair for pair in pairs if "=" not in pair]:
        raise UserError(f"--sbatch {bad[0]}: write KEY=VALUE, e.g. --sbatch qos=high")
    return dict(pair.split("=", 1) for pair in pairs)


def slurm_resources(args: argparse.Namespace, cfg: CfgNode) -> "SlurmResources":
    """What the job asks SLURM for: the flags, with --cpus-per-task defaulting to the run's loader workers + 1."""
    cpus_per_task = cfg.DATA_LOADER.NUM_WORKERS + 1 if args.cpus_per_task is None else args.cpus_per_task
    return SlurmResources(
        nodes=args.nodes,
        gpus_per_node=args.gpus_per_node,
        cpus_per_task=cpus_per_task,
        time_min=args.time,
        partition=args.partition,
        account=args.account,
        sbatch=sbatch_options(args.sbatch),
    )


def submit(args: argparse.Namespace) -> None:
    if MISSING:
        raise UserError(MISSING)
    argv = ["--cfg", args.cfg_file, *args.opts, "NUM_GPUS", str(args.gpus_per_node)]
    # Checked for the job's processes on all its nodes (batches must divide among them), before the queue.
    cfg = load_config(args.cfg_file, argv[2:], world_size=args.nodes * max(1, args.gpus_per_node))
    resources = slurm_resources(args, cfg)
    check_submission(cfg, resources)
    record = submit_run(argv, cfg, resources, cluster=args.cluster)
    print(
        f"submitted job {record['job_id']} ({args.nodes} node(s) x {resources.tasks_per_node} task(s) x "
        f"{resources.cpus_per_task} CPU(s))"
    )
    print(f"  logs   {record['stdout']}\n         {record['stderr']}")
    print(f"  record {os.path.join(cfg.OUTPUT_DIR, 'slurm_jobs.json')}")


def main(argv: list[str] | None = None) -> int:
    return run_tool(build_parser(), submit, argv)


if __name__ == "__main__":
    sys.exit(main())

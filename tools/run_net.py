#!/usr/bin/env python3
"""Train, evaluate every epoch, test, and score a video model: the benchmark's entry point.

python tools/run_net.py --cfg configs/X3D_M.yaml NUM_GPUS 4
python tools/run_net.py --cfg configs/quickstart/X3D_M.yaml          # CPU quick-start, synthetic data
python tools/run_net.py --nnodes 2 --nproc-per-node 8 --rdzv-endpoint HOST:PORT --cfg ...  # on each machine
srun --ntasks-per-node 8 python tools/run_net.py --cfg ... NUM_GPUS 8  # SLURM: one task per GPU
python tools/run_net.py --nnodes 2 --node-rank 0 ... # fixed machine ranks: needed with one OUTPUT_DIR per machine
"""

import os
import sys

# Lets the tool run from a plain checkout, and a checkout's tool use that checkout's package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.config import load_config
from slowfast.config.cli import build_parser, run_tool, worker_argv
from slowfast.engine.run_lock import check_output_dir_free, owns_output_dir
from slowfast.utils.machine_load import busy_machine_warning
from slowfast.utils.slurm_env import adopt_srun_environment


def run(args):
    """Build the configuration, check data, devices and OUTPUT_DIR (free of another run), warn about a busy machine,
    launch the processes (global rank 0 locks OUTPUT_DIR); the process owning OUTPUT_DIR writes the report of a
    training run."""
    cfg = load_config(args.cfg_file, args.opts, num_shards=args.num_shards, shard_id=args.shard_id)
    # torch comes with these: after the config, so that a mistake in it is reported at once.
    from slowfast.datasets.decoder import check_backend
    from slowfast.engine.launch import launch_job
    from slowfast.engine.preflight import check_before_run
    from slowfast.engine.run import benchmark_job
    from slowfast.suite.report import finish_run_report

    check_backend(cfg.DATA.DECODING_BACKEND, cfg.DATA.DECODING_DEVICE)
    check_before_run(cfg)
    check_output_dir_free(cfg)
    warning = busy_machine_warning()
    if warning:
        print(warning, file=sys.stderr, flush=True)
    launch_job(cfg, args.init_method, benchmark_job, args.cfg_file)
    if cfg.TRAIN.ENABLE and owns_output_dir(cfg):
        print(finish_run_report(cfg.OUTPUT_DIR), flush=True)


def main(argv=None):
    """Run the benchmark; return the exit status (1: a user error, printed as one line; 130: Ctrl-C)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    return run_tool(build_parser(__doc__), lambda args: run_or_start_agent(args, argv), argv)


def run_or_start_agent(args, argv):
    """With --nnodes this process is the machine's elastic agent and its workers run this script; else run (as
    a torchrun worker in a task of ``srun``)."""
    if args.nnodes is None:
        adopt_srun_environment()
        return run(args)
    from slowfast.engine.agent import run_agent
    from slowfast.engine.launch import resolve_rdzv_endpoint

    endpoint = resolve_rdzv_endpoint(args.rdzv_endpoint, args.nnodes)
    agent = {"nproc_per_node": args.nproc_per_node, "rdzv_endpoint": endpoint, "rdzv_id": args.rdzv_id}
    agent["node_rank"] = args.node_rank
    return run_agent(sys.executable, [__file__, *worker_argv(argv)], nnodes=args.nnodes, **agent)


if __name__ == "__main__":
    sys.exit(main())

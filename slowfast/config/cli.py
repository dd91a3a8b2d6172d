"""Command line shared by the tools: ``--cfg FILE [KEY VALUE ...]`` as PySlowFast users type it."""

import argparse
from collections.abc import Sequence

# The default rendezvous; on one machine the launcher replaces its port by a free one so that two jobs on the
# same host do not collide.
DEFAULT_INIT_METHOD = "tcp://localhost:9999"
AGENT_FLAGS = ("--nnodes", "--nproc-per-node", "--rdzv-endpoint", "--rdzv-id")


def build_parser(description: str) -> argparse.ArgumentParser:
    """Return an ArgumentParser with ``--cfg``, positional or ``--opts`` overrides and multi-node flags."""
    parser = argparse.ArgumentParser(
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "Overrides are KEY VALUE pairs of slowfast/config/defaults.py, e.g.\n"
            "  python tools/run_net.py --cfg configs/X3D_M.yaml NUM_GPUS 4 DATA_LOADER.NUM_WORKERS 16\n"
            "  python tools/run_net.py --cfg configs/X3D_M.yaml --opts NUM_GPUS 4\n"
            "Multi-node: run the same command on every machine with --init_method tcp://HOST:PORT\n"
            "--num_shards M and --shard_id 0..M-1. Under torchrun, RANK/WORLD_SIZE/LOCAL_RANK are used."
        ),
    )
    parser.add_argument("--cfg", dest="cfg_file", required=True, help="path to the YAML config file")
    parser.add_argument(
        "--init_method",
        default=DEFAULT_INIT_METHOD,
        help="torch.distributed rendezvous for multi-node jobs (default: %(default)s)",
    )
    parser.add_argument("--num_shards", type=int, default=None, help="number of machines (NUM_SHARDS)")
    parser.add_argument("--shard_id", type=int, default=None, help="index of this machine (SHARD_ID)")
    agent = parser.add_argument_group(
        "machine agent (torchrun's flags: this process becomes the machine's elastic agent, c10d rendezvous)"
    )
    agent.add_argument("--nnodes", type=int, default=None, help="machines in the job")
    agent.add_argument("--nproc-per-node", type=int, default=1, help="workers on this machine (one per GPU)")
    agent.add_argument("--rdzv-endpoint", default="localhost:29400", help="HOST:PORT of the rendezvous")
    agent.add_argument("--rdzv-id", default="slowfast", help="the job's id, the same on every machine")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of a user error (config, path, device, data) too"
    )
    parser.add_argument(
        "--opts",
        dest="flag_opts",
        nargs=argparse.REMAINDER,
        default=[],
        help="KEY VALUE overrides (same as giving them positionally)",
    )
    parser.add_argument("opts", nargs=argparse.REMAINDER, default=[], help="KEY VALUE overrides")
    return parser


def worker_argv(argv: Sequence[str]) -> list[str]:
    """``argv`` without the machine-agent flags: the command line of the agent's workers."""
    workers, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg.split("=", 1)[0] in AGENT_FLAGS:
            skip = "=" not in arg
        else:
            workers.append(arg)
    return workers


def parse_args(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line; ``args.opts`` holds positional and ``--opts`` overrides together."""
    args = build_parser(description).parse_args(argv)
    args.opts = list(args.opts or []) + list(args.flag_opts or [])
    return args

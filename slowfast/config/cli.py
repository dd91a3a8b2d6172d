"""The command line of the tools: one parser class, ``--cfg FILE [KEY VALUE ...]`` as PySlowFast users type it,
and ``run_tool``, the one way a tool's ``main`` parses, works and reports a mistake.

Every tool in tools/ ends ``sys.exit(main())`` with ``main`` returning ``run_tool(parser, work, argv)``. A user
mistake (a wrong invocation, or a ``UserError`` such as a missing config file) prints one ``error: ...`` line
and no traceback, and the tool exits with ``USER_ERROR_EXIT`` (1); ``--debug`` shows the traceback of a
``UserError`` too; Ctrl-C exits with ``INTERRUPTED_EXIT`` (130). Anything else is a bug and keeps its traceback.
A tool imports torch-heavy modules inside its work, after the cheap checks of its arguments (config file,
folders), so that a mistake is reported in a fraction of a second (tests/tools/test_tool_errors.py).
"""

import argparse
from collections.abc import Callable, Sequence
from typing import NoReturn

from slowfast.utils.errors import UserError, report_user_error, run_reporting_errors

# The default rendezvous; on one machine the launcher replaces its port by a free one so that two jobs on the
# same host do not collide.
DEFAULT_INIT_METHOD = "tcp://localhost:9999"
DEFAULT_RDZV_ENDPOINT = "localhost:29400"
AGENT_FLAGS = ("--nnodes", "--nproc-per-node", "--rdzv-endpoint", "--rdzv-id", "--node-rank")


class ToolParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors raise ``UserError`` (one ``error:`` line, exit status 1) instead of
    printing the usage and exiting with 2; it shows the description verbatim and has ``--debug``."""

    def __init__(self, description: str, epilog: str | None = None):
        super().__init__(description=description, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
        self.add_argument(
            "--debug", action="store_true", help="show the traceback of a user error (config, path, device, data) too"
        )

    def error(self, message: str) -> NoReturn:
        raise UserError(f"{message} (see {self.prog} --help)")


class _ConfigToolParser(ToolParser):
    """``ToolParser`` with ``--cfg``, positional or ``--opts`` overrides and the multi-node flags; ``args.opts``
    holds the positional and the ``--opts`` overrides together."""

    def __init__(self, description: str):
        super().__init__(
            description,
            epilog=(
                "Overrides are KEY VALUE pairs of slowfast/config/defaults.py, e.g.\n"
                "  python tools/run_net.py --cfg configs/X3D_M.yaml NUM_GPUS 4 DATA_LOADER.NUM_WORKERS 16\n"
                "  python tools/run_net.py --cfg configs/X3D_M.yaml --opts NUM_GPUS 4\n"
                "Multi-node: run the same command on every machine with --init_method tcp://HOST:PORT\n"
                "--num_shards M and --shard_id 0..M-1. Under torchrun, RANK/WORLD_SIZE/LOCAL_RANK are used."
            ),
        )
        self.add_argument("--cfg", dest="cfg_file", required=True, help="path to the YAML config file")
        self.add_argument(
            "--init_method",
            default=DEFAULT_INIT_METHOD,
            help="torch.distributed rendezvous for multi-node jobs (default: %(default)s)",
        )
        self.add_argument("--num_shards", type=int, default=None, help="number of machines (NUM_SHARDS)")
        self.add_argument("--shard_id", type=int, default=None, help="index of this machine (SHARD_ID)")
        agent = self.add_argument_group(
            "machine agent (torchrun's flags: this process becomes the machine's elastic agent, c10d rendezvous)"
        )
        agent.add_argument("--nnodes", type=int, default=None, help="machines in the job")
        agent.add_argument("--nproc-per-node", type=int, default=1, help="workers on this machine (one per GPU)")
        agent.add_argument(
            "--rdzv-endpoint",
            default=DEFAULT_RDZV_ENDPOINT,
            help="HOST:PORT of the rendezvous, the same on every machine (default with --nnodes 1: a free port)",
        )
        agent.add_argument("--rdzv-id", default="slowfast", help="the job's id, the same on every machine")
        agent.add_argument(
            "--node-rank",
            type=int,
            default=None,
            help="this machine's fixed rank, 0 on the machine at --rdzv-endpoint (torch's static rendezvous); "
            "without it c10d numbers the machines, which may change between reruns",
        )
        self.add_argument(
            "--opts",
            dest="flag_opts",
            nargs=argparse.REMAINDER,
            default=[],
            help="KEY VALUE overrides (same as giving them positionally)",
        )
        self.add_argument("opts", nargs=argparse.REMAINDER, default=[], help="KEY VALUE overrides")

    # parse_args goes through here; typeshed's overloads of it cannot be restated in one override.
    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        parsed.opts = list(parsed.opts or []) + list(parsed.flag_opts or [])
        return parsed, extras


def build_parser(description: str) -> ToolParser:
    """Return the parser of run_net and selfcheck: ``--cfg``, overrides, multi-node flags and ``--debug``."""
    return _ConfigToolParser(description)


def run_tool(
    parser: ToolParser, work: Callable[[argparse.Namespace], object], argv: Sequence[str] | None = None
) -> int:
    """Parse ``argv`` with ``parser`` and call ``work(args)``; report a user mistake as one line.

    Args:
        parser (ToolParser): the tool's command line.
        work (callable): the tool's work, given the parsed arguments; an int it returns is the exit status.
        argv (list of str or None): the arguments (default: ``sys.argv[1:]``).
    Returns:
        int: the exit status: ``work``'s integer result or 0, ``USER_ERROR_EXIT`` after an ``error:`` line (a
        wrong invocation or a ``UserError``), ``INTERRUPTED_EXIT`` after Ctrl-C.
    """
    try:
        args = parser.parse_args(argv)
    except UserError as err:
        return report_user_error(err)
    return run_reporting_errors(lambda: work(args), debug=args.debug)


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

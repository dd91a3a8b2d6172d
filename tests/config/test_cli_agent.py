"""The machine-agent flags of run_net.py are removed from its workers' command line, in both spellings."""

from slowfast.config.cli import build_parser, worker_argv


def test_worker_argv_drops_the_agent_flags_and_keeps_the_rest():
    argv = ["--nnodes", "2", "--nproc-per-node=4", "--rdzv-endpoint", "h:1", "--rdzv-id=j", "--node-rank", "1"]
    argv += ["--cfg", "a.yaml", "X", "1"]
    args = build_parser("").parse_args(argv)
    assert (args.nnodes, args.nproc_per_node, args.rdzv_endpoint, args.rdzv_id) == (2, 4, "h:1", "j")
    assert args.node_rank == 1
    assert worker_argv(argv) == ["--cfg", "a.yaml", "X", "1"]
    assert build_parser("").parse_args(worker_argv(argv)).nnodes is None

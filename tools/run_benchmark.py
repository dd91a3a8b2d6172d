#!/usr/bin/env python3
"""The whole benchmark in one command: X3D-M, then MViT-B, then benchmark_score and the report.

    python tools/run_benchmark.py NUM_GPUS 4                      # the scored configs, one run each
    python tools/run_benchmark.py NUM_GPUS 4 --runs 3             # three runs each (olympic mean)
    python tools/run_benchmark.py --quickstart                    # both CPU quick-starts (synthetic data)

Each run has its own OUTPUT_DIR under the benchmark folder (--out; default output/benchmark or
output/quickstart_benchmark) and gets the KEY VALUE overrides (NUM_GPUS, data paths, DATA_LOADER.*, ...).
Running the same command again continues: finished runs are kept, an interrupted one resumes from its last
checkpoint. The end prints each model's score, benchmark_score (for --quickstart: the quick-start score against
the CPU references, labelled as such) and the path of the report, all recomputed from the runs' logs.
"""

import os
import sys

# Lets the tool run from a plain checkout, and a checkout's tool use that checkout's package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.config.cli import ToolParser, run_tool
from slowfast.suite.runner import check_overrides, default_configs, finish, plan_runs, run_all
from slowfast.utils.errors import RunInterrupted


class BenchmarkParser(ToolParser):
    """The command line: --runs, --out, --quickstart (and --configs for other configs); every other argument
    is a KEY VALUE override, wherever it stands."""

    def __init__(self):
        super().__init__(__doc__)
        self.add_argument("--runs", type=int, default=1, help="runs per model (default: %(default)s)")
        self.add_argument("--out", default=None, help="benchmark folder holding every run's OUTPUT_DIR")
        self.add_argument("--quickstart", action="store_true", help="the two CPU quick-start configs instead")
        self.add_argument(
            "--configs",
            nargs=2,
            metavar=("CNN_CFG", "TRANSFORMER_CFG"),
            default=None,
            help="run these two configs instead (e.g. your own variants; the tests use smoke configs)",
        )

    def parse_args(self, args=None, namespace=None):
        parsed, overrides = self.parse_known_args(args, namespace)
        parsed.opts = overrides
        unknown = [item for item in parsed.opts if item.startswith("--")]
        if unknown:
            self.error(f"unknown option(s) {' '.join(unknown)}; overrides are KEY VALUE pairs")
        if parsed.runs < 1:
            self.error("--runs must be at least 1")
        return parsed


def run_benchmark(args):
    """Run what is left of the benchmark, then print the final block; return 1 when a run failed, else 0."""
    configs = args.configs or default_configs(args.quickstart)
    out = args.out or os.path.join("output", "quickstart_benchmark" if args.quickstart else "benchmark")
    check_overrides(configs, args.opts)
    try:
        outcomes = run_all(configs, args.runs, out, args.opts)
    except KeyboardInterrupt:
        raise RunInterrupted() from None  # finished runs are kept; the interrupted one resumes from its checkpoint
    run_dirs = [run.output_dir for run in plan_runs(configs, args.runs, out)]
    print(finish(out, run_dirs))
    failed = [run.output_dir for run, status in outcomes if status not in (None, 0)]
    if failed:
        print(
            f"[run_benchmark] {len(failed)} run(s) failed: {', '.join(failed)}; run the same command again to "
            "resume them",
            file=sys.stderr,
        )
    return 1 if failed else 0


def main(argv=None):
    """Run the benchmark; return the exit status (1: a run failed, or a user error printed as one line; 130:
    Ctrl-C)."""
    return run_tool(BenchmarkParser(), run_benchmark, argv)


if __name__ == "__main__":
    sys.exit(main())

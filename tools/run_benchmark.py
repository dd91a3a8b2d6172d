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

import argparse
import os
import sys

from slowfast.config import ConfigError
from slowfast.suite.runner import QUICKSTART_CONFIGS, SCORED_CONFIGS, check_overrides, finish, plan_runs, run_all


def parse_args(argv=None):
    """Command line: overrides, --runs, --out, --quickstart (and --configs for other configs)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1, help="runs per model (default: %(default)s)")
    parser.add_argument("--out", default=None, help="benchmark folder holding every run's OUTPUT_DIR")
    parser.add_argument("--quickstart", action="store_true", help="the two CPU quick-start configs instead")
    parser.add_argument(
        "--configs",
        nargs=2,
        metavar=("CNN_CFG", "TRANSFORMER_CFG"),
        default=None,
        help="run these two configs instead (e.g. your own variants; the tests use smoke configs)",
    )
    args, args.opts = parser.parse_known_args(argv)  # what is left are the KEY VALUE overrides
    unknown = [item for item in args.opts if item.startswith("--")]
    if unknown:
        parser.error(f"unknown option(s) {' '.join(unknown)}; overrides are KEY VALUE pairs")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv=None):
    """Run what is left of the benchmark, then print the final block; return the exit status."""
    args = parse_args(argv)
    configs = args.configs or (QUICKSTART_CONFIGS if args.quickstart else SCORED_CONFIGS)
    out = args.out or os.path.join("output", "quickstart_benchmark" if args.quickstart else "benchmark")
    try:
        check_overrides(configs, args.opts)
    except (ConfigError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        outcomes = run_all(configs, args.runs, out, args.opts)
    except KeyboardInterrupt:
        print(
            "\n[run_benchmark] interrupted: run the same command again to continue (finished runs are kept, "
            "the interrupted one resumes from its last checkpoint)",
            file=sys.stderr,
        )
        return 130
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


if __name__ == "__main__":
    sys.exit(main())

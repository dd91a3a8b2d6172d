#!/usr/bin/env python3
"""Write a self-contained HTML report (embedded PNG plots, score table) for benchmark runs.

    python tools/report.py output/X3D_M output/MVIT_B_16x4 -o report.html

Each RUN_DIR is a run's OUTPUT_DIR with mllog.txt (required) and metrics.jsonl (curves; optional).
"""

import argparse
import sys

from slowfast.benchmark.run_reader import read_run
from slowfast.engine.checkpoint import saved_evaluations
from slowfast.suite.report import build_report
from slowfast.utils.files import atomic_write_text


def main(argv=None):
    """Build the report; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dirs", nargs="+", help="run OUTPUT_DIRs holding mllog.txt and metrics.jsonl")
    parser.add_argument("-o", "--output", default="report.html", help="HTML file to write (%(default)s)")
    args = parser.parse_args(argv)
    try:
        results = [read_run(run_dir, saved_evaluations(run_dir)) for run_dir in args.run_dirs]
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    atomic_write_text(args.output, build_report(results))
    print(f"wrote {args.output} ({len(results)} run(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())

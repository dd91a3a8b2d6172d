#!/usr/bin/env python3
"""Write a self-contained HTML report (embedded PNG plots, score table) for benchmark runs.

    python tools/report.py output/X3D_M output/MVIT_B_16x4 -o report.html

Each RUN_DIR is a run's OUTPUT_DIR with mllog.txt (required) and metrics.jsonl (curves; optional).
"""

import os
import sys

# Lets the tool run from a plain checkout, and a checkout's tool use that checkout's package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.benchmark.run_reader import check_run_dirs
from slowfast.config.cli import ToolParser, run_tool
from slowfast.utils.files import atomic_write_text


def write_report(args):
    """Read the runs and write the HTML report."""
    check_run_dirs(args.run_dirs)
    from slowfast.suite.report import build_report, read_runs  # torch and matplotlib: after the check

    results = read_runs(args.run_dirs)
    atomic_write_text(args.output, build_report(results))
    print(f"wrote {args.output} ({len(results)} run(s))")


def main(argv=None):
    """Build the report; return the exit status (1: a user error, printed as one line; 130: Ctrl-C)."""
    parser = ToolParser(__doc__)
    parser.add_argument("run_dirs", nargs="+", help="run OUTPUT_DIRs holding mllog.txt and metrics.jsonl")
    parser.add_argument("-o", "--output", default="report.html", help="HTML file to write (%(default)s)")
    return run_tool(parser, write_report, argv)


if __name__ == "__main__":
    sys.exit(main())

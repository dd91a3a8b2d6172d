#!/usr/bin/env python3
"""Compare results bundles: a leaderboard page, CSV and a Markdown table.

    python tools/compare.py output/benchmark other_machine/bundle -o leaderboard.html --csv board.csv --markdown

Each argument is a results bundle, a tools/run_benchmark.py folder holding one (``bundle/``), or a plain run
folder (a run's OUTPUT_DIR with mllog.txt and system.json, read as a one-run bundle). Every bundle is verified
as tools/score.py does; one that fails is listed with its reasons and never ranked. Bundles are
ranked only against bundles on the same dataset fingerprint, division and kind (quick-start or Kinetics20).
--screenshot PNG opens the page in headless Chromium and fails on console errors.
"""

import os
import sys

# Lets the tool run from a plain checkout, and a checkout's tool use that checkout's package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.config.cli import ToolParser, run_tool
from slowfast.suite.browser import check_page, find_browser
from slowfast.utils.errors import UserError
from slowfast.utils.files import atomic_write_text


def compare(args):
    """Write the leaderboard; return 1 when a bundle was rejected or the page has console errors."""
    missing = [path for path in args.bundles if not os.path.isdir(path)]
    if missing:
        raise UserError(f"no such folder: {', '.join(missing)} (pass results bundles, run_benchmark or run folders)")
    if args.screenshot and find_browser() is None:
        raise UserError("--screenshot needs chromium on PATH (apt-get install chromium)")
    from slowfast.suite.leaderboard import load_bundles, rank, to_csv, to_html, to_markdown  # matplotlib, torch

    groups, rejected = rank(load_bundles(args.bundles))
    print(f"leaderboard: {atomic_write_text(args.output, to_html(groups, rejected))}")
    if args.csv:
        print(f"csv: {atomic_write_text(args.csv, to_csv(groups))}")
    if args.markdown:
        print(to_markdown(groups, rejected))
    for bundle in rejected:
        print(f"rejected {bundle.path}: {'; '.join(bundle.problems)}", file=sys.stderr)
    errors = []
    if args.screenshot:
        errors = check_page(args.output, args.screenshot, find_browser())
        print("\n".join(errors) or f"screenshot: {args.screenshot} (no console errors)")
    return 1 if rejected or errors else 0


def main(argv=None):
    """Compare bundles; return the exit status (1: a rejected bundle, console errors or a user error; 130: Ctrl-C)."""
    parser = ToolParser(__doc__)
    parser.add_argument("bundles", nargs="+", help="results bundles, run_benchmark folders or run folders")
    parser.add_argument("-o", "--output", default="leaderboard.html", help="HTML page (default: %(default)s)")
    parser.add_argument("--csv", default=None, help="also write the rows as CSV here")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--screenshot", default=None, help="check the page in headless Chromium; PNG path")
    return run_tool(parser, compare, argv)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Compare results bundles: a leaderboard page, CSV and a Markdown table.

    python tools/compare.py output/benchmark other_machine/bundle -o leaderboard.html --csv board.csv --markdown

Each argument is a results bundle or a tools/run_benchmark.py folder holding one (``bundle/``). Every bundle is
verified as tools/score.py does; one that fails is listed with its reasons and never ranked. Bundles are
ranked only against bundles on the same dataset fingerprint, division and kind (quick-start or Kinetics20).
--screenshot PNG opens the page in headless Chromium and fails on console errors.
"""

import argparse
import sys

from slowfast.suite.browser import check_page, find_browser
from slowfast.suite.leaderboard import load_bundles, rank, to_csv, to_html, to_markdown
from slowfast.utils.files import atomic_write_text


def main(argv=None):
    """Write the leaderboard; return 1 when a bundle was rejected or the page has console errors."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundles", nargs="+", help="results bundles or run_benchmark folders")
    parser.add_argument("-o", "--output", default="leaderboard.html", help="HTML page (default: %(default)s)")
    parser.add_argument("--csv", default=None, help="also write the rows as CSV here")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--screenshot", default=None, help="check the page in headless Chromium; PNG path")
    args = parser.parse_args(argv)
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
        browser = find_browser()
        if browser is None:
            print("error: --screenshot needs chromium on PATH (apt-get install chromium)", file=sys.stderr)
            return 2
        errors = check_page(args.output, args.screenshot, browser)
        print("\n".join(errors) or f"screenshot: {args.screenshot} (no console errors)")
    return 1 if rejected or errors else 0


if __name__ == "__main__":
    sys.exit(main())

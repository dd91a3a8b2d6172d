"""Check an mllog.txt with mlperf-logging's own parser and compliance checker.

The official MLPerf rulesets do not apply to this benchmark (they require MLPerf benchmark names and keys
such as cache_clear), so the checker runs our rules, written in its format, from ``mllog_rules.yaml``:
every line parses, init/run events come in order, run constants (target, accelerators, batch, seed,
division) appear exactly once, timed events carry epoch_num, and run_stop has a status.
"""

import os

from mlperf_logging.compliance_checker.mlp_compliance import ComplianceChecker

from slowfast.benchmark.score import PARSER_RULESET, read_mllog

RULES_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mllog_rules.yaml")


def check_mllog(path, rules_path=RULES_PATH):
    """Run the mlperf-logging parser and compliance checker over one mllog file.

    Args:
        path (str): an mllog.txt.
        rules_path (str): rules in the compliance checker's YAML format (absolute path).
    Returns:
        list of str: problems found; empty when the file passes.
    """
    lines, errors = read_mllog(path)
    problems = [f"line failed to parse ({error}): {line[:100]}" for line, error in errors]
    checker = ComplianceChecker(usage="training", ruleset=PARSER_RULESET, quiet=True, werror=False)
    checker.check_loglines(lines, rules_path)
    problems += list(checker.overwritable.values()) + list(checker.not_overwritable)
    return problems

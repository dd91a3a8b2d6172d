"""MLPerf's scoring of repeated runs: olympic mean, at most one run that did not converge (the slowest)."""

import pytest

from slowfast.benchmark.bundle import system_key
from slowfast.benchmark.score import runs_score


def test_olympic_mean_and_one_non_converged_run_counted_as_slowest():
    full = runs_score([1.0, 2.0, 3.0, 10.0])
    assert full["valid"] and full["comparable"] and full["score"] == pytest.approx(2.5)
    one_failed = runs_score([1.0, None, 3.0, 10.0])  # None is the slowest: dropped with the fastest (10)
    assert one_failed["valid"] and one_failed["score"] == pytest.approx(2.0) and one_failed["not_converged"] == 1
    assert one_failed["spread"]["min"] == 1.0


def test_two_non_converged_runs_or_too_few_runs():
    two_failed = runs_score([1.0, None, None, 2.0, 3.0])
    assert not two_failed["valid"] and two_failed["score"] is None and "2 of 5" in two_failed["reason"]
    few = runs_score([2.0, 4.0])
    assert few["valid"] and not few["comparable"] and few["score"] == pytest.approx(3.0)
    assert not runs_score([2.0, None])["valid"]


def test_system_key_is_a_safe_file_name():
    assert system_key("4xNVIDIA H200 (SXM)") == "4xNVIDIA_H200_SXM"

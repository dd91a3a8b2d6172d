"""The benchmark's rules and log format: clock, score, compliance, recipe, reference table, the MLPerf log and
its checks, a run's result read back from its logs.

Every module here loads without torch (tests/benchmark/test_rules_without_torch.py): the engine passes
synchronisation and cross-rank reduction in as functions, and reading a checkpoint is the caller's.
"""

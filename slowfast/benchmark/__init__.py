"""Time-to-accuracy benchmark: clock, MLPerf log, reference table, scores, compliance, result block.

Modules are pure (no torch, no torch.distributed); the engine passes synchronisation and cross-rank
reduction in as functions.
"""

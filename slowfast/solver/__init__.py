"""Solver: learning-rate policy (pure functions, no torch), optimizer parameter groups, losses.

Import the modules themselves: this package face loads nothing, so the learning-rate policy is usable without
torch.
"""

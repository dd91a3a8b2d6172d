"""The machine self-check: probes that time this machine's training step, loader and all-reduce through the
run's own code, and the report that predicts the run (tools/selfcheck.py)."""

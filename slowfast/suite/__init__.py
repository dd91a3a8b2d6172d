"""The benchmark suite and its presentation: both models' runs in one command (tools/run_benchmark.py) and the
HTML report of one or several runs (tools/report.py)."""

"""Write a results bundle (layout: slowfast/benchmark/bundle.py) from a benchmark's run folders."""

import json
import os
import shutil
from collections.abc import Sequence

from slowfast.benchmark import mllog as keys
from slowfast.benchmark.bundle import (
    DATASET_FILENAME,
    RESULTS_DIR,
    SCORES_FILENAME,
    SYSTEMS_DIR,
    bundle_scores,
    logged_values,
    system_key,
)
from slowfast.benchmark.result import format_result_block
from slowfast.benchmark.run_reader import read_run
from slowfast.suite.report import REPORT_FILENAME
from slowfast.utils.files import atomic_write_json, atomic_write_text
from slowfast.utils.metrics import METRICS_FILENAME

BUNDLE_DIRNAME = "bundle"


class BundleError(ValueError):
    """The runs cannot form one bundle (no system description, or several systems)."""


def _system_of(run_dirs: Sequence[str]) -> dict:
    """The one system description of the runs (system.json); BundleError when absent or not the same."""
    systems = []
    for run_dir in run_dirs:
        path = os.path.join(run_dir, keys.SYSTEM_FILENAME)
        if not os.path.isfile(path):
            raise BundleError(f"{path} is missing: runs of this version write it at start-up; rerun the run")
        with open(path, encoding="utf-8") as f:
            systems.append(json.load(f))
    names = {s["system_name"] for s in systems}
    if len(names) != 1:
        raise BundleError(f"the runs name {len(names)} systems ({', '.join(sorted(names))}); a bundle holds one")
    return systems[0]


def write_bundle(bundle_dir: str, run_dirs: Sequence[str], report_path: str) -> str:
    """Copy every run's log, metrics, result block and system description into the bundle layout.

    Args:
        bundle_dir (str): the bundle folder to (re)write.
        run_dirs (sequence of str): finished run OUTPUT_DIRs (each with mllog.txt and system.json), in order.
        report_path (str): the report to include.
    Returns:
        str: ``bundle_dir``.
    Raises:
        BundleError: no system description, or runs on different systems.
    """
    system = _system_of(run_dirs)
    name = system_key(system["system_name"])
    shutil.rmtree(bundle_dir, ignore_errors=True)
    atomic_write_json(os.path.join(bundle_dir, SYSTEMS_DIR, f"{name}.json"), system)
    results, counts = [], dict[str, int]()
    for run_dir in run_dirs:
        result = read_run(run_dir)
        results.append(result)
        counts[result.model] = index = counts.get(result.model, 0) + 1
        stem = os.path.join(bundle_dir, RESULTS_DIR, name, result.model, f"result_{index}")
        os.makedirs(stem, exist_ok=True)
        shutil.copyfile(os.path.join(run_dir, keys.MLLOG_FILENAME), stem + ".txt")
        for extra in (METRICS_FILENAME, keys.SYSTEM_FILENAME):
            if os.path.isfile(os.path.join(run_dir, extra)):
                shutil.copyfile(os.path.join(run_dir, extra), os.path.join(stem, extra))
        atomic_write_text(os.path.join(stem, "result.txt"), format_result_block(result) + "\n")
    atomic_write_json(
        os.path.join(bundle_dir, DATASET_FILENAME),
        logged_values(os.path.join(run_dirs[0], keys.MLLOG_FILENAME)).get(keys.DATASET_FINGERPRINT),
    )
    atomic_write_json(os.path.join(bundle_dir, SCORES_FILENAME), bundle_scores(results))
    shutil.copyfile(report_path, os.path.join(bundle_dir, REPORT_FILENAME))
    return bundle_dir

"""A results bundle: its layout, its scores, and its verification (what tools/score.py and tools/compare.py check).

Layout, modelled on an MLPerf Training submission (one system per bundle)::

    BUNDLE/
      systems/<system>.json                      the system description (slowfast/utils/system.py)
      results/<system>/<model>/result_<i>.txt    run i's mllog.txt, unchanged
      results/<system>/<model>/result_<i>/       metrics.jsonl, result.txt (end-of-run block), system.json
      dataset.json                               the dataset fingerprint every run logged
      scores.json                                the scores recomputed from the logs (``bundle_scores``)
      report.html                                the runs' report

A plain run folder (a run's OUTPUT_DIR with mllog.txt and system.json) is read as a one-run bundle built in
memory (``read_run_folder``) and verified the same way, except for the stored scores it does not have.

MLPerf's package checker and results summarizer are not used on the folder itself: they require MLPerf's
benchmark names, its ``<division>/<submitter>/...`` tree and its rulesets' keys (cache_clear, ...). Every log is
checked by mlperf-logging's parser and compliance checker with this benchmark's rules instead
(``log_check.check_mllog``), and scored by MLPerf's rule (``score.runs_score``).
"""

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from slowfast.benchmark import mllog as keys
from slowfast.benchmark.log_check import check_mllog
from slowfast.benchmark.mllog import read_mllog
from slowfast.benchmark.run_reader import read_log
from slowfast.benchmark.run_result import RunResult
from slowfast.benchmark.score import benchmark_score, runs_score
from slowfast.utils.metrics import mean_data_wait_share, read_metrics

SYSTEMS_DIR = "systems"
RESULTS_DIR = "results"
DATASET_FILENAME = "dataset.json"
SCORES_FILENAME = "scores.json"
RESULT_PATTERN = re.compile(r"result_(\d+)\.txt$")
# Fields of the system description that the ``system`` event of every log must repeat unchanged.
HARDWARE_FIELDS = ("system_name", "number_of_nodes", "accelerators_per_node", "accelerator_model_name", "world_size")


def system_key(system_name: str) -> str:
    """The system's file and folder name: its name with anything but letters, digits, ``.-_`` as ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", system_name).strip("_") or "system"


def logged_values(path: str) -> dict[str, Any]:
    """The first logged value of every key of an mllog file (resumes repeat the run constants)."""
    lines, _ = read_mllog(path)
    return {line.key: line.value["value"] for line in reversed(lines)}


def bundle_scores(results: list[RunResult]) -> dict[str, Any]:
    """A bundle's scores: per model ``runs_score`` of its runs, and benchmark_score when both kinds are valid.

    Args:
        results (list of RunResult): every run of the bundle, in result order.
    Returns:
        dict: division ("open" when any run is), quickstart, models {model: {kind, run_scores, epochs_ratio,
        ...runs_score}}, benchmark_score (dict or None).
    """
    models: dict[str, dict[str, Any]] = {}
    for result in results:
        models.setdefault(result.model, {"kind": result.kind, "run_scores": [], "ratios": []})
        models[result.model]["run_scores"].append(result.score)
        models[result.model]["ratios"].append(result.epochs_ratio)
    by_kind: dict[str, float] = {}
    for entry in models.values():
        ratios = [r for r in entry.pop("ratios") if r is not None]
        entry["epochs_ratio"] = sum(ratios) / len(ratios) if ratios else None
        entry.update(runs_score(entry["run_scores"]))
        if entry["valid"] and entry["kind"]:
            by_kind[entry["kind"]] = entry["score"]
    both = "cnn" in by_kind and "transformer" in by_kind
    return {
        "division": "closed" if all(r.compliant for r in results) else "open",
        "quickstart": any(r.quickstart for r in results),
        "models": models,
        "benchmark_score": benchmark_score(by_kind["cnn"], by_kind["transformer"]) if both else None,
    }


@dataclass
class Bundle:
    """A bundle read back and verified: ``problems`` empty means it passes."""

    path: str
    system: dict[str, Any] = field(default_factory=dict)
    results: list[RunResult] = field(default_factory=list)
    fingerprint: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # Per result: the mean share of its train epochs spent waiting for input (None when its metrics lack it).
    data_wait_shares: list[float | None] = field(default_factory=list)


def _load_json(path: str, problems: list[str]) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as err:
        problems.append(f"{os.path.basename(path)}: cannot be read ({err})")
        return {}


def result_files(bundle_dir: str, system: str) -> list[str]:
    """Every ``results/<system>/<model>/result_<i>.txt`` of a bundle, by model and then run number."""
    root = os.path.join(bundle_dir, RESULTS_DIR, system)
    found = []
    for model in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        names = [n for n in os.listdir(os.path.join(root, model)) if RESULT_PATTERN.match(n)]
        names.sort(key=lambda n: int(RESULT_PATTERN.match(n).group(1)))  # type: ignore[union-attr]
        found += [os.path.join(root, model, n) for n in names]
    return found


def read_bundle(bundle_dir: str) -> Bundle:
    """Read a bundle and verify it (the checks of ``verify_result``, ``_check_stored_scores``, ``_check_validity``).

    Args:
        bundle_dir (str): a folder in the layout of this module's docstring.
    Returns:
        Bundle: with every problem found, each naming the file it is in.
    """
    bundle = Bundle(path=bundle_dir)
    systems_dir = os.path.join(bundle_dir, SYSTEMS_DIR)
    systems = sorted(os.listdir(systems_dir)) if os.path.isdir(systems_dir) else []
    if len(systems) != 1:
        bundle.problems.append(f"{SYSTEMS_DIR}/ holds {len(systems)} system descriptions; a bundle has exactly one")
        return bundle
    bundle.system = _load_json(os.path.join(systems_dir, systems[0]), bundle.problems)
    bundle.fingerprint = _load_json(os.path.join(bundle_dir, DATASET_FILENAME), bundle.problems)
    files = result_files(bundle_dir, os.path.splitext(systems[0])[0])
    if not files:
        bundle.problems.append(f"no {RESULTS_DIR}/{os.path.splitext(systems[0])[0]}/<model>/result_<i>.txt")
    for path in files:
        _add_result(bundle, path, path[: -len(".txt")], os.path.relpath(path, bundle_dir))
    bundle.scores = bundle_scores(bundle.results)
    _check_stored_scores(bundle)
    _check_validity(bundle)
    return bundle


def read_run_folder(run_dir: str) -> Bundle:
    """A run's OUTPUT_DIR as a one-run bundle built in memory, verified as ``read_bundle`` verifies a bundle.

    Its system description is the folder's system.json and its dataset fingerprint the one its log records;
    its scores are computed from the log (there is no stored scores.json to compare with).

    Args:
        run_dir (str): a run's OUTPUT_DIR holding mllog.txt, system.json and (optionally) metrics.jsonl.
    Returns:
        Bundle: ``path`` is ``run_dir``; with every problem found, each naming the file it is in.
    """
    bundle = Bundle(path=run_dir)
    system_path = os.path.join(run_dir, keys.SYSTEM_FILENAME)
    if not os.path.isfile(system_path):
        bundle.problems.append(f"{keys.SYSTEM_FILENAME} is missing: runs of this version write it at start-up")
        return bundle
    bundle.system = _load_json(system_path, bundle.problems)
    log = os.path.join(run_dir, keys.MLLOG_FILENAME)
    bundle.fingerprint = logged_values(log).get(keys.DATASET_FINGERPRINT) or {}
    _add_result(bundle, log, run_dir, keys.MLLOG_FILENAME)
    bundle.scores = bundle_scores(bundle.results)
    _check_validity(bundle)
    return bundle


def _add_result(bundle: Bundle, log: str, metrics_dir: str, name: str) -> None:
    """Verify one run (its log ``log``, its metrics in ``metrics_dir``) and add it to ``bundle``."""
    metrics = read_metrics(metrics_dir)
    result, problems = verify_result(log, metrics, bundle.system, bundle.fingerprint)
    bundle.results.append(result)
    bundle.data_wait_shares.append(mean_data_wait_share(metrics))
    bundle.problems += [f"{name}: {p}" for p in problems]


def verify_result(
    path: str, metrics: list[dict[str, Any]], system: dict[str, Any], fingerprint: dict[str, Any]
) -> tuple[RunResult, list[str]]:
    """One run of a bundle: log integrity, compliance, and agreement with the system and the dataset.

    Args:
        path (str): the run's mllog (a bundle's ``result_<i>.txt``, a run folder's mllog.txt).
        metrics (list of dict): the run's metrics.jsonl records (``read_metrics``).
        system (dict): the bundle's system description.
        fingerprint (dict): the bundle's dataset fingerprint.
    Returns:
        tuple: (RunResult, list of problems).
    """
    result = read_log(path, metrics, None, path)
    problems = result.problems + check_mllog(path)
    if result.compliant and result.changes:
        problems.append(f"division closed although the config changed: {'; '.join(result.changes)}")
    logged = logged_values(path)
    event = logged.get(keys.SYSTEM) or {}
    if not event:
        problems.append(f"no {keys.SYSTEM} event in the log")
    for name in HARDWARE_FIELDS:
        if event and event.get(name) != system.get(name):
            problems.append(f"system {name}: the log says {event.get(name)!r}, the bundle {system.get(name)!r}")
    gpus = int(system.get("number_of_nodes", 0)) * int(system.get("accelerators_per_node", 0))
    if result.n_gpu != system.get("world_size") or (gpus and gpus != result.n_gpu):
        problems.append(
            f"world size {result.n_gpu} in the log, the system has {system.get('world_size')} process(es) "
            f"and {gpus} accelerator(s)"
        )
    digest = (logged.get(keys.DATASET_FINGERPRINT) or {}).get("digest")
    if digest is None:
        problems.append(f"no {keys.DATASET_FINGERPRINT} event in the log")
    elif digest != fingerprint.get("digest"):
        problems.append(f"dataset fingerprint {digest} differs from the bundle's {fingerprint.get('digest')}")
    return result, problems


def _check_stored_scores(bundle: Bundle) -> None:
    """The stored scores.json must equal the scores recomputed from the logs."""
    stored = _load_json(os.path.join(bundle.path, SCORES_FILENAME), bundle.problems)
    if stored and json.loads(json.dumps(bundle.scores)) != stored:
        bundle.problems.append(f"{SCORES_FILENAME} differs from the scores recomputed from the logs")


def _check_validity(bundle: Bundle) -> None:
    """Every model's runs must make a valid result (MLPerf's rule on runs that did not converge)."""
    for model, entry in bundle.scores["models"].items():
        if not entry["valid"]:
            bundle.problems.append(f"{model}: invalid result: {entry['reason']}")

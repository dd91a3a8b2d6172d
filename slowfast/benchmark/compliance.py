"""Compliance of a run's configuration with the official one: closed or open division.

A scored ("closed division") run may differ from the official config only where what is computed stays the
same. The key sets live in slowfast/config/keys.py; README's list of allowed changes is tested against them.

- Resource keys (``RESOURCE_KEYS``, ``RESOURCE_PREFIXES``): processes, paths, logging, data loading,
  decoding backend and device (both backends decode the same frames), TEST.BATCH_SIZE (evaluation runs in
  eval mode, so its batch does not change predictions) and the two BENCHMARK keys that do not change the time
  to target.
- Implementation keys (``IMPLEMENTATION_KEYS``): memory layout, the channel-wise convolution's backward, fused
  attention, cuDNN's autotuner, torch.compile, BENCHMARK.IMPLEMENTATION: how the same mathematics is computed
  (tests compare outputs and gradients with the plain implementation); the run logs its choice.
- TRAIN.BATCH_SIZE (the global batch): must give the official videos per process on the run's layout, so
  scaling out keeps each GPU's work as in the reference; the learning rates follow the global batch.
- Keys that define the benchmark (``BENCHMARK_RULE_KEYS``: TRAIN.EVAL_PERIOD, TRAIN.CHECKPOINT_FILE_PATH) are
  judged against the benchmark's value, not the official config's, so a PySlowFast YAML run as its own official
  config is still named for them.
- PySlowFast keys that no code here reads (``PYSLOWFAST_ONLY_KEYS``): allowed, named as ignored.

Any other change makes the run "open division": it still runs and reports its time, but its score is not
comparable, and the verdict lists each changed key with the official and the run's value.
"""

from dataclasses import dataclass, field
from typing import Any

from fvcore.common.config import CfgNode

from slowfast.config import merge_config
from slowfast.config.checks import configured_processes
from slowfast.config.keys import (
    BENCHMARK_RULE_KEYS,
    IMPLEMENTATION_KEYS,
    PYSLOWFAST_ONLY_KEYS,
    RESOURCE_KEYS,
    RESOURCE_PREFIXES,
)


@dataclass(frozen=True)
class KeyChange:
    """One key whose value differs from the official config."""

    key: str
    official: object
    run: object
    reason: str = ""

    def as_dict(self) -> dict[str, object]:
        """Return a JSON-friendly dict (for mllog.txt)."""
        return {"key": self.key, "official": self.official, "run": self.run, "reason": self.reason}

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> "KeyChange":
        """The change ``as_dict`` wrote (read back from mllog.txt)."""
        return cls(record.get("key", "?"), record.get("official"), record.get("run"), record.get("reason", ""))

    def line(self) -> str:
        """Return "KEY: official -> run (reason)", or "KEY: value unchanged (reason)" for a value kept where the
        run's layout changed what it means (the batch per process)."""
        if self.official == self.run:
            text = f"{self.key}: {self.run!r} unchanged"
        else:
            text = f"{self.key}: {self.official!r} -> {self.run!r}"
        return f"{text} ({self.reason})" if self.reason else text


@dataclass
class ComplianceVerdict:
    """Result of comparing a run's config with the official one.

    Attributes:
        allowed: resource changes that keep the run in the closed division.
        disallowed: changes that make it "open division".
    """

    allowed: list[KeyChange] = field(default_factory=list)
    disallowed: list[KeyChange] = field(default_factory=list)

    @property
    def compliant(self) -> bool:
        """True when no disallowed key changed."""
        return not self.disallowed

    @property
    def division(self) -> str:
        """ "closed" for a compliant run, "open" otherwise."""
        return "closed" if self.compliant else "open"

    def change_lines(self) -> list[str]:
        """Return one "KEY: official -> run" line per disallowed change."""
        return [c.line() for c in self.disallowed]

    def describe(self) -> str:
        """Return a one-line verdict that names every disallowed key with its old and new value."""
        if self.compliant:
            return "compliant (closed division)"
        return "NON-COMPLIANT (open division): " + "; ".join(self.change_lines())


def load_official_config(path: str) -> CfgNode:
    """Return the defaults merged with the official YAML ``path`` (no checks, no freeze, no side effects)."""
    return merge_config(path)


def official_config_path(cfg: CfgNode, cfg_file: str) -> str:
    """Return the official config a run is judged against: BENCHMARK.OFFICIAL_CONFIG, else its --cfg file."""
    return cfg.BENCHMARK.OFFICIAL_CONFIG or cfg_file


def flatten_config(cfg: CfgNode, prefix: str = "") -> dict[str, Any]:
    """Return {"NODE.KEY": value} for every leaf of ``cfg``, with lists and tuples as tuples."""
    flat: dict[str, Any] = {}
    for key, value in cfg.items():
        name = prefix + key
        if isinstance(value, CfgNode):
            flat.update(flatten_config(value, name + "."))
        else:
            flat[name] = _comparable(value)
    return flat


def _comparable(value: Any) -> Any:
    # YAML gives lists where defaults hold tuples; compare contents, not container types.
    if isinstance(value, list | tuple):
        return tuple(_comparable(v) for v in value)
    return value


def check_compliance(run_cfg: CfgNode, official_cfg: CfgNode, world_size: int | None = None) -> ComplianceVerdict:
    """Compare ``run_cfg`` with ``official_cfg`` key by key.

    Args:
        run_cfg (CfgNode): the run's merged configuration.
        official_cfg (CfgNode): the official configuration (``load_official_config``).
        world_size (int or None): processes of the run (default: from NUM_GPUS/NUM_CPU_PROCESSES and
            NUM_SHARDS); the official per-GPU batch uses the official config's own process count.
    Returns:
        ComplianceVerdict
    """
    run_flat, official_flat = flatten_config(run_cfg), flatten_config(official_cfg)
    verdict = ComplianceVerdict()
    for key in sorted(set(run_flat) | set(official_flat)):
        official, run = official_flat.get(key), run_flat.get(key)
        if key in BENCHMARK_RULE_KEYS:
            official, reason = BENCHMARK_RULE_KEYS[key]
            if run != official:
                verdict.disallowed.append(KeyChange(key, official, run, reason))
        elif official == run:
            continue
        elif key in RESOURCE_KEYS or key.startswith(RESOURCE_PREFIXES):
            verdict.allowed.append(KeyChange(key, official, run))
        elif key in PYSLOWFAST_ONLY_KEYS:  # "fixed" ones cannot differ: the config checks refuse them
            verdict.allowed.append(KeyChange(key, official, run, f"ignored: {PYSLOWFAST_ONLY_KEYS[key][1]}"))
        elif key in IMPLEMENTATION_KEYS:
            verdict.allowed.append(KeyChange(key, official, run, "implementation setting"))
        elif key != "TRAIN.BATCH_SIZE":
            verdict.disallowed.append(KeyChange(key, official, run))
    _judge_batch(verdict, official_cfg, run_cfg, world_size or configured_processes(run_cfg))
    return verdict


def _judge_batch(verdict: ComplianceVerdict, official_cfg: CfgNode, run_cfg: CfgNode, world_size: int) -> None:
    """The global batch may change only with the layout: the videos per process must stay the official ones."""
    official_per_gpu = official_cfg.TRAIN.BATCH_SIZE / configured_processes(official_cfg)
    run_per_gpu = run_cfg.TRAIN.BATCH_SIZE / world_size
    change = KeyChange("TRAIN.BATCH_SIZE", official_cfg.TRAIN.BATCH_SIZE, run_cfg.TRAIN.BATCH_SIZE)
    if run_per_gpu == official_per_gpu:
        if change.official != change.run:
            verdict.allowed.append(change)
        return
    reason = (
        f"{run_per_gpu:g} videos per process on {world_size} process(es), the official recipe has "
        f"{official_per_gpu:g}: set TRAIN.BATCH_SIZE {official_per_gpu * world_size:g} to stay compliant"
    )
    verdict.disallowed.append(KeyChange(change.key, change.official, change.run, reason))

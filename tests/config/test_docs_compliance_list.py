"""README's list of the keys a scored run may change is the code's list, so docs and compliance cannot drift.

README's "Closed and open division" section is the one place the list is written: one bullet per kind of key,
its label in bold, its keys in backticks. These tests parse the bullets and compare them with the key sets in
slowfast/config/keys.py and with the batch rule slowfast/benchmark/compliance.py applies to the scored configs.
"""

import os
import re

import pytest

from slowfast.benchmark.compliance import check_compliance, load_official_config
from slowfast.config import merge_config
from slowfast.config.checks import configured_processes
from slowfast.config.keys import (
    IMPLEMENTATION_KEYS,
    PRECISION_KEYS,
    PYSLOWFAST_ONLY_KEYS,
    RESOURCE_KEYS,
    RESOURCE_PREFIXES,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
README = os.path.join(ROOT, "README.md")
SECTION = "## Closed and open division"
LABELS = {"Resources", "Implementation settings", "Ignored PySlowFast keys", "Global batch"}


def compliance_bullets() -> dict[str, str]:
    """Return {bold label: text} for each bullet of README's compliance section."""
    with open(README, encoding="utf-8") as f:
        text = f.read()
    assert SECTION in text, f"README.md has no '{SECTION}' section"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    bullets = {}
    for bullet in section.split("\n- ")[1:]:  # the first part is the paragraph before the list
        label = re.match(r"\*\*(.+?)\*\*", bullet)
        assert label, f"README compliance bullet without a bold label: {bullet[:60]!r}"
        bullets[label.group(1)] = bullet
    return bullets


def keys_in(text: str) -> set[str]:
    """Return the config keys (and ``NODE.*`` prefixes) written in backticks in ``text``."""
    return set(re.findall(r"`([A-Z][A-Z0-9_.]*\*?)`", text))


def test_the_section_has_one_bullet_per_kind_of_key():
    assert set(compliance_bullets()) == LABELS


def test_resources_are_the_resource_keys_and_prefixes():
    listed = keys_in(compliance_bullets()["Resources"])
    assert {key for key in listed if not key.endswith("*")} == RESOURCE_KEYS
    assert {key[:-1] for key in listed if key.endswith("*")} == set(RESOURCE_PREFIXES)


def test_implementation_settings_are_the_implementation_keys():
    assert keys_in(compliance_bullets()["Implementation settings"]) == IMPLEMENTATION_KEYS


def test_ignored_keys_are_the_ignored_pyslowfast_keys():
    ignored = {key for key, (kind, _) in PYSLOWFAST_ONLY_KEYS.items() if kind == "ignored"}
    assert keys_in(compliance_bullets()["Ignored PySlowFast keys"]) == ignored


@pytest.mark.parametrize(("config", "model"), [("X3D_M.yaml", "X3D-M"), ("MVIT_B_16x4.yaml", "MViT-B")])
def test_global_batch_rule_is_the_compliance_check(config, model):
    bullet = compliance_bullets()["Global batch"]
    assert keys_in(bullet) == {"TRAIN.BATCH_SIZE"}
    per_gpu = int(re.search(rf"{re.escape(model)} (\d+) per GPU", bullet).group(1))
    path = os.path.join(ROOT, "configs", config)
    official = load_official_config(path)
    assert official.TRAIN.BATCH_SIZE / configured_processes(official) == per_gpu
    # Scaling out with the documented videos per GPU stays closed; any other per-GPU batch is open.
    kept = merge_config(path, ["NUM_GPUS", "8", "TRAIN.BATCH_SIZE", str(8 * per_gpu)])
    assert check_compliance(kept, official).division == "closed"
    halved = merge_config(path, ["NUM_GPUS", "8", "TRAIN.BATCH_SIZE", str(4 * per_gpu)])
    verdict = check_compliance(halved, official)
    assert [change.key for change in verdict.disallowed] == ["TRAIN.BATCH_SIZE"]


def test_precision_keys_are_named_before_the_list_and_are_open_division():
    intro = compliance_intro()
    assert PRECISION_KEYS <= keys_in(intro)
    assert not PRECISION_KEYS & (RESOURCE_KEYS | IMPLEMENTATION_KEYS)
    official = load_official_config(os.path.join(ROOT, "configs", "X3D_M.yaml"))
    for key, value in (("MODEL.ALLOW_TF32", True), ("MODEL.MATMUL_PRECISION", "high")):
        run = official.clone()
        run.defrost()
        run.merge_from_list([key, value])
        verdict = check_compliance(run, official, configured_processes(official))
        assert not verdict.compliant and key in verdict.describe()


def compliance_intro() -> str:
    """The paragraph of README's compliance section before its list."""
    with open(README, encoding="utf-8") as f:
        return f.read().split(SECTION, 1)[1].split("\n- ", 1)[0]

"""Golden PySlowFast data (copied into tests/golden/models), its closed-form weight and input rules, and the
models and cases the golden tests and the compile test run."""

import json
import os
import re

import numpy as np
import torch

from slowfast.config import get_cfg
from slowfast.models import build_model

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLDEN_DIR = os.path.join(REPO, "tests", "golden", "models")
# Golden name -> the scored config it checks.
CASES = {"x3d_m": "X3D_M.yaml", "mvit_b_16x4": "MVIT_B_16x4.yaml"}
_NORM_WEIGHT = re.compile(r"(^|\.)(norm[^.]*|[^.]*bn)\.weight$")


def load_golden(name):
    """Return the parsed golden JSON ``name`` ("x3d_m" or "mvit_b_16x4")."""
    with open(os.path.join(GOLDEN_DIR, f"{name}.json")) as f:
        return json.load(f)


def fill_value(key, shape, index):
    """Deterministic tensor (fill rule v2 of the golden README) for state_dict entry ``index``."""
    n = int(np.prod(shape)) if len(shape) else 1
    k = np.arange(n, dtype=np.int64)
    v = np.sin(k.astype(np.float64) * 0.37 + 1.3 * index + ((k * k) % 997).astype(np.float64) * (2.0 * np.pi / 997.0))
    if key.endswith("running_var"):
        t = 1.0 + 0.5 * v * v
    elif key.endswith("running_mean"):
        t = 0.1 * v
    elif _NORM_WEIGHT.search(key):
        t = 1.0 + 0.1 * v
    elif len(shape) >= 2:
        t = v * np.sqrt(2.0 / (n // shape[0]))
    else:
        t = 0.02 * v
    return t.reshape(shape).astype(np.float32)


def fill_model(model, golden):
    """Load the deterministic weights into ``model``, indexing keys by their position in the golden spec."""
    index_of = {row[0]: i for i, row in enumerate(golden["state_dict"]["entries"])}
    state = {
        key: torch.from_numpy(fill_value(key, tuple(t.shape), index_of[key])) if t.is_floating_point() else t
        for key, t in model.state_dict().items()
    }
    model.load_state_dict(state)


def golden_input(shape):
    """The golden input rule: sample n is sin(j * 0.011 * (n + 1)) over its flat index j, as float32."""
    n_samples, per_sample = shape[0], int(np.prod(shape[1:]))
    j = np.arange(per_sample, dtype=np.float64)
    x = np.stack([np.sin(j * (0.011 * (n + 1))) for n in range(n_samples)]).reshape(shape)
    return torch.from_numpy(x.astype(np.float32))


def build_case_model(name, *overrides):
    """The model of golden ``name``'s config with 20 classes (and ``overrides``), built after seeding 0."""
    cfg = get_cfg()
    cfg.merge_from_file(os.path.join(REPO, "configs", CASES[name]))
    cfg.merge_from_list(["MODEL.NUM_CLASSES", "20", *overrides])
    torch.manual_seed(0)
    return build_model(cfg)


def golden_case(name):
    """The first golden output case of ``name``, ready to run.

    X3D-M uses its 160-crop rebuild: the same state_dict at half the cost of the 224 forward.

    Returns:
        tuple: (model with the golden weights, in eval mode; input batch; reference logits and reference
        output as float64 tensors, flat as stored).
    """
    golden = load_golden(name)
    if name == "x3d_m":
        case = golden["rebuilt_goldens"][0]
        model = build_case_model(name, *case["extra_overrides"])
    else:
        case, model = golden["goldens"][0], build_case_model(name)
    fill_model(model, golden)
    model.eval()
    ref_logits = torch.tensor(case["logits_fp64"]["values"], dtype=torch.float64)
    ref_output = torch.tensor(case["output_fp64"]["values"], dtype=torch.float64)
    return model, golden_input(case["input"]), ref_logits, ref_output

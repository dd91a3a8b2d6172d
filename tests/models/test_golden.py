"""Our X3D-M and MViT-B 16x4 against PySlowFast's golden specs, FLOPs and deterministic-weight outputs."""

import pytest
import torch
from golden_data import fill_model, golden_input, load_golden

from slowfast.config import get_cfg
from slowfast.models import build_model
from slowfast.models.flops import count_flops

CASES = {"x3d_m": "configs/X3D_M.yaml", "mvit_b_16x4": "configs/MVIT_B_16x4.yaml"}


def _build(name, *overrides):
    cfg = get_cfg()
    cfg.merge_from_file(CASES[name])
    cfg.merge_from_list(["MODEL.NUM_CLASSES", "20", *overrides])
    torch.manual_seed(0)
    return build_model(cfg)


@pytest.fixture(scope="module", params=sorted(CASES))
def built(request):
    return request.param, load_golden(request.param), _build(request.param)


def test_state_dict_keys_shapes_dtypes_and_order(built):
    _, golden, model = built
    ours = [(key, list(t.shape), str(t.dtype).replace("torch.", "")) for key, t in model.state_dict().items()]
    theirs = [(row[0], row[1], row[2]) for row in golden["state_dict"]["entries"]]
    assert ours == theirs
    buffers = {key for key, _ in model.named_buffers()}
    assert buffers == {row[0] for row in golden["state_dict"]["entries"] if row[3] == "buffer"}


def test_trainable_parameter_count(built):
    _, golden, model = built
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == golden["params_trainable"]


def test_fvcore_flops_equal_golden(built):
    _, golden, model = built
    total, by_operator = count_flops(model, [torch.zeros(golden["fvcore_flops"]["input"])])
    assert total == golden["fvcore_flops"]["total"]
    assert model.training  # mode restored


def test_fill_rule_matches_golden_sums(built):
    _, golden, model = built
    fill_model(model, golden)
    state = model.state_dict()
    for key, _, _, _, fill_sum, fill_abs_sum in golden["state_dict"]["entries"]:
        tensor = state[key].double()
        assert tensor.sum().item() == pytest.approx(fill_sum, rel=1e-9, abs=1e-9), key
        assert tensor.abs().sum().item() == pytest.approx(fill_abs_sum, rel=1e-9, abs=1e-9), key


def _golden_case(name, golden):
    # X3D: the 160-crop rebuild has the same state_dict and costs half the 224 forward.
    if name == "x3d_m":
        case = golden["rebuilt_goldens"][0]
        return case, _build(name, *case["extra_overrides"])
    return golden["goldens"][0], _build(name)


def _run(model, x):
    """Eval output and the head projection's output (the golden logits), from one forward pass."""
    captured = {}
    handle = model.head.projection.register_forward_hook(lambda m, i, o: captured.setdefault("logits", o))
    with torch.no_grad():
        output = model([x])
    handle.remove()
    return output, captured["logits"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_deterministic_outputs_match_golden_fp32_and_fp64(name):
    golden = load_golden(name)
    case, model = _golden_case(name, golden)
    fill_model(model, golden)
    model.eval()
    x = golden_input(case["input"])
    ref_logits = torch.tensor(case["logits_fp64"]["values"], dtype=torch.float64)
    ref_output = torch.tensor(case["output_fp64"]["values"], dtype=torch.float64)
    logit_atol = 2e-5 if name == "x3d_m" else 5e-5

    output, logits = _run(model, x)
    torch.testing.assert_close(logits.double(), ref_logits, rtol=1e-4, atol=logit_atol)
    torch.testing.assert_close(output.double(), ref_output, rtol=0, atol=1e-5)

    # Float64 on sample 0 only: eval-mode rows are independent, and this halves the slowest pass.
    output64, logits64 = _run(model.double(), x[:1].double())
    torch.testing.assert_close(logits64, ref_logits[:1], rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(output64, ref_output[:1], rtol=1e-9, atol=1e-9)

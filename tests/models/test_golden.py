"""Our X3D-M and MViT-B 16x4 against PySlowFast's golden specs, FLOPs and deterministic-weight outputs."""

import pytest
import torch
from golden_data import CASES, build_case_model, fill_model, golden_case, load_golden

from slowfast.models.flops import count_flops


@pytest.fixture(scope="module", params=sorted(CASES))
def built(request):
    return request.param, load_golden(request.param), build_case_model(request.param)


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
    model, x, ref_logits, ref_output = golden_case(name)
    logit_atol = 2e-5 if name == "x3d_m" else 5e-5

    output, logits = _run(model, x)
    torch.testing.assert_close(logits.double(), ref_logits, rtol=1e-4, atol=logit_atol)
    torch.testing.assert_close(output.double(), ref_output, rtol=0, atol=1e-5)

    # Float64 on sample 0 only: eval-mode rows are independent, and this halves the slowest pass.
    output64, logits64 = _run(model.double(), x[:1].double())
    torch.testing.assert_close(logits64, ref_logits[:1], rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(output64, ref_output[:1], rtol=1e-9, atol=1e-9)

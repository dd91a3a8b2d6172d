"""Loading our state_dicts and PySlowFast checkpoints (``model_state``, ``module.`` prefix); clear errors."""

import pytest
import torch

from slowfast.models.checkpoint_keys import convert_state_dict, load_model_state
from slowfast.models.x3d import X3D, X3DArch


def _tiny(seed):
    torch.manual_seed(seed)
    return X3D(arch=X3DArch(width_factor=1.0, depth_factor=1.0, dim_c5=32), num_classes=5, num_frames=4, crop_size=64)


def _assert_same_weights(a, b):
    for (key, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), key


def test_round_trip_through_a_file(tmp_path):
    source, target = _tiny(0), _tiny(1)
    path = tmp_path / "model.pt"
    torch.save(source.state_dict(), path)
    assert load_model_state(target, torch.load(path)) == ([], [])
    _assert_same_weights(source, target)


def test_pyslowfast_checkpoint_with_ddp_prefix(tmp_path):
    source, target = _tiny(0), _tiny(1)
    checkpoint = {
        "epoch": 3,
        "model_state": {f"module.{k}": v for k, v in source.state_dict().items()},
        "optimizer_state": {},
        "cfg": "...",
    }
    path = tmp_path / "checkpoint_epoch_00003.pyth"
    torch.save(checkpoint, path)
    load_model_state(target, torch.load(path))
    _assert_same_weights(source, target)
    assert set(convert_state_dict(checkpoint)) == set(source.state_dict())


def test_mismatch_lists_missing_unexpected_and_shapes():
    model = _tiny(0)
    state = dict(model.state_dict())
    del state["head.lin_5.weight"]
    state["head.extra.weight"] = torch.zeros(1)
    state["head.projection.weight"] = torch.zeros(7, 32)
    with pytest.raises(ValueError) as info:
        load_model_state(model, state)
    message = str(info.value)
    assert "missing key: head.lin_5.weight" in message
    assert "unexpected key: head.extra.weight" in message
    assert "shape mismatch: head.projection.weight: expected (5, 32), got (7, 32)" in message


def test_non_strict_loads_the_rest_and_reports():
    source, target = _tiny(0), _tiny(1)
    state = dict(source.state_dict())
    del state["head.lin_5.weight"]
    missing, unexpected = load_model_state(target, state, strict=False)
    assert missing == ["head.lin_5.weight"] and unexpected == []
    assert torch.equal(target.head.projection.weight, source.head.projection.weight)

"""Precision is the config's, not PyTorch's default: TF32 and matmul flags, autocast dtype and scaler, and the
implementation event and result line that record them; DDP's BN buffer broadcast, left out under precise BN."""

import pytest
import torch

from slowfast.benchmark.mllog import describe_implementation
from slowfast.config import ConfigError, load_config
from slowfast.engine.implementation import Implementation
from slowfast.engine.setup import apply_precision, mixed_precision, place_model
from slowfast.utils import distributed as du

CUDA = torch.device("cuda", 0)


@pytest.fixture
def restore_precision():
    saved = torch.backends.cudnn.allow_tf32, torch.get_float32_matmul_precision()
    yield
    torch.backends.cudnn.allow_tf32 = saved[0]
    torch.set_float32_matmul_precision(saved[1])


def test_defaults_turn_off_the_tf32_pytorch_enables(restore_precision):
    torch.backends.cudnn.allow_tf32 = True  # PyTorch's default
    torch.set_float32_matmul_precision("high")
    record = apply_precision(load_config(None, []), None)
    assert torch.backends.cudnn.allow_tf32 is False and torch.backends.cuda.matmul.allow_tf32 is False
    assert torch.get_float32_matmul_precision() == "highest"
    assert record == {"allow_tf32": False, "matmul_precision": "highest", "autocast": "off"}


def test_tf32_keys_switch_it_on(restore_precision):
    cfg = load_config(None, ["MODEL.ALLOW_TF32", "True", "MODEL.MATMUL_PRECISION", "high"])
    record = apply_precision(cfg, torch.bfloat16)
    assert torch.backends.cudnn.allow_tf32 is True and torch.backends.cuda.matmul.allow_tf32 is True
    assert record == {"allow_tf32": True, "matmul_precision": "high", "autocast": "bfloat16"}


def test_unknown_matmul_precision_is_a_config_error():
    with pytest.raises(ConfigError, match="MODEL.MATMUL_PRECISION"):
        load_config(None, ["MODEL.MATMUL_PRECISION", "fp16"])


def _ampere_bf16(including_emulation=True):
    return True


def _volta_bf16(including_emulation=True):
    return including_emulation  # torch's default answer counts bf16 emulated in software: True on a V100 too


@pytest.mark.parametrize(
    ("bf16", "dtype", "scaled"), [(_ampere_bf16, torch.bfloat16, False), (_volta_bf16, torch.float16, True)]
)
def test_mixed_precision_on_cuda_is_bf16_where_native_else_fp16_with_a_scaler(monkeypatch, bf16, dtype, scaled):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # GradScaler disables itself without CUDA
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", bf16)
    scaler, amp_dtype = mixed_precision(load_config(None, ["TRAIN.MIXED_PRECISION", "True"]), CUDA)
    assert amp_dtype == dtype and scaler.is_enabled() is scaled


def test_mixed_precision_off_and_on_the_cpu():
    scaler, amp_dtype = mixed_precision(load_config(None, []), torch.device("cpu"))
    assert amp_dtype is None and not scaler.is_enabled()
    scaler, amp_dtype = mixed_precision(load_config(None, ["TRAIN.MIXED_PRECISION", "True"]), torch.device("cpu"))
    assert amp_dtype == torch.bfloat16 and not scaler.is_enabled()


def test_event_and_result_line_record_the_precision():
    precision = {"allow_tf32": False, "matmul_precision": "highest", "autocast": "off"}
    impl = Implementation("reference", {"compile": False}, {"compile": "reference mode"}, precision=precision)
    value = impl.event_value()
    assert value["precision"] == precision
    assert describe_implementation(value).endswith("; precision: cuDNN TF32 off, matmul highest, autocast off")


@pytest.mark.parametrize(("precise_bn", "broadcast"), [("True", False), ("False", True)])
def test_ddp_broadcasts_bn_buffers_only_without_precise_bn(monkeypatch, precise_bn, broadcast):
    wrapped = []
    monkeypatch.setattr(du, "get_world_size", lambda: 2)
    monkeypatch.setattr(torch.nn.parallel, "DistributedDataParallel", lambda model, **kw: wrapped.append(kw) or model)
    cfg = load_config(None, ["BN.USE_PRECISE_STATS", precise_bn])
    place_model(torch.nn.BatchNorm3d(3), cfg, torch.device("cpu"))
    assert wrapped == [{"device_ids": None, "forward_sync_buffers": broadcast}]

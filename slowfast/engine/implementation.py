"""Implementation settings: switches that change how fast the model trains, never what it computes.

Memory layout (channels_last_3d), the channel-wise convolution's own input and weight gradients, fused
attention, cuDNN's autotuner and torch.compile keep the model's mathematics (the tests compare outputs and
gradients with the plain implementation), so they are allowed in the closed division.
``BENCHMARK.IMPLEMENTATION`` picks them:

- ``reference``: PySlowFast's plain implementation (contiguous layout, stock backward, unfused attention,
  no compile, no autotuner): a score then compares the hardware alone with the reference table.
- ``fast``: every option on, except where it is known to be slower: compile on the CPU (not an auto
  candidate there) and the channel-wise convolution's own backward on CUDA (cuDNN's grouped convolution
  backward is the fast one there; ours loops over clips in Python for the weight gradient).
- ``auto``: before the clock starts, time a few train steps of each candidate on this device with random
  input of the run's shape (warm-up first, so compilation happens here), keep the fastest; every timing is
  logged. Candidates: on CUDA the plain implementation first (every option off), then every combination of
  the model options, then the winner with each engine option (cudnn_benchmark, compile) toggled. Once
  BENCHMARK.AUTO_BUDGET_S has passed no further model combination starts; the engine toggles (at most two)
  always run, so a slow first round cannot starve them. On the CPU compile is not a candidate (see
  ``CPU_COMPILE_CANDIDATE``).
- ``config``: the option keys as written in the config.

A candidate that raises (torch.compile without a C compiler or ``Python.h``, cuDNN without an algorithm for a
shape, out of memory) is logged as failed with its error and auto goes on. Every process times the same
candidates and gathers every outcome, so all of them see the same failures and pick the one with the lowest
summed median: DDP replicas run the same implementation.
"""

import itertools
import logging
import statistics
import time
from dataclasses import dataclass, field, replace
from typing import Any, cast

import torch
from fvcore.common.config import CfgNode
from torch import nn

from slowfast.benchmark.mllog import describe_implementation, describe_search
from slowfast.config.checks import config_value
from slowfast.config.keys import CHANNELWISE_BACKWARD_KEYS, IMPLEMENTATION_OPTION_KEYS
from slowfast.engine.implementation_choice import CHOICE_FILENAME, choice_key, load_choice, save_choice
from slowfast.engine.launch import cpu_thread_setting, local_process_count
from slowfast.engine.setup import apply_precision, mixed_precision
from slowfast.engine.warmup import train_input_shape
from slowfast.models import build_model
from slowfast.utils import distributed as du
from slowfast.utils.env import library_versions

logger = logging.getLogger(__name__)

# Options that change the model's modules (timed in every combination) vs the engine's (toggled one at a time).
_MODEL_OPTIONS = ("channels_last", "fast_channelwise_backward", "fast_channelwise_weight_grad", "fused_attention")
# torch.compile on the CPU: on the shared 2-core machine the X3D-M smoke run (32x32 clips) reached its second
# train step 7.7 min after start with compile and 38 s without, more than a whole 3-minute quick-start, so
# auto and fast leave it out there; "config" with MODEL.COMPILE True still runs it.
CPU_COMPILE_CANDIDATE = False
_NO_CPU_COMPILE = "not a candidate on the CPU (compile time exceeds its gain)"
# The channel-wise convolution's own backward: on CUDA a candidate of auto, never on by default.
_CHANNELWISE_OPTIONS = ("fast_channelwise_backward", "fast_channelwise_weight_grad")
_CUDNN_IS_FASTER = "fast mode: cuDNN's backward is the fast one on CUDA"
# Characters of a failed candidate's error kept in the log.
_ERROR_CHARS = 300
_WARMUP_STEPS = 1


@dataclass
class Implementation:
    """The implementation a run uses and how it was chosen.

    Attributes:
        mode: BENCHMARK.IMPLEMENTATION.
        settings: option name -> on/off.
        chosen_by: option name -> how its value was chosen.
        candidates: auto's timings, [{"settings", "step_s", "median_s"} or {"settings", "skipped"}].
        threads: torch intra-op threads of this process, and threads_source how that was chosen.
        precision: what the run computes in (``slowfast.engine.setup.apply_precision``); {} when not set.
    """

    mode: str
    settings: dict[str, bool]
    chosen_by: dict[str, str]
    candidates: list[dict[str, Any]] = field(default_factory=list)
    threads: int = 1
    threads_source: str = ""
    precision: dict[str, object] = field(default_factory=dict)

    def apply(self, cfg: CfgNode) -> CfgNode:
        """Return a frozen copy of ``cfg`` whose option keys hold these settings."""
        cfg = cfg.clone()
        cfg.defrost()
        cfg.merge_from_list([item for name, value in self.settings.items() for item in (option_key(cfg, name), value)])
        cfg.freeze()
        return cfg

    def event_value(self) -> dict[str, Any]:
        """The mllog ``implementation`` event: every setting, the timings, threads, precision, library versions."""
        return {
            "mode": self.mode,
            "settings": [
                {"name": name, "value": value, "chosen_by": self.chosen_by[name]}
                for name, value in self.settings.items()
            ]
            + [{"name": "cpu_threads", "value": self.threads, "chosen_by": self.threads_source}],
            "candidates": self.candidates,
            "precision": self.precision,
            "versions": library_versions(),
        }

    def describe(self) -> str:
        """One line for logs and the result block, e.g. "auto: channels_last on, compile off; 2 threads"."""
        return describe_implementation(self.event_value())


def option_key(cfg: CfgNode, name: str) -> str:
    """The config key holding option ``name`` for this config's architecture."""
    if name == "fast_channelwise_backward":
        return CHANNELWISE_BACKWARD_KEYS[cfg.MODEL.MODEL_NAME]
    return IMPLEMENTATION_OPTION_KEYS[name]


def applicable_options(cfg: CfgNode, device: torch.device) -> list[str]:
    """Options that exist for this model and device (the channel-wise weight gradient is X3D's, fused attention
    MViT's, cuDNN's autotuner CUDA's)."""
    options = ["channels_last", "fast_channelwise_backward"]
    if cfg.MODEL.MODEL_NAME == "X3D":
        options.append("fast_channelwise_weight_grad")
    if cfg.MODEL.MODEL_NAME == "MViT":
        options.append("fused_attention")
    if device.type == "cuda":
        options.append("cudnn_benchmark")
    options.append("compile")
    return options


def choose_implementation(cfg: CfgNode, device: torch.device, amp_dtype: torch.dtype | None = None) -> Implementation:
    """Decide the implementation settings of this run (``auto`` times candidates; the others read the mode).

    Args:
        cfg (CfgNode): the run configuration (BENCHMARK.IMPLEMENTATION, the option keys, the run's shape).
        device (torch.device): where the run trains.
        amp_dtype (torch.dtype or None): autocast dtype of the run's train step.
    Returns:
        Implementation
    """
    mode, options = cfg.BENCHMARK.IMPLEMENTATION, applicable_options(cfg, device)
    threads, source = torch.get_num_threads(), cpu_thread_setting(local_process_count(cfg))[1]
    if mode in ("reference", "fast"):
        settings, chosen_by = _fixed_mode(mode, options, device)
        return Implementation(mode, settings, chosen_by, threads=threads, threads_source=source)
    if mode == "config":
        settings = {name: bool(config_value(cfg, option_key(cfg, name))) for name in options}
        chosen_by = {name: f"config key {option_key(cfg, name)}" for name in options}
        return Implementation(mode, settings, chosen_by, threads=threads, threads_source=source)
    settings, candidates = _auto_search(cfg, device, amp_dtype, options)
    chosen_by = {name: "auto: fastest timed candidate" for name in options}
    if not _compile_is_candidate(device):
        chosen_by["compile"] = f"auto: {_NO_CPU_COMPILE}"
    return Implementation(mode, settings, chosen_by, candidates, threads, source)


def _fixed_mode(mode: str, options: list[str], device: torch.device) -> tuple[dict[str, bool], dict[str, str]]:
    """Settings of ``reference`` (all off) and ``fast`` (all on but what is known slower on this device)."""
    settings = {name: mode == "fast" for name in options}
    chosen_by = {name: f"{mode} mode" for name in options}
    if mode == "fast" and not _compile_is_candidate(device):
        settings["compile"], chosen_by["compile"] = False, f"fast mode: {_NO_CPU_COMPILE}"
    if mode == "fast" and device.type == "cuda":
        for name in _CHANNELWISE_OPTIONS:
            if name in settings:
                settings[name], chosen_by[name] = False, _CUDNN_IS_FASTER
    return settings, chosen_by


def _compile_is_candidate(device: torch.device) -> bool:
    return device.type == "cuda" or CPU_COMPILE_CANDIDATE


def model_option_combinations(options: list[str]) -> list[dict[str, bool]]:
    """Auto's first round: every on/off combination of the model options, all on first and all off last,
    with cuDNN's autotuner on and compile off.

    Args:
        options (list of str): from ``applicable_options``.
    Returns:
        list of dict: option name -> on/off, one per candidate.
    """
    model_options = [name for name in options if name in _MODEL_OPTIONS]
    base = {name: name == "cudnn_benchmark" for name in options if name not in _MODEL_OPTIONS}
    return [
        dict(zip(model_options, values), **base)
        for values in itertools.product((True, False), repeat=len(model_options))
    ]


def engine_option_toggles(best: dict[str, bool], device: torch.device) -> list[dict[str, bool]]:
    """Auto's second round: ``best`` with each engine option (cuDNN's autotuner, compile) switched over.

    Args:
        best (dict): the fastest candidate of the first round.
        device (torch.device): compile is a candidate on CUDA only (``CPU_COMPILE_CANDIDATE``).
    Returns:
        list of dict: one candidate per engine option that applies.
    """
    toggles = [name for name in ("cudnn_benchmark", "compile") if name in best]
    if not _compile_is_candidate(device):
        toggles.remove("compile")
    return [{**best, name: not best[name]} for name in toggles]


def first_round(options: list[str], device: torch.device) -> list[dict[str, bool]]:
    """Auto's first round: on CUDA the plain implementation (every option off) first, so that the options
    that are candidates only there are measured against it; then ``model_option_combinations``."""
    combinations = model_option_combinations(options)
    if device.type != "cuda":
        return combinations
    return [dict.fromkeys(options, False), *combinations]


def _auto_search(
    cfg: CfgNode, device: torch.device, amp_dtype: torch.dtype | None, options: list[str]
) -> tuple[dict[str, bool], list[dict[str, Any]]]:
    """Time the first round within the budget, then the winner with each engine option toggled."""
    start, budget = time.perf_counter(), float(cfg.BENCHMARK.AUTO_BUDGET_S)
    candidates: list[dict[str, Any]] = []
    for settings in first_round(options, device):
        spent = max(du.all_gather_objects(time.perf_counter() - start))
        if spent > budget and any("median_s" in c for c in candidates):
            candidates.append({"settings": settings, "skipped": f"budget of {budget:g} s spent"})
        else:
            candidates.append(_time_candidate(cfg, device, amp_dtype, settings, candidates))
    for settings in engine_option_toggles(_fastest(candidates, options), device):
        candidates.append(_time_candidate(cfg, device, amp_dtype, settings, candidates))
    best = _fastest(candidates, options)
    logger.info(
        "implementation auto: %s in %.1f s; fastest %s", describe_search(candidates), time.perf_counter() - start, best
    )
    return best, candidates


def _time_candidate(
    cfg: CfgNode,
    device: torch.device,
    amp_dtype: torch.dtype | None,
    settings: dict[str, bool],
    candidates: list[dict[str, Any]],
) -> dict[str, Any]:
    """Time one candidate on every process and agree on the outcome: its summed median, or its failures."""
    timed = [c for c in candidates if "median_s" in c]
    beat_s = min(c["median_s"] for c in timed) / du.get_world_size() if timed else None
    seconds, error = _attempt(cfg, settings, device, amp_dtype, beat_s)
    outcomes = du.all_gather_objects(error if error is not None else statistics.median(seconds))
    failures = [f"rank {rank}: {outcome}" for rank, outcome in enumerate(outcomes) if isinstance(outcome, str)]
    if failures:
        logger.warning("implementation auto: %s failed (%s); going on without it", settings, "; ".join(failures))
        return {"settings": settings, "failed": failures}
    logger.info("implementation auto: %s -> median step %.4f s", settings, sum(outcomes))
    return {"settings": settings, "step_s": [round(s, 5) for s in seconds], "median_s": round(sum(outcomes), 5)}


def _attempt(
    cfg: CfgNode, settings: dict[str, bool], device: torch.device, amp_dtype: torch.dtype | None, beat_s: float | None
) -> tuple[list[float], str | None]:
    """``time_train_steps``, or its error as one line when the candidate raises."""
    try:
        return time_train_steps(cfg, settings, device, amp_dtype, int(cfg.BENCHMARK.AUTO_STEPS), beat_s), None
    except Exception as err:  # noqa: BLE001 - any failing candidate is logged and left out, never fatal
        lines = str(err).strip().splitlines()
        error = f"{type(err).__name__}: {lines[0] if lines else ''}"[:_ERROR_CHARS]
    # Outside the except block the failed step's tensors are unreferenced: give their memory back.
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return [], error


def _fastest(candidates: list[dict[str, Any]], options: list[str]) -> dict[str, bool]:
    """Settings of the lowest summed median; every option off when no candidate could be timed."""
    timed = [c for c in candidates if "median_s" in c]
    if not timed:
        logger.warning("implementation auto: no candidate could be timed; using the plain implementation")
        return dict.fromkeys(options, False)
    return dict(min(timed, key=lambda c: c["median_s"])["settings"])


def time_train_steps(
    cfg: CfgNode,
    settings: dict[str, bool],
    device: torch.device,
    amp_dtype: torch.dtype | None,
    steps: int,
    beat_s: float | None = None,
) -> list[float]:
    """Seconds of ``steps`` train steps (after warm-up) of a throwaway model built with ``settings``.

    A train step is zero_grad, forward in train mode (autocast with ``amp_dtype``), cross-entropy, backward and
    an SGD step, on random input of the run's per-process shape. Timing stops early once more than half of
    the ``steps`` took longer than ``beat_s``: the median can then no longer beat it.

    Args:
        cfg (CfgNode): the run configuration.
        settings (dict): option name -> on/off.
        device (torch.device): where to time.
        amp_dtype (torch.dtype or None): autocast dtype.
        steps (int): timed steps.
        beat_s (float or None): the best median so far (None: time every step).
    Returns:
        list of float: seconds per timed step.
    """
    impl = Implementation("auto", settings, {})
    model = prepare_training_model(build_model(impl.apply(cfg)).to(device), impl)
    x = torch.randn(train_input_shape(cfg, du.get_world_size()), device=device)  # clips = videos x NUM_SAMPLE
    labels = torch.randint(0, cfg.MODEL.NUM_CLASSES, (x.shape[0],), device=device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-6, momentum=0.9)
    model.train()
    seconds: list[float] = []
    for step in range(_WARMUP_STEPS + steps):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        began = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            logits = model([x])
        torch.nn.functional.cross_entropy(logits.float(), labels).backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if step >= _WARMUP_STEPS:
            seconds.append(time.perf_counter() - began)
        if beat_s is not None and 2 * sum(t > beat_s for t in seconds) > steps:
            break
    return seconds


def prepare_training_model(model: nn.Module, impl: Implementation) -> nn.Module:
    """Apply the engine options to the (possibly DDP-wrapped) training model: cuDNN's autotuner, compile.

    Args:
        model (nn.Module): the model the train loop calls.
        impl (Implementation): the chosen settings.
    Returns:
        nn.Module: ``model``, or its ``torch.compile`` wrapper (the bare module keeps its state_dict keys).
    """
    if "cudnn_benchmark" in impl.settings:
        torch.backends.cudnn.benchmark = bool(impl.settings["cudnn_benchmark"])
    if impl.settings.get("compile"):
        return cast(nn.Module, torch.compile(model))  # an OptimizedModule for a module
    return model


def choose_run_implementation(
    cfg: CfgNode, device: torch.device, timed_by: str = "run"
) -> tuple[Implementation, CfgNode]:
    """Set the run's precision, then choose its implementation (auto times candidates in that precision).

    The run and the self-check both call this, and auto's choice is kept in OUTPUT_DIR (implementation_choice.py):
    a run after its self-check, with the same config, machine and versions, trains what the self-check timed.

    Args:
        cfg (CfgNode): the run configuration.
        device (torch.device): where the run trains.
        timed_by (str): "run" or "selfcheck", recorded with a choice auto times.
    Returns:
        tuple: (the Implementation with its precision, ``cfg`` with the implementation's option keys applied).
    """
    amp_dtype = mixed_precision(cfg, device)[1]
    precision = apply_precision(cfg, amp_dtype)
    impl = _reused_auto_choice(cfg, device)
    if impl is None:
        impl = choose_implementation(cfg, device, amp_dtype)
        if impl.mode == "auto":
            save_choice(cfg, choice_key(cfg, device), timed_by, impl.event_value())
    impl = replace(impl, precision=precision)
    logger.info("implementation: %s", impl.describe())
    return impl, impl.apply(cfg)


def _reused_auto_choice(cfg: CfgNode, device: torch.device) -> Implementation | None:
    """auto's choice saved in OUTPUT_DIR for this config, machine and versions; None when not auto or none."""
    if cfg.BENCHMARK.IMPLEMENTATION != "auto":
        return None
    saved = load_choice(cfg, choice_key(cfg, device))
    if saved is None or set(saved["settings"]) != set(applicable_options(cfg, device)):
        return None
    logger.info(
        "implementation: reusing auto's choice timed by the %s (%s in OUTPUT_DIR; same config, machine and "
        "versions), not timing again",
        saved["timed_by"],
        CHOICE_FILENAME,
    )
    chosen_by = {name: f"{how} (timed by the {saved['timed_by']})" for name, how in saved["chosen_by"].items()}
    threads, source = torch.get_num_threads(), cpu_thread_setting(local_process_count(cfg))[1]
    return Implementation("auto", saved["settings"], chosen_by, saved["candidates"], threads, source)

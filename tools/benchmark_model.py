"""Train-step and inference speed of the configured model for every implementation candidate, and auto's pick.

    python tools/benchmark_model.py --cfg configs/X3D_M.yaml [--threads 2] [--batch 2] [--crop 112] [--rounds 5]
        [--compile] [--variants NAME ...]

The candidates are those of BENCHMARK.IMPLEMENTATION auto (slowfast/engine/implementation.py): every on/off
combination of the model options (channels_last, fast_channelwise_backward, X3D's fast_channelwise_weight_grad,
MViT's fused_attention), then the all-on one with each engine option switched (cuDNN's autotuner on CUDA;
compile on CUDA, or on the CPU with --compile). "plain" (every option off) is the reference implementation,
PySlowFast's layout and kernels.
Train step = zero_grad + forward (train mode) + cross-entropy + backward + SGD step. MFU = achieved
multiply-adds per second (fvcore count; a train step is taken as 3x the forward) over the fp32
matrix-multiply rate measured in the same run.

All candidates are built first and then timed in interleaved rounds (one train step of each per round, then
one eval forward of each), so a load change on a shared machine hits every candidate alike. The speed-up
columns are the median over rounds of (plain seconds / candidate seconds) within the same round. The last
line names the candidate with the lowest median train step, the rule auto applies (auto itself times its
second round around its own first-round winner, so on close calls the two may differ).
"""

import os
import statistics
import sys
import time

import torch

# Lets the tool run from a plain checkout, and a checkout's tool use that checkout's package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.config import merge_config
from slowfast.config.cli import ToolParser, run_tool
from slowfast.engine.implementation import (
    Implementation,
    applicable_options,
    engine_option_toggles,
    model_option_combinations,
    prepare_training_model,
)
from slowfast.models import build_model
from slowfast.models.flops import count_flops
from slowfast.utils.errors import UserError


def candidate_name(settings):
    """ "plain" when every option is off, else the options switched on joined by "+"."""
    return "+".join(name for name, on in settings.items() if on) or "plain"


def candidates(cfg, device, with_compile):
    """name -> settings of every candidate, "plain" (every option off) first; see the module docstring."""
    options = applicable_options(cfg, device)
    combos = model_option_combinations(options)  # all model options on first
    toggled = engine_option_toggles(combos[0], device)
    if with_compile and not any(c.get("compile") for c in toggled):
        toggled.append({**combos[0], "compile": True})
    named = {"plain": {name: False for name in options}}
    for settings in combos + toggled:
        named.setdefault(candidate_name(settings), settings)
    return named


def matmul_rate(device, size=1024, repeats=5):
    """Measured fp32 multiply-adds per second of a square matrix product (median of ``repeats``)."""
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    return size**3 / _median_seconds(lambda: a @ b, device, repeats)


def _median_seconds(step, device, iters, warmup=1):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(iters):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def build_steps(cfg, settings, batch, device):
    """Build ``cfg``'s model (seed 0) with implementation ``settings``; return (train step, eval forward,
    forward multiply-adds per clip).

    Train step = zero_grad + train-mode forward + cross-entropy + backward + SGD (momentum 0.9) step.
    """
    impl = Implementation("config", settings, {})
    torch.manual_seed(0)
    model = build_model(impl.apply(cfg)).to(device)
    trained = prepare_training_model(model, impl)
    crop, frames = cfg.DATA.TRAIN_CROP_SIZE, cfg.DATA.NUM_FRAMES
    x = torch.randn(batch, cfg.DATA.INPUT_CHANNEL_NUM[0], frames, crop, crop, device=device)
    labels = torch.randint(0, cfg.MODEL.NUM_CLASSES, (batch,), device=device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

    def train_step():
        model.train()
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(trained([x]), labels).backward()
        optimizer.step()

    def eval_step():
        model.eval()
        with torch.no_grad():
            model([x])

    model.eval()
    macs, _ = count_flops(model, [x[:1]])
    return train_step, eval_step, macs


def interleaved_seconds(steps, device, rounds):
    """Time ``steps`` (name -> callable) in turn, one call each per round, after one warm-up call each.

    Returns:
        dict: name -> list of seconds, one per round.
    """
    for step in steps.values():
        step()
    times = {name: [] for name in steps}
    for round_index in range(rounds):
        for name, step in steps.items():
            times[name].append(_median_seconds(step, device, iters=1, warmup=0))
        print(f"  round {round_index}: " + ", ".join(f"{name} {t[-1]:.3f}s" for name, t in times.items()), flush=True)
    return times


def median_ratio(reference, times):
    """Median over rounds of reference[i] / times[i] (a speed-up measured within each round)."""
    return statistics.median(ref / t for ref, t in zip(reference, times))


def chosen_names(variants, wanted):
    """The candidates to time: "plain" and those of ``wanted`` (every candidate when ``wanted`` is None).

    Raises:
        UserError: a wanted name that is no candidate here, with the candidates.
    """
    unknown = [name for name in wanted or [] if name not in variants]
    if unknown:
        raise UserError(f"--variants {' '.join(unknown)}: no such candidate here; candidates: {', '.join(variants)}")
    return [name for name in variants if name == "plain" or not wanted or name in wanted]


def print_table(names, train, evals, macs, batch, rate):
    """Print one row per candidate: median seconds, clips/s and MFU of a train step and an eval forward, and
    the speed-ups over "plain"."""
    width = max(len(name) for name in names) + 2
    print(
        f"{'candidate':<{width}} {'train s':>8} {'train clips/s':>14} {'train MFU':>10} {'eval s':>8} "
        f"{'eval clips/s':>13} {'eval MFU':>9} {'train speed-up':>15} {'eval speed-up':>14}"
    )
    for name in names:
        train_s, eval_s = statistics.median(train[name]), statistics.median(evals[name])
        train_mfu = 3 * macs * batch / train_s / rate
        eval_mfu = macs * batch / eval_s / rate
        print(
            f"{name:<{width}} {train_s:>8.3f} {batch / train_s:>14.2f} {train_mfu:>10.1%} {eval_s:>8.3f} "
            f"{batch / eval_s:>13.2f} {eval_mfu:>9.1%} {median_ratio(train['plain'], train[name]):>14.2f}x "
            f"{median_ratio(evals['plain'], evals[name]):>13.2f}x"
        )
    pick = min(names, key=lambda name: statistics.median(train[name]))
    print(f"auto's rule (lowest median train step) picks: {pick}")


def benchmark(args):
    """Build every candidate, time them in interleaved rounds and print the table."""
    base = merge_config(args.cfg, args.opts)
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    base.merge_from_list(["DATA.TRAIN_CROP_SIZE", str(args.crop), "DATA.TEST_CROP_SIZE", str(args.crop)])
    variants = candidates(base, device, args.compile)
    names = chosen_names(variants, args.variants)
    rate = matmul_rate(device)
    print(
        f"device {device}, threads {args.threads}, batch {args.batch}, clip {base.DATA.NUM_FRAMES}x{args.crop}^2;"
        f" fp32 matmul rate {rate / 1e9:.1f} GMAC/s"
    )
    train_steps, eval_steps, macs = {}, {}, None
    for name in names:
        train_steps[name], eval_steps[name], macs = build_steps(base, variants[name], args.batch, device)
    print("train step (interleaved):")
    train = interleaved_seconds(train_steps, device, args.rounds)
    print("eval forward (interleaved):")
    evals = interleaved_seconds(eval_steps, device, args.rounds)
    print_table(names, train, evals, macs, args.batch, rate)


def main(argv=None):
    """Time the candidates; return the exit status (1: a user error, printed as one line; 130: Ctrl-C)."""
    parser = ToolParser(__doc__)
    parser.add_argument("--cfg", required=True, help="YAML config")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: %(default)s)")
    parser.add_argument("--batch", type=int, default=2, help="clips per step (default: %(default)s)")
    parser.add_argument("--crop", type=int, default=112, help="crop the model is built for (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timed rounds after one warm-up")
    parser.add_argument("--variants", nargs="+", default=None, help="only these candidates (plain is always kept)")
    parser.add_argument("--compile", action="store_true", help="add the all-on candidate with torch.compile on the CPU")
    parser.add_argument("opts", nargs="*", default=[], help="KEY VALUE overrides")
    return run_tool(parser, benchmark, argv)


if __name__ == "__main__":
    sys.exit(main())

"""Train-step and inference speed of the configured model, each speed option against the plain layout.

    python tools/benchmark_model.py --cfg configs/X3D_M.yaml [--threads 2] [--batch 2] [--crop 112] [--rounds 5]

"plain" is the PySlowFast-equivalent model (contiguous NCDHW tensors, PyTorch's own convolution backward,
explicit attention matmuls); the other rows switch our options on. Train step = zero_grad + forward (train
mode) + cross-entropy + backward + SGD step. MFU = achieved multiply-adds per second (fvcore count; a train
step is taken as 3x the forward) over the fp32 matrix-multiply rate measured in the same run.

All variants are built first and then timed in interleaved rounds (one train step of each variant per round,
then one eval forward of each), so a load change on a shared machine hits every variant alike. The speed-up
columns are the median over rounds of (plain seconds / variant seconds) within the same round.
"""

import argparse
import statistics
import time

import torch

from slowfast.config import get_cfg
from slowfast.models import build_model
from slowfast.models.flops import count_flops

# Speed options per model: row name -> config overrides (the first row is the PySlowFast-equivalent one).
VARIANTS = {
    "X3D": {
        "plain": ["MODEL.CHANNELS_LAST", "False", "X3D.FAST_CHANNELWISE_BACKWARD", "False"],
        "channels_last": ["MODEL.CHANNELS_LAST", "True", "X3D.FAST_CHANNELWISE_BACKWARD", "False"],
        "channels_last+fast_cw_backward": ["MODEL.CHANNELS_LAST", "True", "X3D.FAST_CHANNELWISE_BACKWARD", "True"],
    },
    "MViT": {
        "plain": ["MVIT.FUSED_ATTENTION", "False", "MODEL.CHANNELS_LAST", "False",
                  "MVIT.FAST_CHANNELWISE_BACKWARD", "False"],
        "fused_attention": ["MVIT.FUSED_ATTENTION", "True", "MODEL.CHANNELS_LAST", "False",
                            "MVIT.FAST_CHANNELWISE_BACKWARD", "False"],
        "channels_last": ["MVIT.FUSED_ATTENTION", "False", "MODEL.CHANNELS_LAST", "True",
                          "MVIT.FAST_CHANNELWISE_BACKWARD", "False"],
        "fused+channels_last+fast_cw_backward": ["MVIT.FUSED_ATTENTION", "True", "MODEL.CHANNELS_LAST", "True",
                                                 "MVIT.FAST_CHANNELWISE_BACKWARD", "True"],
    },
}


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


def build_steps(cfg, batch, device):
    """Build ``cfg``'s model (seed 0) and return (train step, eval forward, forward multiply-adds per clip).

    Train step = zero_grad + train-mode forward + cross-entropy + backward + SGD (momentum 0.9) step.
    """
    torch.manual_seed(0)
    model = build_model(cfg).to(device)
    crop, frames = cfg.DATA.TRAIN_CROP_SIZE, cfg.DATA.NUM_FRAMES
    x = torch.randn(batch, cfg.DATA.INPUT_CHANNEL_NUM[0], frames, crop, crop, device=device)
    labels = torch.randint(0, cfg.MODEL.NUM_CLASSES, (batch,), device=device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

    def train_step():
        model.train()
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model([x]), labels).backward()
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cfg", required=True, help="YAML config")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: %(default)s)")
    parser.add_argument("--batch", type=int, default=2, help="clips per step (default: %(default)s)")
    parser.add_argument("--crop", type=int, default=112, help="crop the model is built for (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timed rounds after one warm-up")
    parser.add_argument("--variants", nargs="+", default=None, help="only these variants (plain is always kept)")
    parser.add_argument("opts", nargs=argparse.REMAINDER, default=[], help="KEY VALUE overrides")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    base = get_cfg()
    base.merge_from_file(args.cfg)
    base.merge_from_list(list(args.opts))
    rate = matmul_rate(device)
    print(f"device {device}, threads {args.threads}, batch {args.batch}, clip {base.DATA.NUM_FRAMES}x{args.crop}^2;"
          f" fp32 matmul rate {rate / 1e9:.1f} GMAC/s")
    variants = VARIANTS[base.MODEL.MODEL_NAME]
    names = [name for name in variants if name == "plain" or not args.variants or name in args.variants]
    train_steps, eval_steps, macs = {}, {}, None
    for name in names:
        cfg = base.clone()
        cfg.merge_from_list(variants[name] + ["DATA.TRAIN_CROP_SIZE", str(args.crop),
                                              "DATA.TEST_CROP_SIZE", str(args.crop)])
        train_steps[name], eval_steps[name], macs = build_steps(cfg, args.batch, device)
    print("train step (interleaved):")
    train = interleaved_seconds(train_steps, device, args.rounds)
    print("eval forward (interleaved):")
    evals = interleaved_seconds(eval_steps, device, args.rounds)
    print(f"{'variant':<38} {'train s':>8} {'train clips/s':>14} {'train MFU':>10} {'eval s':>8} "
          f"{'eval clips/s':>13} {'eval MFU':>9} {'train speed-up':>15} {'eval speed-up':>14}")
    for name in names:
        train_s, eval_s = statistics.median(train[name]), statistics.median(evals[name])
        train_mfu = 3 * macs * args.batch / train_s / rate
        eval_mfu = macs * args.batch / eval_s / rate
        print(f"{name:<38} {train_s:>8.3f} {args.batch / train_s:>14.2f} {train_mfu:>10.1%} {eval_s:>8.3f} "
              f"{args.batch / eval_s:>13.2f} {eval_mfu:>9.1%} {median_ratio(train['plain'], train[name]):>14.2f}x "
              f"{median_ratio(evals['plain'], evals[name]):>13.2f}x")


if __name__ == "__main__":
    main()

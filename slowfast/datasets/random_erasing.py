"""Random erasing of one box through all frames of a normalised clip (PySlowFast's "cube" erasing).

PySlowFast erases each training clip in its loader worker, after normalising it: the fill is N(0, 1) noise in
normalised units, which a uint8 clip cannot hold. Here the worker draws what is random per clip (whether to erase,
the boxes, a noise seed: ``erasing_plan``) from the item's own RNG, so the choice still depends only on (seed,
epoch, index), and hands over the uint8 clip with its plan; the training step fills the boxes on the device right
after normalising the batch (``erase_batch``), before mixup, as PySlowFast's order is. The noise comes from a
generator seeded per clip on the batch's device: on the CPU the very numbers the worker drew before, on a GPU the
same distribution from CUDA's generator.
"""

import math

import numpy as np
import torch

_LOG_ASPECT_RANGE = (math.log(0.3), math.log(1 / 0.3))
# A plan's box slot that holds no box (no try fitted, or the clip is not erased).
_NO_BOX = (-1, -1, 0, 0)


def erase_box(height, width, rng, area_range=(0.02, 1 / 3), log_aspect_range=_LOG_ASPECT_RANGE, attempts=10):
    """(y0, x0, h, w) of a random box, or None when no try fits.

    Args:
        height, width (int): frame size.
        rng (numpy.random.Generator): random source.
        area_range (tuple of float): box area as a fraction of the frame.
        log_aspect_range (tuple of float): log of the h/w range.
        attempts (int): tries before giving up.
    Returns:
        tuple of int or None.
    """
    for _ in range(attempts):
        target_area = rng.uniform(*area_range) * height * width
        aspect = math.exp(rng.uniform(*log_aspect_range))
        h = int(round(math.sqrt(target_area * aspect)))
        w = int(round(math.sqrt(target_area / aspect)))
        if w < width and h < height:
            return int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1)), h, w
    return None


def erasing_plan(prob: float, count: int, height: int, width: int, rng: np.random.Generator) -> torch.Tensor:
    """What random erasing does to one clip, drawn in the loader worker.

    Args:
        prob (float): probability of erasing at all (AUG.RE_PROB).
        count (int): boxes to erase (AUG.RE_COUNT).
        height, width (int): frame size.
        rng (numpy.random.Generator): the clip's random source.
    Returns:
        Tensor: int64 (1 + 4 * count,): the noise seed, then (y0, x0, h, w) per box (``_NO_BOX`` where none).
    """
    seed = int(rng.integers(2**62))
    boxes = [erase_box(height, width, rng) for _ in range(count)] if rng.uniform() < prob else []
    boxes += [None] * (count - len(boxes))
    return torch.tensor([seed] + [v for box in boxes for v in (box or _NO_BOX)], dtype=torch.int64)


def erase_batch(batch: torch.Tensor, plans: torch.Tensor, mode: str) -> torch.Tensor:
    """Fill each clip's planned boxes, through all frames, on the batch's device.

    Args:
        batch (Tensor): normalised float (N,C,T,H,W) clips; modified in place.
        plans (Tensor): int64 (N, 1 + 4 * count) on the CPU, ``erasing_plan``'s per clip.
        mode (str): "pixel" (normal noise per pixel), "rand" (normal noise per channel and frame) or "const" (zeros).
    Returns:
        Tensor: the batch.
    """
    channels, frames = batch.shape[1:3]
    for clip, plan in zip(batch, plans.tolist()):
        generator = torch.Generator(device=batch.device).manual_seed(plan[0])
        for y0, x0, h, w in zip(*[iter(plan[1:])] * 4):
            if y0 < 0:
                continue
            # Same box in every frame, fresh noise in each (PySlowFast's cube erasing).
            if mode == "pixel":
                fill = torch.randn((channels, frames, h, w), generator=generator, device=batch.device)
            elif mode == "rand":
                fill = torch.randn((channels, frames, 1, 1), generator=generator, device=batch.device)
            else:
                fill = torch.zeros((channels, 1, 1, 1), device=batch.device)
            clip[:, :, y0 : y0 + h, x0 : x0 + w] = fill.to(batch.dtype)
    return batch

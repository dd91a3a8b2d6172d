"""Random erasing of one box through all frames of a normalised clip (PySlowFast's "cube" erasing)."""

import math

import torch

_LOG_ASPECT_RANGE = (math.log(0.3), math.log(1 / 0.3))


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


def random_erase(clip_cthw, prob, mode, count, rng, generator):
    """Erase up to ``count`` boxes, each spanning all frames, with probability ``prob``.

    Args:
        clip_cthw (Tensor): normalised float (C,T,H,W) clip; modified in place.
        prob (float): probability of erasing at all.
        mode (str): "pixel" (normal noise per pixel), "rand" (normal noise per channel and frame) or "const" (zeros).
        count (int): boxes to erase.
        rng (numpy.random.Generator): draws the boxes.
        generator (torch.Generator): draws the noise.
    Returns:
        Tensor: the clip.
    """
    if rng.uniform() >= prob:
        return clip_cthw
    channels, frames, height, width = clip_cthw.shape
    for _ in range(count):
        box = erase_box(height, width, rng)
        if box is None:
            continue
        y0, x0, h, w = box
        # Same box in every frame, fresh noise in each (PySlowFast's cube erasing).
        if mode == "pixel":
            fill = torch.randn((channels, frames, h, w), generator=generator)
        elif mode == "rand":
            fill = torch.randn((channels, frames, 1, 1), generator=generator)
        else:
            fill = torch.zeros((channels, 1, 1, 1))
        clip_cthw[:, :, y0 : y0 + h, x0 : x0 + w] = fill.to(clip_cthw.dtype)
    return clip_cthw

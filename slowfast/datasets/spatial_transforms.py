"""Spatial transforms of clips: normalisation, short-side resize, crops, flip.

Two pipelines share these ops:
- evaluation reproduces PySlowFast bit for bit on float32 (C,T,H,W) tensors: normalise, bilinear resize
  without antialiasing, crop;
- training works on uint8 (T,C,H,W) tensors (4x less memory traffic, torchvision's fast uint8 kernels)
  and converts to float once, after the crop.
Random draws come from a ``numpy.random.Generator`` passed in, so an item's augmentation is reproducible.
"""

import functools
import math

import torch
import torch.nn.functional as F


def crop_ops():
    """torchvision's v2 functional ops and its bilinear mode, imported on first use.

    Importing torchvision loads torch._dynamo (about 2 s of CPU), which processes that never crop a clip
    (launchers, agents, tools) need not pay. The train data set calls this when it is built, so that forked
    loader workers inherit the import instead of each paying it inside the clock.
    """
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.v2 import functional

    return functional, InterpolationMode.BILINEAR


def normalize(clip_uint8_tchw, mean, std):
    """uint8 (T,C,H,W) -> float32 (C,T,H,W), ``(x/255 - mean)/std`` in PySlowFast's op order.

    Args:
        clip_uint8_tchw (Tensor): uint8 frames.
        mean, std (sequence of float): per RGB channel.
    Returns:
        Tensor: float32 (C,T,H,W).
    """
    mean_t = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1, 1)
    # One strided pass converts to a contiguous float32 (C,T,H,W) (decoded and cropped frames are channels-last
    # in memory); the same float32 ops as PySlowFast's broadcast over (T,H,W,C) then run in place.
    out = clip_uint8_tchw.permute(1, 0, 2, 3).to(torch.float32, memory_format=torch.contiguous_format)
    return out.div_(255.0).sub_(mean_t).div_(std_t)


def normalize_batch(batch_uint8_nCTHW, mean, std):
    """A loader batch of uint8 (N,C,T,H,W) clips -> float32, ``(x/255 - mean)/std``: ``normalize``'s float32 ops
    in its order, so a clip normalised here (on the training device) equals one normalised in the worker.

    Args:
        batch_uint8_nCTHW (Tensor): uint8 clips on any device.
        mean, std (sequence of float): per RGB channel.
    Returns:
        Tensor: float32 (N,C,T,H,W) on the batch's device.
    """
    mean_t, std_t = _channel_constants(tuple(mean), tuple(std), batch_uint8_nCTHW.device)
    return batch_uint8_nCTHW.to(torch.float32).div_(255.0).sub_(mean_t).div_(std_t)


@functools.lru_cache(maxsize=8)
def _channel_constants(mean, std, device):
    """(mean, std) as float32 (1,C,1,1,1) tensors on ``device``, made once: building a tensor on a GPU from a
    Python list copies from pageable memory, which waits for the stream (a host-device sync every step)."""
    return tuple(torch.tensor(v, dtype=torch.float32, device=device).view(1, -1, 1, 1, 1) for v in (mean, std))


def short_side_size(height, width, size):
    """(H', W') after scaling the short side to ``size`` (long side floored, as PySlowFast)."""
    if width < height:
        return int(math.floor(height / width * size)), size
    return size, int(math.floor(width / height * size))


def resize_short_side_float(clip_cthw, size):
    """Bilinear short-side resize of a float (C,T,H,W) clip (no-op when the short side is ``size``)."""
    height, width = clip_cthw.shape[-2:]
    if min(height, width) == size:
        return clip_cthw
    out_size = short_side_size(height, width, size)
    return F.interpolate(clip_cthw, size=out_size, mode="bilinear", align_corners=False)


def uniform_crop_offsets(height, width, size, spatial_idx):
    """(y0, x0) of test crop ``spatial_idx`` (0, 1 = centre, 2) along the long side."""
    y0, x0 = int(math.ceil((height - size) / 2)), int(math.ceil((width - size) / 2))
    if spatial_idx != 1:
        if height > width:
            y0 = 0 if spatial_idx == 0 else height - size
        else:
            x0 = 0 if spatial_idx == 0 else width - size
    return y0, x0


def crop(clip, y0, x0, size):
    """Square crop of the last two dims."""
    return clip[..., y0 : y0 + size, x0 : x0 + size]


def random_crop_offsets(height, width, size, rng):
    """Random (y0, x0); PySlowFast's exclusive upper bound never touches the bottom/right edge."""
    y0 = int(rng.integers(0, height - size)) if height > size else 0
    x0 = int(rng.integers(0, width - size)) if width > size else 0
    return y0, x0


def jitter_crop_uint8(clip_tchw, min_size, max_size, crop_size, rng):
    """X3D scale jitter and random crop of a uint8 (T,C,H,W) clip, resizing only the cropped region.

    Draws the short side Z from [min_size, max_size] and the crop offsets in the Z-scaled frame (as
    PySlowFast), then maps the crop back to source pixels and resizes just that box: the same augmentation
    up to sub-pixel rounding of the box, at a fraction of the cost of resizing whole frames.

    Args:
        clip_tchw (Tensor): uint8 frames.
        min_size, max_size (int): short-side range.
        crop_size (int): side of the square output.
        rng (numpy.random.Generator): random source.
    Returns:
        Tensor: uint8 (T,C,crop_size,crop_size).
    """
    size = int(round(rng.uniform(min_size, max_size)))
    height, width = clip_tchw.shape[-2:]
    out_h, out_w = short_side_size(height, width, size)
    y0, x0 = random_crop_offsets(out_h, out_w, crop_size, rng)
    if (out_h, out_w) == (height, width):
        return crop(clip_tchw, y0, x0, crop_size)
    scale_y, scale_x = height / out_h, width / out_w
    ops, bilinear = crop_ops()
    box_h, box_w = min(height, round(crop_size * scale_y)), min(width, round(crop_size * scale_x))
    top, left = min(round(y0 * scale_y), height - box_h), min(round(x0 * scale_x), width - box_w)
    return ops.resized_crop(
        clip_tchw,
        top,
        left,
        box_h,
        box_w,
        [crop_size, crop_size],
        interpolation=bilinear,
        antialias=False,
    )


def random_resized_crop_box(height, width, area_range, aspect_range, rng, attempts=10):
    """(y0, x0, h, w) of an Inception-style crop: random area fraction and log-uniform aspect ratio.

    Args:
        height, width (int): frame size.
        area_range (sequence of 2 float): fraction of the frame area.
        aspect_range (sequence of 2 float): width/height ratio range.
        rng (numpy.random.Generator): random source.
        attempts (int): tries before falling back to the largest centred crop within the ratio range.
    Returns:
        tuple of int: (y0, x0, h, w).
    """
    area = height * width
    log_lo, log_hi = math.log(aspect_range[0]), math.log(aspect_range[1])
    for _ in range(attempts):
        target_area = area * rng.uniform(area_range[0], area_range[1])
        aspect = math.exp(rng.uniform(log_lo, log_hi))
        w = int(round(math.sqrt(target_area * aspect)))
        h = int(round(math.sqrt(target_area / aspect)))
        if 0 < w <= width and 0 < h <= height:
            return int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1)), h, w
    ratio = width / height
    if ratio < aspect_range[0]:
        w, h = width, int(round(width / aspect_range[0]))
    elif ratio > aspect_range[1]:
        h, w = height, int(round(height * aspect_range[1]))
    else:
        h, w = height, width
    return (height - h) // 2, (width - w) // 2, h, w


def random_resized_crop_uint8(clip_tchw, size, area_range, aspect_range, rng):
    """Random resized crop of a uint8 (T,C,H,W) clip to ``size`` x ``size`` (MViT recipe)."""
    y0, x0, h, w = random_resized_crop_box(*clip_tchw.shape[-2:], area_range, aspect_range, rng)
    region = clip_tchw[..., y0 : y0 + h, x0 : x0 + w]
    ops, bilinear = crop_ops()
    return ops.resize(region, [size, size], interpolation=bilinear, antialias=False)


def random_flip(clip, rng):
    """Flip the last dim (width) with probability 0.5."""
    return clip.flip(-1) if rng.uniform() < 0.5 else clip

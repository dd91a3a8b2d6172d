"""RandAugment for clips with timm's policy semantics, one op sequence shared by every frame.

A policy string such as ``rand-m7-n4-mstd0.5-inc1`` means: N = 4 ops drawn with replacement from timm's
RandAugment op set, each applied with probability 0.5, at a magnitude drawn per op from N(7, 0.5) clipped
to [0, 10]; ``inc1`` selects the variants whose strength increases with the magnitude. The ops run through
torchvision's tensor kernels on a uint8 (T,C,H,W) clip, which apply one op with one set of parameters to
all T frames, so the clip stays temporally consistent.

Geometric ops (Rotate, Shear, Translate) use torchvision's affine geometry but their own warp,
``affine_warp``, because torchvision's tensor affine kernel offers only nearest and bilinear sampling while
PySlowFast goes through PIL with bicubic resampling. The interpolation is "bicubic" or "bilinear"
(AUG.INTERPOLATION); bicubic is torch's grid_sample cubic (a = -0.75), not bit-identical to PIL's.
"""

import math
import re

import torch
from torch.nn import functional as F

from slowfast.datasets.spatial_transforms import crop_ops

_MAX_MAGNITUDE = 10.0
# Fill of pixels uncovered by rotate/shear/translate; timm's default grey.
_FILL = 128
# timm's translate_pct for the relative translations.
_TRANSLATE_FRACTION = 0.45

_OPS = (
    "AutoContrast",
    "Equalize",
    "Invert",
    "Rotate",
    "Posterize",
    "Solarize",
    "SolarizeAdd",
    "Color",
    "Contrast",
    "Brightness",
    "Sharpness",
    "ShearX",
    "ShearY",
    "TranslateXRel",
    "TranslateYRel",
)


def _signed(value, rng):
    return -value if rng.uniform() < 0.5 else value


def op_argument(name, magnitude, increasing, rng):
    """Argument of op ``name`` at ``magnitude`` (timm's level-to-argument rules; sign drawn from ``rng``)."""
    level = magnitude / _MAX_MAGNITUDE
    if name == "Rotate":
        return _signed(level * 30.0, rng)
    if name in ("ShearX", "ShearY"):
        return _signed(level * 0.3, rng)
    if name in ("TranslateXRel", "TranslateYRel"):
        return _signed(level * _TRANSLATE_FRACTION, rng)
    if name == "Posterize":
        return 4 - int(level * 4) if increasing else int(level * 4)
    if name == "Solarize":
        return 256 - int(level * 256) if increasing else int(level * 256)
    if name == "SolarizeAdd":
        return int(level * 110)
    if name in ("Color", "Contrast", "Brightness", "Sharpness"):
        return 1.0 + _signed(level * 0.9, rng) if increasing else level * 1.8 + 0.1
    return None


def _inverse_affine_matrix(angle, translate, shear, center):
    """Output-to-input 2x3 map (float64) in pixel coordinates measured from the image centre.

    The forward map is TF.affine's at scale 1: about ``center``, shear along x, then along y, then rotate;
    then shift by ``translate``. Angles in degrees; with y pointing down a positive angle turns clockwise.
    """
    rot, shear_x, shear_y = (math.radians(value) for value in (angle, *shear))
    rotation = torch.tensor([[math.cos(rot), -math.sin(rot)], [math.sin(rot), math.cos(rot)]], dtype=torch.float64)
    along_y = torch.tensor([[1.0, 0.0], [-math.tan(shear_y), 1.0]], dtype=torch.float64)
    along_x = torch.tensor([[1.0, -math.tan(shear_x)], [0.0, 1.0]], dtype=torch.float64)
    inverse = torch.linalg.inv(rotation @ along_y @ along_x)
    # Forward x_out = L (x_in - center) + center + translate, so x_in = L^-1 x_out + center - L^-1 (center + translate).
    offset = center - inverse @ (center + translate)
    return torch.cat([inverse, offset[:, None]], dim=1)


def affine_warp(
    clip: torch.Tensor,
    *,
    angle: float = 0.0,
    translate: tuple[float, float] = (0.0, 0.0),
    shear: tuple[float, float] = (0.0, 0.0),
    center: tuple[float, float] | None = None,
    interpolation: str = "bilinear",
    fill: int = _FILL,
) -> torch.Tensor:
    """Warp every frame of a clip by one affine map with TF.affine's geometry (scale 1), bicubic or bilinear.

    Args:
        clip: uint8 (T,C,H,W) frames.
        angle: rotation in degrees (clockwise on screen, as in TF.affine).
        translate: (x, y) shift in pixels.
        shear: (x, y) shear angles in degrees.
        center: (x, y) pixel kept fixed by rotation and shear, from the top-left corner; None = image centre.
        interpolation: "bicubic" or "bilinear".
        fill: grey level of pixels sampled from outside the image.
    Returns:
        Tensor: uint8 (T,C,H,W).
    """
    frames, channels, height, width = clip.shape
    half_size = torch.tensor([width / 2, height / 2], dtype=torch.float64)
    # Pixel (row i, column j) sits at (j + 0.5 - W/2, i + 0.5 - H/2) in centred coordinates.
    centred = torch.zeros_like(half_size) if center is None else torch.tensor(center, dtype=torch.float64) - half_size
    matrix = _inverse_affine_matrix(angle, torch.tensor(translate, dtype=torch.float64), shear, centred)
    # With align_corners=False, affine_grid's coordinates are the centred ones divided by half the size.
    theta = matrix / half_size[:, None]
    theta[:, :2] *= half_size[None, :]
    grid = F.affine_grid(theta[None].float(), [1, 1, height, width], align_corners=False)
    # Zero padding of (clip - fill) makes every tap outside the image count as the fill grey.
    shifted = clip.reshape(1, frames * channels, height, width).float() - fill
    warped = F.grid_sample(shifted, grid, mode=interpolation, padding_mode="zeros", align_corners=False)
    return (warped + fill).round_().clamp_(0, 255).to(torch.uint8).reshape(clip.shape)


def _solarize(clip, threshold, add=None):
    if add is None:
        return torch.where(clip >= threshold, 255 - clip, clip)
    added = (clip.to(torch.int16) + add).clamp(0, 255).to(torch.uint8)
    return torch.where(clip < threshold, added, clip)


def _sharpness(clip, factor):
    """PIL's SHARPEN blend: interior pixels mix with a [1 1 1; 1 5 1; 1 1 1]/13 blur, borders stay.

    Integer shifted sums instead of torchvision's float conv2d, which is ~10x slower on whole clips.
    """
    wide = clip.to(torch.int16)
    inner = wide[..., 1:-1, 1:-1]
    total = 4 * inner
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            total = total + wide[..., dy : dy + inner.shape[-2], dx : dx + inner.shape[-1]]
    degenerate = wide.clone()
    degenerate[..., 1:-1, 1:-1] = torch.div(total + 6, 13, rounding_mode="floor")
    blended = factor * wide.float() + (1.0 - factor) * degenerate.float()
    return blended.clamp_(0, 255).to(torch.uint8)


def apply_op(clip, name, arg, interpolation="bicubic"):
    """Apply one op to a uint8 (T,C,H,W) clip, identically on every frame (geometric ops sample with
    ``interpolation``, "bicubic" or "bilinear")."""
    height, width = clip.shape[-2:]
    TF, _ = crop_ops()  # torchvision's v2 functional ops, imported on first use: the config check needs none

    def warp(**geometry):
        return affine_warp(clip, interpolation=interpolation, **geometry)

    shear_degrees = math.degrees(math.atan(arg)) if name.startswith("Shear") else 0.0
    table = {
        "AutoContrast": lambda: TF.autocontrast(clip),
        "Equalize": lambda: TF.equalize(clip),
        "Invert": lambda: TF.invert(clip),
        # About the centre; clockwise where PIL turns counter-clockwise, but the sign is drawn 50/50 anyway.
        "Rotate": lambda: warp(angle=arg),
        "Posterize": lambda: TF.posterize(clip, max(0, min(8, arg))),
        "Solarize": lambda: _solarize(clip, arg),
        "SolarizeAdd": lambda: _solarize(clip, 128, add=arg),
        "Color": lambda: TF.adjust_saturation(clip, arg),
        "Contrast": lambda: TF.adjust_contrast(clip, arg),
        "Brightness": lambda: TF.adjust_brightness(clip, arg),
        "Sharpness": lambda: _sharpness(clip, arg),
        # PIL shears about the top-left corner.
        "ShearX": lambda: warp(shear=(shear_degrees, 0.0), center=(0.0, 0.0)),
        "ShearY": lambda: warp(shear=(0.0, shear_degrees), center=(0.0, 0.0)),
        "TranslateXRel": lambda: warp(translate=(round(arg * width), 0)),
        "TranslateYRel": lambda: warp(translate=(0, round(arg * height))),
    }
    return table[name]()


class RandAugment:
    """Clip RandAugment with a timm policy (see the module docstring)."""

    def __init__(self, num_ops, magnitude, magnitude_std=0.0, increasing=False, prob=0.5, interpolation="bicubic"):
        """
        Args:
            num_ops (int): ops per clip (drawn with replacement).
            magnitude (float): mean magnitude in [0, 10].
            magnitude_std (float): standard deviation of the per-op magnitude (0 = fixed).
            increasing (bool): timm's "inc1" variants (stronger with the magnitude).
            prob (float): probability that each drawn op is applied.
            interpolation (str): sampling of the geometric ops, "bicubic" or "bilinear".
        """
        self.num_ops, self.magnitude, self.magnitude_std = num_ops, magnitude, magnitude_std
        self.increasing, self.prob, self.interpolation = increasing, prob, interpolation

    @classmethod
    def from_policy(cls, policy, interpolation="bicubic"):
        """Parse a timm policy string, e.g. ``rand-m7-n4-mstd0.5-inc1``; ``interpolation`` as in __init__."""
        parts = policy.split("-")
        if parts[0] != "rand":
            raise ValueError(f"AUG.AA_TYPE = {policy!r}: only 'rand-...' RandAugment policies are supported")
        kwargs = dict(num_ops=2, magnitude=10.0, interpolation=interpolation)
        for part in parts[1:]:
            match = re.fullmatch(r"(mstd|m|n|inc|p)([\d.]+)", part)
            if match is None:
                raise ValueError(f"AUG.AA_TYPE = {policy!r}: unknown field {part!r}")
            key, value = match.groups()
            if key == "m":
                kwargs["magnitude"] = float(value)
            elif key == "n":
                kwargs["num_ops"] = int(value)
            elif key == "mstd":
                kwargs["magnitude_std"] = float(value)
            elif key == "inc":
                kwargs["increasing"] = bool(int(value))
            else:
                kwargs["prob"] = float(value)
        return cls(**kwargs)

    def sample_ops(self, rng):
        """Draw the (name, argument) sequence for one clip from a ``numpy.random.Generator``."""
        ops = []
        for name in rng.choice(_OPS, self.num_ops, replace=True):
            if rng.uniform() > self.prob:
                continue
            magnitude = self.magnitude
            if self.magnitude_std > 0:
                magnitude = rng.normal(self.magnitude, self.magnitude_std)
            magnitude = min(_MAX_MAGNITUDE, max(0.0, magnitude))
            ops.append((str(name), op_argument(str(name), magnitude, self.increasing, rng)))
        return ops

    def __call__(self, clip_tchw, rng):
        """Augment a uint8 (T,C,H,W) clip with one drawn op sequence.

        Args:
            clip_tchw (Tensor): uint8 frames.
            rng (numpy.random.Generator): random source.
        Returns:
            Tensor: uint8 (T,C,H,W).
        """
        for name, arg in self.sample_ops(rng):
            clip_tchw = apply_op(clip_tchw, name, arg, self.interpolation)
        return clip_tchw

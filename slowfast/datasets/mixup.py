"""Mixup and CutMix of a training batch with label smoothing (timm's batch mode, for clips)."""

import math

import torch


def smooth_one_hot(labels, num_classes, smoothing):
    """Targets with ``1 - smoothing + smoothing/K`` on the label and ``smoothing/K`` elsewhere."""
    off = smoothing / num_classes
    targets = torch.full((labels.numel(), num_classes), off, dtype=torch.float32, device=labels.device)
    return targets.scatter_(1, labels.view(-1, 1), 1.0 - smoothing + off)


def cutmix_box(height, width, lam):
    """Box covering about ``1 - lam`` of the frame, centred uniformly (torch's RNG), clipped to it.

    Returns:
        tuple of int: (y0, y1, x0, x1).
    """
    cut = math.sqrt(1.0 - lam)
    cut_h, cut_w = int(height * cut), int(width * cut)
    cy = int(torch.randint(0, height, (1,)))
    cx = int(torch.randint(0, width, (1,)))
    return (max(cy - cut_h // 2, 0), min(cy + cut_h // 2, height), max(cx - cut_w // 2, 0), min(cx + cut_w // 2, width))


class MixUp:
    """Mix each sample with the batch flipped: mixup blends clips, CutMix pastes a box through all frames."""

    def __init__(self, mixup_alpha, cutmix_alpha, mix_prob, switch_prob, label_smoothing, num_classes):
        """
        Args:
            mixup_alpha (float): Beta parameter of mixup (0 = off).
            cutmix_alpha (float): Beta parameter of CutMix (0 = off).
            mix_prob (float): probability of mixing a batch at all.
            switch_prob (float): probability of CutMix when both are on.
            label_smoothing (float): smoothing of the targets.
            num_classes (int): number of classes.
        """
        self.mixup_alpha, self.cutmix_alpha = mixup_alpha, cutmix_alpha
        self.mix_prob, self.switch_prob = mix_prob, switch_prob
        self.label_smoothing, self.num_classes = label_smoothing, num_classes

    @classmethod
    def from_config(cls, cfg):
        """Build from ``cfg.MIXUP`` and ``cfg.MODEL.NUM_CLASSES``."""
        return cls(
            cfg.MIXUP.ALPHA,
            cfg.MIXUP.CUTMIX_ALPHA,
            cfg.MIXUP.PROB,
            cfg.MIXUP.SWITCH_PROB,
            cfg.MIXUP.LABEL_SMOOTH_VALUE,
            cfg.MODEL.NUM_CLASSES,
        )

    def _draw(self):
        """(lam, use_cutmix) from torch's RNG."""
        if float(torch.rand(())) >= self.mix_prob or (self.mixup_alpha <= 0 and self.cutmix_alpha <= 0):
            return 1.0, False
        use_cutmix = self.cutmix_alpha > 0 and (self.mixup_alpha <= 0 or float(torch.rand(())) < self.switch_prob)
        alpha = self.cutmix_alpha if use_cutmix else self.mixup_alpha
        lam = float(torch.distributions.Beta(alpha, alpha).sample())
        return lam, use_cutmix

    def __call__(self, inputs, labels):
        """Mix a batch.

        Args:
            inputs (list of Tensor): pathways, each (N,C,T,H,W).
            labels (LongTensor): (N,).
        Returns:
            tuple: (list of mixed Tensor, soft targets (N, num_classes) whose rows sum to 1).
        """
        lam, use_cutmix = self._draw()
        mixed = []
        if use_cutmix:
            height, width = inputs[0].shape[-2:]
            y0, y1, x0, x1 = cutmix_box(height, width, lam)
            lam = 1.0 - (y1 - y0) * (x1 - x0) / (height * width)
            for x in inputs:
                x = x.clone()
                x[..., y0:y1, x0:x1] = x.flip(0)[..., y0:y1, x0:x1]
                mixed.append(x)
        else:
            mixed = [x * lam + x.flip(0) * (1.0 - lam) if lam < 1.0 else x for x in inputs]
        targets = smooth_one_hot(labels, self.num_classes, self.label_smoothing)
        return mixed, targets * lam + targets.flip(0) * (1.0 - lam)

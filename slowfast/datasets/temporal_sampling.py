"""Which source frames a clip covers: PySlowFast's temporal sampling rules, as pure functions.

Notation: T frames per clip, tau the sampling rate at ``target_fps``, n frames in the video, L the clip span
in source frames. All arithmetic is float64 and in the same order as PySlowFast, so the chosen frames are
identical to its PyAV path (see tests/golden/data/README.md).
"""

import math

import torch


def clip_span(num_frames, sampling_rate, target_fps, fps):
    """Source frames one clip spans: a clip always covers ``tau*T/target_fps`` seconds.

    Args:
        num_frames (int): T.
        sampling_rate (int): tau, in frames at ``target_fps``.
        target_fps (float): frame rate ``sampling_rate`` refers to.
        fps (float): the video's frame rate.
    Returns:
        float: L >= 1, possibly fractional.
    """
    return max(1.0, sampling_rate * num_frames / target_fps * fps)


def uniform_clip_start(num_video_frames, span, clip_idx, num_clips, use_offset):
    """Start frame of temporal clip ``clip_idx`` of ``num_clips`` (PySlowFast's test mode).

    Args:
        num_video_frames (int): n.
        span (float): L.
        clip_idx (int): i in [0, num_clips).
        num_clips (int): N.
        use_offset (bool): USE_OFFSET_SAMPLING (floor-spaced clips, the middle one when N = 1).
    Returns:
        float: the start s.
    """
    delta = max(num_video_frames - span, 0)
    if not use_offset:
        return delta * clip_idx / num_clips
    if num_clips == 1:
        return float(math.floor(delta / 2))
    return float(clip_idx * math.floor(delta / (num_clips - 1)))


def center_clip_start(num_video_frames, span):
    """Start of the clip centred in the video (deterministic evaluation during training)."""
    return max(num_video_frames - span, 0) / 2


def random_clip_start(num_video_frames, span, rng):
    """Uniformly random start in [0, n - L] drawn from a ``numpy.random.Generator``."""
    return float(rng.uniform(0.0, max(num_video_frames - span, 0)))


def positions_in_window(span, num_frames, num_decoded):
    """Indices into the decoded window (PySlowFast's ``temporal_sampling`` from the window's first frame).

    Args:
        span (float): L.
        num_frames (int): T.
        num_decoded (int): M, frames decoded in the window (>= 1).
    Returns:
        list of int: T indices, clamped to the last decoded frame.
    """
    return torch.linspace(0, span - 1, num_frames).clamp(0, num_decoded - 1).long().tolist()


def positions_in_video(start, span, num_frames, num_video_frames):
    """Indices into a fully decoded video (PySlowFast's branch for videos without header metadata).

    Args:
        start (float): s.
        span (float): L.
        num_frames (int): T.
        num_video_frames (int): frames decoded from the whole video (>= 1).
    Returns:
        list of int: T frame numbers.
    """
    end = start + span - 1
    return torch.linspace(start, end, num_frames).clamp(0, num_video_frames - 1).long().tolist()

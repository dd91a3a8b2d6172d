"""Decode one clip of a video with PyAV: seek to the clip, decode only its window, convert only used frames.

The window and the frames picked from it follow PySlowFast's PyAV path exactly (see temporal_sampling.py),
but only the T frames a clip uses are converted to RGB (PySlowFast converts every frame of the window),
which is where most of its decode time went. Every failure is raised as ``VideoDecodeError`` so callers
can count the file as bad instead of losing a worker.
"""

from dataclasses import dataclass

import av
import numpy as np

from slowfast.datasets import temporal_sampling

# PySlowFast seeks this many pts before the window so the keyframe search starts early enough.
_SEEK_MARGIN_PTS = 1024
# Seconds FFmpeg may block on I/O before giving up (network file systems, half-written files).
_OPEN_TIMEOUT_S = 30.0


class VideoDecodeError(RuntimeError):
    """A video that cannot give a clip: missing, unreadable, undecodable or too short."""


@dataclass
class DecodedClip:
    """T uint8 RGB frames of one clip and where they came from.

    Attributes:
        frames (np.ndarray): (T, H, W, 3) uint8 RGB.
        frame_numbers (list of int): source frame number of each frame (pts * time_base * fps).
        start (float): clip start s in source frames.
        end (float): s + L - 1.
        num_video_frames (int): n, from the header or counted when the header lacks it.
        short (bool): the video is shorter than the clip span (its last frame repeats).
    """

    frames: np.ndarray
    frame_numbers: list
    start: float
    end: float
    num_video_frames: int
    short: bool


def _open(path, multi_thread):
    try:
        container = av.open(path, timeout=_OPEN_TIMEOUT_S, metadata_errors="ignore")
    except Exception as error:  # FFmpeg raises many types (InvalidDataError, OSError, ...)
        raise VideoDecodeError(f"cannot open {path}: {error}") from error
    if not container.streams.video:
        container.close()
        raise VideoDecodeError(f"no video stream in {path}")
    stream = container.streams.video[0]
    # FRAME threading lets FFmpeg decode several frames at once; SLICE is FFmpeg's default.
    stream.thread_type = "AUTO" if multi_thread else "SLICE"
    return container, stream


def _frame_number(frame, stream, fps):
    return int(round(float(frame.pts * stream.time_base) * fps))


def _decode_window(container, stream, start_pts, end_pts):
    """Frames with start_pts <= pts <= end_pts plus the first one after, ordered and unique by pts."""
    container.seek(max(start_pts - _SEEK_MARGIN_PTS, 0), any_frame=False, backward=True, stream=stream)
    by_pts = {}
    for frame in container.decode(stream):
        if frame.pts is None or frame.pts < start_pts:
            continue
        by_pts[frame.pts] = frame
        if frame.pts > end_pts:
            break
    return [by_pts[pts] for pts in sorted(by_pts)]


def _decode_all(container, stream):
    by_pts = {}
    for position, frame in enumerate(container.decode(stream)):
        by_pts[frame.pts if frame.pts is not None else position] = frame
    return [by_pts[pts] for pts in sorted(by_pts)]


def _to_rgb(frames, positions):
    converted = {p: frames[p].to_ndarray(format="rgb24") for p in sorted(set(positions))}
    return np.stack([converted[p] for p in positions])


def _header_length(stream):
    """(n, duration in ticks) from the header, or None when either is missing."""
    if stream.frames and stream.duration:
        return stream.frames, stream.duration
    return None


def decode_clip(path, num_frames, sampling_rate, target_fps, choose_start, min_coverage=0.0,
                multi_thread=False):
    """Decode the T frames of one clip.

    Args:
        path (str): video file.
        num_frames (int): T.
        sampling_rate (int): tau at ``target_fps``.
        target_fps (float): frame rate the sampling rate refers to.
        choose_start (callable): ``(n, L) -> s``, the clip start in source frames.
        min_coverage (float): videos with n < min_coverage * L are rejected as too short.
        multi_thread (bool): let FFmpeg decode with frame threads.
    Returns:
        DecodedClip
    Raises:
        VideoDecodeError: the file cannot be opened or decoded, has no frames, or is too short.
    """
    container, stream = _open(path, multi_thread)
    try:
        return _decode_open_clip(container, stream, path, num_frames, sampling_rate, target_fps,
                                 choose_start, min_coverage)
    except VideoDecodeError:
        raise
    except Exception as error:  # corrupt streams surface as assorted FFmpeg/PyAV/numpy errors
        raise VideoDecodeError(f"cannot decode {path}: {type(error).__name__}: {error}") from error
    finally:
        container.close()


def stream_rate(stream):
    """A video stream's frame rate (Fraction): its average rate, else FFmpeg's guess; None when neither is known."""
    return stream.average_rate or stream.guessed_rate


def _decode_open_clip(container, stream, path, num_frames, sampling_rate, target_fps, choose_start,
                      min_coverage):
    fps = float(stream_rate(stream) or target_fps)
    span = temporal_sampling.clip_span(num_frames, sampling_rate, target_fps, fps)
    header = _header_length(stream)
    if header is None:
        frames = _decode_all(container, stream)
        n = len(frames)
        _check_length(path, n, span, min_coverage)
        start = choose_start(n, span)
        positions = temporal_sampling.positions_in_video(start, span, num_frames, n)
    else:
        n, duration = header
        _check_length(path, n, span, min_coverage)
        start = choose_start(n, span)
        pts_per_frame = duration / n
        start_pts = int(start * pts_per_frame)
        end_pts = int((start + span - 1) * pts_per_frame)
        frames = _decode_window(container, stream, start_pts, end_pts)
        if not frames:
            raise VideoDecodeError(f"no frames decoded in {path} between pts {start_pts} and {end_pts}")
        positions = temporal_sampling.positions_in_window(span, num_frames, len(frames))
    return DecodedClip(
        frames=_to_rgb(frames, positions),
        frame_numbers=[_frame_number(frames[p], stream, fps) for p in positions],
        start=start,
        end=start + span - 1,
        num_video_frames=n,
        short=n < span,
    )


def _check_length(path, num_video_frames, span, min_coverage):
    if num_video_frames == 0:
        raise VideoDecodeError(f"no decodable frames in {path}")
    if num_video_frames < min_coverage * span:
        raise VideoDecodeError(
            f"{path} is too short: {num_video_frames} frames, a clip spans {span:.1f} "
            f"(DATA.MIN_CLIP_COVERAGE = {min_coverage})")


def probe_video(path):
    """Decode every frame of a video once (dataset checks).

    Args:
        path (str): video file.
    Returns:
        dict: ``frames`` decoded, ``header_frames`` (0 when absent), ``fps``, ``height``, ``width``.
    Raises:
        VideoDecodeError: the file cannot be opened or decoded.
    """
    container, stream = _open(path, multi_thread=False)
    try:
        count, size = 0, (0, 0)
        for frame in container.decode(stream):
            count, size = count + 1, (frame.height, frame.width)
        return dict(frames=count, header_frames=stream.frames or 0,
                    fps=float(stream_rate(stream) or 0), height=size[0], width=size[1])
    except Exception as error:
        raise VideoDecodeError(f"cannot decode {path}: {type(error).__name__}: {error}") from error
    finally:
        container.close()


def check_backend(name):
    """Fail early with the reason when DATA.DECODING_BACKEND cannot run here.

    Args:
        name (str): "pyav" or "torchcodec".
    Raises:
        ValueError: for any backend but "pyav".
    """
    if name == "pyav":
        return
    if name == "torchcodec":
        raise ValueError(
            "DATA.DECODING_BACKEND = 'torchcodec' is not available: torchcodec 0.17 installs from PyPI but "
            "loads FFmpeg's shared libraries (libavutil.so.56 to .60, FFmpeg 4 to 8) from the system, which "
            "this machine does not have (PyAV bundles its own FFmpeg, which torchcodec cannot use; "
            "pip cannot install FFmpeg; `apt-get install ffmpeg` would). Use DATA.DECODING_BACKEND pyav.")
    raise ValueError(f"DATA.DECODING_BACKEND = {name!r} is not allowed: one of ['pyav', 'torchcodec']")

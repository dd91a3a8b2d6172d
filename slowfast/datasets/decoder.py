"""Decode one clip of a video: the clip's window and frames, the same for every decoding backend.

One sampling implementation (``decode_clip``, with the rules in temporal_sampling.py) runs on a
backend-specific frame reader (the contract in video_reader.py): PyAV (pyav_reader.py) or torchcodec
(torchcodec_reader.py). The window and the frames picked from it follow PySlowFast's PyAV path exactly. Every
failure is raised as ``VideoDecodeError`` so callers can count the file as bad instead of losing a worker.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from fvcore.common.config import CfgNode

from slowfast.datasets import temporal_sampling, torchcodec_reader
from slowfast.datasets.pyav_reader import PyAVReader
from slowfast.datasets.video_reader import FrameReader, VideoDecodeError, decode_error


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


def open_reader(path: str, backend: str = "pyav", multi_thread: bool = False, device: str = "cpu") -> FrameReader:
    """The frame reader of ``backend`` on ``path``.

    Args:
        path (str): video file.
        backend (str): DATA.DECODING_BACKEND, "pyav" or "torchcodec".
        multi_thread (bool): let FFmpeg decode with several threads.
        device (str): DATA.DECODING_DEVICE, "cpu" or "cuda" (torchcodec only).
    Returns:
        FrameReader
    Raises:
        VideoDecodeError: the file cannot be opened.
        DecoderUnavailableError: torchcodec or FFmpeg's libraries are missing.
    """
    if backend == "torchcodec":
        return torchcodec_reader.TorchCodecReader(path, multi_thread, device)
    return PyAVReader(path, multi_thread)


def decode_clip(
    path: str,
    *,
    num_frames: int,
    sampling_rate: int,
    target_fps: float,
    choose_start: Callable[[int, float], float],
    min_coverage: float = 0.0,
    multi_thread: bool = False,
    backend: str = "pyav",
    device: str = "cpu",
) -> DecodedClip:
    """Decode the T frames of one clip; the sampling is the same for every backend.

    With header metadata (n frames, duration D), the clip's window runs from s * D / n to
    (s + L - 1) * D / n in the stream's time unit, plus the first frame after it (PySlowFast's PyAV path);
    without it, every frame is decoded and the clip indexes the whole video.

    Args:
        path (str): video file.
        num_frames (int): T.
        sampling_rate (int): tau at ``target_fps``.
        target_fps (float): frame rate the sampling rate refers to.
        choose_start (callable): ``(n, L) -> s``, the clip start in source frames.
        min_coverage (float): videos with n < min_coverage * L are rejected as too short.
        multi_thread (bool): let FFmpeg decode with several threads.
        backend (str): DATA.DECODING_BACKEND, "pyav" or "torchcodec".
        device (str): DATA.DECODING_DEVICE, "cpu" or "cuda" (torchcodec only).
    Returns:
        DecodedClip
    Raises:
        VideoDecodeError: the file cannot be opened or decoded, has no frames, or is too short.
        DecoderUnavailableError: the backend cannot run on this machine.
    """
    reader = open_reader(path, backend, multi_thread, device)
    try:
        return _decode_open_clip(reader, path, num_frames, sampling_rate, target_fps, choose_start, min_coverage)
    except VideoDecodeError:
        raise
    except Exception as error:  # corrupt streams surface as assorted FFmpeg/PyAV/torchcodec/numpy errors
        raise decode_error(f"cannot decode {path}", error, device) from error
    finally:
        reader.close()


def decode_config_clip(cfg: CfgNode, path: str, choose_start: Callable[[int, float], float]) -> DecodedClip:
    """``decode_clip`` with a config's clip, coverage and decoding settings.

    Args:
        cfg (CfgNode): reads DATA.NUM_FRAMES, SAMPLING_RATE, TARGET_FPS, MIN_CLIP_COVERAGE, DECODING_BACKEND,
            DECODING_DEVICE and DATA_LOADER.ENABLE_MULTI_THREAD_DECODE.
        path (str): video file.
        choose_start (callable): ``(n, L) -> s``, the clip start in source frames.
    Returns:
        DecodedClip
    Raises:
        VideoDecodeError, DecoderUnavailableError: as decode_clip.
    """
    data = cfg.DATA
    return decode_clip(
        path,
        num_frames=data.NUM_FRAMES,
        sampling_rate=data.SAMPLING_RATE,
        target_fps=data.TARGET_FPS,
        choose_start=choose_start,
        min_coverage=data.MIN_CLIP_COVERAGE,
        multi_thread=cfg.DATA_LOADER.ENABLE_MULTI_THREAD_DECODE,
        backend=data.DECODING_BACKEND,
        device=data.DECODING_DEVICE,
    )


def _decode_open_clip(reader: FrameReader, path, num_frames, sampling_rate, target_fps, choose_start, min_coverage):
    fps = reader.fps or float(target_fps)
    span = temporal_sampling.clip_span(num_frames, sampling_rate, target_fps, fps)
    if reader.header is None:
        frames = reader.whole()
        n = len(frames)
        _check_length(path, n, span, min_coverage)
        start = choose_start(n, span)
        positions = temporal_sampling.positions_in_video(start, span, num_frames, n)
        rgb, frame_numbers = frames.select(lambda _: positions, fps)
    else:
        n, duration = reader.header
        _check_length(path, n, span, min_coverage)
        start = choose_start(n, span)
        time_per_frame = duration / n

        def positions_of(num_decoded):
            if not num_decoded:
                raise VideoDecodeError(f"no frames decoded in {path} from frame {start:.1f} of {n} on")
            return temporal_sampling.positions_in_window(span, num_frames, num_decoded)

        frames = reader.window(start * time_per_frame, (start + span - 1) * time_per_frame)
        rgb, frame_numbers = frames.select(positions_of, fps)
    return DecodedClip(
        frames=rgb, frame_numbers=frame_numbers, start=start, end=start + span - 1, num_video_frames=n, short=n < span
    )


def _check_length(path, num_video_frames, span, min_coverage):
    if num_video_frames == 0:
        raise VideoDecodeError(f"no decodable frames in {path}")
    if num_video_frames < min_coverage * span:
        raise VideoDecodeError(
            f"{path} is too short: {num_video_frames} frames, a clip spans {span:.1f} "
            f"(DATA.MIN_CLIP_COVERAGE = {min_coverage})"
        )


def check_backend(backend, device="cpu"):
    """Fail early, with the fix, when DATA.DECODING_BACKEND / DECODING_DEVICE cannot run here.

    The allowed values are checked at config load (slowfast/config/checks.py); this checks the machine.

    Args:
        backend (str): "pyav" or "torchcodec".
        device (str): "cpu" or "cuda".
    Raises:
        DecoderUnavailableError: torchcodec, FFmpeg's shared libraries or CUDA are missing.
    """
    if backend == "torchcodec":
        torchcodec_reader.check_available(device)

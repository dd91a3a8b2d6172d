"""What the frame readers share: their errors, the reader contract decoder.py samples through, frame numbers.

decoder.py chooses a clip's frames the same way for every backend and asks a reader (pyav_reader.PyAVReader or
torchcodec_reader.TorchCodecReader) only for the header, the frames of a pts window or of the whole video, and
the pixels of the few frames a clip uses. Both readers and decoder.py import this module; it imports neither.
"""

from collections.abc import Callable
from fractions import Fraction
from typing import Protocol

import numpy as np
import torch

from slowfast.utils.errors import UserError

# ``M -> positions``: a clip's indices among M decoded frames (decoder.py's sampling answers it).
PositionsOf = Callable[[int], list[int]]


class VideoDecodeError(RuntimeError):
    """A video that cannot give a clip: missing, unreadable, undecodable or too short."""


class DecoderUnavailableError(UserError, RuntimeError):
    """DATA.DECODING_BACKEND / DECODING_DEVICE cannot run on this machine; the message says how to fix it."""


class DeviceDecodeError(RuntimeError):
    """The GPU failed while decoding (out of memory, an NVDEC or CUDA error): a fault of the machine, not of the
    video, so it ends the run instead of being counted as a bad video."""


# The errors torch raises for a failing GPU, whoever calls CUDA (torch's ops or torchcodec's colour conversion and
# frame allocation): a CUDA runtime or driver error (sticky ones, such as an illegal memory access, make every later
# call fail too), out of memory, and the CUDA runtime API's own error type. torchcodec's NVDEC checks raise a plain
# RuntimeError, as its FFmpeg checks do for a corrupt stream: the type cannot tell them apart, so they count as bad
# videos, and a GPU whose NVDEC fails on every video ends the run at DATA.MAX_BAD_FRACTION.
_DEVICE_ERRORS = (torch.AcceleratorError, torch.OutOfMemoryError, torch.cuda.CudaError)


def decode_error(what: str, error: Exception, device: str) -> RuntimeError:
    """The error to raise for ``error`` raised while decoding: a bad video (VideoDecodeError, counted and
    skipped), or on the GPU a device failure (DeviceDecodeError, which ends the run: counted as bad videos, it
    would abort the run at the bad-video limit or silently drop videos from the evaluation).

    The rule is the error's type (``_DEVICE_ERRORS``), never its words: a file named ``cuda_demo.mp4`` or an
    FFmpeg message mentioning CUDA is still a bad video.

    Args:
        what (str): what failed, e.g. "cannot decode PATH".
        error (Exception): the error raised by the decoder.
        device (str): the decoding device ("cpu", "cuda" or "cuda:N").
    Returns:
        RuntimeError: to raise ``from error``.
    """
    text = f"{type(error).__name__}: {error}"
    if device != "cpu" and isinstance(error, _DEVICE_ERRORS):
        return DeviceDecodeError(f"GPU decoding failed ({what}): {text}; DATA.DECODING_DEVICE cpu avoids NVDEC")
    return VideoDecodeError(f"{what}: {text}")


class Frames(Protocol):
    """Decoded frames in timestamp order, unique by timestamp: a clip's window or the whole video."""

    def __len__(self) -> int: ...

    def select(self, positions_of: PositionsOf, fps: float) -> tuple[np.ndarray, list[int]]:
        """RGB frames and source frame numbers of a clip.

        Args:
            positions_of (callable): ``M -> positions``, the clip's indices among these M frames.
            fps (float): the video's frame rate (frame number = timestamp in seconds * fps).
        Returns:
            tuple: (uint8 (T,H,W,3) RGB, list of T frame numbers).
        """
        ...


class FrameReader(Protocol):
    """One open video file of a decoding backend.

    Attributes:
        fps (float or None): the stream's frame rate; None when the file does not say.
        header (tuple or None): (n frames, duration in pts ticks) from the header; None when it lacks them.
    """

    fps: float | None
    header: tuple[int, int] | None

    def window(self, start_time: float, end_time: float) -> Frames:
        """Frames with int(start_time) <= pts <= int(end_time) (pts ticks) plus the first one after."""
        ...

    def whole(self) -> Frames:
        """Every frame of the video."""
        ...

    def close(self) -> None:
        """Release the file."""
        ...


def frame_number(pts: int, time_base: Fraction, fps: float) -> int:
    """The source frame number of a timestamp: its seconds times the frame rate, rounded (PySlowFast's numbering).

    Args:
        pts (int): timestamp in ticks of ``time_base``.
        time_base (Fraction): seconds per tick.
        fps (float): the video's frame rate.
    Returns:
        int
    """
    return int(round(float(pts * time_base) * fps))

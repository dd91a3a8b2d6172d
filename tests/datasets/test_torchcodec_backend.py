"""DATA.DECODING_BACKEND torchcodec: the PyAV backend's clips, bad-video handling and errors (goldens: see
test_kinetics_goldens.py, which runs its test-mode items with both backends)."""

import glob
import math
import os
import subprocess
import sys
from fractions import Fraction

import av
import numpy as np
import pytest
import torch
from conftest import GOLDEN_DIR, REPO, moving_frames, requires_torchcodec, small_cfg, write_csv

from slowfast.config import ConfigError
from slowfast.datasets import torchcodec_reader as tcr
from slowfast.datasets.build import build_dataset
from slowfast.datasets.decoder import check_backend, decode_clip
from slowfast.datasets.video_reader import DecoderUnavailableError, VideoDecodeError

GOLDEN_VIDEOS = sorted(
    glob.glob(os.path.join(GOLDEN_DIR, "videos", "*.mp4"))
    + glob.glob(os.path.join(GOLDEN_DIR, "edge", "videos", "*.mp4"))
)


def _assert_same_clip(path, start, num_frames=16, sampling_rate=5):
    """Both backends decode the clip starting at ``start(n, L)`` (or at the number ``start``) alike."""
    choose = start if callable(start) else lambda n, span: start
    clip_of = dict(num_frames=num_frames, sampling_rate=sampling_rate, target_fps=30, choose_start=choose)
    reference = decode_clip(path, **clip_of)
    clip = decode_clip(path, **clip_of, backend="torchcodec")
    assert clip.frame_numbers == reference.frame_numbers, (path, start)
    assert clip.frames.shape == reference.frames.shape and (clip.frames == reference.frames).all(), (path, start)
    assert (clip.start, clip.end, clip.num_video_frames, clip.short) == (
        reference.start,
        reference.end,
        reference.num_video_frames,
        reference.short,
    )


def _record_fallbacks(monkeypatch):
    """From now on, the bounds of each window the torchcodec reader finds by timestamps (decoding every frame)."""
    fallbacks = []
    by_timestamps = tcr.TorchCodecReader.window_by_timestamps
    monkeypatch.setattr(
        tcr.TorchCodecReader,
        "window_by_timestamps",
        lambda self, *bounds: fallbacks.append(bounds) or by_timestamps(self, *bounds),
    )
    return fallbacks


@requires_torchcodec
@pytest.mark.parametrize("path", GOLDEN_VIDEOS, ids=os.path.basename)
def test_fractional_train_starts_give_the_pyav_clip(path):
    # Random training starts are fractional; 0.0005 past a frame lies within one tick (1/512 frame) of it,
    # where PySlowFast's truncation of the window start to whole ticks still includes that frame.
    for fraction in list(np.random.default_rng(0).uniform(0, 1, 4)) + [0.0, 1.0]:
        _assert_same_clip(path, lambda n, span, f=fraction: f * max(n - span, 0))
    for offset in (0.0005, 0.9995, 0.5):
        _assert_same_clip(path, lambda n, span, o=offset: min(math.floor(max(n - span, 0) / 3) + o, max(n - span, 0)))


@requires_torchcodec
def test_starts_just_past_a_frame_decode_the_window_not_the_whole_video(monkeypatch):
    # 44.01 and 44.04 truncate to 5 and 20 ticks past frame 44, within the grid's tolerance (25.6 ticks): the
    # frame before the window is decoded to check its timestamp instead of decoding the whole video.
    path = os.path.join(GOLDEN_DIR, "videos", "val_c00_0.mp4")
    fallbacks = _record_fallbacks(monkeypatch)
    for start in (44.0, 44.01, 44.04, 44.06, 100.9999, 0.01):
        _assert_same_clip(path, start)
    assert fallbacks == []


def _write_mp4_with_timestamps(path, timestamps_ms):
    """An mp4 whose frame i has pts ``timestamps_ms[i]`` in a 1 ms time base."""
    with av.open(path, "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.options = {"x264-params": "bframes=0:keyint=30"}
        for pts, pixels in zip(timestamps_ms, moving_frames(len(timestamps_ms))):
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@requires_torchcodec
@pytest.mark.parametrize("kind, expected_fallbacks", [("variable", 4), ("rounded", 0)])
def test_timestamps_off_the_frame_grid_give_the_pyav_clip(tmp_path, monkeypatch, kind, expected_fallbacks):
    # "variable": frames alternately 50 and 20 ms apart, 10 at a time: the grid fails, the window is found by
    # timestamps. "rounded": 30 fps in whole milliseconds (0, 33, 67, ...): within half a tick of the grid.
    steps = [20 if (i // 10) % 2 else 50 for i in range(90)] if kind == "variable" else None
    timestamps = [sum(steps[:i]) for i in range(90)] if steps else [round(i * 1000 / 30) for i in range(90)]
    path = _write_mp4_with_timestamps(str(tmp_path / f"{kind}.mp4"), timestamps)
    fallbacks = _record_fallbacks(monkeypatch)
    for start in (0.0, 10.3, 40.7, 55.5):
        _assert_same_clip(path, start, num_frames=4, sampling_rate=4)
    assert len(fallbacks) == expected_fallbacks


@requires_torchcodec
def test_broken_files_are_decode_errors_and_invalid_eval_items(tiny_dataset):
    folder, good, broken = tiny_dataset
    for name in broken:
        with pytest.raises(VideoDecodeError):
            decode_clip(
                os.path.join(folder, name),
                num_frames=4,
                sampling_rate=2,
                target_fps=30,
                choose_start=lambda n, span: 0.0,
                min_coverage=0.5,
                backend="torchcodec",
            )
    write_csv(folder, "val", good[:1] + broken)
    dataset = build_dataset(
        "kinetics", small_cfg(folder, ["DATA.DECODING_BACKEND", "torchcodec", "DATA.MIN_CLIP_COVERAGE", "0.5"]), "val"
    )
    valid = [dataset[i][3]["valid"] for i in range(len(dataset))]
    assert valid == [True] + [False] * len(broken)


def test_missing_ffmpeg_names_the_libraries_and_the_apt_get_line():
    present = {"libavutil.so.57", "libavcodec.so.59", "libavformat.so.59", "libswscale.so.6", "libswresample.so.4"}
    version, missing = tcr.missing_ffmpeg_libraries(lambda soname: soname in present)
    assert (version, missing) == (5, ["libavdevice.so.59", "libavfilter.so.8"])
    message = tcr.ffmpeg_fix_message(version, missing)
    assert "libavdevice.so.59, libavfilter.so.8" in message
    assert "`apt-get install -y libavdevice59 libavfilter8`" in message
    version, missing = tcr.missing_ffmpeg_libraries(lambda soname: False)
    assert len(missing) == 7 and "`apt-get install -y ffmpeg`" in tcr.ffmpeg_fix_message(version, missing)
    assert tcr.missing_ffmpeg_libraries(lambda soname: soname.endswith((".56", ".58", ".7", ".5", ".3"))) == (4, [])


def _run_net_without(hidden_module, extra_setup=""):
    """Run tools/run_net.py with ``hidden_module`` unimportable (torch.jit's deprecation warning off)."""
    script = (
        f"import runpy, sys; sys.modules[{hidden_module!r}] = None; {extra_setup}"
        f"sys.argv = ['run_net.py', '--cfg', {os.path.join(REPO, 'configs/quickstart/X3D_M.yaml')!r}, "
        "'DATA.DECODING_BACKEND', 'torchcodec']; "
        f"runpy.run_path({os.path.join(REPO, 'tools/run_net.py')!r}, run_name='__main__')"
    )
    return subprocess.run(
        [sys.executable, "-W", "ignore::FutureWarning", "-c", script],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


@pytest.mark.slow
def test_run_net_prints_one_error_line_without_torchcodec():
    done = _run_net_without("torchcodec")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: DATA.DECODING_BACKEND torchcodec needs")
    assert 'pip install -e ".[torchcodec]"' in done.stderr


@pytest.mark.slow
@requires_torchcodec
def test_run_net_prints_one_error_line_naming_the_missing_ffmpeg_library():
    # torchcodec reports an FFmpeg it could not load as ffmpeg_major_version None; libavfilter is "missing".
    setup = (
        "import ctypes, torchcodec; torchcodec.ffmpeg_major_version = None; real = ctypes.CDLL; "
        "ctypes.CDLL = lambda name, *a, **k: (_ for _ in ()).throw(OSError(name)) "
        "if name.startswith('libavfilter') else real(name, *a, **k); "
    )
    done = _run_net_without("decord", setup)
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("error: DATA.DECODING_BACKEND torchcodec needs FFmpeg ")
    assert "libavfilter.so." in done.stderr and "apt-get install -y libavfilter" in done.stderr


@pytest.mark.parametrize(
    "opts, key",
    [
        (["DATA.DECODING_DEVICE", "cuda"], "DATA.DECODING_DEVICE"),
        (["DATA.DECODING_DEVICE", "gpu"], "DATA.DECODING_DEVICE"),
        (["DATA.DECODING_BACKEND", "decord"], "DATA.DECODING_BACKEND"),
    ],
)
def test_config_rejects_unknown_backends_and_cuda_with_pyav(tmp_path, opts, key):
    with pytest.raises(ConfigError, match=key):
        small_cfg(str(tmp_path), opts)


@pytest.mark.gpu
@requires_torchcodec
@pytest.mark.skipif(not torch.cuda.is_available(), reason="GPU decoding needs CUDA (NVDEC)")
def test_cuda_decoding_gives_the_cpu_frames_within_colour_conversion_rounding():
    path = os.path.join(GOLDEN_DIR, "videos", "val_c00_0.mp4")
    clip_of = dict(num_frames=16, sampling_rate=5, target_fps=30, choose_start=lambda n, span: 44.0)
    cpu = decode_clip(path, **clip_of, backend="torchcodec")
    gpu = decode_clip(path, **clip_of, backend="torchcodec", device="cuda")
    assert gpu.frame_numbers == cpu.frame_numbers
    # NVDEC converts YUV to RGB with its own kernels: equal up to rounding, not bit for bit.
    assert np.abs(gpu.frames.astype(int) - cpu.frames).mean() < 1.0


@requires_torchcodec
def test_cuda_decoding_without_a_gpu_stops_with_the_fix(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DecoderUnavailableError, match="DECODING_DEVICE cuda needs a CUDA GPU.*DECODING_DEVICE cpu"):
        check_backend("torchcodec", "cuda")

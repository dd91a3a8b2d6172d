"""CSV parsing in PySlowFast's format, a data folder's split lists, decoding videos without length metadata."""

import av
import pytest
from conftest import BACKENDS, moving_frames, small_cfg

from slowfast.datasets import temporal_sampling as ts
from slowfast.datasets.build import build_dataset
from slowfast.datasets.decoder import decode_clip
from slowfast.datasets.video_list import VideoListError, read_split_lists, read_video_list
from slowfast.datasets.video_writer import write_mp4


def test_one_two_and_three_field_lines_and_custom_separator(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("a.mp4\nb.mp4 3\n\nc.mp4 x 5\n")
    assert read_video_list(str(path), "/data") == (["/data/a.mp4", "/data/b.mp4", "/data/c.mp4"], [0, 3, 5])
    path.write_text("dir with space/a.mp4,7\n")
    assert read_video_list(str(path), "", ",") == (["dir with space/a.mp4"], [7])


@pytest.mark.parametrize(
    "bad_line, reason",
    [("d.mp4 one", "not an integer"), ("d.mp4 1 2 3", "1 to 3 fields"), ("d.mp4 -1", "negative label")],
)
def test_malformed_line_names_file_and_line(tmp_path, bad_line, reason):
    path = tmp_path / "val.csv"
    path.write_text(f"a.mp4 0\nb.mp4 1\n{bad_line}\n")
    with pytest.raises(VideoListError, match=f"val.csv:3: .*{reason}"):
        read_video_list(str(path))


def test_dataset_fails_at_construction_on_a_malformed_list(tmp_path):
    (tmp_path / "train.csv").write_text("a.mp4 0\nb.mp4 zero\n")
    with pytest.raises(VideoListError, match="train.csv:2"):
        build_dataset("kinetics", small_cfg(str(tmp_path)), "train")


def test_split_lists_of_a_folder_name_what_is_missing_or_malformed(tmp_path):
    lists = read_split_lists(str(tmp_path / "typo"))
    assert (lists.videos, lists.missing) == ({}, {})
    assert lists.problems == [
        f"data folder {tmp_path / 'typo'} does not exist: pass the folder holding train.csv, val.csv and test.csv "
        "(DATA.PATH_TO_DATA_DIR)"
    ]
    (tmp_path / "train.csv").write_text("a.mp4 0\nb.mp4 1\n")
    (tmp_path / "val.csv").write_text("a.mp4 zero\n")
    lists = read_split_lists(str(tmp_path), path_prefix="/data")
    assert lists.videos == {"train": (["/data/a.mp4", "/data/b.mp4"], [0, 1])}
    assert lists.missing == {"test": str(tmp_path / "test.csv")}
    assert lists.problems == [f"{tmp_path / 'val.csv'}:1: label 'zero' is not an integer: fix that line"]
    (tmp_path / "val.csv").write_text("\n")
    assert read_split_lists(str(tmp_path), splits=["val"]).problems == [
        f"{tmp_path / 'val.csv'} lists no videos: add 'path label' lines or remove the file"
    ]


def _remux(src, dst):
    """Copy the packets into another container without re-encoding (identical decoded pixels)."""
    with av.open(src) as inp, av.open(dst, "w") as out:
        stream = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(inp.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ext", ["mkv", "webm"])
def test_video_without_frame_count_in_header_is_a_good_video(tmp_path, ext, backend):
    mp4 = write_mp4(str(tmp_path / "a.mp4"), moving_frames(60), gop=12)
    other = str(tmp_path / f"a.{ext}")
    if ext == "mkv":
        _remux(mp4, other)
    else:
        with av.open(other, "w") as out:
            stream = out.add_stream("libvpx-vp9", rate=30)
            stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
            for frame in moving_frames(60):
                out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            out.mux(stream.encode())
    with av.open(other) as container:
        assert not container.streams.video[0].frames  # the header has no frame count
    for clip_idx in range(4):  # integer starts (44 * i / 4), where both decoding branches agree

        def start(n, span, i=clip_idx):
            return ts.uniform_clip_start(n, span, i, 4, False)

        clip_of = dict(num_frames=4, sampling_rate=4, target_fps=30, choose_start=start)
        reference = decode_clip(mp4, **clip_of)
        clip = decode_clip(other, **clip_of, backend=backend)
        assert clip.num_video_frames == 60 and clip.frame_numbers == reference.frame_numbers
        if ext == "mkv":
            assert (clip.frames == reference.frames).all()

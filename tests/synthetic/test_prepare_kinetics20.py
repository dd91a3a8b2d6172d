"""Tests of Kinetics20 preparation on a tiny fake Kinetics tree built here."""

import importlib.util
import json
import os

import av
import numpy as np
import pytest

from slowfast.datasets.kinetics20 import (
    KEYFRAME_INTERVAL,
    prepare_kinetics20,
    read_class_list,
    reencode_video,
    scaled_size,
)
from slowfast.datasets.video_list import dataset_fingerprint
from slowfast.datasets.video_writer import write_mp4

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEADER = "label,youtube_id,time_start,time_end,split,is_cc"
TRAIN_ROWS = [
    "abseiling,aaaaaaaaaaa,10,20,train,0",  # in a per-class folder
    "abseiling,bbbbbbbbbbb,0,10,train,0",  # flat, .mkv
    "riding a bike,cc_cccccccc,5,15,train,0",  # an id with an underscore
    "riding a bike,ddddddddddd,0,10,train,0",  # file named by youtube_id only
    "tai chi,eeeeeeeeeee,1,11,train,0",  # no file: missing
    "tai chi,fffffffffff,2,12,train,0",  # not a video: unreadable
    "abseiling,aaaaaaaaaaa,10,20,train,0",  # repeated annotation
    "playing guitar,ggggggggggg,0,10,train,0",  # a class we do not select
    "tai chi,hhhhhhhhhhh,3,13,train,0",  # two files match
]
VIDEO_FILES = [
    "abseiling/aaaaaaaaaaa_000010_000020.mp4",
    "bbbbbbbbbbb_000000_000010.mkv",
    "riding a bike/cc_cccccccc_000005_000015.mp4",
    "ddddddddddd.mp4",
    "ggggggggggg_000000_000010.mp4",
    "tai_chi/hhhhhhhhhhh_000003_000013.mp4",
    "hhhhhhhhhhh_000003_000013.mp4",
    "val/iiiiiiiiiii_000000_000010.mp4",
    "val/jjjjjjjjjjj_000000_000010.mp4",
]


def make_video(path, width=48, height=32, num_frames=6):
    """A small moving-gradient H.264 video."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ramp = np.linspace(0, 255, width, dtype=np.float32)
    frames = [np.broadcast_to(np.roll(ramp, 4 * index)[None, :, None], (height, width, 3)) for index in range(6)]
    write_mp4(path, np.stack(frames[:num_frames]).astype(np.uint8), fps=10, gop=3)


def build_fake_kinetics(root):
    """Videos, a train CSV with problems, and a validate CSV without a split column (split from its name)."""
    videos = root / "videos"
    for relative in VIDEO_FILES:
        make_video(str(videos / relative))
    (videos / "fffffffffff_000002_000012.mp4").write_bytes(b"this is not a video")
    (root / "train.csv").write_text("\n".join([HEADER, *TRAIN_ROWS]) + "\n")
    (root / "validate.csv").write_text(
        "label,youtube_id,time_start,time_end,is_cc\nabseiling,iiiiiiiiiii,0,10,0\ntai chi,jjjjjjjjjjj,0,10,0\n"
    )
    (root / "classes.txt").write_text("abseiling\nriding a bike\ntai chi\n")
    return videos


def load_tool():
    spec = importlib.util.spec_from_file_location(
        "prepare_tool", os.path.join(REPO_ROOT, "tools", "prepare_kinetics20.py")
    )
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_fake_tree_gives_right_csvs_and_report(tmp_path, capsys):
    videos = build_fake_kinetics(tmp_path)
    out = tmp_path / "kinetics20"
    assert (
        load_tool().main(
            [
                "--videos",
                str(videos),
                "--annotations",
                str(tmp_path / "train.csv"),
                str(tmp_path / "validate.csv"),
                "--out",
                str(out),
                "--classes",
                str(tmp_path / "classes.txt"),
            ]
        )
        == 0
    )
    assert (out / "train.csv").read_text().splitlines() == [
        "videos/abseiling/aaaaaaaaaaa_000010_000020.mp4 0",
        "videos/abseiling/bbbbbbbbbbb_000000_000010.mkv 0",
        "videos/riding_a_bike/cc_cccccccc_000005_000015.mp4 1",
        "videos/riding_a_bike/ddddddddddd_000000_000010.mp4 1",
        "videos/tai_chi/hhhhhhhhhhh_000003_000013.mp4 2",
    ]
    val_lines = ["videos/abseiling/iiiiiiiiiii_000000_000010.mp4 0", "videos/tai_chi/jjjjjjjjjjj_000000_000010.mp4 2"]
    assert (out / "val.csv").read_text().splitlines() == val_lines
    assert (out / "test.csv").read_text().splitlines() == val_lines
    assert read_class_list(str(out / "classes.txt")) == ["abseiling", "riding a bike", "tai chi"]
    # Every listed path resolves (symlink) to a decodable source video.
    for line in (out / "train.csv").read_text().splitlines():
        with av.open(str(out / line.split(" ")[0])) as container:
            assert len(list(container.decode(video=0))) == 6
    assert os.path.realpath(out / "videos/riding_a_bike/ddddddddddd_000000_000010.mp4") == str(
        (videos / "ddddddddddd.mp4").resolve()
    )

    report = json.loads((out / "prepare_report.json").read_text())
    assert [item["youtube_id"] for item in report["missing"]] == ["eeeeeeeeeee"]
    assert [item["youtube_id"] for item in report["unreadable"]] == ["fffffffffff"]
    assert [item["youtube_id"] for item in report["duplicate_annotations"]] == ["aaaaaaaaaaa"]
    duplicate = report["duplicate_files"]
    assert [item["youtube_id"] for item in duplicate] == ["hhhhhhhhhhh"] and len(duplicate[0]["ignored"]) == 1
    assert report["counts"]["train"] == {"abseiling": 2, "riding a bike": 2, "tai chi": 1}
    assert report["test_source"] == "val" and report["num_selected_annotations"] == 10
    recorded = json.loads((out / "prepare_options.json").read_text())
    assert recorded["options"]["reencode_short_side"] is None and recorded["source"]["videos"] == str(videos)
    assert sorted(recorded["source"]["annotations"]) == [str(tmp_path / "train.csv"), str(tmp_path / "validate.csv")]
    fingerprint = dataset_fingerprint(str(out), str(out))
    assert fingerprint["encoding"] == recorded["options"] and fingerprint["train"]["missing"] == 0
    printed = capsys.readouterr().out
    assert "train 5, val 2, test 2 videos" in printed and "missing: 1" in printed and "unreadable: 1" in printed


def test_reencode_to_short_side_and_labelled_test_split(tmp_path):
    videos = tmp_path / "videos"
    make_video(str(videos / "kkkkkkkkkkk_000000_000010.mp4"), width=48, height=32, num_frames=5)
    make_video(str(videos / "lllllllllll_000000_000010.mp4"))
    (tmp_path / "all.csv").write_text(
        f"{HEADER}\nabseiling,kkkkkkkkkkk,0,10,train,0\nabseiling,lllllllllll,0,10,test,0\n"
    )
    (tmp_path / "classes.txt").write_text("abseiling\n")
    out = tmp_path / "out"
    report = prepare_kinetics20(
        annotation_csvs=[str(tmp_path / "all.csv")],
        videos_dir=str(videos),
        out_dir=str(out),
        classes_file=str(tmp_path / "classes.txt"),
        reencode_short_side=16,
        progress=False,
    )
    assert report["test_source"] == "test" and report["unreadable"] == []
    assert (out / "test.csv").read_text() == "videos/abseiling/lllllllllll_000000_000010.mp4 0\n"
    assert (out / "val.csv").read_text() == ""
    encoded = out / "videos/abseiling/kkkkkkkkkkk_000000_000010.mp4"
    assert not encoded.is_symlink()
    with av.open(str(encoded)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(video=0))
        assert stream.average_rate == 10
    assert len(frames) == 5 and (frames[0].width, frames[0].height) == (24, 16)


def test_a_reencoded_video_has_a_keyframe_every_keyframe_interval_frames(tmp_path):
    source = write_mp4(str(tmp_path / "src.mp4"), np.zeros((100, 32, 48, 3), np.uint8), gop=250)  # x264's default
    assert reencode_video(source, str(tmp_path / "out.mp4"), short_side=16) is None
    with av.open(str(tmp_path / "out.mp4")) as container:
        keyframes = [i for i, packet in enumerate(container.demux(video=0)) if packet.is_keyframe]
    assert keyframes == list(range(0, 100, KEYFRAME_INTERVAL)), keyframes  # a clip decodes from <= 31 frames back


def test_unknown_class_is_an_error(tmp_path):
    (tmp_path / "a.csv").write_text(f"{HEADER}\nabseiling,kkkkkkkkkkk,0,10,train,0\n")
    (tmp_path / "classes.txt").write_text("abseiling\nabsieling\n")
    with pytest.raises(ValueError, match="absieling"):
        prepare_kinetics20(
            annotation_csvs=[str(tmp_path / "a.csv")],
            videos_dir=str(tmp_path),
            out_dir=str(tmp_path / "out"),
            classes_file=str(tmp_path / "classes.txt"),
            progress=False,
        )


def test_scaled_size_keeps_aspect_and_never_upscales():
    assert scaled_size(640, 480, 320) == (426, 320)
    assert scaled_size(360, 640, 320) == (320, 568)
    assert scaled_size(240, 180, 320) == (240, 180)


def test_shipped_class_list_has_twenty_distinct_classes():
    names = read_class_list(os.path.join(REPO_ROOT, "data", "kinetics20", "classes.txt"))
    assert len(names) == 20 and names == sorted(names)

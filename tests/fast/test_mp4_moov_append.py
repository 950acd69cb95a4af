"""The MP4 record written by rewriting only a trailing `moov` (bytes avlabel writes itself), checked with ffprobe
and ffmpeg: exactly one `AIGC` tag, the other tags kept, every frame still decodes, and nothing before `moov`
moved. Other layouts (faststart: `moov` first) go through ffmpeg's remux and read back the same way."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from backend import implicit_label as il
from backend.implicit_label import mp4
from tests import media_factory

RECORD = il.build_record("1", "gen-co", "cid-1")


def probe(path: Path) -> tuple[dict[str, str], int]:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_format", "-show_streams", "-of", "json",
                          str(path)], capture_output=True, check=True, text=True).stdout
    info = json.loads(out)
    frames = sum(int(s.get("nb_read_frames", 0)) for s in info["streams"])
    return info["format"].get("tags", {}), frames


def moov_last(folder: Path) -> Path:
    path = folder / "end.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=96x64:rate=10:d=1", "-f", "lavfi",
                    "-i", "sine=d=1", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-y", str(path)],
                   check=True)
    return path


def test_trailing_moov_is_rewritten_alone_and_reads_back_once(tmp_path: Path) -> None:
    src = moov_last(tmp_path)
    before_tags, before_frames = probe(src)
    path = tmp_path / "labelled.mp4"
    shutil.copyfile(src, path)
    moov_at = src.read_bytes().rindex(b"moov") - 4
    assert mp4.append_in_last_moov(path, RECORD)
    assert path.read_bytes()[:moov_at] == src.read_bytes()[:moov_at]  # mdat untouched
    tags, frames = probe(path)
    assert [json.loads(v) for k, v in tags.items() if k.upper() == "AIGC"] == [RECORD]
    assert tags.get("encoder") == before_tags.get("encoder")  # the iTunes-style tags are kept
    assert frames == before_frames > 0
    assert il.read(path, "video/mp4").record == RECORD


@pytest.mark.parametrize("layout", ["moov_last", "faststart"])
def test_second_write_leaves_exactly_one_record(tmp_path: Path, layout: str) -> None:
    path = moov_last(tmp_path)
    if layout == "faststart":
        fast = tmp_path / "fast.mp4"
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-c", "copy", "-movflags", "faststart", "-y",
                        str(fast)], check=True)
        assert not mp4.append_in_last_moov(fast, RECORD)  # moov first: left to ffmpeg
        path = fast
    il.write_checked(path, "video/mp4", RECORD)
    second = il.build_record("2", "gen-co", "cid-2")
    il.write_checked(path, "video/mp4", second)
    tags, frames = probe(path)
    assert [json.loads(v) for k, v in tags.items() if k.upper() == "AIGC"] == [second]
    assert frames > 0


def test_a_fragmented_or_truncated_file_is_left_to_ffmpeg(tmp_path: Path) -> None:
    src = media_factory.video(tmp_path / "v.mp4", 0.3, size=(64, 64))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(src.read_bytes()[:-10])  # moov runs past the end of the file
    assert not mp4.append_in_last_moov(cut, RECORD)
    frag = tmp_path / "frag.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(src), "-c", "copy", "-movflags", "frag_keyframe+empty_moov",
                    "-y", str(frag)], check=True)
    assert not mp4.append_in_last_moov(frag, RECORD)

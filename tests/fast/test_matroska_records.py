"""Matroska/WebM `AIGC` records counted by avlabel's own EBML walker: libavformat merges duplicate tag names, so
two records (two global SimpleTags, a global and a track-level one, a nested one) must still be reported; and
hostile EBML (lying or unknown sizes, huge sizes, deep nesting, truncation) never raises out of the reader."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from backend import implicit_label as il
from backend.implicit_label import ebml
from tests.matroska_tags import CLUSTER, SEGMENT, TAGS, append_tags, element, ffprobe_opens, simple_tag, size_vint, tag

RECORD = il.build_record("1", "gen-co", "p-1")
OTHER = json.dumps(il.build_record("2", "other-co", "p-2"), separators=(",", ":"))
MKV = "video/x-matroska"
EBML_HEAD = element(0x1A45DFA3, element(0x4282, b"matroska"))
UNKNOWN = b"\x01\xff\xff\xff\xff\xff\xff\xff"  # an 8-byte size with every value bit set


def tagged(folder: Path, fmt: str = "matroska") -> Path:
    """A second of video made by ffmpeg, with one record written by ffmpeg's muxer (`-metadata AIGC=`)."""
    path = folder / ("in.webm" if fmt == "webm" else "in.mkv")
    codec = ["-c:v", "libvpx", "-deadline", "realtime"] if fmt == "webm" else ["-c:v", "libx264", "-preset",
                                                                                 "ultrafast"]
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:d=1",
                    *codec, "-metadata", f"AIGC={json.dumps(RECORD)}", "-f", fmt, "-y", str(path)],
                   check=True, timeout=120)
    assert il.read(path, MKV).status == "present"
    return path


@pytest.mark.parametrize("fmt", ["matroska", "webm"])
def test_a_second_global_record_is_reported(tmp_path: Path, fmt: str) -> None:
    path = append_tags(tagged(tmp_path, fmt), tag(simple_tag("AIGC", OTHER)))
    assert ffprobe_opens(path)
    reading = il.read(path, "video/webm" if fmt == "webm" else MKV)
    assert reading.status == "non_compliant" and "2 AIGC records" in reading.reasons[0], reading


def test_two_records_in_one_tag_and_a_nested_one_are_each_counted(tmp_path: Path) -> None:
    path = append_tags(tagged(tmp_path), tag(simple_tag("TITLE", "x", simple_tag("AIGC", OTHER)),
                                             simple_tag("aigc", OTHER)))
    assert ffprobe_opens(path)
    assert "3 AIGC records" in il.read(path, MKV).reasons[0]


def test_a_track_level_record_beside_the_global_one_is_a_second_record(tmp_path: Path) -> None:
    path = append_tags(tagged(tmp_path), tag(simple_tag("AIGC", OTHER), track_uid=1))
    assert ffprobe_opens(path)
    reading = il.read(path, MKV)
    assert reading.status == "non_compliant" and "2 AIGC records" in reading.reasons[0]
    assert reading.record == RECORD  # the global one is the record reported


def test_a_track_level_record_alone_is_outside_the_standard_place(tmp_path: Path) -> None:
    path = tmp_path / "plain.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:d=1",
                    "-c:v", "libx264", "-preset", "ultrafast", "-y", str(path)], check=True, timeout=120)
    assert il.read(path, MKV).status == "absent"
    append_tags(path, tag(simple_tag("AIGC", OTHER), track_uid=7))
    reading = il.read(path, MKV)
    assert reading.status == "non_compliant" and "outside the format's standard place" in reading.reasons[0]


def _live(*children: bytes) -> bytes:
    """A live-WebM layout: the Segment and its Clusters of unknown size."""
    return EBML_HEAD + SEGMENT.to_bytes(4, "big") + UNKNOWN + b"".join(children)


def _cluster(blocks: int) -> bytes:
    return CLUSTER.to_bytes(4, "big") + UNKNOWN + element(0xE7, b"\x00") + element(0xA3, b"\x81\x00\x00\x80x") * blocks


def test_unknown_size_segment_and_clusters_are_walked_to_tags_after_them(tmp_path: Path) -> None:
    path = tmp_path / "live.webm"
    path.write_bytes(_live(_cluster(50), _cluster(50), element(TAGS, tag(simple_tag("AIGC", OTHER))),
                           element(TAGS, tag(simple_tag("AIGC", OTHER)))))
    with path.open("rb") as fh:
        found = ebml.find_aigc(fh, path.stat().st_size)
    assert found.global_values == [OTHER, OTHER] and found.complete


def test_a_multi_gigabyte_cluster_is_skipped_by_its_size_not_read(tmp_path: Path) -> None:
    """Sparse: 3 GB on paper, a few bytes on disk; the walk seeks past the Cluster to the Tags at the end."""
    head = EBML_HEAD + SEGMENT.to_bytes(4, "big")
    cluster_size = 3 << 30
    first = element(TAGS, tag(simple_tag("AIGC", OTHER)))
    last = element(TAGS, tag(simple_tag("AIGC", OTHER)))
    cluster_head = CLUSTER.to_bytes(4, "big") + size_vint(cluster_size, 8)
    segment_size = len(first) + len(cluster_head) + cluster_size + len(last)
    path = tmp_path / "big.mkv"
    with path.open("wb") as fh:
        fh.write(head + size_vint(segment_size, 8) + first + cluster_head)
        fh.seek(cluster_size, os.SEEK_CUR)
        fh.write(last)
    with path.open("rb") as raw:
        fh = _Counting(raw)
        found = ebml.find_aigc(fh, path.stat().st_size)  # type: ignore[arg-type]
    assert found.global_values == [OTHER, OTHER]
    assert fh.read_bytes < 1 << 20  # the 3 GB cluster is skipped by its size, not read (counted, not timed)


class _Counting:
    """A file that counts the bytes read through it."""

    def __init__(self, raw: Any) -> None:
        self.raw, self.read_bytes = raw, 0

    def read(self, n: int = -1) -> bytes:
        data: bytes = self.raw.read(n)
        self.read_bytes += len(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def _nested(depth: int) -> bytes:
    return simple_tag("AIGC", OTHER, *([_nested(depth - 1)] if depth else []))


HOSTILE = {
    "tags_size_past_the_file": EBML_HEAD + SEGMENT.to_bytes(4, "big") + UNKNOWN + TAGS.to_bytes(4, "big")
    + size_vint(1 << 40, 8) + b"\x73\x73",
    "tags_of_unknown_size": _live(TAGS.to_bytes(4, "big") + UNKNOWN + tag(simple_tag("AIGC", OTHER))),
    "child_past_its_parent": _live(element(TAGS, b"\x73\x73\x88" + b"\x67\xc8\xff")),
    "nested_too_deep": _live(element(TAGS, tag(_nested(40)))),
    "huge_cluster_then_nothing": _live(CLUSTER.to_bytes(4, "big") + size_vint((1 << 56) - 2, 8)),
    "not_ebml": b"\x1a\x45\xdf\xa3\x80garbage",
    "only_the_magic": b"\x1a\x45\xdf\xa3",
    "many_tiny_blocks": _live(_cluster(ebml.MAX_ELEMENTS + 10), element(TAGS, tag(simple_tag("AIGC", OTHER)))),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_ebml_is_an_answer_not_an_exception(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.mkv"
    path.write_bytes(HOSTILE[name])
    reading = il.read(path, MKV)
    assert reading.status in ("non_compliant", "absent")
    if name.startswith(("tags_", "child_", "nested_")):
        assert reading.status == "non_compliant" and "cannot be parsed" in reading.reasons[0], reading


def test_every_truncation_of_a_two_record_file_reads_without_raising(tmp_path: Path) -> None:
    whole = append_tags(tagged(tmp_path), tag(simple_tag("AIGC", OTHER))).read_bytes()
    cut = tmp_path / "cut.mkv"
    for end in range(0, len(whole), max(1, len(whole) // 97)):
        cut.write_bytes(whole[:end])
        assert il.read(cut, MKV).status in ("present", "non_compliant", "absent")


def test_tags_past_the_walk_budget_are_found_through_the_seek_head(tmp_path: Path) -> None:
    tags = element(TAGS, tag(simple_tag("AIGC", OTHER)) + tag(simple_tag("AIGC", OTHER)))
    blocks = _cluster(ebml.MAX_ELEMENTS + 10)

    def seek_head(position: int) -> bytes:
        entry = element(0x53AB, TAGS.to_bytes(4, "big")) + element(0x53AC, position.to_bytes(8, "big"))
        return element(0x114D9B74, element(0x4DBB, entry))

    head_size = len(seek_head(0))
    path = tmp_path / "long_live.webm"
    path.write_bytes(_live(seek_head(head_size + len(blocks)), blocks, tags))
    with path.open("rb") as fh:
        found = ebml.find_aigc(fh, path.stat().st_size)
    assert not found.complete and found.global_values == [OTHER, OTHER]
    assert "2 AIGC records" in il.read(path, MKV).reasons[0]

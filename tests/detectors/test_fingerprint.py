"""Fingerprint lists: multi-index lookup agrees with brute force; lists shared across hosts via DB + Redis."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from backend.detection.stores import FingerprintStore
from backend.store.db import Database
from detectors.base import MediaInput
from detectors.fingerprint import FingerprintDetector
from detectors.fingerprint_index import PdqIndex
from tests.conftest import REDIS_URL
from tests.detectors import media


def flip(h: np.ndarray, k: int, rng: np.random.Generator) -> bytes:
    bits = np.unpackbits(h)
    bits[rng.choice(256, size=k, replace=False)] ^= 1
    return np.packbits(bits).tobytes()


def test_multi_index_agrees_with_brute_force() -> None:
    rng = np.random.default_rng(3)
    hashes = rng.integers(0, 256, (20_000, 32), dtype=np.uint8)
    index = PdqIndex(merge_at=5_000)
    index.add_many(hashes[:15_000], np.arange(15_000))
    index.add_many(hashes[15_000:], np.arange(15_000, 20_000))  # part sorted, part in the tail
    index.add_many(hashes[:3], np.array([-1, -2, -3]))  # tail
    for k in (0, 1, 8, 15, 16, 24, 31):
        target = int(rng.integers(0, 20_000))
        query = flip(hashes[target], k, rng)
        got = index.search(query, 31)
        assert got == index.brute_force(query, 31)
        assert (target, k) in got
    assert index.search(flip(hashes[7], 40, rng), 31) == []
    assert index.remove_ids(np.array([7])) == 1
    assert all(i != 7 for i, _ in index.search(hashes[7].tobytes(), 31))


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[FingerprintStore, FingerprintStore]]:
    """Two hosts: one database, one Redis (a fresh key prefix), separate in-memory indexes."""
    db = Database(f"sqlite:///{tmp_path / 'fp.db'}")
    db.create_schema()
    prefix = f"avltest:{secrets.token_hex(4)}:"
    a, b = FingerprintStore(db, REDIS_URL, prefix), FingerprintStore(db, REDIS_URL, prefix)
    yield a, b
    a.redis.delete(a.counter_key)  # type: ignore[union-attr]
    a.close()
    b.close()
    db.close()


def edited_copy(src: Path, dst: Path) -> Path:
    """Small edits: 90 % size, a little brighter, JPEG quality 70."""
    with Image.open(src) as im:
        img = im.convert("RGB")
        img = img.resize((round(img.width * 0.9), round(img.height * 0.9)), Image.Resampling.BILINEAR)
        ImageEnhance.Brightness(img).enhance(1.06).save(dst, quality=70)
    return dst


@pytest.mark.postgres  # Redis
def test_an_item_added_on_one_host_matches_on_another(stores: tuple[FingerprintStore, FingerprintStore],
                                                      tmp_path: Path) -> None:
    host_a, host_b = stores
    original = media.camera_like(tmp_path / "p.jpg", seed=21)
    unrelated = media.camera_like(tmp_path / "u.jpg", seed=22)
    assert host_b.lookup(MediaInput(original, "image/jpeg", "x")) == []  # builds host B's index first
    assert host_a.add_file(original, "image/jpeg", "prohibited", "p_case_1", {"reason": "test"}) == 1
    copy = edited_copy(original, tmp_path / "copy.jpg")
    matches = host_b.lookup(MediaInput(copy, "image/jpeg", "y"))
    assert [(m["list"], m["ref"]) for m in matches] == [("prohibited", "p_case_1")]
    assert matches[0]["bits_differing"] <= 31 and matches[0]["note"] == {"reason": "test"}
    assert host_b.lookup(MediaInput(unrelated, "image/jpeg", "z")) == []
    assert host_a.remove("prohibited", "p_case_1")
    assert host_b.lookup(MediaInput(copy, "image/jpeg", "y")) == []
    assert not host_a.remove("prohibited", "p_case_1")  # already gone


@pytest.mark.postgres  # Redis
def test_video_keyframes_and_audio_match_after_reencoding(stores: tuple[FingerprintStore, FingerprintStore],
                                                         tmp_path: Path) -> None:
    host_a, host_b = stores
    video = media.photo_video(tmp_path / "rumour.mp4", seconds=3)
    assert host_a.add_file(video, "video/mp4", "refuted", "case_9", {"url": "https://example.org/r/9"}) >= 1
    edited = media.ffmpeg(video, tmp_path / "edited.mp4", "-vf", "scale=576:324", "-c:v", "libx264", "-crf", "30")
    matches = host_b.lookup(MediaInput(edited, "video/mp4", "v"))
    assert matches and matches[0]["list"] == "refuted" and matches[0]["note"]["url"] == "https://example.org/r/9"

    song = media.music(tmp_path / "song.wav", seconds=10)
    assert host_a.add_file(song, "audio/wav", "prohibited", "song_1", {}) == 1
    mp3 = media.ffmpeg(song, tmp_path / "song.mp3", "-af", "volume=0.8", "-b:a", "96k")
    found = host_b.lookup(MediaInput(mp3, "audio/mpeg", "a"))
    assert [(m["list"], m["kind"]) for m in found] == [("prohibited", "chromaprint")]
    assert found[0]["distance"] < 0.3
    other = media.music(tmp_path / "other.wav", seconds=10, seed=9)
    assert host_b.lookup(MediaInput(other, "audio/wav", "o")) == []


def test_videos_sharing_only_a_soundtrack_are_not_copies_of_each_other(
        stores: tuple[FingerprintStore, FingerprintStore], tmp_path: Path) -> None:
    host_a, host_b = stores
    song = media.music(tmp_path / "shared-sound.wav", seconds=8, seed=21)
    one = media.pattern_video(tmp_path / "one.mp4", "testsrc", song)
    other = media.pattern_video(tmp_path / "other.mp4", "smptebars", song)
    assert host_a.add_file(one, "video/mp4", "prohibited", "case_sound", {"reason": "r"}) == 2  # keyframe + audio

    signal = FingerprintDetector(host_b).analyse(MediaInput(other, "video/mp4", "o"))
    assert signal is not None
    assert signal.evidence["matches"] == [] and signal.score == 0.0  # no copy: the pictures differ
    assert [(m["list"], m["ref"]) for m in signal.evidence["same_soundtrack"]] == [("prohibited", "case_sound")]

    copy = media.ffmpeg(one, tmp_path / "copy.mp4", "-vf", "scale=576:324", "-c:v", "libx264", "-crf", "30")
    signal = FingerprintDetector(host_b).analyse(MediaInput(copy, "video/mp4", "c"))
    assert signal is not None and [m["ref"] for m in signal.evidence["matches"]] == ["case_sound"]
    assert "pdq" in signal.evidence["matches"][0]["matched_by"]
    # An audio file is matched by its sound, as before.
    signal = FingerprintDetector(host_b).analyse(MediaInput(song, "audio/wav", "s"))
    assert signal is not None and [m["ref"] for m in signal.evidence["matches"]] == ["case_sound"]

"""The soft-binding watermark survives the transforms it is made for; the open SD marks are read."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from detectors import sd_watermark
from detectors import watermark_codec as codec
from detectors.base import MediaInput
from detectors.watermark import StableDiffusionWatermarkDetector, embed_video, read_media
from tests.detectors import media

KEY = 0x5A17_C0DE_B0A7


@pytest.fixture(scope="module")
def marked_photo() -> np.ndarray:
    return codec.Embedder(KEY).embed_rgb(media.photo_rgb())


def read(rgb: np.ndarray) -> codec.Reading:
    return codec.read([codec.residual(rgb)])


def test_mark_is_invisible_enough(marked_photo: np.ndarray) -> None:
    assert cv2.PSNR(media.photo_rgb(), marked_photo) > 40


@pytest.mark.parametrize("attack", ["none", "jpeg50", "downscale50", "crop10", "all"])
def test_key_survives(marked_photo: np.ndarray, attack: str) -> None:
    rgb = marked_photo
    if attack in ("jpeg50", "all"):
        rgb = media.decode(media.jpeg_bytes(rgb, 50))
    if attack in ("downscale50", "all"):
        rgb = media.downscale(rgb, 0.5)
    if attack in ("crop10", "all"):
        rgb = media.crop_corner(rgb, 0.1)
    reading = read(rgb)
    assert reading.key == KEY, f"{attack}: bit error rate {codec.bit_error_rate(reading, KEY):.3f}"


def test_fast_embedding_gives_the_reference_formulas_pixels() -> None:
    embedder = codec.Embedder(KEY)
    rng = np.random.default_rng(2)
    lumas = [cv2.cvtColor(media.photo_rgb(), cv2.COLOR_RGB2YCrCb)[:, :, 0],
             rng.integers(0, 256, (720, 1280), dtype=np.uint8), np.full((360, 640), 250, np.uint8)]
    for y in lumas:
        fast, ref = embedder.embed_luma(y).astype(int), embedder.embed_luma_reference(y).astype(int)
        assert np.abs(fast - ref).max() <= 1 and np.mean(fast != ref) < 1e-4


def test_unmarked_pictures_give_no_key() -> None:
    assert read(media.photo_rgb()).key is None
    rng = np.random.default_rng(1)
    assert read(rng.integers(0, 255, (600, 800, 3), dtype=np.uint8)).key is None
    assert read(np.full((400, 400, 3), 128, np.uint8)).key is None


def test_video_key_survives_mp4_reencoding_and_crop(tmp_path: Path) -> None:
    src = media.photo_video(tmp_path / "v.mp4")
    marked = tmp_path / "marked.mp4"
    embed_video(src, marked, KEY)
    again = media.ffmpeg(marked, tmp_path / "again.mp4", "-c:v", "libx264", "-crf", "23", "-c:a", "copy")
    reading = read_media(again, "video/mp4")
    assert reading is not None and reading.key == KEY
    cropped = media.ffmpeg(marked, tmp_path / "crop.mp4", "-vf", "crop=iw*0.9:ih*0.9:0:0", "-c:v", "libx264",
                           "-crf", "23")
    reading = read_media(cropped, "video/mp4")
    assert reading is not None and reading.key == KEY
    original = read_media(src, "video/mp4")
    assert original is not None and original.key is None


@pytest.mark.parametrize("mark", sorted(sd_watermark.MARKS))
def test_stable_diffusion_marks_are_read(tmp_path: Path, mark: str) -> None:
    # The dwtDct mark is weak even fresh (invisible-watermark's own decoder reads ~85 % of bits back on
    # busy photos); a smooth generated-looking picture reads back nearly exactly, as SD outputs do.
    bgr = cv2.imread(str(media.camera_like(tmp_path / "base.png", seed=5, size=(512, 512))))
    path = tmp_path / "sd.png"
    bgr = sd_watermark.encode(bgr, sd_watermark.MARKS[mark])
    cv2.imwrite(str(path), bgr)
    signal = StableDiffusionWatermarkDetector().analyse(MediaInput(path, "image/png", "0" * 64))
    assert signal is not None and signal.evidence["mark"] == mark and signal.score >= 0.75


def test_clean_image_does_not_match_any_sd_mark(tmp_path: Path) -> None:
    path = media.camera_like(tmp_path / "c.png", seed=6, size=(512, 512))
    assert StableDiffusionWatermarkDetector().analyse(MediaInput(path, "image/png", "0" * 64)) is None

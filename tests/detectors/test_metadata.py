"""Metadata signals fire on media made for them, and stay silent on a clean camera-like picture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detectors.base import DetectorError, MediaInput
from detectors.metadata import MetadataDetector, Rules, provenance_signal
from tests.detectors import media


@pytest.fixture(scope="module")
def detector() -> MetadataDetector:
    return MetadataDetector()


def run(detector: MetadataDetector, path: Path, mime: str) -> tuple[float, list[dict[str, object]]]:
    signal = detector.analyse(MediaInput(path, mime, "0" * 64))
    assert signal is not None, f"no metadata signal for {path.name}"
    assert signal.kind == "metadata"
    return signal.score, signal.evidence["findings"]


def test_stable_diffusion_parameters_chunk(detector: MetadataDetector, tmp_path: Path) -> None:
    score, findings = run(detector, media.png_with_text(tmp_path / "sd.png", {"parameters": media.SD_PARAMETERS}),
                          "image/png")
    assert score >= 0.9
    assert findings[0]["field"] == "parameters" and "Stable Diffusion web UI" in str(findings[0]["meaning"])


def test_comfyui_prompt_and_workflow_chunks(detector: MetadataDetector, tmp_path: Path) -> None:
    path = media.png_with_text(tmp_path / "comfy.png", {"prompt": media.COMFY_PROMPT, "workflow": media.COMFY_WORKFLOW})
    score, findings = run(detector, path, "image/png")
    assert score >= 0.9
    assert {f["field"] for f in findings} == {"prompt", "workflow"}
    assert all("ComfyUI" in str(f["meaning"]) for f in findings)


def test_a_parameters_chunk_without_generation_settings_is_not_evidence(detector: MetadataDetector,
                                                                         tmp_path: Path) -> None:
    path = media.png_with_text(tmp_path / "p.png", {"parameters": "exposure=+0.3", "Comment": "holiday"})
    assert detector.analyse(MediaInput(path, "image/png", "0" * 64)) is None


def test_xmp_digital_source_type_strong_and_weak(detector: MetadataDetector, tmp_path: Path) -> None:
    strong, findings = run(detector, media.jpeg_with_xmp(tmp_path / "t.jpg", None, media.TRAINED), "image/jpeg")
    assert strong >= 0.9 and findings[0]["field"] == "Iptc4xmpExt:DigitalSourceType"
    weak, findings = run(detector, media.jpeg_with_xmp(tmp_path / "e.jpg", None, media.ENHANCED), "image/jpeg")
    assert 0.5 <= weak < 0.85
    assert "algorithmicallyEnhanced" in str(findings[0]["meaning"])


def test_gb45438_label_in_png_xmp(detector: MetadataDetector, tmp_path: Path) -> None:
    score, findings = run(detector, media.png_with_xmp(tmp_path / "a.png", media.AIGC, media.TRAINED), "image/png")
    aigc = next(f for f in findings if f["field"] == "TC260:AIGC")
    assert score >= 0.9 and "91110000MA00000000" in str(aigc["meaning"])
    # Label 3 (suspected, as a platform marks what it detected) is weaker evidence than 1 (declared).
    weak, findings = run(detector, media.png_with_xmp(tmp_path / "b.png", {**media.AIGC, "Label": "3"},
                                                      "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"),
                         "image/png")
    assert weak < 0.85 and "suspected" in str(findings[0]["meaning"])


def test_gb45438_label_in_exif_user_comment_and_generator_software(detector: MetadataDetector,
                                                                   tmp_path: Path) -> None:
    score, findings = run(detector, media.jpeg_with_user_comment(tmp_path / "u.jpg", media.AIGC, "ComfyUI"),
                          "image/jpeg")
    assert score >= 0.9
    assert {(f["source"], f["field"]) for f in findings} == {("exif", "AIGC"), ("exif", "Software")}


def test_audio_and_video_container_tags(detector: MetadataDetector, tmp_path: Path) -> None:
    aigc = json.dumps(media.AIGC)
    mp3 = media.ffmpeg(media.music(tmp_path / "m.wav", 1.0), tmp_path / "m.mp3", "-metadata", f"AIGC={aigc}",
                       "-metadata", "comment=made with Suno v4")
    score, findings = run(detector, mp3, "audio/mpeg")
    assert score >= 0.9 and any("Suno" in str(f["meaning"]) for f in findings)
    mp4 = media.ffmpeg(media.photo_video(tmp_path / "v.mp4", seconds=1), tmp_path / "t.mp4", "-c", "copy",
                       "-metadata", f"AIGC={aigc}", "-movflags", "use_metadata_tags")
    score, findings = run(detector, mp4, "video/mp4")
    assert score >= 0.9 and findings[0]["source"] == "container"


def test_clean_camera_like_image_has_no_signal(detector: MetadataDetector, tmp_path: Path) -> None:
    path = media.camera_like(tmp_path / "c.jpg")
    assert detector.analyse(MediaInput(path, "image/jpeg", "0" * 64)) is None


def test_corrupted_video_is_a_detector_error(detector: MetadataDetector, tmp_path: Path) -> None:
    path = tmp_path / "broken.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x17" * 500)
    with pytest.raises(DetectorError):
        detector.analyse(MediaInput(path, "video/mp4", "0" * 64))


def test_failed_c2pa_manifest_that_declares_generation() -> None:
    summary = {"digital_source_type": media.TRAINED, "generator": "ComfyUI 0.3", "aigc": media.AIGC}
    signal = provenance_signal(summary, "Invalid", ["assertion.dataHash.mismatch"], Rules.load())
    assert signal is not None and 0.85 <= signal.score <= 0.9
    assert signal.evidence["failure_codes"] == ["assertion.dataHash.mismatch"]
    assert provenance_signal({"digital_source_type": None}, "Invalid", [], Rules.load()) is None

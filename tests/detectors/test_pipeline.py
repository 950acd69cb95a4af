"""The pipeline: every detector runs, a crash is an error entry, extra (learned) detectors plug in;
the service's policy (backend/detection) turns the signals into the verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.detection.pipeline import Detection
from detectors.base import DetectorError, MediaInput, Signal
from detectors.metadata import MetadataDetector
from detectors.pipeline import DetectorSuite
from detectors.watermark import StableDiffusionWatermarkDetector
from tests.detectors import media


class Crashing:
    name = "crashing"
    version = "0"

    def analyse(self, media: MediaInput) -> Signal | None:
        raise ZeroDivisionError("a bug in a detector")


class Refusing:
    name = "refusing"
    version = "0"

    def analyse(self, media: MediaInput) -> Signal | None:
        raise DetectorError("audio with no samples")


class FixedModel:
    """Stands in for an ONNX detector's calibrated output."""

    def __init__(self, score: float, threshold: float = 0.8, viewer_facing: bool = True) -> None:
        self.name, self.version, self.score, self.threshold = "model", "1", score, threshold
        self.viewer_facing = viewer_facing

    def analyse(self, media: MediaInput) -> Signal | None:
        return Signal(self.name, self.version, self.score, "model",
                      {"threshold": self.threshold, "above_threshold": self.score >= self.threshold,
                       "viewer_facing": self.viewer_facing, "above_review_threshold": self.score >= 0.5})


def test_a_crashing_detector_is_an_error_entry_and_the_others_still_answer(tmp_path: Path) -> None:
    path = media.png_with_text(tmp_path / "sd.png", {"parameters": media.SD_PARAMETERS})
    pipeline = Detection(DetectorSuite([Crashing(), Refusing(), MetadataDetector(),
                                        StableDiffusionWatermarkDetector()]))
    answer = pipeline.run(MediaInput(path, "image/png", "0" * 64))
    assert answer["verdict"] == "unsigned_likely_synthetic"
    assert answer["detectors_ran"] == ["crashing", "refusing", "metadata", "sd-invisible-watermark"]
    errors = {e["detector"]: e for e in answer["errors"]}
    assert errors["crashing"]["code"] == "detector_failed" and "ZeroDivisionError" in errors["crashing"]["message"]
    assert errors["refusing"] == {"detector": "refusing", "code": "bad_media", "message": "audio with no samples"}
    assert answer["wording"]["zh"].startswith("疑似")


# A model alone never says more than "possibly", and only past its own threshold (0.8 here).
@pytest.mark.parametrize(("score", "verdict"), [(0.99, "unsigned_possibly_synthetic"),
                                                (0.81, "unsigned_possibly_synthetic"),
                                                (0.6, "unsigned_no_signal"),
                                                (0.2, "unsigned_no_signal")])
def test_extra_detectors_plug_in_and_their_scores_set_the_likelihood(tmp_path: Path, score: float,
                                                                      verdict: str) -> None:
    path = media.camera_like(tmp_path / "c.jpg")
    suite = DetectorSuite([MetadataDetector()])
    suite.add(FixedModel(score))
    pipeline = Detection(suite)
    answer = pipeline.run(MediaInput(path, "image/jpeg", "0" * 64))
    assert answer["verdict"] == verdict
    assert [s["detector"] for s in answer["signals"]] == ["model"]
    assert answer["match"] is None and answer["errors"] == []


def test_a_model_whose_card_did_not_meet_the_bar_labels_nothing(tmp_path: Path) -> None:
    path = media.camera_like(tmp_path / "c.jpg")
    suite = DetectorSuite([MetadataDetector()])
    suite.add(FixedModel(0.99, viewer_facing=False))
    answer = Detection(suite).run(MediaInput(path, "image/jpeg", "0" * 64))
    assert answer["verdict"] == "unsigned_no_signal"

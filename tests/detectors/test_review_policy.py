"""What a learned model's score may say (backend/detection/policy.py): a model alone labels for viewers
only past its viewer threshold and only when its card met the bar; between its review threshold and
that, the media is not labelled but a "detector flag, needs review" case is opened (or joined)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.detection.policy import REVIEW_REASON, decide
from detectors.base import Signal
from tests import media_factory
from tests.conftest import Server, make_server

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "detectors" / "models"


def _models_with(tmp: Path, **meta: Any) -> Path:
    """A copy of the shipped image model whose json says other thresholds (the onnx is unchanged)."""
    tmp.mkdir(parents=True, exist_ok=True)
    for name in ("image_synthetic.onnx", "image_synthetic.md"):
        shutil.copy(SHIPPED / name, tmp / name)
    data = json.loads((SHIPPED / "image_synthetic.json").read_text()) | meta
    (tmp / "image_synthetic.json").write_text(json.dumps(data))
    return tmp


@pytest.fixture(scope="module")
def review_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose image model puts every score between its review and viewer thresholds."""
    models = _models_with(tmp_path_factory.mktemp("models"), review_threshold=0.0, threshold=1.01,
                          viewer_facing=True)
    srv = make_server(tmp_path_factory.mktemp("review"), False, AVLABEL_MODELS_DIR=str(models))
    srv.start()
    yield srv
    srv.stop()


def _verify(srv: Server, path: Path) -> dict[str, Any]:
    with srv.client() as http:
        resp = http.post("/v1/verify", files={"file": (path.name, path.read_bytes())})
    assert resp.status_code == 200, resp.text
    answer: dict[str, Any] = resp.json()
    return answer


def test_model_only_score_between_thresholds_opens_a_review_case_not_a_viewer_label(
        review_server: Server, tmp_path: Path) -> None:
    image = media_factory.png(tmp_path / "photo.png", seed=31)
    answer = _verify(review_server, image)
    detection = answer["detection"]
    signal = next(s for s in detection["signals"] if s["detector"] == "onnx-image-synthetic")
    # The verify answer lets a third party judge the score: threshold, version and the card's figures.
    ev = signal["evidence"]
    assert ev["above_review_threshold"] is True and ev["above_threshold"] is False
    assert ev["viewer_threshold"] == 1.01 and ev["review_threshold"] == 0.0
    assert ev["model_version"] == signal["version"] and ev["card"].endswith("image_synthetic.md")
    assert "held_out" in ev
    # No viewer label …
    assert detection["verdict"] == "unsigned_no_signal"
    assert answer["label_state"] == "unsigned"
    # … but a moderation case with the score and the model card.
    review = detection["review"]
    assert review["reason"] == REVIEW_REASON and review["case"]["opened"] is True
    case_id = review["case"]["case_id"]
    with review_server.client() as http:
        resp = http.get(f"/v1/cases/{case_id}", headers={"Authorization": f"Bearer {review_server.keys['moderator']}"})
        assert resp.status_code == 200, resp.text
        case = resp.json()
    assert case["category"] == "detector_flag" and case["status"] == "open"
    assert case["sha256"] == answer["sha256"]
    description = case["reports"][0]["description"]
    assert REVIEW_REASON in description and str(signal["score"]) in description
    assert "image_synthetic.md" in description
    # The same bytes again join the case instead of opening another.
    again = _verify(review_server, image)["detection"]["review"]["case"]
    assert again["case_id"] == case_id and again["opened"] is False


def _model_signal(score: float, review: float, viewer: float, facing: bool) -> Signal:
    return Signal(detector="onnx-image-synthetic", version="2.0.0", score=score, kind="model", evidence={
        "above_threshold": score >= viewer, "above_review_threshold": score >= review, "threshold": viewer,
        "review_threshold": review, "viewer_threshold": viewer, "viewer_facing": facing, "model_version": "2.0.0",
        "card": "detectors/models/image_synthetic.md", "held_out": {}})


@pytest.mark.parametrize(("score", "facing", "verdict", "review"), [
    (0.95, True, "unsigned_possibly_synthetic", False),  # past the viewer threshold, card met its bar
    (0.95, False, "unsigned_no_signal", True),  # a model that missed its bar never labels: review
    (0.70, True, "unsigned_no_signal", True),  # between the thresholds: review, no label
    (0.30, True, "unsigned_no_signal", False),  # below review: nothing
])
def test_model_score_policy(score: float, facing: bool, verdict: str, review: bool) -> None:
    decision = decide([_model_signal(score, 0.6, 0.9, facing)], None)
    assert decision.verdict == verdict
    assert (decision.review is not None) is review
    if review:
        assert decision.review is not None and decision.review["detectors"][0]["score"] == score

"""The training script reproduces the shipped speech model from the documented data (slow: ~2 min)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from detectors.base import MediaInput
from detectors.onnx_models import SPEECH_MODEL, OnnxModel, SpeechDetector
from detectors.training.speech_corpus import FSDD_TEST_SPEAKERS, fsdd_dir

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "detectors" / "models"


@pytest.mark.slow
def test_train_speech_reproduces_the_shipped_model(tmp_path: Path) -> None:
    try:
        fsdd = fsdd_dir()
    except SystemExit:
        pytest.skip("the FSDD data set is not on this machine")
    subprocess.run(
        [sys.executable, "-m", "detectors.training.train_speech", "--models-dir", str(tmp_path / "models"),
         "--synthetic-dir", str(ROOT / "build" / "synthetic-speech")],
        cwd=ROOT, check=True, capture_output=True, timeout=1200,
    )
    shipped, rebuilt = OnnxModel(SHIPPED, SPEECH_MODEL), OnnxModel(tmp_path / "models", SPEECH_MODEL)
    meta = json.loads((tmp_path / "models" / f"{SPEECH_MODEL}.json").read_text())
    # Same library versions give the same bytes; other versions may differ in the last digits only.
    if meta["sha256"] != shipped.meta["sha256"]:
        assert abs(rebuilt.threshold - shipped.threshold) < 0.02
    clips = sorted(p for p in fsdd.glob("*.wav") if p.name.split("_")[1] in FSDD_TEST_SPEAKERS)[::50]
    a = [SpeechDetector(shipped).analyse(MediaInput(p, "audio/wav", "")) for p in clips]
    b = [SpeechDetector(rebuilt).analyse(MediaInput(p, "audio/wav", "")) for p in clips]
    assert np.allclose([s.score for s in a if s], [s.score for s in b if s], atol=0.02)


@pytest.mark.slow
@pytest.mark.needs_shared("datasets")
def test_image_evaluation_command_prints_metrics() -> None:
    """On genuine generator output (eval-ai-images) against held-out real photos (tier C), with intervals."""
    from tests.conftest import SHARED

    out = subprocess.run(
        [sys.executable, "-m", "detectors.evaluate", "image", "--quick"],
        cwd=ROOT, capture_output=True, text=True, timeout=3600, check=True,
        env={**os.environ, "AVLABEL_SHARED": str(SHARED)},
    ).stdout
    assert "eval-ai-images (all) vs real-photos tier C" in out and "eval-ai-images FLUX vs tier C" in out
    for figure in ("ROC AUC", "EER", "TPR at 1% FPR", "TPR at 0.1% FPR", "at review threshold",
                   "at viewer threshold", "flagged per camera make", "flagged per generator"):
        assert figure in out, figure
    assert re.search(r"ROC AUC \d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]", out)  # every figure has its interval

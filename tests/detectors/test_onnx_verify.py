"""The learned detectors answer through POST /v1/verify on a running (embedded) server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from detectors.training.speech_corpus import fsdd_dir
from tests.conftest import Server

ROOT = Path(__file__).resolve().parents[2]


def verify(srv: Server, path: Path) -> dict[str, Any]:
    with srv.client() as http:
        resp = http.post("/v1/verify", files={"file": (path.name, path.read_bytes())})
    assert resp.status_code == 200, resp.text
    detection: dict[str, Any] = resp.json()["detection"]
    return detection


def speech_signal(detection: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in detection["signals"] if s["detector"] == "onnx-speech-synthetic")


def test_unsigned_speech_carries_the_speech_models_score_and_threshold(embedded_server: Server, tmp_path: Path) -> None:
    wav = tmp_path / "digits.wav"
    subprocess.run(["espeak-ng", "-v", "en-us+f4", "-w", str(wav), "four five six"], check=True, capture_output=True)
    signal = speech_signal(verify(embedded_server, wav))
    meta = json.loads((ROOT / "detectors" / "models" / "speech_synthetic.json").read_text())
    assert signal["kind"] == "model" and 0.0 <= signal["score"] <= 1.0
    assert signal["evidence"]["threshold"] == meta["viewer_threshold"]
    assert signal["evidence"]["above_threshold"] == (signal["score"] >= meta["viewer_threshold"])


def test_unsigned_real_speech_from_a_held_out_speaker_is_not_flagged(embedded_server: Server) -> None:
    try:
        clip = fsdd_dir() / "4_nicolas_7.wav"
    except SystemExit:
        pytest.skip("the FSDD data set is not on this machine")
    detection = verify(embedded_server, clip)
    signal = speech_signal(detection)
    assert signal["evidence"]["above_threshold"] is False
    assert signal["score"] < signal["evidence"]["threshold"]

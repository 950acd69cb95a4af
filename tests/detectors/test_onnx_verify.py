"""The learned detectors answer through POST /v1/verify on a running (embedded) server."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from detectors.training.speech_data import fsdd_dir
from tests.conftest import Server


def verify(srv: Server, path: Path) -> dict[str, Any]:
    with srv.client() as http:
        resp = http.post("/v1/verify", files={"file": (path.name, path.read_bytes())})
    assert resp.status_code == 200, resp.text
    detection: dict[str, Any] = resp.json()["detection"]
    return detection


def speech_signal(detection: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in detection["signals"] if s["detector"] == "onnx-speech-synthetic")


def test_unsigned_synthetic_speech_is_possibly_synthetic(embedded_server: Server, tmp_path: Path) -> None:
    wav = tmp_path / "digits.wav"  # a voice variant held out of training
    subprocess.run(["espeak-ng", "-v", "en-us+f4", "-w", str(wav), "four"], check=True, capture_output=True)
    detection = verify(embedded_server, wav)
    signal = speech_signal(detection)
    assert signal["kind"] == "model" and signal["evidence"]["above_threshold"] is True
    assert detection["verdict"] in {"unsigned_possibly_synthetic", "unsigned_likely_synthetic"}


def test_unsigned_real_speech_from_a_held_out_speaker_is_not_flagged(embedded_server: Server) -> None:
    try:
        clip = fsdd_dir() / "4_nicolas_7.wav"
    except SystemExit:
        pytest.skip("the FSDD data set is not on this machine")
    detection = verify(embedded_server, clip)
    signal = speech_signal(detection)
    assert signal["evidence"]["above_threshold"] is False
    assert signal["score"] < signal["evidence"]["threshold"]

"""Awkward audio through POST /v1/verify on a running server: silent, clipped, 8 kHz, 48 kHz, mono and
6-channel files get a speech score or a clear `detection.errors` entry, never a 5xx."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import Server

DETECTOR = "onnx-speech-synthetic"


def speech(tmp: Path, rate: int) -> np.ndarray:
    """A spoken sentence (espeak-ng, 22.05 kHz) resampled to `rate` by linear interpolation."""
    wav = tmp / "espeak.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), "The birch canoe slid on the smooth planks."],
                   check=True, capture_output=True)
    x, src = sf.read(wav, dtype="float32")
    t = np.arange(0, x.size / src, 1.0 / rate)
    return np.interp(t, np.arange(x.size) / src, x).astype(np.float32)


def silent(tmp: Path) -> tuple[np.ndarray, int]:
    return np.zeros(16000 * 2, np.float32), 16000


def clipped(tmp: Path) -> tuple[np.ndarray, int]:
    return np.clip(speech(tmp, 22050) * 40.0, -1.0, 1.0), 22050


def narrowband(tmp: Path) -> tuple[np.ndarray, int]:
    return speech(tmp, 8000), 8000


def wideband(tmp: Path) -> tuple[np.ndarray, int]:
    return speech(tmp, 48000), 48000


def mono(tmp: Path) -> tuple[np.ndarray, int]:
    return speech(tmp, 16000), 16000


def six_channel(tmp: Path) -> tuple[np.ndarray, int]:
    x = speech(tmp, 48000)
    rng = np.random.default_rng(0)
    channels = [x, 0.5 * x, np.zeros_like(x), 0.01 * rng.standard_normal(x.size).astype(np.float32), x, x]
    return np.stack(channels, axis=1), 48000


def verify(srv: Server, path: Path) -> dict[str, Any]:
    with srv.client() as http:
        resp = http.post("/v1/verify", files={"file": (path.name, path.read_bytes(), "audio/wav")})
    assert resp.status_code < 500, resp.text
    assert resp.status_code == 200, resp.text
    detection: dict[str, Any] = resp.json()["detection"]
    return detection


CASES: list[tuple[str, Callable[[Path], tuple[np.ndarray, int]], str]] = [
    ("silent", silent, "error"),
    ("clipped", clipped, "score"),
    ("8khz", narrowband, "score"),
    ("48khz", wideband, "score"),
    ("mono", mono, "score"),
    ("6ch", six_channel, "score"),
]


@pytest.mark.parametrize(("name", "make", "expect"), CASES, ids=[c[0] for c in CASES])
def test_awkward_audio_gets_a_score_or_a_detection_error(
    embedded_server: Server, tmp_path: Path, name: str, make: Callable[[Path], tuple[np.ndarray, int]], expect: str
) -> None:
    samples, rate = make(tmp_path)
    path = tmp_path / f"{name}.wav"
    sf.write(path, samples, rate, subtype="PCM_16")
    detection = verify(embedded_server, path)
    signal = next((s for s in detection["signals"] if s["detector"] == DETECTOR), None)
    errors = [e for e in detection["errors"] if e["detector"] == DETECTOR]
    if expect == "error":
        assert signal is None
        assert errors and errors[0]["code"] == "bad_media" and "silent" in errors[0]["message"]
    else:
        assert errors == [], errors
        assert signal is not None and 0.0 <= signal["score"] <= 1.0
        assert signal["evidence"]["segments"] >= 1
        assert signal["evidence"]["seconds_analysed"] > 1.0  # decoded at the front end's rate, all channels

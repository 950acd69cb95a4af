"""The shipped ONNX detectors load and score media made for them; bad media raises DetectorError."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import wave
import zlib
from pathlib import Path

import av
import numpy as np
import pytest
import skimage
from PIL import Image

from backend.settings import Settings
from detectors.base import DetectorError, MediaInput, Signal
from detectors.onnx_models import load_detectors
from detectors.training.speech_corpus import FSDD_TEST_SPEAKERS
from tests.conftest import require_shared

ROOT = Path(__file__).resolve().parents[2]
HELD_OUT_PHOTO = Path(skimage.__file__).parent / "data" / "coffee.png"  # never used in training


@pytest.fixture(scope="module")
def detectors() -> dict[str, object]:
    found = load_detectors(Settings().models_dir)
    return {type(d).__name__: d for d in found}


@pytest.fixture(scope="module")
def fsdd() -> Path:
    return require_shared("fsdd")


def analyse(detector: object, path: Path, mime: str) -> Signal:
    signal = detector.analyse(MediaInput(path, mime, "0" * 64))  # type: ignore[attr-defined]
    assert signal is not None
    assert signal.kind == "model" and 0.0 <= signal.score <= 1.0
    return signal


def espeak(path: Path, voice: str, text: str) -> Path:
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True)
    return path


def test_models_dir_setting_loads_speech_image_and_video_detectors(detectors: dict[str, object]) -> None:
    assert set(detectors) == {"SpeechDetector", "ImageDetector", "VideoDetector"}
    for name in ("speech_synthetic", "image_synthetic"):
        meta = json.loads((Settings().models_dir / f"{name}.json").read_text())
        assert 0.5 <= meta["threshold"] < 1.0
        assert (Settings().models_dir / f"{name}.md").exists(), "every shipped model has a model card"


def test_load_detectors_on_an_empty_directory_answers_none(tmp_path: Path) -> None:
    assert load_detectors(tmp_path) == []


def test_speech_model_json_carries_both_thresholds_and_its_held_out_figures() -> None:
    meta = json.loads((Settings().models_dir / "speech_synthetic.json").read_text())
    assert meta["front_end"]["sample_rate"] == 16000
    assert 0.0 < meta["review_threshold"] <= meta["viewer_threshold"] == meta["threshold"] < 1.0
    assert isinstance(meta["viewer_facing"], bool)
    held = meta["heldout"]
    assert held["n_real"] >= 1000 and len(held["fpr_at_viewer_ci95"]) == 2
    # The card's bar: a viewer-facing model has at most 0.5 % false positives on held-out real speech.
    if meta["viewer_facing"]:
        assert held["fpr_at_viewer"] <= 0.005


def test_held_out_fsdd_speakers_score_below_threshold(detectors: dict[str, object], fsdd: Path) -> None:
    clips = sorted(p for p in fsdd.glob("*.wav") if p.name.split("_")[1] in FSDD_TEST_SPEAKERS)[::97][:10]
    signals = [analyse(detectors["SpeechDetector"], p, "audio/wav") for p in clips]
    flagged = [s for s in signals if s.evidence["above_threshold"]]
    assert len(flagged) <= 1, [s.score for s in signals]


@pytest.mark.needs_shared("eval-speech")
def test_neural_vocoder_speech_scores_higher_than_the_same_voice_read_by_its_speaker(
    detectors: dict[str, object]
) -> None:
    # eval-neural-speech is for evaluation only; scoring it here trains nothing. Same voice (LJ) on
    # both sides: HiFi-GAN-vocoded TransformerTTS against LJSpeech's held-out real recordings.
    synthetic_dir = require_shared("eval-speech") / "as-ideas"
    real_dir = require_shared("ljspeech") / "wav"
    synthetic = [analyse(detectors["SpeechDetector"], p, "audio/wav").score
                 for p in sorted(synthetic_dir.glob("*TransformerTTS_hifigan*.wav"))[:5]]
    real = [analyse(detectors["SpeechDetector"], p, "audio/wav").score
            for p in sorted(real_dir.glob("LJ001-00[23]*.wav"))[:5]]
    assert len(synthetic) == 5 and len(real) == 5
    assert np.mean(synthetic) > np.mean(real), (synthetic, real)


def test_detectors_ignore_other_media_kinds(detectors: dict[str, object], tmp_path: Path) -> None:
    wav = espeak(tmp_path / "s.wav", "en", "one")
    assert detectors["ImageDetector"].analyse(MediaInput(wav, "audio/wav", "")) is None  # type: ignore[attr-defined]
    assert detectors["VideoDetector"].analyse(MediaInput(wav, "audio/wav", "")) is None  # type: ignore[attr-defined]


def test_image_detector_scores_a_photograph(detectors: dict[str, object], tmp_path: Path) -> None:
    signal = analyse(detectors["ImageDetector"], HELD_OUT_PHOTO, "image/png")
    assert signal.evidence["views"] >= 1 and 0.0 <= signal.score <= 1.0
    # The evidence names what a third party needs to judge the score.
    ev = signal.evidence
    assert ev["viewer_threshold"] == ev["threshold"] and ev["review_threshold"] <= ev["threshold"]
    assert ev["model_version"] == signal.version and ev["card"] == "detectors/models/image_synthetic.md"


def make_mp4(path: Path, seconds: float, speech: np.ndarray | None, frames: bool = True) -> Path:
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=25) if frames else None
        if video is not None:
            video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        audio = container.add_stream("aac", rate=16000) if speech is not None else None
        if audio is not None:
            audio.layout = "mono"
        container.start_encoding()  # writes the header even when no packet follows
        base = np.asarray(Image.open(HELD_OUT_PHOTO).convert("RGB"))[:240, :320]
        for i in range(int(seconds * 25) if video is not None else 0):
            frame = av.VideoFrame.from_ndarray(np.roll(base, i * 3, axis=1), format="rgb24")
            container.mux(video.encode(frame))
        if video is not None:
            container.mux(video.encode())
        if audio is not None and speech is not None:
            pcm = (np.clip(speech, -1, 1) * 32767).astype(np.int16)
            for start in range(0, pcm.size, 1024):
                chunk = av.AudioFrame.from_ndarray(pcm[None, start : start + 1024], format="s16", layout="mono")
                chunk.sample_rate = 16000
                chunk.pts = start
                container.mux(audio.encode(chunk))
            container.mux(audio.encode())
    return path


def test_video_detector_uses_frames_and_audio_track(detectors: dict[str, object], tmp_path: Path) -> None:
    import soundfile

    samples, rate = soundfile.read(str(espeak(tmp_path / "s.wav", "en-us+m7", "seven eight nine")), dtype="float32")
    speech = np.interp(np.arange(0, samples.size, rate / 16000), np.arange(samples.size), samples)
    mp4 = make_mp4(tmp_path / "v.mp4", 3.0, speech.astype(np.float32))
    signal = analyse(detectors["VideoDetector"], mp4, "video/mp4")
    components = signal.evidence["components"]
    assert components["frames"]["frames"] >= 2
    assert components["audio"]["segments"] >= 1
    # The audio track goes through the speech model, at its own (viewer) threshold.
    speech = json.loads((Settings().models_dir / "speech_synthetic.json").read_text())
    assert components["audio"]["threshold"] == speech["viewer_threshold"]
    assert components["audio"]["above_threshold"] == (components["audio"]["score"] >= speech["viewer_threshold"])


def silent_wav(path: Path, frames: int) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * frames)
    return path


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims enormous dimensions (a decompression bomb's first bytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


def wav_with_codec(tag: int) -> bytes:
    """A well-formed RIFF/WAVE file whose format tag names a codec FFmpeg has no decoder for."""
    data = b"\0\1" * 8000
    fmt = struct.pack("<HHIIHH", tag, 1, 8000, 16000, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize(
    ("name", "mime", "make", "message"),
    [
        ("silent.wav", "audio/wav", lambda p: silent_wav(p, 16000), "silent"),
        ("empty.wav", "audio/wav", lambda p: silent_wav(p, 0), "no samples"),
        ("garbage.wav", "audio/wav", lambda p: p.write_bytes(b"RIFF\x00junk" * 50), "decoded"),
        ("garbage.png", "image/png", lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"junk" * 100), "decoded"),
        ("garbage.mp4", "video/mp4", lambda p: p.write_bytes(b"\0\0\0\x18ftypmp42" + b"junk" * 100), "decoded"),
        ("audio_only.mp4", "video/mp4", lambda p: make_mp4(p, 1.0, np.zeros(16000, np.float32), frames=False),
         "no video stream"),
        ("tiny.png", "image/png", lambda p: Image.new("RGB", (40, 30)).save(p), "smaller"),
        ("huge.png", "image/png", lambda p: p.write_bytes(png_header_only(50_000, 50_000)), "too large"),
        ("codec.wav", "audio/wav", lambda p: p.write_bytes(wav_with_codec(0x9999)), "unsupported audio codec"),
    ],
)
def test_bad_media_raises_detector_error(
    detectors: dict[str, object], tmp_path: Path, name: str, mime: str, make: object, message: str
) -> None:
    path = tmp_path / name
    make(path)  # type: ignore[operator]
    detector = {"audio": "SpeechDetector", "image": "ImageDetector", "video": "VideoDetector"}[mime.split("/")[0]]
    with pytest.raises(DetectorError, match=message):
        detectors[detector].analyse(MediaInput(path, mime, ""))  # type: ignore[attr-defined]


def test_video_with_a_video_stream_but_no_frames_raises(detectors: dict[str, object], tmp_path: Path) -> None:
    path = make_mp4(tmp_path / "noframes.mp4", 0.0, None)
    assert path.stat().st_size > 0
    with pytest.raises(DetectorError, match="no video stream|no decodable frames"):
        detectors["VideoDetector"].analyse(MediaInput(path, "video/mp4", ""))  # type: ignore[attr-defined]


@pytest.mark.needs_shared("eval-speech")
def test_speech_evaluation_command_prints_metrics(fsdd: Path, tmp_path: Path) -> None:
    require_shared("eval-speech")
    require_shared("ljspeech")
    out = subprocess.run(
        [sys.executable, "-m", "detectors.evaluate", "speech", "--quick", "--synthetic-dir", str(tmp_path / "syn")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=True,
        env={**os.environ, "AVLABEL_FSDD_DIR": str(fsdd)},
    ).stdout
    assert "ROC AUC" in out and "EER" in out and "TPR at 1% FPR" in out and "TPR at 0.1% FPR" in out
    assert "at viewer threshold" in out and "at review threshold" in out
    assert "all synthetic vs held-out real" in out and "real source fsdd vs all synthetic" in out
    assert "Tortoise TTS v2 → UnivNet vs held-out real" in out
    auc = float(out.split("all synthetic vs held-out real")[1].split("ROC AUC ")[1].split()[0])
    assert 0.0 <= auc <= 1.0

"""Learned detectors: small ONNX models run with onnxruntime on CPU.

`load_detectors(models_dir)` answers one detector per model found there (speech, image) plus the video
detector when both are present. Each model is `<name>.onnx` with `<name>.json` beside it (threshold,
version, sha256 — the figures the model card states); its sha256 is checked when loading. One
onnxruntime session per model, created once and shared by the detectors that use it; `close()` drops it.
Scores are calibrated probabilities (Platt-scaled, see the model cards); the evidence carries the
threshold from the model card and whether the score reaches it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import onnxruntime as ort

from detectors.base import Detector, DetectorError, MediaInput, Signal
from detectors.features import (
    decode_audio,
    image_feature_matrix,
    open_rgb,
    speech_feature_matrix,
)

SPEECH_MODEL = "speech_synthetic"
IMAGE_MODEL = "image_synthetic"

# Bounded work per item: what is analysed at most.
MAX_AUDIO_SECONDS = 60.0
MAX_AUDIO_SEGMENTS = 40
MAX_IMAGE_PIXELS = 80_000_000
MAX_IMAGE_PATCHES = 48
MAX_VIDEO_FRAMES = 8
MAX_VIDEO_FRAME_PIXELS = 3840 * 2160
MAX_PATCHES_PER_FRAME = 12
MAX_DECODE_PER_TARGET = 120  # frames decoded from a keyframe to reach a sampling point


class OnnxModel:
    """One model file, its metadata, and one CPU session (at most 2 intra-op threads)."""

    def __init__(self, models_dir: Path, name: str, threads: int = 2) -> None:
        meta_path = models_dir / f"{name}.json"
        self.meta: dict[str, Any] = json.loads(meta_path.read_text())
        onnx_path = models_dir / self.meta["onnx"]
        data = onnx_path.read_bytes()
        if hashlib.sha256(data).hexdigest() != self.meta["sha256"]:
            raise DetectorError(f"{onnx_path.name}: sha256 does not match {meta_path.name}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = min(threads, 2)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self._session: ort.InferenceSession | None = ort.InferenceSession(
            data, sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.name = name
        self.version: str = self.meta["version"]
        self.threshold: float = float(self.meta["threshold"])
        self.n_features: int = int(self.meta["n_features"])

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """P(synthetic) for each row of `features`."""
        if self._session is None:
            raise DetectorError(f"{self.name}: model session is closed")
        if features.ndim != 2 or features.shape[1] != self.n_features:
            raise DetectorError(f"{self.name}: expected {self.n_features} features, got {features.shape}")
        out = self._session.run(None, {"features": features.astype(np.float32)})
        return np.clip(np.asarray(out[1])[:, 1].astype(np.float64), 0.0, 1.0)

    def close(self) -> None:
        self._session = None


@dataclass(frozen=True)
class Part:
    """One model's answer on one item: the probability and what it was computed from."""

    score: float
    threshold: float
    evidence: dict[str, Any]

    @property
    def flagged(self) -> bool:
        return self.score >= self.threshold


def _speech_part(model: OnnxModel, samples: np.ndarray) -> Part:
    rows = model.probabilities(speech_feature_matrix(samples, MAX_AUDIO_SEGMENTS))
    score = float(rows.mean())
    return Part(
        score,
        model.threshold,
        {
            "model": model.name,
            "seconds_analysed": round(samples.size / 8000.0, 2),
            "segments": int(rows.size),
            "max_segment_score": round(float(rows.max()), 4),
        },
    )


def _image_part(model: OnnxModel, rgb: np.ndarray, max_patches: int) -> Part:
    rows = model.probabilities(image_feature_matrix(rgb, max_patches))
    return Part(
        float(rows.mean()),
        model.threshold,
        {"model": model.name, "patches": int(rows.size), "max_patch_score": round(float(rows.max()), 4)},
    )


def _signal(name: str, version: str, part: Part, extra: dict[str, Any] | None = None) -> Signal:
    evidence = {
        **part.evidence,
        "threshold": part.threshold,
        "above_threshold": part.flagged,
        **(extra or {}),
    }
    return Signal(detector=name, version=version, score=round(part.score, 4), kind="model", evidence=evidence)


class SpeechDetector:
    """Synthetic speech in audio files: log-mel/MFCC/pitch statistics of ≤1.5 s voiced segments."""

    name = "onnx-speech-synthetic"

    def __init__(self, model: OnnxModel) -> None:
        self.model = model
        self.version = model.version

    def analyse(self, media: MediaInput) -> Signal | None:
        if media.kind != "audio":
            return None
        samples = decode_audio(media.path, MAX_AUDIO_SECONDS)
        return _signal(self.name, self.version, _speech_part(self.model, samples))


class ImageDetector:
    """Synthetic images: spectral statistics of native-resolution 128×128 luminance patches."""

    name = "onnx-image-synthetic"

    def __init__(self, model: OnnxModel) -> None:
        self.model = model
        self.version = model.version

    def analyse(self, media: MediaInput) -> Signal | None:
        if media.kind != "image":
            return None
        rgb = np.asarray(open_rgb(media.path, MAX_IMAGE_PIXELS))
        return _signal(self.name, self.version, _image_part(self.model, rgb, MAX_IMAGE_PATCHES))


def sample_frames(path: Path, count: int) -> tuple[list[np.ndarray], float]:
    """Up to `count` RGB frames spread evenly over the video, and its duration in seconds.
    Raises DetectorError when there is no decodable frame."""
    frames: list[np.ndarray] = []
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.video:
                raise DetectorError("no video stream")
            stream = container.streams.video[0]
            if stream.codec_context.width * stream.codec_context.height > MAX_VIDEO_FRAME_PIXELS:
                raise DetectorError("video frames too large to analyse")
            duration = float(container.duration / av.time_base) if container.duration else 0.0
            targets = [duration * (i + 0.5) / count for i in range(count)] if duration > 0 else [0.0]
            seen: set[int] = set()
            for t in targets:
                if stream.time_base is not None and t > 0:
                    container.seek(int(t / stream.time_base), stream=stream, backward=True)
                # Decode forward from the keyframe to the target time, at most MAX_DECODE_PER_TARGET frames.
                for n, frame in enumerate(container.decode(stream)):
                    if frame.time is not None and frame.time < t - 1e-3 and n < MAX_DECODE_PER_TARGET:
                        continue
                    if frame.width * frame.height > MAX_VIDEO_FRAME_PIXELS:
                        raise DetectorError("video frames too large to analyse")
                    key = frame.pts if frame.pts is not None else -len(seen) - 1
                    if key not in seen:
                        seen.add(key)
                        frames.append(frame.to_ndarray(format="rgb24"))
                    break
    except DetectorError:
        raise
    except av.error.DecoderNotFoundError as exc:
        raise DetectorError(f"unsupported video codec: {exc}") from exc
    except (av.error.FFmpegError, ValueError, IndexError, OSError, RuntimeError) as exc:
        raise DetectorError(f"video could not be decoded: {exc}") from exc
    if not frames:
        raise DetectorError("video has no decodable frames")
    return frames, duration


def _has_audio(path: Path) -> bool:
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            return bool(container.streams.audio)
    except (av.error.FFmpegError, OSError, ValueError):
        return False


class VideoDetector:
    """Video: up to 8 sampled frames through the image model, and the first 60 s of the audio track
    through the speech model. The answer is the component most clearly above its own threshold (or,
    when none is, the highest); both components are listed in the evidence."""

    name = "onnx-video-synthetic"

    def __init__(self, image_model: OnnxModel, speech_model: OnnxModel | None) -> None:
        self.image_model = image_model
        self.speech_model = speech_model
        self.version = image_model.version + ("+" + speech_model.version if speech_model else "")

    def analyse(self, media: MediaInput) -> Signal | None:
        if media.kind != "video":
            return None
        frames, duration = sample_frames(media.path, MAX_VIDEO_FRAMES)
        frame_parts = [_image_part(self.image_model, f, MAX_PATCHES_PER_FRAME) for f in frames]
        visual = Part(
            float(np.mean([p.score for p in frame_parts])),
            self.image_model.threshold,
            {"frames": len(frames), "frame_scores": [round(p.score, 4) for p in frame_parts]},
        )
        parts = {"frames": visual}
        audio_note = "no audio track"
        if self.speech_model is not None and _has_audio(media.path):
            try:
                parts["audio"] = _speech_part(self.speech_model, decode_audio(media.path, MAX_AUDIO_SECONDS))
                audio_note = "analysed"
            except DetectorError as exc:  # a silent or broken audio track does not void the frames
                audio_note = str(exc)
        flagged = [k for k, p in parts.items() if p.flagged]
        chosen = max(flagged or parts, key=lambda k: parts[k].score - (parts[k].threshold if flagged else 0.0))
        extra = {
            "duration_seconds": round(duration, 2),
            "decided_by": chosen,
            "audio": audio_note,
            "components": {
                k: {"score": round(p.score, 4), "threshold": p.threshold, "above_threshold": p.flagged, **p.evidence}
                for k, p in parts.items()
            },
        }
        part = parts[chosen]
        return _signal(self.name, self.version, Part(part.score, part.threshold, {}), extra)


def load_detectors(models_dir: Path) -> list[Detector]:
    """Detectors for whichever model files exist in `models_dir` (none when the directory is empty)."""
    found = {name: OnnxModel(models_dir, name) for name in (SPEECH_MODEL, IMAGE_MODEL)
             if (models_dir / f"{name}.json").exists()}
    detectors: list[Detector] = []
    if SPEECH_MODEL in found:
        detectors.append(SpeechDetector(found[SPEECH_MODEL]))
    if IMAGE_MODEL in found:
        detectors.append(ImageDetector(found[IMAGE_MODEL]))
        detectors.append(VideoDetector(found[IMAGE_MODEL], found.get(SPEECH_MODEL)))
    return detectors

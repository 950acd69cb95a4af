"""Learned detectors: small ONNX models run with onnxruntime on CPU.

`load_detectors(models_dir)` answers one detector per model found there (speech, image) plus the video
detector when both are present. Each model is `<name>.onnx` with `<name>.json` beside it (thresholds,
version, sha256, the card's held-out figures); its sha256 is checked when loading. One onnxruntime
session per model, created once and shared by the detectors that use it; `close()` drops it.
The image model is a linear probe on a frozen CLIP encoder (detectors/image_embedding.py).

Scores are calibrated probabilities (Platt-scaled, see the model cards). Each model has two thresholds
from its json: `review_threshold` (a moderator should look) and `threshold`, the viewer threshold, whose
false-positive rate on held-out real media the card states; `viewer_facing` says whether the card's
bar was met. The evidence carries all of them, the model card and its held-out figures, so a third
party can judge the score; what they mean for a label is backend/detection/policy.py's decision.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import onnxruntime as ort

from detectors.base import Detector, DetectorError, MediaInput, Signal
from detectors.features import open_rgb
from detectors.image_embedding import ENCODER_FILE, ImageEncoder, crops
from detectors.speech_features import SPEECH_RATE, decode_audio, speech_feature_matrix

SPEECH_MODEL = "speech_synthetic"
IMAGE_MODEL = "image_synthetic"

# Bounded work per item: what is analysed at most.
MAX_AUDIO_SECONDS = 60.0
MAX_AUDIO_SEGMENTS = 40
MAX_IMAGE_PIXELS = 80_000_000
MAX_IMAGE_VIEWS = 2
MAX_VIDEO_FRAMES = 8
MAX_VIDEO_FRAME_PIXELS = 3840 * 2160
MAX_VIEWS_PER_FRAME = 1
MAX_DECODE_PER_TARGET = 120  # frames decoded from a keyframe to reach a sampling point
# A short clip gets one sampled frame per quarter second (a 2 s clip still gets all 8): near-identical
# neighbouring frames add CPU, not evidence.
MIN_FRAME_SPACING_SECONDS = 0.25


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
        self._dtype = np.float64 if self._session.get_inputs()[0].type == "tensor(double)" else np.float32
        self.name = name
        self.version: str = self.meta["version"]
        self.threshold: float = float(self.meta["threshold"])
        self.review_threshold: float = float(self.meta.get("review_threshold", self.threshold))
        # A card that does not state its bar was met is not viewer-facing.
        self.viewer_facing: bool = self.meta.get("viewer_facing") is True
        self.n_features: int = int(self.meta["n_features"])

    def card_summary(self) -> dict[str, Any]:
        """What the verify answer says about this model: its thresholds, card and held-out figures."""
        held = self.meta.get("held_out") or {}
        figures = held.get("figures") or []
        return {
            "model_version": self.version,
            "review_threshold": self.review_threshold,
            "viewer_threshold": self.threshold,
            "viewer_facing": self.viewer_facing,
            "card": f"detectors/models/{self.name}.md",
            "held_out": {k: held[k] for k in ("real", "synthetic", "viewer_threshold_fpr") if k in held}
            | ({"roc_auc": figures[0]["roc_auc"], "comparison": figures[0]["comparison"]} if figures else {}),
        }

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """P(synthetic) for each row of `features`."""
        if self._session is None:
            raise DetectorError(f"{self.name}: model session is closed")
        if features.ndim != 2 or features.shape[1] != self.n_features:
            raise DetectorError(f"{self.name}: expected {self.n_features} features, got {features.shape}")
        out = self._session.run(None, {"features": features.astype(self._dtype)})
        return np.clip(np.asarray(out[1])[:, 1].astype(np.float64), 0.0, 1.0)

    def close(self) -> None:
        self._session = None


@dataclass(frozen=True)
class Part:
    """One model's answer on one item: the probability and what it was computed from."""

    score: float
    threshold: float
    evidence: dict[str, Any]
    review_threshold: float | None = None

    @property
    def flagged(self) -> bool:
        return self.score >= self.threshold

    @property
    def for_review(self) -> bool:
        return self.score >= (self.threshold if self.review_threshold is None else self.review_threshold)


def _speech_part(model: OnnxModel, samples: np.ndarray) -> Part:
    rows = model.probabilities(speech_feature_matrix(samples, MAX_AUDIO_SEGMENTS))
    score = float(rows.mean())
    return Part(
        score,
        model.threshold,
        {
            "model": model.name,
            "seconds_analysed": round(samples.size / SPEECH_RATE, 2),
            "segments": int(rows.size),
            "max_segment_score": round(float(rows.max()), 4),
        },
        model.review_threshold,
    )


class ImageModel:
    """The image model: the frozen CLIP encoder (file named in the json, extracted by scripts/install.sh)
    and the calibrated linear probe on its embeddings (`<name>.onnx`)."""

    def __init__(self, models_dir: Path, name: str = IMAGE_MODEL) -> None:
        self.probe = OnnxModel(models_dir, name)
        file = str(self.probe.meta.get("encoder", {}).get("file", ENCODER_FILE))
        encoder = models_dir / file if (models_dir / file).exists() else Path(__file__).parent / "models" / file
        if not encoder.exists():
            raise DetectorError(f"{encoder.name} is missing: run scripts/install.sh (it extracts the encoder)")
        self.encoder = ImageEncoder(encoder)
        self.name, self.version, self.meta = name, self.probe.version, self.probe.meta
        self.threshold, self.review_threshold = self.probe.threshold, self.probe.review_threshold
        self.viewer_facing = self.probe.viewer_facing

    def card_summary(self) -> dict[str, Any]:
        return self.probe.card_summary()

    def view_probabilities(self, rgb: np.ndarray, views: int) -> np.ndarray:
        return self.probe.probabilities(self.encoder.embed(crops(rgb, views)))

    def close(self) -> None:
        self.probe.close()
        self.encoder.close()


def load_image_model(models_dir: Path) -> ImageModel:
    return ImageModel(models_dir)


def _image_part(model: ImageModel, rgb: np.ndarray, views: int) -> Part:
    rows = model.view_probabilities(rgb, views)
    return Part(
        float(rows.mean()),
        model.threshold,
        {"model": model.name, "views": int(rows.size), "max_view_score": round(float(rows.max()), 4)},
        model.review_threshold,
    )


def _signal(name: str, model: OnnxModel | ImageModel, part: Part, extra: dict[str, Any] | None = None,
            version: str | None = None) -> Signal:
    evidence = {
        **part.evidence,
        "threshold": part.threshold,
        "above_threshold": part.flagged,
        "above_review_threshold": part.for_review,
        **model.card_summary(),
        **(extra or {}),
    }
    return Signal(detector=name, version=version or model.version, score=round(part.score, 4), kind="model",
                  evidence=evidence)


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
        return _signal(self.name, self.model, _speech_part(self.model, samples))


class ImageDetector:
    """Synthetic images: a linear probe on CLIP embeddings of native-resolution 224×224 crops."""

    name = "onnx-image-synthetic"

    def __init__(self, model: ImageModel) -> None:
        self.model = model
        self.version = model.version

    def analyse(self, media: MediaInput) -> Signal | None:
        if media.kind != "image":
            return None
        rgb = np.asarray(open_rgb(media.path, MAX_IMAGE_PIXELS))
        return _signal(self.name, self.model, _image_part(self.model, rgb, MAX_IMAGE_VIEWS))


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
            count = max(1, min(count, math.ceil(duration / MIN_FRAME_SPACING_SECONDS)))
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

    def __init__(self, image_model: ImageModel, speech_model: OnnxModel | None) -> None:
        self.image_model = image_model
        self.speech_model = speech_model
        self.version = image_model.version + ("+" + speech_model.version if speech_model else "")

    def analyse(self, media: MediaInput) -> Signal | None:
        if media.kind != "video":
            return None
        frames, duration = sample_frames(media.path, MAX_VIDEO_FRAMES)
        frame_parts = [_image_part(self.image_model, f, MAX_VIEWS_PER_FRAME) for f in frames]
        visual = Part(
            float(np.mean([p.score for p in frame_parts])),
            self.image_model.threshold,
            {"frames": len(frames), "frame_scores": [round(p.score, 4) for p in frame_parts]},
            self.image_model.review_threshold,
        )
        parts = {"frames": visual}
        audio_note = "no audio track"
        if self.speech_model is not None and _has_audio(media.path):
            try:
                parts["audio"] = _speech_part(self.speech_model, decode_audio(media.path, MAX_AUDIO_SECONDS))
                audio_note = "analysed"
            except DetectorError as exc:  # a silent or broken audio track does not void the frames
                audio_note = str(exc)
        flagged = [k for k, p in parts.items() if p.flagged] or [k for k, p in parts.items() if p.for_review]
        chosen = max(flagged or parts, key=lambda k: parts[k].score - (parts[k].threshold if flagged else 0.0))
        chosen_model: OnnxModel | ImageModel = self.image_model if chosen == "frames" else (
            self.speech_model or self.image_model)
        extra = {
            "duration_seconds": round(duration, 2),
            "decided_by": chosen,
            "audio": audio_note,
            "components": {
                k: {"score": round(p.score, 4), "threshold": p.threshold, "above_threshold": p.flagged,
                    "review_threshold": p.review_threshold, **p.evidence}
                for k, p in parts.items()
            },
        }
        part = parts[chosen]
        return _signal(self.name, chosen_model, Part(part.score, part.threshold, {}, part.review_threshold), extra,
                       version=self.version)


def load_detectors(models_dir: Path) -> list[Detector]:
    """Detectors for whichever model files exist in `models_dir` (none when the directory is empty)."""
    speech = OnnxModel(models_dir, SPEECH_MODEL) if (models_dir / f"{SPEECH_MODEL}.json").exists() else None
    image = ImageModel(models_dir) if (models_dir / f"{IMAGE_MODEL}.json").exists() else None
    detectors: list[Detector] = []
    if speech is not None:
        detectors.append(SpeechDetector(speech))
    if image is not None:
        detectors.append(ImageDetector(image))
        detectors.append(VideoDetector(image, speech))
    return detectors

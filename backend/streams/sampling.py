"""Samples a stream's segments: keyframes (PDQ) at the configured rate and audio in windows (Chromaprint).

The sampler keeps its place across segments: the next keyframe is hashed once `sample_seconds` of stream
time have passed since the last one, and audio accumulates until a window of `audio_window_seconds` is
full. Only keyframes are decoded (`skip_frame = NONKEY`), scaled down by FFmpeg before hashing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import av
import chromaprint
import numpy as np

from detectors.perceptual import AUDIO_RATE, MIN_PDQ_QUALITY, pdq_of_rgb

SLACK = 0.1  # a keyframe this much (of the interval) early still counts: segment times are rounded
HASH_SIDE = 256  # frames are scaled to at most this before PDQ (which works on a 64×64 reduction)


class SegmentError(ValueError):
    """The segment cannot be decoded."""


@dataclass
class Sample:
    time: float  # stream time of the keyframe (or the end of the audio window)
    kind: str  # pdq | chromaprint
    digest: bytes
    quality: int = 100


@dataclass
class Sampler:
    sample_seconds: float
    audio_window_seconds: float
    next_picture: float = -1.0
    audio: list[np.ndarray] = field(default_factory=list)
    audio_samples: int = 0
    decoded_frames: int = 0

    def segment(self, path: Path, start: float) -> list[Sample]:
        """Samples from one segment file (a TS segment, or init + fragment concatenated) starting at `start`."""
        out: list[Sample] = []
        try:
            with av.open(str(path)) as media:
                if media.streams.video:
                    out += self._pictures(media, start)
            with av.open(str(path)) as media:
                if media.streams.audio:
                    out += self._audio(media, start)
        except (av.error.FFmpegError, ValueError, OSError) as exc:
            raise SegmentError(f"the segment cannot be decoded: {str(exc)[:200]}") from exc
        return out

    def _pictures(self, media: av.container.InputContainer, start: float) -> list[Sample]:
        stream = media.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        first: float | None = None
        out: list[Sample] = []
        for frame in media.decode(stream):
            self.decoded_frames += 1
            t = float(frame.time or 0.0)
            first = t if first is None else first
            at = start + (t - first)
            if at < self.next_picture - self.sample_seconds * SLACK:
                continue
            scale = min(1.0, HASH_SIDE / max(frame.width, frame.height))
            rgb = frame.reformat(width=max(1, round(frame.width * scale)), height=max(1, round(frame.height * scale)),
                                 format="rgb24").to_ndarray()
            digest, quality = pdq_of_rgb(np.ascontiguousarray(rgb))
            self.next_picture = at + self.sample_seconds
            if quality >= MIN_PDQ_QUALITY:
                out.append(Sample(round(at, 3), "pdq", digest, quality))
        return out

    def _audio(self, media: av.container.InputContainer, start: float) -> list[Sample]:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=AUDIO_RATE)
        out: list[Sample] = []
        for frame in media.decode(media.streams.audio[0]):
            for pcm in resampler.resample(frame):
                chunk = pcm.to_ndarray().astype(np.int16).reshape(-1)
                self.audio.append(chunk)
                self.audio_samples += len(chunk)
        window = int(self.audio_window_seconds * AUDIO_RATE)
        if self.audio_samples >= window:
            samples = np.concatenate(self.audio)
            self.audio, self.audio_samples = [], 0
            fp = chromaprint.Fingerprinter()
            fp.start(AUDIO_RATE, 1)
            fp.feed(samples.tobytes())
            raw, _ = chromaprint.decode_fingerprint(fp.finish())
            prints = np.asarray(raw, dtype=np.int64).astype(np.uint32)
            if len(prints) >= 16:
                out.append(Sample(round(start, 3), "chromaprint", prints.astype("<u4").tobytes()))
        return out

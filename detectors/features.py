"""Preprocessing shared by the training scripts and the runtime detectors.

Everything a model sees goes through these functions, at training time (detectors/training/) and at
inference time (detectors/onnx_models.py), so the two cannot drift apart. Decoding uses PyAV (FFmpeg),
which resamples any input to the 8 kHz mono the speech model was trained on. Work is bounded: decoding
stops after `max_seconds` of audio, images are checked against a pixel limit before they are decoded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
from PIL import Image

from detectors.base import DetectorError

SPEECH_RATE = 8000
# Frame analysis: 32 ms windows, 10 ms hop at 8 kHz.
FRAME = 256
HOP = 80
N_MELS = 40
N_MFCC = 20
# The speech features stop at 3.6 kHz: above it the real (native 8 kHz) and the synthetic (resampled to
# 8 kHz) recordings differ mostly by their anti-alias filters, which is an artefact of how the data set
# was made, not of synthesis.
F_MIN, F_MAX = 60.0, 3600.0
SEGMENT_SECONDS = 1.5
MIN_VOICED_SECONDS = 0.12


# ---------------------------------------------------------------- audio decoding


def decode_audio(path: Path, max_seconds: float, stream_index: int | None = None) -> np.ndarray:
    """Mono float32 samples at SPEECH_RATE, at most `max_seconds` long. DetectorError when unreadable."""
    limit = int(max_seconds * SPEECH_RATE)
    chunks: list[np.ndarray] = []
    total = 0
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            streams = container.streams.audio
            if not streams:
                raise DetectorError("no audio stream")
            stream = streams[stream_index or 0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SPEECH_RATE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    arr = out.to_ndarray().reshape(-1)
                    chunks.append(arr)
                    total += arr.size
                if total >= limit:
                    break
            else:
                for out in resampler.resample(None):
                    chunks.append(out.to_ndarray().reshape(-1))
    except DetectorError:
        raise
    except av.error.DecoderNotFoundError as exc:
        raise DetectorError(f"unsupported audio codec: {exc}") from exc
    except (av.error.FFmpegError, ValueError, IndexError, OSError) as exc:
        raise DetectorError(f"audio could not be decoded: {exc}") from exc
    if not chunks:
        raise DetectorError("audio has no samples")
    samples = np.concatenate(chunks)[:limit].astype(np.float32)
    if samples.size == 0:
        raise DetectorError("audio has no samples")
    if not np.all(np.isfinite(samples)):
        raise DetectorError("audio contains non-finite samples")
    return samples


# ---------------------------------------------------------------- audio features


def _frames(x: np.ndarray) -> np.ndarray:
    if x.size < FRAME:
        x = np.pad(x, (0, FRAME - x.size))
    n = 1 + (x.size - FRAME) // HOP
    idx = np.arange(FRAME)[None, :] + HOP * np.arange(n)[:, None]
    frames: np.ndarray = x[idx]
    return frames


def _mel_filterbank() -> np.ndarray:
    def hz_to_mel(f: np.ndarray) -> np.ndarray:
        mel: np.ndarray = 2595.0 * np.log10(1.0 + f / 700.0)
        return mel

    mels = np.linspace(hz_to_mel(np.array(F_MIN)), hz_to_mel(np.array(F_MAX)), N_MELS + 2)
    hz = 700.0 * (10 ** (mels / 2595.0) - 1.0)
    bins = np.fft.rfftfreq(FRAME, 1.0 / SPEECH_RATE)
    fb = np.zeros((N_MELS, bins.size))
    for i in range(N_MELS):
        lo, mid, hi = hz[i], hz[i + 1], hz[i + 2]
        fb[i] = np.clip(np.minimum((bins - lo) / (mid - lo), (hi - bins) / (hi - mid)), 0.0, None)
    return fb


def _dct_matrix() -> np.ndarray:
    n = np.arange(N_MELS)
    k = np.arange(N_MFCC)[:, None]
    dct: np.ndarray = np.cos(np.pi * k * (2 * n + 1) / (2 * N_MELS)) * np.sqrt(2.0 / N_MELS)
    return dct


_WINDOW = np.hanning(FRAME)
_MEL = _mel_filterbank()
_DCT = _dct_matrix()
_BAND = (np.fft.rfftfreq(FRAME, 1.0 / SPEECH_RATE) >= F_MIN) & (np.fft.rfftfreq(FRAME, 1.0 / SPEECH_RATE) <= F_MAX)


def voiced_segments(samples: np.ndarray) -> list[np.ndarray]:
    """Speech-bearing stretches (energy within 35 dB of the loudest frame), cut into ≤1.5 s segments."""
    frames = _frames(samples)
    energy = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    if energy.max() < -70:  # digital silence
        return []
    active = energy > energy.max() - 35.0
    segments: list[np.ndarray] = []
    # Merge active frames into runs, allowing 0.3 s gaps (pauses between words).
    idx = np.flatnonzero(active)
    runs: list[tuple[int, int]] = []
    start = prev = int(idx[0])
    for i in idx[1:]:
        if i - prev > 30:
            runs.append((start, prev))
            start = int(i)
        prev = int(i)
    runs.append((start, prev))
    seg_frames = int(SEGMENT_SECONDS * SPEECH_RATE / HOP)
    for a, b in runs:
        for s in range(a, b + 1, seg_frames):
            e = min(b + 1, s + seg_frames)
            if (e - s) * HOP >= MIN_VOICED_SECONDS * SPEECH_RATE:
                segments.append(samples[s * HOP : (e - 1) * HOP + FRAME])
    return segments


def _pitch_track(frames: np.ndarray) -> np.ndarray:
    """F0 per frame by normalised autocorrelation (60–400 Hz); 0 where unvoiced."""
    spec = np.fft.rfft(frames * _WINDOW, n=2 * FRAME)
    ac = np.fft.irfft(np.abs(spec) ** 2)[:, :FRAME]
    ac = ac / (ac[:, :1] + 1e-12)
    lo, hi = SPEECH_RATE // 400, SPEECH_RATE // 60
    lag = lo + np.argmax(ac[:, lo:hi], axis=1)
    strength = ac[np.arange(ac.shape[0]), lag]
    return np.where(strength > 0.45, SPEECH_RATE / lag, 0.0)


def speech_features(segment: np.ndarray) -> np.ndarray:
    """Fixed-length vector of spectral, cepstral and prosodic statistics of one speech segment."""
    x = segment.astype(np.float64)
    x = x - x.mean()
    x = x / (np.sqrt(np.mean(x**2)) + 1e-9) * 0.1  # level-independent
    frames = _frames(x)
    power = np.abs(np.fft.rfft(frames * _WINDOW, axis=1)) ** 2 + 1e-10
    logmel = np.log(power @ _MEL.T + 1e-10)
    mfcc = logmel @ _DCT.T
    d_mfcc = np.diff(mfcc, axis=0) if mfcc.shape[0] > 1 else np.zeros_like(mfcc)
    band = power[:, _BAND]
    flatness = np.exp(np.mean(np.log(band), axis=1)) / np.mean(band, axis=1)
    ltas = 10 * np.log10(np.mean(band, axis=0))
    ltas = ltas - ltas.mean()
    # Long-term spectrum pooled into 16 bands (fine structure is too speaker-specific).
    ltas16 = np.array([c.mean() for c in np.array_split(ltas, 16)])
    f0 = _pitch_track(frames)
    voiced = f0[f0 > 0]
    if voiced.size >= 3:
        logf0 = np.log(voiced)
        pitch = [logf0.std(), np.mean(np.abs(np.diff(logf0))), voiced.size / f0.size]
    else:
        pitch = [0.0, 0.0, voiced.size / max(f0.size, 1)]
    energy = np.log(np.mean(frames**2, axis=1) + 1e-10)
    vec = np.concatenate(
        [
            mfcc.mean(0),
            mfcc.std(0),
            d_mfcc.std(0),
            logmel.std(0),
            ltas16,
            [flatness.mean(), flatness.std(), energy.std(), np.mean(np.abs(np.diff(energy)))],
            pitch,
        ]
    )
    return vec.astype(np.float32)


SPEECH_FEATURES = 4 * N_MFCC + N_MELS - N_MFCC + 16 + 4 + 3  # checked by the training script


def speech_feature_matrix(samples: np.ndarray, max_segments: int) -> np.ndarray:
    """One feature row per voiced segment (at most `max_segments`, spread over the recording)."""
    segments = voiced_segments(samples)
    if not segments:
        raise DetectorError("audio is silent: no speech-bearing segment")
    if len(segments) > max_segments:
        pick = np.linspace(0, len(segments) - 1, max_segments).round().astype(int)
        segments = [segments[i] for i in pick]
    return np.stack([speech_features(s) for s in segments])


# ---------------------------------------------------------------- images

PATCH = 128
SPECTRUM_BINS = 32


def open_rgb(path: Path, max_pixels: int) -> Image.Image:
    """Decode an image to RGB after checking its header's size against `max_pixels`."""
    try:
        with Image.open(path) as img:
            w, h = img.size
            if w <= 0 or h <= 0:
                raise DetectorError("image has zero size")
            if w * h > max_pixels:
                raise DetectorError(f"image too large to analyse: {w}x{h} pixels > {max_pixels}")
            img.draft("RGB", (w, h))
            return img.convert("RGB")
    except DetectorError:
        raise
    except Image.DecompressionBombError as exc:
        raise DetectorError(f"image too large to analyse: {exc}") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise DetectorError(f"image could not be decoded: {exc}") from exc


def image_patches(rgb: np.ndarray, max_patches: int) -> Iterator[np.ndarray]:
    """Non-overlapping PATCH×PATCH luminance patches on a grid, at native resolution (no resampling,
    which would erase the high-frequency traces the model looks at)."""
    if rgb.ndim != 3 or rgb.shape[0] < PATCH or rgb.shape[1] < PATCH:
        raise DetectorError(f"image smaller than {PATCH}x{PATCH} pixels")
    luma = rgb[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    ys = np.arange(0, rgb.shape[0] - PATCH + 1, PATCH)
    xs = np.arange(0, rgb.shape[1] - PATCH + 1, PATCH)
    grid = [(y, x) for y in ys for x in xs]
    if len(grid) > max_patches:
        grid = [grid[i] for i in np.linspace(0, len(grid) - 1, max_patches).round().astype(int)]
    for y, x in grid:
        yield luma[y : y + PATCH, x : x + PATCH]


def _radial_index() -> np.ndarray:
    f = np.fft.fftshift(np.fft.fftfreq(PATCH))
    r = np.sqrt(f[:, None] ** 2 + f[None, :] ** 2) / 0.5  # 0 at DC, 1 at Nyquist along an axis
    index: np.ndarray = np.minimum((r * SPECTRUM_BINS).astype(int), SPECTRUM_BINS)
    return index


_RADIAL = _radial_index()
_HANN2 = np.outer(np.hanning(PATCH), np.hanning(PATCH))


def image_features(patch: np.ndarray) -> np.ndarray:
    """Spectral statistics of one luminance patch: the azimuthally averaged log power spectrum
    (Durall et al. 2020) relative to its own mean, plus periodic peaks that up-sampling layers leave
    at fractions of the sampling rate, and residual (high-pass) statistics."""
    p = patch - patch.mean()
    spec = np.fft.fftshift(np.abs(np.fft.fft2(p * _HANN2)) ** 2) + 1e-8
    logspec = np.log(spec)
    sums = np.bincount(_RADIAL.ravel(), weights=logspec.ravel(), minlength=SPECTRUM_BINS + 1)
    counts = np.bincount(_RADIAL.ravel(), minlength=SPECTRUM_BINS + 1)
    radial = (sums / np.maximum(counts, 1))[:SPECTRUM_BINS]
    radial = radial - radial.mean()
    # Peaks at ±N/4 and ±N/2 (2× and 4× up-sampling grids) relative to their neighbourhood.
    c = PATCH // 2
    peaks = []
    for off in (PATCH // 4, PATCH // 2 - 1):
        for y, x in ((c, c + off), (c + off, c), (c + off, c + off)):
            y0, x0 = min(y, PATCH - 3), min(x, PATCH - 3)
            neigh = logspec[max(y0 - 2, 0) : y0 + 3, max(x0 - 2, 0) : x0 + 3]
            peaks.append(logspec[y0, x0] - np.median(neigh))
    resid = patch[1:, 1:] - 0.5 * (patch[:-1, 1:] + patch[1:, :-1])
    r = resid.ravel()
    rstd = r.std() + 1e-6
    resid_stats = [np.log(rstd), np.mean(np.abs(r)) / rstd, np.mean((r / rstd) ** 4), np.log(patch.std() + 1e-6)]
    return np.concatenate([radial, peaks, resid_stats]).astype(np.float32)


IMAGE_FEATURES = SPECTRUM_BINS + 6 + 4


def image_feature_matrix(rgb: np.ndarray, max_patches: int) -> np.ndarray:
    """One feature row per patch; flat patches (no texture to analyse) are skipped."""
    rows = [image_features(p) for p in image_patches(rgb, max_patches) if p.std() > 2.0]
    if not rows:
        raise DetectorError("image has no textured region to analyse")
    return np.stack(rows)

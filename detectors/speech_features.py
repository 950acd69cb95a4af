"""The speech detector's front end, shared by training (detectors/training/) and inference
(detectors/onnx_models.py) so the two cannot drift apart.

Decoding uses PyAV (FFmpeg), which downmixes any channel layout and resamples any rate to 16 kHz mono:
neural vocoders leave most of their traces above 4 kHz, which an 8 kHz front end would discard.
Narrowband input (8 kHz telephone-band recordings, such as the FSDD real speakers) is upsampled and has
an empty 4–8 kHz band; the features describe that band separately, so the model sees both kinds.
Work is bounded: decoding stops after `max_seconds` of audio, at most `max_segments` segments are analysed.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from detectors.base import DetectorError

SPEECH_RATE = 16000
# Frame analysis: 32 ms windows, 10 ms hop.
FRAME = 512
HOP = 160
N_MELS = 48
N_MFCC = 20
F_MIN, F_SPLIT, F_MAX = 60.0, 4000.0, 7800.0
SEGMENT_SECONDS = 1.5
MIN_VOICED_SECONDS = 0.12


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
_FREQS = np.fft.rfftfreq(FRAME, 1.0 / SPEECH_RATE)
_BAND = (_FREQS >= F_MIN) & (_FREQS <= F_MAX)
_LOW = (_FREQS >= F_MIN) & (_FREQS < F_SPLIT)
_HIGH = (_FREQS >= F_SPLIT) & (_FREQS <= F_MAX)
_MID = (_FREQS >= 1000.0) & (_FREQS < F_SPLIT)


def voiced_segments(samples: np.ndarray) -> list[np.ndarray]:
    """Speech-bearing stretches (energy within 35 dB of the loudest frame), cut into ≤1.5 s segments."""
    frames = _frames(samples)
    energy = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    if energy.max() < -70:  # digital silence
        return []
    active = energy > energy.max() - 35.0
    idx = np.flatnonzero(active)
    runs: list[tuple[int, int]] = []
    start = prev = int(idx[0])
    for i in idx[1:]:  # merge active frames into runs, allowing 0.3 s gaps (pauses between words)
        if i - prev > 30:
            runs.append((start, prev))
            start = int(i)
        prev = int(i)
    runs.append((start, prev))
    seg_frames = int(SEGMENT_SECONDS * SPEECH_RATE / HOP)
    segments: list[np.ndarray] = []
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


def _fine_structure(ltas: np.ndarray) -> list[float]:
    """Narrow peaks and ripple of a long-term spectrum (dB) around its 9-bin moving average: the tonal
    and periodic artefacts that transposed-convolution up-sampling leaves."""
    if ltas.size < 12:
        return [0.0, 0.0, 0.0]
    smooth = np.convolve(np.pad(ltas, 4, mode="edge"), np.ones(9) / 9, mode="valid")
    d = ltas - smooth
    return [float(d.std()), float(d.max()), float(np.percentile(d, 95) - np.percentile(d, 50))]


def _flatness(band: np.ndarray) -> np.ndarray:
    flat: np.ndarray = np.exp(np.mean(np.log(band), axis=1)) / np.mean(band, axis=1)
    return flat


def speech_features(segment: np.ndarray) -> np.ndarray:
    """Fixed-length vector of spectral, cepstral, high-band and prosodic statistics of one segment."""
    x = segment.astype(np.float64)
    x = x - x.mean()
    x = x / (np.sqrt(np.mean(x**2)) + 1e-9) * 0.1  # level-independent
    frames = _frames(x)
    power = np.abs(np.fft.rfft(frames * _WINDOW, axis=1)) ** 2 + 1e-10
    logmel = np.log(power @ _MEL.T + 1e-10)
    mfcc = logmel @ _DCT.T
    d_mfcc = np.diff(mfcc, axis=0) if mfcc.shape[0] > 1 else np.zeros_like(mfcc)
    ltas = 10 * np.log10(np.mean(power[:, _BAND], axis=0))
    ltas32 = np.array([c.mean() for c in np.array_split(ltas - ltas.mean(), 32)])
    ltas_high = 10 * np.log10(np.mean(power[:, _HIGH], axis=0))
    ltas_mid = 10 * np.log10(np.mean(power[:, _MID], axis=0))
    low_e = np.log(power[:, _LOW].sum(axis=1))
    high_e = np.log(power[:, _HIGH].sum(axis=1))
    ratio = high_e - low_e
    env_corr = float(np.corrcoef(low_e, high_e)[0, 1]) if low_e.size > 2 and high_e.std() > 1e-9 else 0.0
    log_low, log_high = np.log(power[:, _LOW]), np.log(power[:, _HIGH])
    flux = [float(np.mean(np.abs(np.diff(b, axis=0)))) if b.shape[0] > 1 else 0.0 for b in (log_low, log_high)]
    flat_low, flat_high = _flatness(power[:, _LOW]), _flatness(power[:, _HIGH])
    f0 = _pitch_track(frames)
    voiced = f0[f0 > 0]
    if voiced.size >= 3:
        logf0 = np.log(voiced)
        pitch = [logf0.std(), np.mean(np.abs(np.diff(logf0))), voiced.size / f0.size]
    else:
        pitch = [0.0, 0.0, voiced.size / max(f0.size, 1)]
    energy = np.log(np.mean(frames**2, axis=1) + 1e-10)
    logmel_std = np.array([c.mean() for c in np.array_split(logmel.std(0), 24)])
    vec = np.concatenate([
        mfcc.mean(0), mfcc.std(0), d_mfcc.std(0), logmel_std, ltas32,
        _fine_structure(ltas_high), _fine_structure(ltas_mid)[:1],
        [flat_low.mean(), flat_low.std(), flat_high.mean(), flat_high.std()],
        [ratio.mean(), ratio.std(), env_corr if np.isfinite(env_corr) else 0.0],
        [energy.std(), np.mean(np.abs(np.diff(energy))) if energy.size > 1 else 0.0],
        pitch, flux,
    ])
    clean: np.ndarray = np.nan_to_num(vec, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
    return clean


SPEECH_FEATURES = 3 * N_MFCC + 24 + 32 + 3 + 1 + 4 + 3 + 2 + 3 + 2  # checked by the training script


def speech_feature_matrix(samples: np.ndarray, max_segments: int) -> np.ndarray:
    """One feature row per voiced segment (at most `max_segments`, spread over the recording)."""
    segments = voiced_segments(samples)
    if not segments:
        raise DetectorError("audio is silent: no speech-bearing segment")
    if len(segments) > max_segments:
        pick = np.linspace(0, len(segments) - 1, max_segments).round().astype(int)
        segments = [segments[i] for i in pick]
    return np.stack([speech_features(s) for s in segments])

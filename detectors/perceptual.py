"""Perceptual hashes of media: PDQ (pdqhash) for images and video keyframes, Chromaprint for audio.

Chromaprint runs in-process through pyacoustid's binding to libchromaprint (Debian `libchromaprint1`),
fed with PCM decoded by PyAV; nothing shells out to fpcalc.
"""

from __future__ import annotations

from pathlib import Path

import av
import chromaprint
import numpy as np
import pdqhash
from PIL import Image

from detectors.base import DetectorError
from detectors.frames import load_rgb, sample_frames

MIN_PDQ_QUALITY = 50  # PDQ's own advice: below this the picture is too flat for its hash to mean much
KEYFRAMES = 8
AUDIO_RATE = 11025
MAX_AUDIO_SECONDS = 120


def pdq_of_rgb(rgb: np.ndarray) -> tuple[bytes, int]:
    h, w = rgb.shape[:2]
    if max(h, w) > 512:  # PDQ works on a 64×64 reduction; hashing a smaller copy is faster, same hash class
        f = 512 / max(h, w)
        rgb = np.asarray(Image.fromarray(rgb).resize((max(1, round(w * f)), max(1, round(h * f))),
                                                    Image.Resampling.BILINEAR))
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return np.packbits(bits.astype(np.uint8)).tobytes(), int(quality)


def image_pdq(path: Path) -> list[bytes]:
    digest, quality = pdq_of_rgb(load_rgb(path))
    return [digest] if quality >= MIN_PDQ_QUALITY else []


CROP_VIEWS = (0.1, 0.2)  # fractions cut off width and height: a whole-picture PDQ does not survive a crop


def cropped_views_pdq(path: Path) -> list[bytes]:
    """PDQ hashes of the picture with each corner's side cut off (and the centre kept), so a cropped copy
    still matches its original: a 10 % crop moves the whole-picture hash as far as an unrelated picture's."""
    rgb = load_rgb(path)
    h, w = rgb.shape[:2]
    out: list[bytes] = []
    for frac in CROP_VIEWS:
        dy, dx = int(h * frac), int(w * frac)
        for view in (rgb[dy:, dx:], rgb[dy:, :w - dx], rgb[:h - dy, dx:], rgb[:h - dy, :w - dx],
                     rgb[dy // 2:h - dy // 2, dx // 2:w - dx // 2]):
            digest, quality = pdq_of_rgb(np.ascontiguousarray(view))
            if quality >= MIN_PDQ_QUALITY:
                out.append(digest)
    return out


def video_pdq(path: Path, samples: int = KEYFRAMES) -> list[bytes]:
    out: list[bytes] = []
    for rgb in sample_frames(path, samples):
        digest, quality = pdq_of_rgb(rgb)
        if quality >= MIN_PDQ_QUALITY and digest not in out:
            out.append(digest)
    return out


def chromaprint_of(path: Path) -> np.ndarray:
    """The raw Chromaprint (uint32 per ~0.12 s) of the first two minutes of audio."""
    try:
        with av.open(str(path)) as inp:
            if not inp.streams.audio:
                return np.zeros(0, np.uint32)
            resampler = av.AudioResampler(format="s16", layout="mono", rate=AUDIO_RATE)
            fp = chromaprint.Fingerprinter()
            fp.start(AUDIO_RATE, 1)
            fed = 0
            for frame in inp.decode(inp.streams.audio[0]):
                for out in resampler.resample(frame):
                    pcm = out.to_ndarray().astype(np.int16).tobytes()
                    fp.feed(pcm)
                    fed += len(pcm) // 2
                if fed > AUDIO_RATE * MAX_AUDIO_SECONDS:
                    break
            if fed == 0:
                raise DetectorError("the audio has no samples")
            encoded = fp.finish()
    except (av.error.FFmpegError, ValueError, OSError, chromaprint.FingerprintError) as exc:
        raise DetectorError(f"the audio cannot be decoded: {str(exc)[:200]}") from exc
    raw, _ = chromaprint.decode_fingerprint(encoded)
    return np.asarray(raw, dtype=np.int64).astype(np.uint32)


def chromaprint_distance(a: np.ndarray, b: np.ndarray, max_shift: int = 40, min_overlap: int = 16) -> float:
    """Lowest bit error rate over alignments (a shift of one item is ~0.12 s); 0.5 is chance."""
    best = 1.0
    for shift in range(-max_shift, max_shift + 1):
        x, y = (a[shift:], b) if shift >= 0 else (a, b[-shift:])
        n = min(len(x), len(y))
        if n < min_overlap:
            continue
        errors = int(np.bitwise_count(x[:n] ^ y[:n]).sum())
        best = min(best, errors / (32 * n))
    return best


def hashes_of(path: Path, mime: str) -> list[tuple[str, bytes]]:
    """(kind, hash) pairs for a file: pdq for images and video keyframes, chromaprint for audio tracks."""
    kind = mime.split("/", 1)[0]
    if kind == "image":
        return [("pdq", h) for h in image_pdq(path)]
    out: list[tuple[str, bytes]] = []
    if kind == "video":
        out.extend(("pdq", h) for h in video_pdq(path))
    if kind in ("audio", "video"):
        try:
            cp = chromaprint_of(path)
        except DetectorError:
            if kind == "audio":
                raise
            cp = np.zeros(0, np.uint32)
        if len(cp) >= 16:
            out.append(("chromaprint", cp.astype("<u4").tobytes()))
    return out

"""Image preprocessing shared by the training scripts and the runtime detectors (the speech front end is
`detectors/speech_features.py`).

Everything a model sees goes through these functions, at training time (detectors/training/) and at
inference time (detectors/onnx_models.py), so the two cannot drift apart. Work is bounded: images are
checked against a pixel limit before they are decoded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from detectors.base import DetectorError

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

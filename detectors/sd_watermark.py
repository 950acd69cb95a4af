"""Reads the open invisible watermarks Stable Diffusion's reference code embeds (invisible-watermark dwtDct).

The `invisible-watermark` package itself cannot be a dependency here: importing it imports torch (for its
RivaGAN method) and it requires the non-headless opencv-python. This module is a vectorised
re-implementation of its `dwtDct` method (imwatermark/maxDct.py, MIT licence, ShieldMnt): U channel of
cv2's YUV, one-level Haar DWT, the LL band in 4×4 blocks, one bit per block (cycling through the
watermark), read from the largest-magnitude non-DC coefficient modulo the scale 36. The encoder is here
only so tests can make media carrying the marks.

The marks are fragile (about 40 of 48 bits after JPEG q95, chance after resizing) and a clean image agrees
with any mark on about half of its bits, so only a near-exact match counts as evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pywt

SCALE = 36.0
BLOCK = 4


def _bits_of(data: bytes) -> np.ndarray:
    return np.unpackbits(np.frombuffer(data, np.uint8)).astype(np.uint8)


# Published marks (bits as the reference pipelines set them).
MARKS: dict[str, np.ndarray] = {
    "StableDiffusionV1": _bits_of(b"StableDiffusionV1"),  # CompVis/stable-diffusion scripts/txt2img.py
    "SDV2": _bits_of(b"SDV2"),  # Stability-AI/stablediffusion
    "SDXL": _bits_of(bytes.fromhex("B3EC907BB19E")),  # diffusers StableDiffusionXLWatermarker
}
MIN_AGREEMENT = 0.9  # near-exact only: a clean image agrees on ~50 %, a fresh SD output on 0.95-1


def _blocks(band: np.ndarray) -> np.ndarray:
    rows, cols = band.shape[0] // BLOCK, band.shape[1] // BLOCK
    cut = band[: rows * BLOCK, : cols * BLOCK]
    return cut.reshape(rows, BLOCK, cols, BLOCK).transpose(0, 2, 1, 3).reshape(rows * cols, BLOCK * BLOCK)


def _ll_band(bgr: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, ...], np.ndarray]:
    yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)
    row, col = bgr.shape[0] // 4 * 4, bgr.shape[1] // 4 * 4
    ca, (h, v, d) = pywt.dwt2(yuv[:row, :col, 1].astype(np.float64), "haar")
    return ca, (h, v, d), yuv


def block_bits(bgr: np.ndarray) -> np.ndarray:
    """The bit each 4×4 block of the LL band reads as (block order = invisible-watermark's)."""
    ca, _, _ = _ll_band(bgr)
    blocks = _blocks(ca)
    pos = np.argmax(np.abs(blocks[:, 1:]), axis=1) + 1
    val = np.abs(blocks[np.arange(len(blocks)), pos])
    bits: np.ndarray = ((val % SCALE) > 0.5 * SCALE).astype(np.float64)
    return bits


def scores_of(bits_per_block: np.ndarray, n_bits: int) -> np.ndarray:
    """Mean bit value per watermark position, in [0, 1] (block i carries position i mod n_bits)."""
    if len(bits_per_block) < n_bits:
        return np.full(n_bits, 0.5)
    which = np.arange(len(bits_per_block)) % n_bits
    return np.bincount(which, weights=bits_per_block, minlength=n_bits) / np.bincount(which, minlength=n_bits)


def decode_scores(bgr: np.ndarray, n_bits: int) -> np.ndarray:
    return scores_of(block_bits(bgr), n_bits)


def decode_bits(bgr: np.ndarray, n_bits: int) -> np.ndarray:
    """The bits as invisible-watermark decides them (a tie counts as 1, like its `* 255 > 127`)."""
    return decode_scores(bgr, n_bits) * 255 > 127


def encode(bgr: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """Embed like invisible-watermark's dwtDct encoder (for test media)."""
    ca, (h, v, d), yuv = _ll_band(bgr)
    rows, cols = ca.shape[0] // BLOCK, ca.shape[1] // BLOCK
    blocks = _blocks(ca).copy()
    pos = np.argmax(np.abs(blocks[:, 1:]), axis=1) + 1
    idx = np.arange(len(blocks))
    val = blocks[idx, pos]
    wm = bits[idx % len(bits)].astype(np.float64)
    new = (np.abs(val) // SCALE + 0.25 + 0.5 * wm) * SCALE
    blocks[idx, pos] = np.where(val >= 0, new, -new)
    ca2 = ca.copy()
    ca2[: rows * BLOCK, : cols * BLOCK] = (
        blocks.reshape(rows, cols, BLOCK, BLOCK).transpose(0, 2, 1, 3).reshape(rows * BLOCK, cols * BLOCK)
    )
    row, col = bgr.shape[0] // 4 * 4, bgr.shape[1] // 4 * 4
    # invisible-watermark passes the detail bands back as (v, h, d); kept identical on purpose.
    yuv[:row, :col, 1] = np.clip(pywt.idwt2((ca2, (v, h, d)), "haar"), 0, 255).astype(np.uint8)
    return cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR)


@dataclass(frozen=True)
class SdMatch:
    mark: str
    agreement: float
    channel_order: str


def find_marks(rgb: np.ndarray) -> list[SdMatch]:
    """Every published mark read with near-exact agreement (both channel orders: SDXL's pipeline feeds
    RGB arrays where the encoder expects BGR)."""
    found: list[SdMatch] = []
    if min(rgb.shape[:2]) < 64:
        return found
    for order, img in (("bgr", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)), ("rgb", rgb)):
        per_block = block_bits(np.ascontiguousarray(img))  # one DWT per channel order, shared by all marks
        for name, bits in MARKS.items():
            read = scores_of(per_block, len(bits)) * 255 > 127
            agreement = float(np.mean(read == bits.astype(bool)))
            if agreement >= MIN_AGREEMENT:
                found.append(SdMatch(name, agreement, order))
    return found

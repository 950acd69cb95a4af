"""avlabel's own robust invisible watermark: a tiled spread-spectrum mark on luminance.

Why our own: invisible-watermark's dwtDct/dwtDctSvd tie the bits to a fixed block grid of the whole
image, so a crop or a resize loses them (see detectors/WATERMARK.md for the measured figures), and the
package pulls in torch. This scheme is short and documented:

* The picture is looked at on a *canonical* grid whose shorter side is 512 px, so uniform rescaling
  (downscale to 50 %) is undone by resizing back to it.
* On that grid a 128×128 px tile is repeated over the whole picture. The tile is 32×32 chips of 4×4 px
  (smoothed, so the energy sits at low-middle frequencies that JPEG q50 and downscaling keep). Each chip
  carries a sync chip (a fixed ±1 pattern) plus a data chip (±1, the sign of one coded bit times a
  fixed pseudo-random sign). Every coded bit sits on ~10 chips of every tile.
* Reading folds the high-passed picture modulo the tile (summing all tiles: the content averages out,
  the mark adds up), finds the tile's cyclic offset by FFT cross-correlation with the sync pattern (a
  crop only shifts the tiling), and searches the scale a crop changed (the canonical grid is relative to
  the shorter side, so a 10 % crop magnifies the grid by up to 1/0.9).
* The payload is a 48-bit registry key protected by Reed-Solomon (reedsolo, 6 parity bytes: corrects 3
  wrong bytes of 12); a read only counts when the sync peak stands out and the RS decode succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from reedsolo import ReedSolomonError, RSCodec

ALG = "cn.avlabel.tiledss.1"
CANONICAL = 512
TILE = 128
CHIP = 4
CHIPS = TILE // CHIP  # 32 chips a side
KEY_BYTES = 6
PARITY_BYTES = 6
CODED_BITS = (KEY_BYTES + PARITY_BYTES) * 8
STRENGTH = 2.0  # RMS luminance levels (of 255) on an average area; busy areas get more, flat less
MIN_PEAK_RATIO = 6.0  # sync peak over the correlation map's noise (std) for a read to count
_SEED = 0xA71AB31  # fixed: the scheme is public, anyone holding avlabel's code can read the key


@dataclass(frozen=True)
class Patterns:
    sync: np.ndarray  # (CHIPS, CHIPS) ±1
    bit_of_chip: np.ndarray  # (CHIPS, CHIPS) index of the coded bit each chip carries
    sign: np.ndarray  # (CHIPS, CHIPS) ±1 spreading sign
    sync_tile: np.ndarray  # (TILE, TILE) float32, the smoothed sync pattern in pixels


def _smooth_tile(chips: np.ndarray, norm: float | None = None) -> np.ndarray:
    """Chips → pixels, blurred with wrap-around so the tile stays seamless when repeated.

    Scaled to unit RMS, or by `norm` when given (so corrections keep the base pattern's scale)."""
    px = np.kron(chips.astype(np.float32), np.ones((CHIP, CHIP), np.float32))
    padded: np.ndarray = np.pad(px, CHIP * 2, mode="wrap").astype(np.float32)
    blurred = cv2.GaussianBlur(padded, (0, 0), CHIP / 2.5)
    tile = blurred[CHIP * 2 : -CHIP * 2, CHIP * 2 : -CHIP * 2]
    scale = norm if norm is not None else float(np.sqrt(np.mean(tile * tile))) + 1e-9
    return np.ascontiguousarray(tile / scale)


def _tile_rms(chips: np.ndarray) -> float:
    px = np.kron(chips.astype(np.float32), np.ones((CHIP, CHIP), np.float32))
    blurred = cv2.GaussianBlur(np.pad(px, CHIP * 2, mode="wrap"), (0, 0), CHIP / 2.5)
    tile = blurred[CHIP * 2 : -CHIP * 2, CHIP * 2 : -CHIP * 2]
    return float(np.sqrt(np.mean(tile * tile))) + 1e-9


def patterns() -> Patterns:
    rng = np.random.default_rng(_SEED)
    sync = rng.choice(np.array([-1.0, 1.0], np.float32), size=(CHIPS, CHIPS))
    order = rng.permutation(CHIPS * CHIPS)
    bit_of_chip = (order % CODED_BITS).reshape(CHIPS, CHIPS)
    sign = rng.choice(np.array([-1.0, 1.0], np.float32), size=(CHIPS, CHIPS))
    return Patterns(sync, bit_of_chip, sign, _smooth_tile(sync))


_RS = RSCodec(PARITY_BYTES)


def encode_key(key: int) -> np.ndarray:
    coded = bytes(_RS.encode(key.to_bytes(KEY_BYTES, "big")))
    return np.unpackbits(np.frombuffer(coded, np.uint8)).astype(np.int8)


def decode_bits(bits: np.ndarray) -> int | None:
    coded = np.packbits(bits.astype(np.uint8)).tobytes()
    try:
        message, _, _ = _RS.decode(coded)
    except ReedSolomonError:
        return None
    return int.from_bytes(bytes(message), "big")


def mark_chips(key: int, pats: Patterns) -> np.ndarray:
    bits = encode_key(key).astype(np.float32) * 2 - 1
    chips: np.ndarray = pats.sync + pats.sign * bits[pats.bit_of_chip]
    return chips


def _canonical_shape(h: int, w: int) -> tuple[int, int]:
    f = CANONICAL / min(h, w)
    return max(1, round(h * f)), max(1, round(w * f))


def _activity(y: np.ndarray) -> np.ndarray:
    """Perceptual mask: more strength where the picture is busy, less on flat areas (0.8…1.5)."""
    mean = cv2.blur(y, (9, 9))
    var = cv2.blur(y * y, (9, 9)) - mean * mean
    std = np.sqrt(np.maximum(var, 0))
    mask: np.ndarray = np.clip(std / 12.0, 0.8, 1.5)
    return mask


# _activity's clip (0.8…1.5 of std / 12) moved onto the variance, so the fast path needs no division.
_VAR_LO, _VAR_HI = (0.8 * 12.0) ** 2, (1.5 * 12.0) ** 2
_BAND, _HALO = 48, 4  # rows per band of embed_luma; the halo is half the 9×9 window


class Embedder:
    """Adds the mark for one key to luminance planes; reuses the field for frames of one size."""

    def __init__(self, key: int, strength: float = STRENGTH) -> None:
        self.pats = patterns()
        self.chips = mark_chips(key, self.pats)
        self.norm = _tile_rms(self.chips)
        self.strength = strength
        self._fields: dict[tuple[int, int], np.ndarray] = {}
        self._gains: dict[tuple[int, int], np.ndarray] = {}

    def field(self, h: int, w: int, chips: np.ndarray | None = None) -> np.ndarray:
        if chips is None and (h, w) in self._fields:
            return self._fields[(h, w)]
        tile = _smooth_tile(self.chips if chips is None else chips, self.norm)
        ch, cw = _canonical_shape(h, w)
        canon = np.tile(tile, (ch // TILE + 1, cw // TILE + 1))[:ch, :cw]
        out = cv2.resize(canon, (w, h), interpolation=cv2.INTER_LINEAR)
        if chips is None:
            self._fields[(h, w)] = out
        return out

    def _gain(self, h: int, w: int, chips: np.ndarray | None) -> np.ndarray:
        """The field times strength / 12: the per-pixel factor on the local std (cached per size)."""
        if chips is None and (h, w) in self._gains:
            return self._gains[(h, w)]
        gain = np.ascontiguousarray(self.field(h, w, chips) * np.float32(self.strength / 12.0), np.float32)
        if chips is None:
            self._gains[(h, w)] = gain
        return gain

    def embed_luma(self, y: np.ndarray, chips: np.ndarray | None = None) -> np.ndarray:
        """y + strength · _activity(y) · field, rounded and saturated to uint8 (y: uint8 luma).

        The same pixels as the float32 numpy formula (embed_luma_reference; a test compares them) in
        a third of the time, since a video pays this on every frame: the box filters read uint8, the
        clip is on the variance, cv2.add rounds half to even and saturates like np.clip(np.rint(.)),
        and the work goes in bands of rows whose float temporaries stay in cache (each band reads
        the 4 rows around it that the 9×9 window needs, so the seams are exact)."""
        y = np.ascontiguousarray(y, np.uint8)
        gain = self._gain(y.shape[0], y.shape[1], chips)
        out = np.empty_like(y)
        h = y.shape[0]
        for top in range(0, h, _BAND):
            bottom = min(h, top + _BAND)
            lo, hi = max(0, top - _HALO), min(h, bottom + _HALO)
            mean = cv2.boxFilter(y[lo:hi], cv2.CV_32F, (9, 9))
            var = cv2.subtract(cv2.sqrBoxFilter(y[lo:hi], cv2.CV_32F, (9, 9)), cv2.multiply(mean, mean))
            var = var[top - lo:bottom - lo]
            np.clip(var, _VAR_LO, _VAR_HI, out=var)
            cv2.add(y[top:bottom], cv2.multiply(cv2.sqrt(var), gain[top:bottom]), dst=out[top:bottom],
                    dtype=cv2.CV_8U)
        return out

    def embed_luma_reference(self, y: np.ndarray, chips: np.ndarray | None = None) -> np.ndarray:
        """The formula embed_luma computes, in plain float32 numpy (the tests compare the two)."""
        yf = y.astype(np.float32)
        out = yf + self.strength * _activity(yf) * self.field(y.shape[0], y.shape[1], chips)
        marked: np.ndarray = np.clip(np.rint(out), 0, 255).astype(np.uint8)
        return marked

    def embed_rgb(self, rgb: np.ndarray) -> np.ndarray:
        ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
        ycc[:, :, 0] = self.embed_luma(ycc[:, :, 0])
        marked: np.ndarray = cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)
        return marked


def residual(rgb: np.ndarray) -> np.ndarray:
    """The picture's high-passed, locally whitened luminance on the canonical grid (robust correlation)."""
    return residual_luma(cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)[:, :, 0].astype(np.float32))


def residual_luma(y: np.ndarray) -> np.ndarray:
    ch, cw = _canonical_shape(*y.shape)
    interp = cv2.INTER_AREA if ch < y.shape[0] else cv2.INTER_CUBIC
    y = cv2.resize(y, (cw, ch), interpolation=interp)
    r = y - cv2.GaussianBlur(y, (0, 0), CHIP * 1.5)
    # Whiten: divide by the local energy so busy areas (edges, texture) do not drown the mark.
    local = np.sqrt(cv2.GaussianBlur(r * r, (0, 0), CHIP * 3)) + 1.0
    return np.clip(r / local, -2.0, 2.0)


def _fold(r: np.ndarray) -> np.ndarray:
    h, w = (r.shape[0] // TILE) * TILE, (r.shape[1] // TILE) * TILE
    if h == 0 or w == 0:
        return np.zeros((TILE, TILE), np.float32)
    folded: np.ndarray = r[:h, :w].reshape(h // TILE, TILE, w // TILE, TILE).sum(axis=(0, 2))
    return folded


def _chip_values(folded: np.ndarray) -> np.ndarray:
    values: np.ndarray = folded.reshape(CHIPS, CHIP, CHIPS, CHIP).mean(axis=(1, 3))
    return values


def _sync_peak(folded: np.ndarray, sync_fft: np.ndarray) -> tuple[float, int, int]:
    corr = np.fft.irfft2(np.fft.rfft2(folded) * sync_fft, s=folded.shape)
    idx = int(np.argmax(corr))
    dy, dx = divmod(idx, corr.shape[1])
    ratio = float((corr.flat[idx] - corr.mean()) / (corr.std() + 1e-9))
    return ratio, dy, dx


@dataclass(frozen=True)
class Reading:
    key: int | None
    peak_ratio: float
    scale: float
    bit_margin: float  # mean |soft bit| / its spread: how clearly the bits read
    bits: np.ndarray  # the coded bits as read (hard decisions)


def read(residuals: list[np.ndarray]) -> Reading:
    """Read the key from one or more canonical residuals of the same size (video frames add up)."""
    pats = patterns()
    sync_fft = np.conj(np.fft.rfft2(pats.sync_tile))
    base = np.mean(np.stack(residuals), axis=0) if len(residuals) > 1 else residuals[0]
    best = (-1.0, 0, 0, 1.0)

    def try_scale(s: float) -> None:
        nonlocal best
        r = base if abs(s - 1) < 1e-6 else cv2.resize(
            base, (round(base.shape[1] * s), round(base.shape[0] * s)), interpolation=cv2.INTER_LINEAR
        )
        ratio, dy, dx = _sync_peak(_fold(r), sync_fft)
        if ratio > best[0]:
            best = (ratio, dy, dx, s)

    for s in np.arange(0.76, 1.041, 0.01):
        try_scale(float(s))
    centre = best[3]
    for s in np.arange(centre - 0.01, centre + 0.0101, 0.002):
        try_scale(float(s))
    ratio, dy, dx, scale = best
    r = cv2.resize(base, (round(base.shape[1] * scale), round(base.shape[0] * scale)),
                   interpolation=cv2.INTER_LINEAR) if abs(scale - 1) > 1e-6 else base
    folded = np.roll(_fold(r), (-dy, -dx), axis=(0, 1))
    chips = _chip_values(folded)
    chips = chips - float(np.mean(chips * pats.sync)) * pats.sync  # take the sync share out
    soft = np.bincount(pats.bit_of_chip.ravel(), weights=(chips * pats.sign).ravel(), minlength=CODED_BITS)
    margin = float(np.mean(np.abs(soft)) / (np.std(soft) + 1e-9))
    bits = (soft > 0).astype(np.int8)
    key = decode_bits(bits) if ratio >= MIN_PEAK_RATIO else None
    return Reading(key, ratio, scale, margin, bits)


def bit_error_rate(reading: Reading, key: int) -> float:
    """Fraction of coded bits read wrong for a known key (for the survival measurements)."""
    return float(np.mean(reading.bits != encode_key(key)))

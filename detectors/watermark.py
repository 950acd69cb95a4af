"""Invisible watermark (soft binding): embedded at signing, read back on unsigned media.

At signing a random 48-bit key is allocated by the backend (key → content id), embedded into the
labelled copy of an image or into every frame of a video (detectors/watermark_codec.py), and recorded in
the C2PA manifest as a `c2pa.soft-binding` assertion. A copy whose manifest was stripped still carries the
key; reading it resolves to the registry entry. The open Stable Diffusion marks are read too
(detectors/sd_watermark.py). Survival figures: detectors/WATERMARK.md.
"""

from __future__ import annotations

import base64
import logging
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import av
import numpy as np
from PIL import Image, PngImagePlugin

from detectors import sd_watermark
from detectors import watermark_codec as codec
from detectors.base import MediaInput, Signal
from detectors.frames import load_rgb, sample_frames

log = logging.getLogger(__name__)

IMAGE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/tiff": "TIFF"}
VIDEO_TYPES = {"video/mp4", "video/quicktime"}
MIN_SIDE = 128  # smaller pictures hold too few tiles to carry the key
VIDEO_SAMPLES = 8
SD_MAX_PIXELS = 16_000_000  # SD pipelines output at most a few megapixels; larger pictures are not theirs as is
MARK_MAX_PIXELS = 16_000_000  # marking works on the full image; above this it would take gigabytes


def embed_image(src: Path, dst: Path, mime: str, key: int) -> None:
    """Re-encode `src` with the mark, keeping its XMP and EXIF (the implicit labels)."""
    with Image.open(src) as im:
        info = dict(im.info)
        rgb = np.asarray(im.convert("RGB"))
        alpha = im.getchannel("A") if im.mode in ("RGBA", "LA") else None
    marked = Image.fromarray(codec.Embedder(key).embed_rgb(rgb))
    if alpha is not None:
        marked.putalpha(alpha)
    fmt = IMAGE_FORMATS[mime]
    params: dict[str, Any] = {}
    xmp = info.get("xmp") or info.get("XML:com.adobe.xmp")
    if xmp and fmt == "PNG":  # Pillow's PNG writer takes XMP only as an iTXt chunk
        pnginfo = PngImagePlugin.PngInfo()
        pnginfo.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8", "replace") if isinstance(xmp, bytes) else xmp)
        params["pnginfo"] = pnginfo
    elif xmp:
        params["xmp"] = xmp.encode() if isinstance(xmp, str) else xmp
    if info.get("exif") and fmt in ("JPEG", "WEBP", "PNG"):
        params["exif"] = info["exif"]
    if fmt == "JPEG":
        params["quality"] = 95
    elif fmt == "WEBP":
        params["quality"] = 95
    elif fmt == "TIFF":
        params["compression"] = "tiff_lzw"
    marked.save(dst, format=fmt, **params)


def embed_video(src: Path, dst: Path, key: int, mime: str = "video/mp4") -> None:
    """Re-encode the video track (H.264, CRF 18) with the mark on every frame; audio streams copied."""
    embedder = codec.Embedder(key)
    with av.open(str(src)) as inp, av.open(str(dst), "w", format="mp4" if mime == "video/mp4" else "mov") as out:
        vin = inp.streams.video[0]
        rate = vin.average_rate or Fraction(25)
        vout = out.add_stream("libx264", rate=rate, options={"crf": "18", "preset": "veryfast"})
        vout.width, vout.height = vin.codec_context.width // 2 * 2, vin.codec_context.height // 2 * 2
        vout.pix_fmt = "yuv420p"
        vout.time_base = vin.time_base
        audio = [(s, out.add_stream_from_template(s)) for s in inp.streams.audio]
        amap = {s.index: o for s, o in audio}
        for packet in inp.demux(vin, *[s for s, _ in audio]):
            if packet.stream.index in amap:
                if packet.dts is not None:
                    packet.stream = amap[packet.stream.index]
                    out.mux(packet)
                continue
            for frame in packet.decode():
                out.mux(vout.encode(_mark_frame(frame, embedder, vout.width, vout.height)))
        out.mux(vout.encode(None))


def _mark_frame(frame: Any, embedder: codec.Embedder, w: int, h: int) -> Any:
    yuv = frame.reformat(width=w, height=h, format="yuv420p").to_ndarray()
    yuv[:h] = embedder.embed_luma(yuv[:h])
    new = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
    new.pts, new.time_base = frame.pts, frame.time_base
    return new


def video_lumas(path: Path, samples: int = VIDEO_SAMPLES) -> list[np.ndarray]:
    lumas = sample_frames(path, samples, "gray")
    return [y for y in lumas if y.shape == lumas[0].shape]


def read_media(path: Path, mime: str) -> codec.Reading | None:
    if mime in VIDEO_TYPES:
        lumas = video_lumas(path)
        if not lumas or min(lumas[0].shape) < MIN_SIDE:
            return None
        return codec.read([codec.residual_luma(y.astype(np.float32)) for y in lumas])
    rgb = load_rgb(path)
    if min(rgb.shape[:2]) < MIN_SIDE:
        return None
    return codec.read([codec.residual(rgb)])


def markable(mime: str) -> bool:
    return mime in IMAGE_FORMATS or mime in VIDEO_TYPES


def mark_copy(src: Path, dst: Path, mime: str, key: int) -> bool:
    """Write a marked copy of `src` to `dst`; False when this file cannot carry the mark (too small or too
    large a picture, a video with no decodable frame). Decoding errors propagate."""
    if mime in VIDEO_TYPES:
        embed_video(src, dst, key, mime)
    else:
        with Image.open(src) as im:
            if min(im.size) < MIN_SIDE or im.size[0] * im.size[1] > MARK_MAX_PIXELS:
                return False
        embed_image(src, dst, mime, key)
    # e.g. a video with no decodable frame: PyAV wrote nothing
    return dst.is_file() and dst.stat().st_size > 0


def soft_binding_assertion(key: int) -> dict[str, Any]:
    """The C2PA `c2pa.soft-binding` assertion naming the embedded key."""
    value = base64.b64encode(key.to_bytes(codec.KEY_BYTES, "big")).decode()
    return {"label": "c2pa.soft-binding", "data": {"alg": codec.ALG, "blocks": [{"scope": {}, "value": value}]}}


class KeyResolver(Protocol):
    """Where embedded keys are registered: key → content id (None: not ours)."""

    def resolve(self, key: int) -> str | None: ...


class SoftBindingDetector:
    """Reads avlabel's own mark; a key that decodes and is registered is strong evidence of a copy."""

    name = "avlabel-soft-binding"
    version = "2"  # 2: the policy checks the key's claim against the fingerprint (cached "copy of" answers redone)

    def __init__(self, keys: KeyResolver) -> None:
        self.keys = keys

    def analyse(self, media: MediaInput) -> Signal | None:
        if media.kind != "image" and media.mime not in VIDEO_TYPES:
            return None
        reading = read_media(media.path, media.mime)
        if reading is None or reading.key is None:
            return None
        content_id = self.keys.resolve(reading.key)
        if content_id is None:
            return None
        return Signal(self.name, self.version, 0.99, "watermark", {
            "alg": codec.ALG, "key": f"{reading.key:012x}", "content_id": content_id,
            "sync_peak": round(reading.peak_ratio, 1), "scale": round(reading.scale, 3),
        })


class StableDiffusionWatermarkDetector:
    """The open dwtDct marks of Stable Diffusion 1.x / 2.x / XL reference pipelines."""

    name = "sd-invisible-watermark"
    version = "1"

    def analyse(self, media: MediaInput) -> Signal | None:
        if media.kind != "image":
            return None
        with Image.open(media.path) as im:
            if im.width * im.height > SD_MAX_PIXELS:
                return None
        found = sd_watermark.find_marks(load_rgb(media.path))
        if not found:
            return None
        best = max(found, key=lambda m: m.agreement)
        score = 0.9 if best.agreement >= 0.97 else 0.75
        return Signal(self.name, self.version, score, "watermark", {
            "mark": best.mark, "bit_agreement": round(best.agreement, 3), "channel_order": best.channel_order,
            "meaning": "an open watermark Stable Diffusion's reference code embeds in what it generates",
        })

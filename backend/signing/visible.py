"""Explicit (burned-in) labels and XMP implicit labels for raster images (GB 45438-2025).

The explicit label's text height is at least 5% of the image's shortest side; the implicit label goes
into XMP as `TC260:AIGC` beside IPTC's DigitalSourceType.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageSequence

from backend.domain_errors import InvalidInput
from backend.implicit_label import images

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
# HEVC's largest single coded picture (level 6.2, 35,651,584 luma samples). A larger HEIC/HEIF is a grid of
# tiles; Pillow's encoder writes one picture, which decoders refuse, so such files are never re-encoded.
HEVC_MAX_PICTURE_SAMPLES = 35_651_584
MIN_HEIGHT_RATIO = 0.05
TARGET_HEIGHT_RATIO = 0.06  # a margin above the 5% floor, since glyph boxes vary by font


class LabelFontMissing(RuntimeError):
    pass


def find_font() -> Path:
    for candidate in FONT_CANDIDATES:
        if Path(candidate).exists():
            return Path(candidate)
    raise LabelFontMissing("no CJK font found for the explicit label; install fonts-wqy-microhei")


def xmp_packet(aigc: dict[str, str], source_uri: str) -> bytes:
    return images.xmp_packet(aigc, source_uri)  # one XMP builder: backend/implicit_label/images.py


def _font_for(height_px: int, text: str, font_path: Path) -> tuple[ImageFont.FreeTypeFont, tuple[int, int, int, int]]:
    size = max(8, height_px)
    while True:
        font = ImageFont.truetype(str(font_path), size)
        box = font.getbbox(text)
        if box[3] - box[1] >= height_px:
            return font, (int(box[0]), int(box[1]), int(box[2]), int(box[3]))
        size += max(1, size // 10)


def burn_label(frame: Image.Image, text: str, font_path: Path) -> Image.Image:
    """Draw `text` in the lower-left corner on a dark plate (white on near-black: contrast > 15:1).

    Only the plate's region is composited, so a large image costs one decoded copy, not four (an
    80-megapixel image within the pixel limit stays well under 1 GB). `frame` may be changed in place.
    """
    width, height = frame.size
    target = max(14, round(min(width, height) * TARGET_HEIGHT_RATIO))
    font, box = _font_for(target, text, font_path)
    pad = max(2, target // 4)
    text_w, text_h = box[2] - box[0], box[3] - box[1]
    x0, y0 = pad, height - text_h - 3 * pad
    out_mode = frame.mode if frame.mode in ("RGBA", "RGB", "L", "LA") else "RGB"
    out = frame if frame.mode == out_mode else frame.convert(out_mode)
    left, top = max(0, x0 - pad), max(0, y0 - pad)
    region = (left, top, min(width, x0 + text_w + pad + 2), min(height, y0 + text_h + pad + 2))
    patch = out.crop(region).convert("RGBA")
    overlay = Image.new("RGBA", patch.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.rectangle((x0 - pad - left, y0 - pad - top, x0 + text_w + pad - left, y0 + text_h + pad - top),
                   fill=(0, 0, 0, 200))
    draw.text((x0 - box[0] - left, y0 - box[1] - top), text, font=font, fill=(255, 255, 255, 255))
    out.paste(Image.alpha_composite(patch, overlay).convert(out_mode), region[:2])
    return out


def can_reencode(src: Path, mime: str) -> bool:
    """False when re-encoding would produce a file decoders reject (an over-size HEVC picture)."""
    if mime not in ("image/heic", "image/heif"):
        return True
    with Image.open(src) as im:
        width, height = im.size
    return width * height <= HEVC_MAX_PICTURE_SAMPLES


def label_image(src: Path, dst: Path, mime: str, text: str, xmp: bytes | None, burn: bool) -> None:
    """Re-encode `src` into `dst` in the same format with the explicit and/or implicit label."""
    font_path = find_font() if burn else None
    try:
        _label_image(src, dst, mime, text, xmp, burn, font_path)
    except (OSError, ValueError, SyntaxError, EOFError, RuntimeError) as exc:  # RuntimeError: AVIF/HEIF
        raise InvalidInput("bad_media", f"the image cannot be decoded: {str(exc)[:200]}") from exc


def _label_image(src: Path, dst: Path, mime: str, text: str, xmp: bytes | None, burn: bool,
                 font_path: Path | None) -> None:
    with Image.open(src) as im:
        params: dict[str, object] = {}
        if xmp is not None and mime in ("image/jpeg", "image/webp", "image/png", "image/tiff", "image/avif",
                                          "image/heic", "image/heif"):
            params["xmp"] = xmp
        if mime == "image/gif":
            frames = [f.copy() for f in ImageSequence.Iterator(im)]
            if burn and font_path:
                frames = [burn_label(f.convert("RGB"), text, font_path) for f in frames]
            frames[0].save(
                dst, format="GIF", save_all=True, append_images=frames[1:], loop=im.info.get("loop", 0),
                duration=im.info.get("duration", 100),
            )
            return
        frame = burn_label(im, text, font_path) if burn and font_path else im
        fmt = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/avif": "AVIF",
               "image/tiff": "TIFF", "image/heic": "HEIF", "image/heif": "HEIF"}[mime]
        if fmt == "JPEG":
            params.update(quality=92, exif=im.info.get("exif", b""))
            if frame.mode != "RGB":  # convert() to the same mode would copy the whole image
                frame = frame.convert("RGB")
        elif fmt == "TIFF":
            params.update(compression="tiff_lzw")
        elif fmt in ("HEIF", "AVIF"):
            params.update(quality=90)
        elif fmt == "WEBP":
            params.update(quality=92, lossless=bool(im.info.get("lossless", False)))
        frame.save(dst, format=fmt, **params)

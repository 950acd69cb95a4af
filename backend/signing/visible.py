"""Explicit (burned-in) labels and XMP implicit labels for raster images (GB 45438-2025).

The explicit label's glyphs are sized by their ink: the shortest glyph's inked height (not the font size
or the em box) is at least 5% of the image's shortest side. The implicit label goes into XMP as
`TC260:AIGC` beside IPTC's DigitalSourceType. Video frames use the same plate (signing/explicit_video.py).
"""

from __future__ import annotations

import math
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
# Every glyph's ink is sized to 6% of the shortest side: a margin above the 5% floor for anti-aliased edges
# and lossy re-encoding. Latin capitals ink ~80% of a CJK glyph's height, so sizing the whole string's box
# (as before) left "AI" at 4.75%.
TARGET_HEIGHT_RATIO = 0.06
MIN_TARGET_PX = 14
# The plate lets 8% of the picture through: over pure white it is ~20/255, so white text on it keeps a
# contrast above 15:1 whatever is underneath.
PLATE_ALPHA = 235


class LabelFontMissing(RuntimeError):
    pass


def find_font() -> Path:
    for candidate in FONT_CANDIDATES:
        if Path(candidate).exists():
            return Path(candidate)
    raise LabelFontMissing("no CJK font found for the explicit label; install fonts-wqy-microhei")


def xmp_packet(aigc: dict[str, str], source_uri: str) -> bytes:
    return images.xmp_packet(aigc, source_uri)  # one XMP builder: backend/implicit_label/images.py


def glyph_ink_height(font: ImageFont.FreeTypeFont, text: str) -> int:
    """The inked height of the text's shortest visible glyph at this font size."""
    heights = [box[3] - box[1] for box in (font.getbbox(ch) for ch in text if not ch.isspace())]
    return int(min(heights)) if heights else 0


def font_for(height_px: int, text: str, font_path: Path) -> ImageFont.FreeTypeFont:
    """The smallest font whose every glyph inks at least `height_px`."""
    size = max(8, height_px)
    while True:
        font = ImageFont.truetype(str(font_path), size)
        if glyph_ink_height(font, text) >= height_px:
            return font
        size += max(1, size // 20)


def target_ink_px(width: int, height: int, ratio: float = TARGET_HEIGHT_RATIO) -> int:
    return max(MIN_TARGET_PX, math.ceil(min(width, height) * ratio))


def render_plate(text: str, font_path: Path, ink_px: int) -> Image.Image:
    """The label as an RGBA picture: white glyphs, each inking at least `ink_px`, on a dark plate
    (contrast > 15:1 over any background). Glyphs are tracked apart by a fifth of their height so
    they stay legible (and countable) after lossy re-encoding."""
    font = font_for(ink_px, text, font_path)
    box = font.getbbox(text)
    pad = max(2, ink_px // 4)
    track = max(2, ink_px // 5)
    glyphs = [ch for ch in text]
    advance = sum(font.getlength(ch) for ch in glyphs) + track * (len(glyphs) - 1)
    width = math.ceil(advance) + 2 * pad
    height = int(box[3] - box[1]) + 2 * pad
    plate = Image.new("RGBA", (width, height), (0, 0, 0, PLATE_ALPHA))
    draw = ImageDraw.Draw(plate)
    x = float(pad)
    for ch in glyphs:
        draw.text((x, pad - box[1]), ch, font=font, fill=(255, 255, 255, 255))
        x += font.getlength(ch) + track
    return plate


def burn_label(frame: Image.Image, text: str, font_path: Path) -> Image.Image:
    """Draw `text` on its plate in the lower-left corner.

    Only the plate's region is composited, so a large image costs one decoded copy, not four (an
    80-megapixel image within the pixel limit stays well under 1 GB). `frame` may be changed in place.
    """
    width, height = frame.size
    target = target_ink_px(width, height)
    plate = render_plate(text, font_path, target)
    pad = max(2, target // 4)
    left, top = pad, max(0, height - plate.height - 2 * pad)
    out_mode = frame.mode if frame.mode in ("RGBA", "RGB", "L", "LA") else "RGB"
    out = frame if frame.mode == out_mode else frame.convert(out_mode)
    region = (left, top, min(width, left + plate.width), min(height, top + plate.height))
    patch = out.crop(region).convert("RGBA")
    overlay = plate.crop((0, 0, region[2] - region[0], region[3] - region[1]))
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
